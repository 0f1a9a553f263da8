/**
 * Finding and starting k6. Every k6 process started here runs with usage reports
 * and automatic extension resolution off and its REST API bound to a free loopback
 * port, so k6 itself reports to no one and segments can run side by side. The one
 * exception is the OpenTelemetry output, which sends metrics to the endpoint in the
 * `K6_OTEL_*` variables when SOAK_K6_OTEL requests it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { EnvVar, K6_OTEL_PREFIX, K6OtelEnvVar } from '../core/env-vars.js';
import { redact } from '../core/log.js';
import { parseMetricKey } from '../core/windows.js';

export const K6_SAFE_ENV = {
  K6_NO_USAGE_REPORT: 'true',
  K6_AUTO_EXTENSION_RESOLUTION: 'false',
} as const;

export const K6_API_ADDRESS = '127.0.0.1:0';

export const K6_INSTALL_HINT =
  'Install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) and put it on PATH, or set K6_BIN to the path of the k6 binary.';

export class K6NotFoundError extends Error {
  constructor(detail: string) {
    super(`k6 was not found: ${detail}. ${K6_INSTALL_HINT}`);
    this.name = 'K6NotFoundError';
  }
}

export class K6InspectError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'K6InspectError';
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Returns the k6 binary from K6_BIN, or the first `k6` on PATH. */
export async function findK6(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const configured = env[EnvVar.K6Bin];
  if (configured !== undefined && configured !== '') {
    if (!isAbsolute(configured) && !configured.includes('/')) {
      // A bare name such as `k6` is looked up on PATH like a shell would.
      return findOnPath(configured, env);
    }
    if (await isExecutable(configured)) return configured;
    throw new K6NotFoundError(`K6_BIN is "${configured}", which is not an executable file`);
  }
  return findOnPath('k6', env);
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string> {
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, name);
    if (await isExecutable(candidate)) return candidate;
  }
  throw new K6NotFoundError(`no executable "${name}" on PATH and K6_BIN is not set`);
}

export function k6Environment(extra: Record<string, string>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...extra, ...K6_SAFE_ENV };
}

interface CapturedRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCaptured(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CapturedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    const limit = 8 * 1024 * 1024;
    const keep = (target: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) target.push(chunk);
    };
    child.stdout.on('data', keep(stdout));
    child.stderr.on('data', keep(stderr));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** Returns the first line of `k6 version`, such as `k6 v1.3.0 (commit/devel, go1.23.5, linux/amd64)`. */
export async function k6Version(bin: string): Promise<string | null> {
  try {
    const result = await runCaptured(bin, ['version'], k6Environment({}), 15_000);
    const line = result.stdout.split('\n').find((text) => text.startsWith('k6 '));
    return line?.trim() ?? null;
  } catch {
    return null;
  }
}

export interface InspectResult {
  /** The resolved options as `k6 inspect --execution-requirements` prints them. */
  options: Record<string, unknown>;
  thresholds: Record<string, unknown[]>;
  /** Maximum time the test can run, graceful stops included, in seconds. */
  totalDurationS: number | null;
  maxVUs: number | null;
}

/**
 * Runs `k6 inspect --execution-requirements` on a script: it validates the script
 * and resolves its options (thresholds included) with the given non-secret variables.
 */
export async function inspectScript(bin: string, scriptPath: string, scriptEnv: Record<string, string>): Promise<InspectResult> {
  // `k6 inspect`, unlike `k6 run`, ignores system environment variables, so the
  // scenario's variables go in as `-e`. Only non-secret ones: options never need a token.
  const variables = Object.entries(scriptEnv).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  const args = ['inspect', '--address', K6_API_ADDRESS, '--execution-requirements', ...variables, scriptPath];
  const result = await runCaptured(bin, args, k6Environment({}), 120_000);
  if (result.exitCode !== 0) {
    const detail = redact(lastLines(result.stderr || result.stdout, 8).join('\n'));
    throw new K6InspectError(
      `k6 inspect rejected ${scriptPath} (exit code ${result.exitCode ?? result.signal}):\n${detail}\nFix the script so that \`k6 inspect ${scriptPath}\` succeeds.`,
      result.exitCode,
      detail,
    );
  }

  let options: Record<string, unknown>;
  try {
    options = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch (error) {
    throw new K6InspectError(`k6 inspect printed output that is not JSON for ${scriptPath}`, result.exitCode, String(error));
  }
  const thresholds = (options.thresholds ?? {}) as Record<string, unknown[]>;
  const totalDuration = typeof options.totalDuration === 'string' ? parseGoDuration(options.totalDuration) : null;
  return {
    options,
    thresholds: thresholds ?? {},
    totalDurationS: totalDuration,
    maxVUs: typeof options.maxVUs === 'number' ? options.maxVUs : null,
  };
}

/** Seconds per unit of Go's duration format; `us` and `µs` fall to the default of 1e-6. */
const GO_DURATION_UNITS_S: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, ns: 1e-9 };

/** Parses Go's duration format as k6 prints it (`1h2m3.5s`, `40s`, `500ms`) into seconds. */
export function parseGoDuration(text: string): number | null {
  const pattern = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  let seconds = 0;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    const amount = Number(match[1]);
    const unit = match[2];
    const factor = GO_DURATION_UNITS_S[unit ?? ''] ?? 1e-6;
    seconds += amount * factor;
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? seconds : null;
}

export function lastLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count);
}

/**
 * Name of k6's OpenTelemetry output in k6 v1.3.0, which rejects `--out opentelemetry`
 * as an invalid output type.
 */
export const K6_OTEL_OUTPUT = 'experimental-opentelemetry';

export interface RunArgsInput {
  scriptPath: string;
  executionSegment: string;
  sequence: string;
  /** Path of k6's JSON sample stream: a named pipe, never a file on disk. */
  outPath: string;
  /** Adds k6's OpenTelemetry output next to the JSON output; k6 reads its settings from `K6_OTEL_*` variables. */
  otel?: boolean;
  /** k6 system tags to attach to samples (`--system-tags`); k6's defaults when absent. */
  systemTags?: readonly string[];
}

/** The system tags the runner reads: a request's name, its status and how it failed. */
export const RUNNER_SYSTEM_TAGS = ['name', 'status', 'expected_response', 'error_code'] as const;

/** Every system tag of k6 v1.3.0. */
export const K6_SYSTEM_TAGS: readonly string[] = [
  'proto', 'subproto', 'status', 'method', 'url', 'name', 'group', 'check', 'error', 'error_code',
  'tls_version', 'scenario', 'service', 'expected_response', 'vu', 'iter', 'ip', 'ocsp_status',
];

/**
 * Returns the system tags a segment requests from k6: those the runner reads, plus each
 * system tag a threshold key filters on, such as `method` in
 * `http_req_duration{method:POST}`. Other tags (`url`, `proto`, `scenario`, ...) would
 * lengthen every sample line by a third and cost k6 and the runner CPU for nothing.
 * Tags a script sets itself are not system tags and always stay.
 */
export function systemTagsFor(thresholdKeys: readonly string[]): string[] {
  const tags = new Set<string>(RUNNER_SYSTEM_TAGS);
  for (const key of thresholdKeys) {
    for (const tag of Object.keys(parseMetricKey(key).tags)) if (K6_SYSTEM_TAGS.includes(tag)) tags.add(tag);
  }
  return [...tags];
}

/**
 * Builds the `k6 run` arguments of a soak segment. Thresholds and the end-of-test
 * summary are off because k6 would keep every Trend sample in memory for them. The
 * runner evaluates thresholds on its own windows instead.
 */
export function buildRunArgs(input: RunArgsInput): string[] {
  return [
    'run',
    '--address',
    K6_API_ADDRESS,
    '--no-thresholds',
    '--summary-mode=disabled',
    '--no-color',
    '--quiet',
    '--execution-segment',
    input.executionSegment,
    '--execution-segment-sequence',
    input.sequence,
    ...(input.systemTags ? ['--system-tags', input.systemTags.join(',')] : []),
    '--out',
    `json=${input.outPath}`,
    ...(input.otel ? ['--out', K6_OTEL_OUTPUT] : []),
    input.scriptPath,
  ];
}

export const OTEL_EXPORTER_TYPES = ['grpc', 'http'] as const;
export type OtelExporterType = (typeof OTEL_EXPORTER_TYPES)[number];

/** The segment that k6 reports metrics for, sent as OpenTelemetry resource attributes. */
export interface OtelResource {
  env: string;
  runId: string;
  segment: number;
}

/** k6's OpenTelemetry output as run-segment's environment requests it. */
export interface OtelOutput {
  exporter: OtelExporterType;
  /** Variables to add to k6's environment. */
  env: Record<string, string>;
}

/**
 * Reads the OpenTelemetry output request from run-segment's environment. Returns
 * undefined when SOAK_K6_OTEL is unset or empty, and throws on a value other than
 * `grpc` or `http`. The result passes on every `K6_OTEL_*` variable, sets the exporter
 * type, and sets OTEL_RESOURCE_ATTRIBUTES to `soak.env`, `soak.run_id` and `soak.segment`.
 */
export function otelOutputFromEnv(source: NodeJS.ProcessEnv, resource: OtelResource): OtelOutput | undefined {
  const requested = source[EnvVar.K6Otel];
  if (requested === undefined || requested === '') return undefined;
  if (!(OTEL_EXPORTER_TYPES as readonly string[]).includes(requested)) {
    throw new Error(`Invalid ${EnvVar.K6Otel} "${requested}": set it to "grpc" or "http", or unset it to run k6 without the OpenTelemetry output.`);
  }
  const exporter = requested as OtelExporterType;

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (name.startsWith(K6_OTEL_PREFIX) && value !== undefined) env[name] = value;
  }
  env[K6OtelEnvVar.ExporterType] = exporter;
  env[K6OtelEnvVar.ResourceAttributes] = otelResourceAttributes(resource);
  return { exporter, env };
}

/** Formats the segment as OTEL_RESOURCE_ATTRIBUTES, whose values the OpenTelemetry SDK percent-decodes. */
export function otelResourceAttributes(resource: OtelResource): string {
  const attributes: [string, string][] = [
    ['soak.env', resource.env],
    ['soak.run_id', resource.runId],
    ['soak.segment', String(resource.segment)],
  ];
  return attributes.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join(',');
}
