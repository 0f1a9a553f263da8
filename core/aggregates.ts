/**
 * Mutable per-window aggregates and their merge. Everything here merges by
 * addition (histogram buckets, counts) or by an order-free rule (min, max), so
 * windows of different segments combine in any order with the same result.
 */
import { Histogram } from './histogram.js';
import type { MetricAggregate, ProbeAggregate, RequestAggregate, WindowRecord } from './schemas.js';
import type { K6MetricType } from './k6-stream.js';

export type MutableAggregate =
  | { type: 'counter'; samples: number; sum: number }
  | { type: 'gauge'; samples: number; min: number; max: number; last: number }
  | { type: 'rate'; passes: number; total: number }
  | { type: 'trend'; histogram: Histogram };

export function createAggregate(type: K6MetricType): MutableAggregate {
  switch (type) {
    case 'counter':
      return { type, samples: 0, sum: 0 };
    case 'gauge':
      return { type, samples: 0, min: Infinity, max: -Infinity, last: 0 };
    case 'rate':
      return { type, passes: 0, total: 0 };
    case 'trend':
      return { type, histogram: new Histogram() };
  }
}

export function addSample(aggregate: MutableAggregate, value: number): void {
  switch (aggregate.type) {
    case 'counter':
      aggregate.samples += 1;
      aggregate.sum += value;
      return;
    case 'gauge':
      aggregate.samples += 1;
      if (value < aggregate.min) aggregate.min = value;
      if (value > aggregate.max) aggregate.max = value;
      aggregate.last = value;
      return;
    case 'rate':
      aggregate.total += 1;
      if (value !== 0) aggregate.passes += 1;
      return;
    case 'trend':
      aggregate.histogram.record(value);
      return;
  }
}

export function toJsonAggregate(aggregate: MutableAggregate): MetricAggregate {
  switch (aggregate.type) {
    case 'counter':
    case 'rate':
      return { ...aggregate };
    case 'gauge':
      return { ...aggregate, min: aggregate.samples > 0 ? aggregate.min : 0, max: aggregate.samples > 0 ? aggregate.max : 0 };
    case 'trend':
      return { type: 'trend', histogram: aggregate.histogram.toJSON() };
  }
}

export function fromJsonAggregate(aggregate: MetricAggregate): MutableAggregate {
  if (aggregate.type === 'trend') return { type: 'trend', histogram: Histogram.fromJSON(aggregate.histogram) };
  return { ...aggregate };
}

/**
 * Merges `source` into `target` when both have the same type. Gauges of different
 * segments are summed in `last` (VUs of two segments add up) and span min and max.
 */
export function mergeInto(target: MutableAggregate, source: MutableAggregate): boolean {
  if (target.type !== source.type) return false;
  switch (target.type) {
    case 'counter': {
      const other = source as typeof target;
      target.samples += other.samples;
      target.sum += other.sum;
      return true;
    }
    case 'gauge': {
      const other = source as typeof target;
      if (other.samples === 0) return true;
      target.min = target.samples === 0 ? other.min : Math.min(target.min, other.min);
      target.max = target.samples === 0 ? other.max : Math.max(target.max, other.max);
      target.last = other.last;
      target.samples += other.samples;
      return true;
    }
    case 'rate': {
      const other = source as typeof target;
      target.passes += other.passes;
      target.total += other.total;
      return true;
    }
    case 'trend':
      target.histogram.merge((source as typeof target).histogram);
      return true;
  }
}

export interface MutableRequests {
  ok: number;
  failed: number;
  okLatency: Histogram;
  failedLatency: Histogram;
}

export function createRequests(): MutableRequests {
  return { ok: 0, failed: 0, okLatency: new Histogram(), failedLatency: new Histogram() };
}

export function requestsToJson(requests: MutableRequests): RequestAggregate {
  return {
    ok: requests.ok,
    failed: requests.failed,
    okLatency: requests.okLatency.toJSON(),
    failedLatency: requests.failedLatency.toJSON(),
  };
}

export function requestsFromJson(requests: RequestAggregate): MutableRequests {
  return {
    ok: requests.ok,
    failed: requests.failed,
    okLatency: Histogram.fromJSON(requests.okLatency),
    failedLatency: Histogram.fromJSON(requests.failedLatency),
  };
}

export function mergeRequests(target: MutableRequests, source: MutableRequests): void {
  target.ok += source.ok;
  target.failed += source.failed;
  target.okLatency.merge(source.okLatency);
  target.failedLatency.merge(source.failedLatency);
}

export function mergeProbe(target: ProbeAggregate | undefined, source: ProbeAggregate): ProbeAggregate {
  if (target === undefined || target.samples === 0) return { ...source };
  if (source.samples === 0) return target;
  return {
    samples: target.samples + source.samples,
    min: Math.min(target.min, source.min),
    max: Math.max(target.max, source.max),
    last: source.last,
  };
}

export function addCounts(target: Record<string, number>, source: Record<string, number>): void {
  for (const [key, value] of Object.entries(source)) target[key] = (target[key] ?? 0) + value;
}

/** Returns a generator-health record with nothing measured yet. */
export function emptyGenerator(): WindowRecord['generator'] {
  return {
    k6CpuS: null,
    runnerCpuS: null,
    streamLagMsMax: null,
    latePoints: 0,
    unparsableLines: 0,
    unknownMetricPoints: 0,
    scriptExceptions: 0,
    probeFailures: 0,
    cpuSaturatedS: 0,
  };
}

/** Sums the number fields of two generator-health records, keeping the max of maxima. */
export function mergeGenerator(target: WindowRecord['generator'], source: WindowRecord['generator']): void {
  target.k6CpuS = sumNullable(target.k6CpuS, source.k6CpuS);
  target.runnerCpuS = sumNullable(target.runnerCpuS, source.runnerCpuS);
  target.streamLagMsMax = maxNullable(target.streamLagMsMax, source.streamLagMsMax);
  target.latePoints += source.latePoints;
  target.unparsableLines += source.unparsableLines;
  target.unknownMetricPoints += source.unknownMetricPoints;
  target.scriptExceptions += source.scriptExceptions;
  target.probeFailures += source.probeFailures;
  target.cpuSaturatedS += source.cpuSaturatedS;
}

export function sumNullable(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return a + b;
}

export function maxNullable(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
