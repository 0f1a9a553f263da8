/**
 * Writes what a run's segments leave in a result store, without k6: window checkpoints
 * aggregated with the real WindowAggregator from synthetic k6 points, and a segment
 * result.json. Tests of the lifecycle and the Lambdas use it to give finalize real data.
 */
import { encodeWindows } from '../../core/checkpoint.js';
import { keys, type ResultStore } from '../../core/ports.js';
import { SCHEMA_VERSION, SegmentResultSchema, type RunManifest, type SegmentResult, type SegmentStopReason } from '../../core/schemas.js';
import { WindowAggregator } from '../../core/windows.js';

const SLO_LATENCY_KEY = 'http_req_duration{expected_response:true}';

const DEFINITIONS: Array<[name: string, type: string, contains: string]> = [
  ['http_req_duration', 'trend', 'time'],
  ['http_req_failed', 'rate', 'default'],
  ['iterations', 'counter', 'default'],
  ['vus', 'gauge', 'default'],
];

export interface SegmentDataOptions {
  /** Epoch ms of the first iteration. */
  startMs: number;
  /** Seconds of load; the manifest's planned duration when omitted. */
  seconds?: number;
  /** Latency of every request, ms. @default 40 */
  latencyMs?: number;
  stopReason?: SegmentStopReason;
  detail?: string;
  /** Write result.json; a segment killed before it could write one has none. @default true */
  writeResult?: boolean;
}

/**
 * Stores the windows and result of one segment at its planned rate: one iteration with
 * one successful request per 1/plannedRate seconds, checkpointed once at the end.
 */
export async function writeSegmentData(store: ResultStore, manifest: RunManifest, segment: number, options: SegmentDataOptions): Promise<SegmentResult> {
  const plan = manifest.segments[segment];
  if (plan === undefined) throw new Error(`The manifest of ${manifest.runId} has no segment ${segment}`);
  const seconds = options.seconds ?? manifest.request.durationS;
  const aggregator = new WindowAggregator({ runId: manifest.runId, segment, filters: [SLO_LATENCY_KEY] });
  for (const [name, type, contains] of DEFINITIONS) {
    aggregator.addLine(JSON.stringify({ type: 'Metric', metric: name, data: { name, type, contains, thresholds: [] } }));
  }

  const stepMs = 1000 / plan.plannedRate;
  const tags = JSON.stringify({ expected_response: 'true', status: '200', name: 'verify', method: 'GET' });
  let firstPointMs: number | null = null;
  let lastPointMs: number | null = null;
  for (let timeMs = options.startMs; timeMs < options.startMs + seconds * 1000; timeMs += stepMs) {
    const at = Math.round(timeMs);
    aggregator.addPoint('http_req_duration', at, options.latencyMs ?? 40, tags);
    aggregator.addPoint('http_req_failed', at, 0, tags);
    aggregator.addPoint('iterations', at, 1, '{}');
    aggregator.addPoint('vus', at, 1, '{}');
    firstPointMs ??= at;
    lastPointMs = at;
  }
  const records = aggregator.closeAll();
  if (records.length > 0) await store.put(keys.windows(manifest.env, manifest.runId, segment, 1), encodeWindows(records), 'application/gzip');

  const result = SegmentResultSchema.parse({
    schemaVersion: SCHEMA_VERSION,
    runId: manifest.runId,
    segment,
    executionSegment: plan.executionSegment,
    k6Version: 'v1.3.0',
    k6ExitCode: options.stopReason === undefined || options.stopReason === 'completed' ? 0 : null,
    k6Signal: options.stopReason === 'stopped' ? 'SIGTERM' : null,
    stopReason: options.stopReason ?? 'completed',
    detail: options.detail ?? 'k6 ran to the end of its planned time',
    startedAtMs: options.startMs,
    endedAtMs: options.startMs + seconds * 1000,
    firstPointMs,
    lastPointMs,
    plannedDurationS: manifest.request.durationS,
    windowsWritten: records.length,
    lastCheckpointSeq: records.length > 0 ? 1 : null,
    scriptExceptions: 0,
    stderrTail: [],
  });
  if (options.writeResult ?? true) {
    await store.put(keys.segmentResult(manifest.env, manifest.runId, segment), JSON.stringify(result, null, 2), 'application/json');
  }
  return result;
}
