/**
 * Synthetic run data for the finalize benchmark: a manifest, one result per segment,
 * and 10-second window records stored as the runner stores them (gzipped NDJSON,
 * six windows per checkpoint, core/checkpoint.ts) in a folder store.
 *
 * The records lean to the large side of real ones, so that the benchmark errs on the
 * slow side. Each has 20 metric aggregates, 11 of them trends, five request names, and
 * 3,000 requests per segment and window. Every trend and every successful-latency
 * histogram has 100 to 300 buckets, although k6's connection-time trends such as
 * http_req_connecting are mostly zeros in practice and have far fewer.
 */
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { encodeWindows } from '../../core/checkpoint.js';
import { parseEnvConfig } from '../../core/config.js';
import { ALWAYS_FILTERED_KEYS } from '../../core/finalize.js';
import { Histogram, type HistogramJson } from '../../core/histogram.js';
import { buildManifest } from '../../core/plan.js';
import { keys } from '../../core/ports.js';
import { encodeRollups, rollupPeriodS, SegmentRollup } from '../../core/rollup.js';
import { RunRequestSchema, SCHEMA_VERSION, type MetricAggregate, type RequestAggregate, type SegmentResult, type WindowRecord } from '../../core/schemas.js';

export const SYNTHETIC_ENV = 'bench';
export const WINDOW_MS = 10_000;
export const WINDOWS_PER_CHECKPOINT = 6;
/** Requests of one segment in one 10-second window. */
export const REQUESTS_PER_WINDOW = 3000;
export const REQUEST_NAMES = ['create', 'verify', 'list', 'invalid-create', 'get'] as const;
const TREND_METRICS = [
  'http_req_duration',
  'http_req_blocked',
  'http_req_connecting',
  'http_req_tls_handshaking',
  'http_req_sending',
  'http_req_waiting',
  'http_req_receiving',
  'iteration_duration',
  'sigil_create_ms',
  'http_req_duration{expected_response:true}',
  'http_req_duration{name:verify}',
] as const;
/** Start of every synthetic run: a fixed time, so that datasets are reproducible. */
export const RUN_START_MS = Date.UTC(2026, 11, 1, 0, 0, 0);

export interface SyntheticShape {
  segments: number;
  hours: number;
  /**
   * Length of each stored record in seconds: 10 for the runner's windows, 60 for
   * per-minute rollups (a proposed format, see BENCHMARKS.md). Default 10.
   */
  recordS?: number;
  /**
   * Also store the rollups the runner writes beside its windows (core/rollup.ts), made
   * by the runner's own SegmentRollup from each checkpoint, so that finalize reads them.
   */
  rollups?: boolean;
}

function recordMs(shape: SyntheticShape): number {
  return (shape.recordS ?? 10) * 1000;
}

/** Records each segment stores for the shape. */
export function windowsPerSegment(shape: SyntheticShape): number {
  return Math.round((shape.hours * 3600 * 1000) / recordMs(shape));
}

export function runIdOf(shape: SyntheticShape): string {
  const suffix = (shape.recordS ?? 10) === 10 ? '' : `-${shape.recordS}s`;
  return `synthetic-${shape.segments}x${shape.hours}h${suffix}${shape.rollups ? '-rollups' : ''}`;
}

/** Small deterministic generator (mulberry32), so each window is the same on every machine. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function between(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Bell-shaped bucket weights per bucket count, computed once: generation is the slow part of the benchmark setup. */
const shapes = new Map<number, { weights: number[]; total: number }>();
const bucketValues: number[] = [];

function shapeOf(buckets: number): { weights: number[]; total: number } {
  let shape = shapes.get(buckets);
  if (shape === undefined) {
    const peak = buckets / 3;
    const width = Math.max(1, buckets / 5);
    const weights = Array.from({ length: buckets }, (_, i) => Math.exp(-(((i - peak) / width) ** 2)));
    shape = { weights, total: weights.reduce((sum, weight) => sum + weight, 0) };
    shapes.set(buckets, shape);
  }
  return shape;
}

function bucketValue(index: number): number {
  return (bucketValues[index] ??= Histogram.bucketValue(index));
}

/**
 * Builds a histogram of `count` samples over `buckets` consecutive buckets from
 * `firstIndex` (at most `count` buckets), bell-shaped in log space like a latency
 * distribution, with every bucket non-empty.
 */
export function syntheticHistogram(random: () => number, count: number, buckets: number, firstIndex: number): HistogramJson {
  if (count === 0 || buckets === 0) return { count: 0, sum: 0, min: null, max: null, zeros: 0, indexes: [], counts: [] };
  const used = Math.min(buckets, count);
  const { weights, total } = shapeOf(used);
  const spare = count - used;
  const counts = weights.map((weight) => 1 + Math.floor((spare * weight) / total));
  // Rounding down leaves a few samples over; a random bucket near the peak takes them.
  const peak = Math.min(used - 1, Math.floor(used / 3 + random() * 3));
  counts[peak]! += count - counts.reduce((sum, value) => sum + value, 0);
  const indexes = counts.map((_, i) => firstIndex + i);
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i]! * bucketValue(indexes[i]!);
  return {
    count,
    sum,
    min: bucketValue(indexes[0]!) * 0.995,
    max: bucketValue(indexes[indexes.length - 1]!) * 1.005,
    zeros: 0,
    indexes,
    counts,
  };
}

function requestAggregate(random: () => number, ok: number, failed: number, extraBuckets = 0): RequestAggregate {
  return {
    ok,
    failed,
    okLatency: syntheticHistogram(random, ok, between(random, 100, 300) + extraBuckets, between(random, 20, 120)),
    failedLatency: syntheticHistogram(random, failed, between(random, 1, 30), between(random, 20, 120)),
  };
}

/**
 * Builds one segment's record number `index`, 10 s long unless `lengthMs` gives another length. A
 * longer record holds proportionally more requests, and its histograms span up to
 * 100 more buckets, like the union of the windows it rolls up. The probe series grow
 * slowly over the run, like a mild leak.
 */
export function syntheticWindow(segment: number, index: number, runId: string, lengthMs = WINDOW_MS): WindowRecord {
  const random = randomSource(segment * 1_000_003 + index);
  const startMs = RUN_START_MS + index * lengthMs;
  const windows = lengthMs / WINDOW_MS;
  const requests = REQUESTS_PER_WINDOW * windows;
  const failed = between(random, 0, 30 * windows);
  const ok = requests - failed;
  const extraBuckets = windows > 1 ? 100 : 0;

  const metrics: Record<string, MetricAggregate> = {};
  for (const name of TREND_METRICS) {
    metrics[name] = { type: 'trend', histogram: syntheticHistogram(random, requests, between(random, 100, 300) + extraBuckets, between(random, 0, 120)) };
  }
  metrics.http_reqs = { type: 'counter', samples: requests, sum: requests };
  metrics.iterations = { type: 'counter', samples: requests, sum: requests };
  metrics.data_sent = { type: 'counter', samples: requests, sum: requests * 210 };
  metrics.data_received = { type: 'counter', samples: requests, sum: requests * 480 };
  metrics.sigil_created = { type: 'counter', samples: Math.round(requests * 0.6), sum: Math.round(requests * 0.6) };
  metrics.http_req_failed = { type: 'rate', passes: failed, total: requests };
  metrics.checks = { type: 'rate', passes: requests * 2 - failed, total: requests * 2 };
  metrics.vus = { type: 'gauge', samples: 10 * windows, min: 18, max: 22, last: 20 };
  metrics.vus_max = { type: 'gauge', samples: 10 * windows, min: 40, max: 40, last: 40 };

  const requestsByName: Record<string, RequestAggregate> = {};
  let remainingOk = ok;
  let remainingFailed = failed;
  REQUEST_NAMES.forEach((name, i) => {
    const last = i === REQUEST_NAMES.length - 1;
    const nameOk = last ? remainingOk : Math.floor(ok / REQUEST_NAMES.length);
    const nameFailed = last ? remainingFailed : Math.floor(failed / REQUEST_NAMES.length);
    remainingOk -= nameOk;
    remainingFailed -= nameFailed;
    requestsByName[name] = requestAggregate(random, nameOk, nameFailed, extraBuckets);
  });

  const hourOfRun = (index * lengthMs) / 3_600_000;
  const probes: WindowRecord['probes'] =
    segment === 0
      ? {
          heapUsedBytes: probeValue(random, 80e6 + hourOfRun * 1e6),
          residentMemoryBytes: probeValue(random, 160e6 + hourOfRun * 2e6),
          openFds: probeValue(random, 40),
          eventLoopLagP99Seconds: probeValue(random, 0.012),
        }
      : {};

  return {
    schemaVersion: SCHEMA_VERSION,
    runId,
    segment,
    startMs,
    lengthMs,
    metrics,
    requests: requestAggregate(random, ok, failed, extraBuckets),
    requestsByName,
    failures: { status4xx: Math.floor(failed / 2), status5xx: failed - Math.floor(failed / 2), timeout: 0, connection: 0, otherTransport: 0 },
    statuses: { '200': Math.floor(ok / 2), '201': ok - Math.floor(ok / 2), '400': Math.floor(failed / 2), '500': failed - Math.floor(failed / 2) },
    checks: { passes: requests * 2 - failed, fails: failed },
    iterations: requests,
    droppedIterations: 0,
    vus: 20,
    vusMax: 40,
    dataSentBytes: requests * 210,
    dataReceivedBytes: requests * 480,
    probes,
    generator: {
      k6CpuS: (4 + random()) * windows,
      runnerCpuS: (1 + random() * 0.5) * windows,
      streamLagMsMax: 200 + random() * 300,
      latePoints: 0,
      unparsableLines: 0,
      unknownMetricPoints: 0,
      scriptExceptions: 0,
      probeFailures: 0,
      cpuSaturatedS: 0,
    },
  };
}

function probeValue(random: () => number, level: number): { samples: number; min: number; max: number; last: number } {
  const min = level * (0.97 + 0.01 * random());
  const max = level * (1.02 + 0.01 * random());
  return { samples: 2, min, max, last: (min + max) / 2 };
}

/** Writes the manifest of a synthetic run (64 segments at most, as the schema allows). */
export async function writeSyntheticManifest(store: FolderResultStore, shape: SyntheticShape): Promise<void> {
  const runId = runIdOf(shape);
  const config = parseEnvConfig({}, 'the synthetic run configuration');
  const request = RunRequestSchema.parse({
    env: SYNTHETIC_ENV,
    target: 'http://127.0.0.1:9',
    scenario: 'sigil',
    rate: (REQUESTS_PER_WINDOW / (WINDOW_MS / 1000)) * shape.segments,
    durationS: shape.hours * 3600,
    segments: shape.segments,
  });
  const thresholds = {
    ...Object.fromEntries(ALWAYS_FILTERED_KEYS.map((key) => [key, []])),
    http_req_duration: ['p(99)<1500'],
    'http_req_duration{name:verify}': ['p(95)<800'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  };
  const manifest = buildManifest({
    runId,
    request,
    config,
    scenario: { name: 'sigil', path: 'scenarios/sigil/script.js', hash: null, bundled: true, thresholds },
    nowMs: RUN_START_MS,
  });
  await store.put(keys.manifest(SYNTHETIC_ENV, runId), JSON.stringify({ ...manifest, state: 'running' }, null, 2));
}

/** Writes every checkpoint and the result of one segment. */
export async function writeSyntheticSegment(store: FolderResultStore, shape: SyntheticShape, segment: number): Promise<number> {
  const runId = runIdOf(shape);
  const total = windowsPerSegment(shape);
  const lengthMs = recordMs(shape);
  let bytes = 0;
  const rollup = shape.rollups ? new SegmentRollup({ periodS: rollupPeriodS(shape.hours * 3600, shape.segments), runId, segment }) : null;
  let rollupSeq = 0;
  const storeRollups = async (final: boolean): Promise<void> => {
    if (rollup === null || !rollup.due(final)) return;
    const encoded = encodeRollups(rollup.pending);
    bytes += encoded.length;
    await store.put(keys.rollups(SYNTHETIC_ENV, runId, segment, rollupSeq++), encoded);
    rollup.stored(rollup.pending.length);
  };
  let seq = 0;
  for (; seq * WINDOWS_PER_CHECKPOINT < total; seq++) {
    const records: WindowRecord[] = [];
    for (let i = seq * WINDOWS_PER_CHECKPOINT; i < Math.min(total, (seq + 1) * WINDOWS_PER_CHECKPOINT); i++) records.push(syntheticWindow(segment, i, runId, lengthMs));
    const encoded = encodeWindows(records);
    bytes += encoded.length;
    await store.put(keys.windows(SYNTHETIC_ENV, runId, segment, seq), encoded);
    rollup?.add(records, seq);
    await storeRollups(false);
  }
  rollup?.finish(seq);
  await storeRollups(true);
  const endMs = RUN_START_MS + total * lengthMs;
  const result: SegmentResult = {
    schemaVersion: SCHEMA_VERSION,
    runId,
    segment,
    executionSegment: `${segment}/${shape.segments}:${segment + 1}/${shape.segments}`,
    k6Version: 'k6 v1.3.0 (synthetic)',
    k6ExitCode: 0,
    k6Signal: null,
    stopReason: 'completed',
    detail: 'k6 finished its planned run',
    startedAtMs: RUN_START_MS,
    endedAtMs: endMs,
    firstPointMs: RUN_START_MS + 5,
    lastPointMs: endMs - 5,
    plannedDurationS: shape.hours * 3600,
    windowsWritten: total * (lengthMs / WINDOW_MS),
    lastCheckpointSeq: Math.ceil(total / WINDOWS_PER_CHECKPOINT) - 1,
    scriptExceptions: 0,
    stderrTail: [],
  };
  await store.put(keys.segmentResult(SYNTHETIC_ENV, runId, segment), JSON.stringify(result, null, 2));
  return bytes;
}
