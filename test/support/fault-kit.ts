/**
 * Building blocks of the fault-injection suite (test/faults/): synthetic k6 streams
 * and stored runs, result stores that fail on purpose, an in-memory S3 bucket behind
 * aws-sdk-client-mock, a local webhook server, and process lookups through /proc.
 * Every server here listens on 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { encodeWindows } from '../../core/checkpoint.js';
import { parseEnvConfig, type EnvConfig, type EnvConfigInput } from '../../core/config.js';
import { buildManifest } from '../../core/plan.js';
import { keys, type Log, type ResultStore } from '../../core/ports.js';
import { RunRequestSchema, SCHEMA_VERSION, type RunManifest, type SegmentResult, type WindowRecord } from '../../core/schemas.js';
import { WindowAggregator } from '../../core/windows.js';
import { fakeK6Env, type FakeK6Settings } from './fake-k6.js';
import { ROOT } from './soak-cli.js';

// ---------------------------------------------------------------- synthetic k6 output

/** Metric lines as k6 v1.3.0 writes them before the first point of each metric. */
const METRIC_TYPES: Record<string, { type: string; contains: string }> = {
  http_req_duration: { type: 'trend', contains: 'time' },
  http_req_failed: { type: 'rate', contains: 'default' },
  http_reqs: { type: 'counter', contains: 'default' },
  iterations: { type: 'counter', contains: 'default' },
  dropped_iterations: { type: 'counter', contains: 'default' },
  checks: { type: 'rate', contains: 'default' },
  vus: { type: 'gauge', contains: 'default' },
};

export function metricLine(name: string, type = METRIC_TYPES[name]?.type ?? 'counter', contains = 'default'): string {
  return JSON.stringify({ type: 'Metric', data: { name, type, contains, thresholds: [], submetrics: null }, metric: name });
}

export function pointLine(metric: string, timeMs: number, value: number | string, tags: Record<string, string> = {}): string {
  // `value` may be a raw token such as NaN, which JSON.stringify cannot write.
  return `{"metric":"${metric}","type":"Point","data":{"time":"${new Date(timeMs).toISOString()}","value":${value},"tags":${JSON.stringify(tags)}}}`;
}

export interface TrafficSpec {
  startMs: number;
  seconds: number;
  perSecond: number;
  latencyMs?: number;
  /** Requests in [fromS, toS) fail with this status and k6 error code (status "0" for transport errors). */
  failure?: { fromS: number; toS: number; status: string; errorCode?: string };
  droppedPerSecond?: number;
}

/** k6 JSON lines of a constant-rate run: one request and one iteration per arrival. */
export function trafficLines(spec: TrafficSpec): string[] {
  const lines = Object.keys(METRIC_TYPES).map((name) => metricLine(name, METRIC_TYPES[name]!.type, METRIC_TYPES[name]!.contains));
  for (let second = 0; second < spec.seconds; second++) {
    for (let i = 0; i < spec.perSecond; i++) {
      const timeMs = spec.startMs + second * 1000 + Math.floor((i * 1000) / spec.perSecond);
      const failing = spec.failure !== undefined && second >= spec.failure.fromS && second < spec.failure.toS;
      const tags: Record<string, string> = failing
        ? { expected_response: 'false', name: 'create', status: spec.failure!.status, ...(spec.failure!.errorCode ? { error_code: spec.failure!.errorCode } : {}) }
        : { expected_response: 'true', name: 'create', status: '201' };
      lines.push(pointLine('http_req_duration', timeMs, failing ? 0 : (spec.latencyMs ?? 20), tags));
      lines.push(pointLine('http_req_failed', timeMs, failing ? 1 : 0, tags));
      lines.push(pointLine('iterations', timeMs, 1, { scenario: 'sigil' }));
      lines.push(pointLine('checks', timeMs, failing ? 0 : 1, { check: 'create status is 201' }));
    }
    if (spec.droppedPerSecond) lines.push(pointLine('dropped_iterations', spec.startMs + second * 1000 + 500, spec.droppedPerSecond, { scenario: 'sigil' }));
    lines.push(pointLine('vus', spec.startMs + second * 1000, 10));
  }
  return lines;
}

/** Aggregates k6 lines into closed window records, as one segment's runner would. */
export function aggregateLines(lines: readonly string[], options: { runId: string; segment: number; runnerCpuSPerWindow?: number }): WindowRecord[] {
  const aggregator = new WindowAggregator({ runId: options.runId, segment: options.segment });
  for (const line of lines) aggregator.addLine(line);
  const records = aggregator.closeAll();
  if (options.runnerCpuSPerWindow !== undefined) {
    for (const record of records) record.generator.runnerCpuS = options.runnerCpuSPerWindow;
  }
  return records;
}

// ---------------------------------------------------------------- stored runs

export interface SeedOptions {
  runId: string;
  env?: string;
  rate?: number;
  durationS?: number;
  segments?: number;
  bundled?: boolean;
  createdAtMs?: number;
  config?: EnvConfigInput;
}

/** Writes the manifest of a run planned at `createdAtMs`, as `soak run --local` does. */
export async function seedManifest(store: ResultStore, options: SeedOptions): Promise<RunManifest> {
  const env = options.env ?? 'local';
  const config: EnvConfig = parseEnvConfig({ probe: { enabled: false }, ...options.config }, 'the test configuration');
  const request = RunRequestSchema.parse({
    env,
    target: 'http://127.0.0.1:9',
    scenario: 'sigil',
    rate: options.rate ?? 10,
    durationS: options.durationS ?? 60,
    segments: options.segments ?? 1,
  });
  const manifest = buildManifest({
    runId: options.runId,
    request,
    config,
    scenario: { name: 'sigil', path: 'sigil', hash: null, bundled: options.bundled ?? true, thresholds: {} },
    nowMs: options.createdAtMs ?? Date.now(),
  });
  await store.put(keys.manifest(env, options.runId), JSON.stringify(manifest, null, 2));
  return manifest;
}

/** Stores window records as numbered checkpoints of `perCheckpoint` windows each. */
export async function storeWindows(store: ResultStore, manifest: RunManifest, segment: number, records: readonly WindowRecord[], perCheckpoint = 6): Promise<number> {
  let seq = 0;
  for (let i = 0; i < records.length; i += perCheckpoint) {
    await store.putIfAbsent(keys.windows(manifest.env, manifest.runId, segment, seq), encodeWindows(records.slice(i, i + perCheckpoint)));
    seq += 1;
  }
  return seq;
}

/** Returns a segment result as run-segment writes it, with the first and last point of `records`. */
export function segmentResult(manifest: RunManifest, segment: number, records: readonly WindowRecord[], overrides: Partial<SegmentResult> = {}): SegmentResult {
  const first = records[0]?.startMs ?? null;
  const last = records.length > 0 ? records[records.length - 1]!.startMs + records[records.length - 1]!.lengthMs - 1 : null;
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: manifest.runId,
    segment,
    executionSegment: manifest.segments[segment]?.executionSegment ?? '0:1',
    k6Version: 'k6 v1.3.0 (synthetic)',
    k6ExitCode: 0,
    k6Signal: null,
    stopReason: 'completed',
    detail: 'k6 ran to the end of its scenarios',
    startedAtMs: first ?? manifest.createdAtMs,
    endedAtMs: last ?? manifest.createdAtMs,
    firstPointMs: first,
    lastPointMs: last,
    plannedDurationS: manifest.request.durationS,
    windowsWritten: records.length,
    lastCheckpointSeq: null,
    scriptExceptions: 0,
    stderrTail: [],
    ...overrides,
  };
}

export async function storeResult(store: ResultStore, result: SegmentResult, env = 'local'): Promise<void> {
  await store.put(keys.segmentResult(env, result.runId, result.segment), JSON.stringify(result, null, 2));
}

/** Reads every window record stored for one segment, checkpoint by checkpoint. */
export async function storedWindows(store: ResultStore, env: string, runId: string, segment: number): Promise<WindowRecord[]> {
  const records: WindowRecord[] = [];
  for (const key of await store.list(keys.windowsPrefix(env, runId, segment))) {
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    for (const line of gunzipSync(bytes).toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as WindowRecord);
  }
  return records;
}

// ---------------------------------------------------------------- failing stores

export type StoreOperation = 'putIfAbsent' | 'put' | 'get' | 'list' | 'delete';

/**
 * What a faulty store does with one call: pass it on, throw without writing, or
 * write and then throw, as a write whose response was lost.
 */
export type FaultAction = 'ok' | 'fail' | 'lost';

export class StoreFault extends Error {
  readonly retryable = true;
  readonly code = 'ENOSPC';

  constructor(operation: StoreOperation, key: string) {
    super(`injected fault: could not ${operation} ${key} (ENOSPC)`);
    this.name = 'StoreFault';
  }
}

/** A ResultStore wrapper that fails the calls a plan picks; `calls` counts calls per operation. */
export class FaultyStore implements ResultStore {
  readonly calls = new Map<StoreOperation, number>();
  readonly faults: { operation: StoreOperation; key: string; action: FaultAction }[] = [];

  constructor(
    readonly inner: ResultStore,
    public plan: (operation: StoreOperation, key: string) => FaultAction,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  async #call<T>(operation: StoreOperation, key: string, run: () => Promise<T>): Promise<T> {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    const action = this.plan(operation, key);
    if (action === 'ok') return run();
    this.faults.push({ operation, key, action });
    if (action === 'lost') await run();
    throw new StoreFault(operation, key);
  }

  putIfAbsent(key: string, body: Uint8Array | string, contentType?: string): Promise<boolean> {
    return this.#call('putIfAbsent', key, () => this.inner.putIfAbsent(key, body, contentType));
  }

  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    return this.#call('put', key, () => this.inner.put(key, body, contentType));
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#call('get', key, () => this.inner.get(key));
  }

  list(prefix: string, startAfter?: string): Promise<string[]> {
    return this.#call('list', prefix, () => this.inner.list(prefix, startAfter));
  }

  delete(key: string): Promise<void> {
    return this.#call('delete', key, () => this.inner.delete(key));
  }
}

// ---------------------------------------------------------------- S3 through the SDK mock

export function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

export type BucketFault = (command: 'PutObject' | 'GetObject' | 'ListObjectsV2' | 'DeleteObject', key: string, createOnly: boolean) => Error | undefined;

/**
 * An S3 bucket in memory behind aws-sdk-client-mock. Unlike s3rver it enforces
 * `If-None-Match: *`: a create-only PutObject of an existing key fails with 412
 * PreconditionFailed, as S3 answers. `fault` may fail any call first.
 */
export function mockBucket(client: S3Client, fault: BucketFault = () => undefined): { objects: Map<string, Uint8Array>; restore(): void } {
  const objects = new Map<string, Uint8Array>();
  const mock = mockClient(client);
  mock.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: Uint8Array | string; IfNoneMatch?: string }) => {
    const createOnly = input.IfNoneMatch === '*';
    const error = fault('PutObject', input.Key, createOnly);
    if (error) throw error;
    if (createOnly && objects.has(input.Key)) throw s3Error('PreconditionFailed', 412);
    objects.set(input.Key, typeof input.Body === 'string' ? new TextEncoder().encode(input.Body) : new Uint8Array(input.Body));
    return { ETag: '"etag"' };
  });
  mock.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
    const error = fault('GetObject', input.Key, false);
    if (error) throw error;
    const bytes = objects.get(input.Key);
    if (bytes === undefined) throw s3Error('NoSuchKey', 404);
    return { Body: { transformToByteArray: async () => bytes } };
  });
  mock.on(ListObjectsV2Command).callsFake(async (input: { Prefix?: string }) => {
    const error = fault('ListObjectsV2', input.Prefix ?? '', false);
    if (error) throw error;
    const found = [...objects.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).sort();
    return { Contents: found.map((Key) => ({ Key })), IsTruncated: false };
  });
  mock.on(DeleteObjectCommand).callsFake(async (input: { Key: string }) => {
    const error = fault('DeleteObject', input.Key, false);
    if (error) throw error;
    objects.delete(input.Key);
    return {};
  });
  return { objects, restore: () => mock.restore() };
}

// ---------------------------------------------------------------- logs

/** Returns a Log that keeps every line as `level message {fields}`, for assertions. */
export function memoryLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const make = (bound: Record<string, unknown>): Log => {
    const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      lines.push(`${level} ${message} ${JSON.stringify({ ...bound, ...fields }, (_key, value: unknown) => (value instanceof Error ? value.message : value))}`);
    };
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (fields) => make({ ...bound, ...fields }) };
  };
  return { log: make({}), lines };
}

// ---------------------------------------------------------------- webhook

export type WebhookReply = (request: IncomingMessage, response: ServerResponse) => void;

export const reply =
  (status: number, body = '', headers: Record<string, string> = {}): WebhookReply =>
  (_request, response) =>
    response.writeHead(status, headers).end(body);

/** A Slack webhook stand-in on 127.0.0.1: each POST gets the next scripted reply, then `fallback`. */
export class WebhookServer {
  readonly server: Server;
  readonly bodies: string[] = [];
  readonly paths: string[] = [];
  /** Arrival time of each POST, in epoch milliseconds. */
  readonly times: number[] = [];
  replies: WebhookReply[] = [];
  fallback: WebhookReply = reply(200, 'ok');

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.bodies.push(Buffer.concat(chunks).toString('utf8'));
        this.paths.push(request.url ?? '');
        this.times.push(Date.now());
        (this.replies.shift() ?? this.fallback)(request, response);
      });
    });
  }

  /** Starts listening and returns the webhook URL with `path`. */
  async start(path: string): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- processes and waiting

export interface ProcessInfo {
  pid: number;
  cmdline: string[];
}

/** Processes (Linux /proc) whose environment has `name=value`, such as SOAK_RUN_ID of one run. */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!environ.includes(`${name}=${value}`)) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // The process ended while it was read, or belongs to another user.
    }
  }
  return found;
}

/** Polls `probe` every 200 ms until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Reads every file under `dir` as text, unpacking gzipped files first. */
export function readAllFiles(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = `${entry.parentPath}/${entry.name}`;
      const bytes = readFileSync(path);
      return { path, text: (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8') };
    });
}

// ---------------------------------------------------------------- the CLI in its own process group

export interface DetachedSoak {
  pid: number;
  result: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Sends `signal` to the CLI and every process it started (run-segment children, k6). */
  killGroup(signal: NodeJS.Signals): void;
}

/**
 * Starts `soak ...args` with the k6 double, like startSoak in soak-cli.ts, but as the
 * leader of a new process group, so that a test can kill the CLI together with its
 * children as an out-of-memory kill or a lost machine would. Ends after `timeoutMs`.
 */
export function startSoakGroup(args: string[], options: { fake?: FakeK6Settings; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): DetachedSoak {
  const env = {
    ...fakeK6Env(options.fake ?? {}),
    SOAK_K6_PASS_ENV: 'FAKE_K6_CASE,FAKE_K6_SPEED,FAKE_K6_LOOP_S,FAKE_K6_ARGS_FILE,FAKE_K6_CUT_LAST_LINE',
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'bin/soak.ts'), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already gone.
    }
  };
  const timer = setTimeout(() => killGroup('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { pid: child.pid!, result, killGroup };
}
