/**
 * Live metrics of a running segment, published once a minute by the task: request
 * and failure counts, and the latency of successful requests as a CloudWatch
 * distribution (value/count pairs), so p95/p99 over all tasks are computed by
 * CloudWatch from the merged samples, never by averaging the tasks' quantiles.
 */
import { Histogram, type HistogramJson } from './histogram.js';
import { MetricDimension, MetricName } from './metric-names.js';
import type { MetricDatum } from './ports.js';
import type { WindowRecord } from './schemas.js';

/** PutMetricData takes at most 150 value/count pairs per datum. */
export const MAX_DISTRIBUTION_PAIRS = 150;

const GAMMA = Histogram.bucketValue(1) / Histogram.bucketValue(0);

/**
 * Collapses a histogram into at most `maxPairs` value/count pairs by merging runs of
 * k adjacent log buckets. Each pair's value is the geometric middle of its merged
 * range, which spans a factor gamma^k, so it is within a relative error of
 * gamma^(k/2) - 1 of every sample it stands for: 1 % for k = 1 and about 10 % for
 * k = 10. `relativeError` returns the bound for the k chosen.
 */
export function toDistribution(histogram: HistogramJson, maxPairs = MAX_DISTRIBUTION_PAIRS): { values: number[]; counts: number[]; relativeError: number } {
  const values: number[] = [];
  const counts: number[] = [];
  const room = histogram.zeros > 0 ? maxPairs - 1 : maxPairs;
  if (histogram.zeros > 0) {
    values.push(0);
    counts.push(histogram.zeros);
  }

  let k = 1;
  const groupsFor = (size: number) => new Set(histogram.indexes.map((index) => Math.floor(index / size))).size;
  while (groupsFor(k) > room) k += 1;

  const groups = new Map<number, number>();
  histogram.indexes.forEach((index, i) => {
    const group = Math.floor(index / k);
    groups.set(group, (groups.get(group) ?? 0) + histogram.counts[i]!);
  });
  for (const [group, count] of [...groups].sort((a, b) => a[0] - b[0])) {
    // Buckets group*k .. group*k+k-1 cover (gamma^(group*k-1), gamma^(group*k+k-1)].
    const low = Math.pow(GAMMA, group * k - 1);
    const high = Math.pow(GAMMA, group * k + k - 1);
    values.push(Math.sqrt(low * high));
    counts.push(count);
  }
  const spread = Math.pow(GAMMA, k);
  return { values, counts, relativeError: k === 1 ? 0.01 : Math.sqrt(spread) - 1 };
}

/** Datums for the windows a segment just stored: one set per window, stamped with its start. */
export function liveMetricData(windows: readonly WindowRecord[], env: string): MetricDatum[] {
  const dimensions = { [MetricDimension.Env]: env };
  const data: MetricDatum[] = [];
  for (const window of windows) {
    const timestampMs = window.startMs;
    const { ok, failed, okLatency } = window.requests;
    data.push({ name: MetricName.LiveRequests, value: ok + failed, unit: 'Count', dimensions, timestampMs });
    data.push({ name: MetricName.LiveFailedRequests, value: failed, unit: 'Count', dimensions, timestampMs });
    if (okLatency.count > 0) {
      const distribution = toDistribution(okLatency);
      data.push({
        name: MetricName.LiveLatencyMs,
        value: okLatency.count,
        values: distribution.values,
        counts: distribution.counts,
        unit: 'Milliseconds',
        dimensions,
        timestampMs,
      });
    }
  }
  return data;
}
