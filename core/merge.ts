/**
 * Merging of window records: across segments (same window start: counts add, VUs
 * of the segments add) and across time (minute rollups and run totals: counts add,
 * VUs take the maximum). Quantiles are always read from merged histograms.
 */
import {
  addCounts,
  createRequests,
  emptyGenerator,
  fromJsonAggregate,
  maxNullable,
  mergeGenerator,
  mergeInto,
  mergeProbe,
  mergeRequests,
  requestsFromJson,
  sumNullable,
  type MutableAggregate,
  type MutableRequests,
} from './aggregates.js';
import type { FailureCounts, ProbeAggregate, WindowRecord } from './schemas.js';

export interface MergedWindow {
  startMs: number;
  lengthMs: number;
  metrics: Map<string, MutableAggregate>;
  requests: MutableRequests;
  requestsByName: Map<string, MutableRequests>;
  failures: FailureCounts;
  statuses: Record<string, number>;
  checks: { passes: number; fails: number };
  iterations: number;
  droppedIterations: number;
  vus: number | null;
  vusMax: number | null;
  dataSentBytes: number;
  dataReceivedBytes: number;
  probes: Map<string, ProbeAggregate>;
  generator: WindowRecord['generator'];
  /** Segments that contributed to this window. */
  segments: Set<number>;
  /** Time covered by the 10-second windows merged into this period, at most `lengthMs`. */
  coveredMs: number;
}

export function emptyWindow(startMs: number, lengthMs: number): MergedWindow {
  return {
    startMs,
    lengthMs,
    metrics: new Map(),
    requests: createRequests(),
    requestsByName: new Map(),
    failures: { status4xx: 0, status5xx: 0, timeout: 0, connection: 0, otherTransport: 0 },
    statuses: {},
    checks: { passes: 0, fails: 0 },
    iterations: 0,
    droppedIterations: 0,
    vus: null,
    vusMax: null,
    dataSentBytes: 0,
    dataReceivedBytes: 0,
    probes: new Map(),
    generator: emptyGenerator(),
    segments: new Set(),
    coveredMs: 0,
  };
}

function mergeCommon(target: MergedWindow, source: MergedWindow): void {
  for (const [key, aggregate] of source.metrics) {
    const existing = target.metrics.get(key);
    if (existing === undefined) target.metrics.set(key, cloneAggregate(aggregate));
    else mergeInto(existing, aggregate);
  }
  mergeRequests(target.requests, source.requests);
  for (const [name, requests] of source.requestsByName) {
    let existing = target.requestsByName.get(name);
    if (existing === undefined) {
      existing = createRequests();
      target.requestsByName.set(name, existing);
    }
    mergeRequests(existing, requests);
  }
  addCounts(target.failures, source.failures);
  addCounts(target.statuses, source.statuses);
  target.checks.passes += source.checks.passes;
  target.checks.fails += source.checks.fails;
  target.iterations += source.iterations;
  target.droppedIterations += source.droppedIterations;
  target.dataSentBytes += source.dataSentBytes;
  target.dataReceivedBytes += source.dataReceivedBytes;
  for (const [name, probe] of source.probes) target.probes.set(name, mergeProbe(target.probes.get(name), probe));
  mergeGenerator(target.generator, source.generator);
  for (const segment of source.segments) target.segments.add(segment);
}

function cloneAggregate(aggregate: MutableAggregate): MutableAggregate {
  if (aggregate.type === 'trend') {
    const copy = fromJsonAggregate({ type: 'trend', histogram: aggregate.histogram.toJSON() });
    return copy;
  }
  return { ...aggregate };
}

export function fromRecord(record: WindowRecord): MergedWindow {
  const window = emptyWindow(record.startMs, record.lengthMs);
  for (const [key, aggregate] of Object.entries(record.metrics)) window.metrics.set(key, fromJsonAggregate(aggregate));
  window.requests = requestsFromJson(record.requests);
  for (const [name, requests] of Object.entries(record.requestsByName)) window.requestsByName.set(name, requestsFromJson(requests));
  window.failures = { ...record.failures };
  window.statuses = { ...record.statuses };
  window.checks = { ...record.checks };
  window.iterations = record.iterations;
  window.droppedIterations = record.droppedIterations;
  window.vus = record.vus;
  window.vusMax = record.vusMax;
  window.dataSentBytes = record.dataSentBytes;
  window.dataReceivedBytes = record.dataReceivedBytes;
  for (const [name, probe] of Object.entries(record.probes)) window.probes.set(name, { ...probe });
  window.generator = { ...record.generator };
  window.segments.add(record.segment);
  window.coveredMs = record.lengthMs;
  return window;
}

/** Adds `source` (another segment's view of the same window) to `target`. */
export function mergeSameWindow(target: MergedWindow, source: MergedWindow): void {
  mergeCommon(target, source);
  target.vus = sumNullable(target.vus, source.vus);
  target.vusMax = sumNullable(target.vusMax, source.vusMax);
}

/** Adds a later or earlier window to a longer period (a minute, the whole run). */
export function mergeAcrossTime(target: MergedWindow, source: MergedWindow): void {
  mergeCommon(target, source);
  target.coveredMs = Math.min(target.lengthMs || Infinity, target.coveredMs + source.coveredMs);
  target.vus = maxNullable(target.vus, source.vus);
  target.vusMax = maxNullable(target.vusMax, source.vusMax);
}

/** Collects window records of any segments, in any order, into one window per start time. */
export class WindowMerger {
  readonly #windows = new Map<number, MergedWindow>();
  readonly #seen = new Set<string>();
  duplicates = 0;

  add(record: WindowRecord): void {
    // A window re-sent after a retried checkpoint must count once.
    const identity = `${record.segment}:${record.startMs}`;
    if (this.#seen.has(identity)) {
      this.duplicates += 1;
      return;
    }
    this.#seen.add(identity);

    const incoming = fromRecord(record);
    const existing = this.#windows.get(record.startMs);
    if (existing === undefined) this.#windows.set(record.startMs, incoming);
    else mergeSameWindow(existing, incoming);
  }

  get size(): number {
    return this.#windows.size;
  }

  windows(): MergedWindow[] {
    return [...this.#windows.values()].sort((a, b) => a.startMs - b.startMs);
  }
}

/** Rolls windows up into periods of `periodMs` (a minute by default), aligned to UTC. */
export function rollup(windows: readonly MergedWindow[], periodMs = 60_000): MergedWindow[] {
  const periods = new Map<number, MergedWindow>();
  for (const window of windows) {
    const start = Math.floor(window.startMs / periodMs) * periodMs;
    let period = periods.get(start);
    if (period === undefined) {
      period = emptyWindow(start, periodMs);
      periods.set(start, period);
    }
    mergeAcrossTime(period, window);
  }
  return [...periods.values()].sort((a, b) => a.startMs - b.startMs);
}

export function totalOf(windows: readonly MergedWindow[]): MergedWindow {
  const first = windows[0];
  const last = windows[windows.length - 1];
  const total = emptyWindow(first?.startMs ?? 0, first && last ? last.startMs + last.lengthMs - first.startMs : 0);
  for (const window of windows) mergeAcrossTime(total, window);
  return total;
}
