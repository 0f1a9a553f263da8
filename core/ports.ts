/**
 * The ports the domain needs from its surroundings. `adapters/` implements each one
 * twice: for AWS (S3, ECS, CloudWatch, Slack, Secrets Manager) and for one machine
 * (a folder, child processes, nothing, stdout, environment variables).
 */
import type { SegmentPlan, RunManifest } from './schemas.js';

/** Keys are slash-separated, as in the bucket layout: `runs/<env>/<runId>/manifest.json`. */
export interface ResultStore {
  /** Human description for messages, such as `s3://bucket/prefix` or a folder path. */
  readonly location: string;
  /** Writes `body` only when `key` does not exist yet; returns false when it already did. */
  putIfAbsent(key: string, body: Uint8Array | string, contentType?: string): Promise<boolean>;
  /** Writes `body`, replacing what was there. */
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** Returns the stored bytes, or undefined when the key does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Lists every key under `prefix`, sorted; with `startAfter`, only the keys that sort after it. */
  list(prefix: string, startAfter?: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export class StoreError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Input a launcher needs to start one `run-segment` for one execution segment. */
export interface SegmentLaunch {
  manifest: RunManifest;
  segment: SegmentPlan;
}

export interface LaunchedSegment {
  segment: number;
  /** ECS task ARN or local process id. */
  taskId: string;
}

export interface Launcher {
  launch(launches: SegmentLaunch[]): Promise<{ launched: LaunchedSegment[]; failed: { segment: number; reason: string }[] }>;
  /** Asks every task of the run to stop (SIGTERM, or ECS StopTask). */
  stop(runId: string, reason: string): Promise<void>;
}

export interface MetricDatum {
  name: string;
  /** The value, or the sample count when `values` and `counts` carry a distribution. */
  value: number;
  /** A distribution as value/count pairs (at most 150), so CloudWatch percentiles merge across tasks. */
  values?: number[];
  counts?: number[];
  unit: 'Count' | 'Milliseconds' | 'Percent' | 'Bytes' | 'Count/Second' | 'None';
  dimensions?: Record<string, string>;
  timestampMs?: number;
}

export interface MetricsSink {
  publish(data: MetricDatum[]): Promise<void>;
}

export interface NotificationResult {
  delivered: boolean;
  /** `stdout` when only printed, `slack`, `sns`. */
  channel: string;
  attempts: number;
  detail: string;
}

export interface Notifier {
  /** Sends a Slack Block Kit message; never throws for delivery failures, it reports them. */
  send(message: unknown, text: string): Promise<NotificationResult>;
}

export interface Secrets {
  /** Returns the secret's value, or undefined when no secret is configured under `name`. */
  get(name: string): Promise<string | undefined>;
}

/** Structured logger: constant messages, data in fields. */
export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Log;
}

/** Bucket layout shared by the folder store and S3. */
export const keys = {
  run: (env: string, runId: string) => `runs/${env}/${runId}/`,
  manifest: (env: string, runId: string) => `runs/${env}/${runId}/manifest.json`,
  windowsPrefix: (env: string, runId: string, segment: number) => `runs/${env}/${runId}/segments/${segment}/windows/`,
  windows: (env: string, runId: string, segment: number, seq: number) =>
    `runs/${env}/${runId}/segments/${segment}/windows/${String(seq).padStart(6, '0')}.ndjson.gz`,
  /** Per-period sums of a segment's stored windows (core/rollup.ts), numbered like the windows. */
  rollupsPrefix: (env: string, runId: string, segment: number) => `runs/${env}/${runId}/segments/${segment}/rollups/`,
  rollups: (env: string, runId: string, segment: number, seq: number) =>
    `runs/${env}/${runId}/segments/${segment}/rollups/${String(seq).padStart(6, '0')}.ndjson.gz`,
  segmentResult: (env: string, runId: string, segment: number) => `runs/${env}/${runId}/segments/${segment}/result.json`,
  report: (env: string, runId: string) => `runs/${env}/${runId}/report.json`,
  reportHtml: (env: string, runId: string) => `runs/${env}/${runId}/report.html`,
  message: (env: string, runId: string) => `runs/${env}/${runId}/message.json`,
  finalized: (env: string, runId: string) => `runs/${env}/${runId}/finalized.json`,
  stopRequest: (env: string, runId: string) => `runs/${env}/${runId}/stop-request.json`,
  inspect: (env: string, runId: string) => `runs/${env}/${runId}/inspect.json`,
  /** The version the target reported at the start, `{ "version": "2.4.1" }`, written by segment 0. */
  targetVersion: (env: string, runId: string) => `runs/${env}/${runId}/target-version.json`,
  runError: (env: string, runId: string) => `runs/${env}/${runId}/run-error.json`,
  segmentStop: (env: string, runId: string, segment: number) => `runs/${env}/${runId}/stops/${segment}.json`,
  history: (env: string, scenario: string, runId: string) => `history/${env}/${scenario}/${runId}.json`,
  lock: (env: string) => `locks/${env}.json`,
} as const;
