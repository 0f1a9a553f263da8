/**
 * Building blocks of the run report computed from merged windows: per-minute
 * series, totals, per-segment coverage and the load analysis.
 */
import type { EnvConfig } from './config.js';
import { Histogram } from './histogram.js';
import type { MergedWindow } from './merge.js';
import type { Reason, RunReport, SeriesPoint } from './report-schema.js';
import type { RunManifest, SegmentResult } from './schemas.js';

export function errorRateOf(ok: number, failed: number): number | null {
  const total = ok + failed;
  return total === 0 ? null : failed / total;
}

function minuteValue(probe: { min: number; max: number; last: number }, rule: 'min' | 'max' | 'last'): number {
  if (rule === 'min') return probe.min;
  if (rule === 'max') return probe.max;
  return probe.last;
}

/** Per-minute series; probe values use each series' `perMinute` rule (min for heap floors). */
export function buildSeries(minutes: readonly MergedWindow[], config: EnvConfig): SeriesPoint[] {
  return minutes.map((minute) => {
    const { ok, failed, okLatency } = minute.requests;
    const probes: Record<string, number | null> = {};
    for (const series of config.probe.series) {
      const probe = minute.probes.get(series.name);
      if (probe === undefined || probe.samples === 0) probes[series.name] = null;
      else probes[series.name] = minuteValue(probe, series.perMinute);
    }
    // Edge minutes of a run are partly covered: divide by the time their windows cover.
    const seconds = minute.coveredMs / 1000;
    return {
      t: minute.startMs,
      requests: ok + failed,
      failed,
      errorRate: errorRateOf(ok, failed),
      rate: seconds > 0 ? (ok + failed) / seconds : null,
      p50: okLatency.quantile(0.5),
      p95: okLatency.quantile(0.95),
      p99: okLatency.quantile(0.99),
      droppedIterations: minute.droppedIterations,
      vus: minute.vus,
      probes,
    };
  });
}

export interface SegmentView {
  index: number;
  executionSegment: string;
  result: SegmentResult | null;
  windows: number;
  requests: number;
  coveredS: number;
  coverage: number | null;
  firstWindowMs: number | null;
  lastWindowEndMs: number | null;
}

/**
 * Judges each segment from the time its windows cover, not from k6's exit code: a
 * k6 killed after its last checkpoint still leaves an honest partial record.
 */
export function judgeSegments(
  manifest: RunManifest,
  results: ReadonlyMap<number, SegmentResult>,
  perSegment: ReadonlyMap<number, { windows: number; requests: number; firstMs: number | null; lastEndMs: number | null }>,
): SegmentView[] {
  const planned = manifest.request.durationS;
  return manifest.segments.map((plan) => {
    const result = results.get(plan.index) ?? null;
    const stats = perSegment.get(plan.index) ?? { windows: 0, requests: 0, firstMs: null, lastEndMs: null };
    // Points give the exact span; windows round it to 10 s, so prefer points when known.
    let coveredS = 0;
    if (result?.firstPointMs != null && result.lastPointMs != null) coveredS = (result.lastPointMs - result.firstPointMs) / 1000;
    else if (stats.firstMs !== null && stats.lastEndMs !== null) coveredS = (stats.lastEndMs - stats.firstMs) / 1000;
    return {
      index: plan.index,
      executionSegment: plan.executionSegment,
      result,
      windows: stats.windows,
      requests: stats.requests,
      coveredS,
      coverage: planned > 0 ? Math.min(1, coveredS / planned) : null,
      firstWindowMs: stats.firstMs,
      lastWindowEndMs: stats.lastEndMs,
    };
  });
}

export function segmentStatus(view: SegmentView, minCoverage: number): string {
  if (view.result === null) return view.windows > 0 ? 'no result (died?)' : 'never reported';
  if (view.result.stopReason === 'completed' && (view.coverage ?? 0) < minCoverage) return 'short';
  return view.result.stopReason;
}

export function summarizeSegments(views: readonly SegmentView[], minCoverage: number): RunReport['segments'] {
  return views.map((view) => ({
    index: view.index,
    segment: view.executionSegment,
    exitCode: view.result?.k6ExitCode ?? null,
    status: segmentStatus(view, minCoverage),
    detail: view.result?.detail ?? (view.windows > 0 ? 'windows were stored but the segment wrote no result' : 'the segment stored nothing'),
    coverage: view.coverage,
    requests: view.requests,
    windows: view.windows,
    scriptExceptions: view.result?.scriptExceptions ?? 0,
  }));
}

export interface LoadAnalysis {
  load: RunReport['load'];
  reasons: Reason[];
}

/**
 * Compares the achieved iteration rate with the plan and decides whether the load
 * generator (CPU saturated, stream lag) or the target (all VUs busy, so k6 dropped
 * iterations) caused a shortfall.
 */
export function analyzeLoad(input: {
  manifest: RunManifest;
  config: EnvConfig;
  total: MergedWindow;
  windows: readonly MergedWindow[];
  coveredS: number;
}): LoadAnalysis {
  const { manifest, config, total, windows } = input;
  const plannedRate = manifest.request.rate;
  const plannedIterations = manifest.bundledScenario ? plannedRate * manifest.request.durationS : 0;
  const achievedRate = input.coveredS > 0 ? total.iterations / input.coveredS : null;

  const runnerCpuMax = windows.reduce<number | null>((max, window) => {
    const cpu = window.generator.runnerCpuS === null ? null : window.generator.runnerCpuS / (window.lengthMs / 1000);
    return cpu === null ? max : Math.max(max ?? 0, cpu);
  }, null);
  const segmentSeconds = input.coveredS * Math.max(1, manifest.segments.length);
  const cpuSaturatedShare = segmentSeconds > 0 ? Math.min(1, total.generator.cpuSaturatedS / segmentSeconds) : null;
  const generator = {
    latePoints: total.generator.latePoints,
    unparsableLines: total.generator.unparsableLines,
    unknownMetricPoints: total.generator.unknownMetricPoints,
    scriptExceptions: total.generator.scriptExceptions,
    probeFailures: total.generator.probeFailures,
    streamLagMsMax: total.generator.streamLagMsMax,
    runnerCpuMax,
    cpuSaturatedShare,
  };

  const reasons: Reason[] = [];
  let shortfall: number | null = null;
  let cause: RunReport['load']['cause'] = 'none';
  if (manifest.bundledScenario && plannedIterations > 0) {
    shortfall = Math.max(0, 1 - total.iterations / plannedIterations);
    if (shortfall > config.maxLoadShortfall) {
      // Saturation: the runner used most of a core, k6's samples queued for seconds, or the
      // generator's machine had no CPU to spare for a fifth of the time (k6 itself CPU-bound).
      // Every VU busy while iterations were dropped means k6 waited on responses: then a
      // busy machine is not what held the load back.
      const vusExhausted = windows.some(
        (window) => window.droppedIterations > 0 && window.vus !== null && window.vusMax !== null && window.vusMax > 0 && window.vus >= 0.9 * window.vusMax,
      );
      const generatorBound =
        (runnerCpuMax ?? 0) > 0.9 || (total.generator.streamLagMsMax ?? 0) > 5000 || ((cpuSaturatedShare ?? 0) >= 0.2 && !vusExhausted);
      const targetBound = total.droppedIterations > 0 && !generatorBound;
      if (generatorBound) cause = 'generator';
      else if (targetBound) cause = 'target';
      else cause = 'unknown';
      const why =
        cause === 'generator'
          ? `the load generator was saturated (its machine out of CPU ${((cpuSaturatedShare ?? 0) * 100).toFixed(0)} % of the time, runner CPU up to ${((runnerCpuMax ?? 0) * 100).toFixed(0)} % of a core, stream lag up to ${Math.round(total.generator.streamLagMsMax ?? 0)} ms)`
          : cause === 'target'
            ? `the target slowed down until every VU was busy, so k6 dropped ${total.droppedIterations} iterations`
            : 'the cause is unclear: no dropped iterations and no generator saturation were seen';
      reasons.push({
        code: 'LOAD_SHORT',
        verdict: 'INCOMPLETE',
        message: `The run achieved ${total.iterations} of ${Math.round(plannedIterations)} planned iterations (${(shortfall * 100).toFixed(1)} % short, more than the allowed ${(config.maxLoadShortfall * 100).toFixed(0)} %): ${why}.`,
      });
    }
  }

  return {
    load: {
      plannedRate,
      achievedRate,
      plannedIterations,
      iterations: total.iterations,
      dropped: total.droppedIterations,
      shortfall,
      cause,
      generator,
    },
    reasons,
  };
}

export function latencySummary(histogram: Histogram): RunReport['latencyMs'] {
  return {
    p50: histogram.quantile(0.5),
    p90: histogram.quantile(0.9),
    p95: histogram.quantile(0.95),
    p99: histogram.quantile(0.99),
    max: histogram.count === 0 ? null : histogram.max,
    mean: histogram.mean(),
  };
}
