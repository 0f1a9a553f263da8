/**
 * Run planning: request validation against the environment's guards, run ids,
 * k6 execution segments, and the run manifest.
 */
import { randomBytes } from 'node:crypto';
import type { EnvConfig } from './config.js';
import { formatDuration } from './duration.js';
import {
  DURATION_RANGE_S,
  RATE_RANGE,
  RunRequestSchema,
  SCHEMA_VERSION,
  SEGMENTS_RANGE,
  type RunManifest,
  type RunRequest,
  type SegmentPlan,
  type ThresholdMap,
} from './schemas.js';

/** Spelling of each request field where the user typed it (CLI option or JSON field). */
export type FieldNames = Partial<Record<keyof RunRequest, string>>;

export const CLI_FIELD_NAMES: FieldNames = {
  env: '--env',
  target: '--target',
  scenario: '--scenario',
  rate: '--rate',
  durationS: '--duration',
  segments: '--segments',
  thresholds: '--threshold',
  labels: '--label',
  dryRun: '--dry-run',
  runId: '--run-id',
};

export class RequestValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid run request:\n  ${problems.join('\n  ')}`);
    this.name = 'RequestValidationError';
  }
}

const RANGE_HINTS: Partial<Record<keyof RunRequest, string>> = {
  rate: `allowed ${RATE_RANGE.min}..${RATE_RANGE.max} iterations per second`,
  durationS: `allowed ${formatDuration(DURATION_RANGE_S.min)}..${formatDuration(DURATION_RANGE_S.max)}, for example 30m or 8h`,
  segments: `allowed ${SEGMENTS_RANGE.min}..${SEGMENTS_RANGE.max}`,
  target: 'use an http:// or https:// URL, for example http://127.0.0.1:3000',
  env: 'use 1-32 lowercase letters, digits or dashes',
};

function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * Validates a run request and the environment's guards: limits, target allowlist.
 * Every problem names the field as the user spelled it, the value and the allowed range.
 */
export function validateRunRequest(input: Record<string, unknown>, config: EnvConfig, names: FieldNames = {}): RunRequest {
  const nameOf = (field: string) => names[field as keyof RunRequest] ?? field;
  const parsed = RunRequestSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '(request)');
      if (issue.code === 'unrecognized_keys') {
        return `${issue.keys.map(nameOf).join(', ')}: unknown field; remove it (known fields: ${Object.keys(RunRequestSchema.shape).join(', ')})`;
      }
      const hint = RANGE_HINTS[field as keyof RunRequest] ?? issue.message;
      return `${nameOf(field)}: ${shown(input[field])} is invalid; ${hint}`;
    });
    throw new RequestValidationError(problems);
  }

  const request = parsed.data;
  const problems: string[] = [];
  const { limits } = config;
  if (request.rate > limits.maxRate) {
    problems.push(`${nameOf('rate')}: ${request.rate} is above the limit of env "${request.env}"; allowed 1..${limits.maxRate}`);
  }
  if (request.durationS > limits.maxDurationS) {
    problems.push(
      `${nameOf('durationS')}: ${formatDuration(request.durationS)} is above the limit of env "${request.env}"; allowed up to ${formatDuration(limits.maxDurationS)}`,
    );
  }
  if (request.segments > limits.maxSegments) {
    problems.push(`${nameOf('segments')}: ${request.segments} is above the limit of env "${request.env}"; allowed 1..${limits.maxSegments}`);
  }
  if (request.segments > request.rate) {
    problems.push(`${nameOf('segments')}: ${request.segments} segments for ${request.rate} iterations/s leaves a segment with no load; use at most ${request.rate}`);
  }
  const host = new URL(request.target).hostname;
  if (config.targetAllowlist.length > 0 && !config.targetAllowlist.includes(host)) {
    problems.push(
      `${nameOf('target')}: host "${host}" is not in the allowlist of env "${request.env}" (${config.targetAllowlist.join(', ')}); add it to targetAllowlist in the environment's configuration`,
    );
  }
  if (problems.length > 0) throw new RequestValidationError(problems);
  return request;
}

/** Formats the fraction i/n as k6 writes execution segment bounds: `0`, `1/3`, `1`. */
function fraction(i: number, n: number): string {
  if (i === 0) return '0';
  if (i === n) return '1';
  const divisor = gcd(i, n);
  return `${i / divisor}/${n / divisor}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Splits a run into `count` equal k6 execution segments that share one sequence,
 * so k6 partitions the arrival rate and VUs exactly once across the processes.
 */
export function planSegments(count: number, rate: number): SegmentPlan[] {
  const bounds = Array.from({ length: count + 1 }, (_, i) => fraction(i, count));
  const sequence = bounds.join(',');
  return Array.from({ length: count }, (_, i) => ({
    index: i,
    executionSegment: `${bounds[i]}:${bounds[i + 1]}`,
    sequence,
    fraction: 1 / count,
    plannedRate: rate / count,
  }));
}

function compactUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Derives a run id. A scheduled run's id comes from its scheduled time alone, so a
 * second delivery of the same schedule event maps to the same id and is rejected.
 */
export function deriveRunId(options: { nowMs: number; scheduledTime?: string; random?: () => string }): string {
  if (options.scheduledTime !== undefined) {
    const scheduled = Date.parse(options.scheduledTime);
    if (Number.isNaN(scheduled)) throw new Error(`Invalid scheduled time "${options.scheduledTime}": expected an ISO 8601 time`);
    return `nightly-${compactUtc(scheduled)}`;
  }
  const suffix = options.random?.() ?? randomBytes(3).toString('hex');
  return `run-${compactUtc(options.nowMs)}-${suffix}`;
}

/** Time allowed after the planned end for k6's graceful stop, the last checkpoint and upload. */
export const DEADLINE_GRACE_S = 15 * 60;

export interface ScenarioInfo {
  name: string;
  path: string;
  hash: string | null;
  bundled: boolean;
  thresholds: ThresholdMap;
}

export function buildManifest(input: {
  runId: string;
  request: RunRequest;
  config: EnvConfig;
  scenario: ScenarioInfo;
  nowMs: number;
}): RunManifest {
  const { request, config, scenario } = input;
  const thresholds: ThresholdMap = { ...scenario.thresholds, ...config.thresholds, ...request.thresholds };
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: input.runId,
    env: request.env,
    createdAtMs: input.nowMs,
    deadlineMs: input.nowMs + (config.defaults.healthTimeoutS + request.durationS + DEADLINE_GRACE_S) * 1000,
    request: { ...request, runId: input.runId },
    scenario: { name: scenario.name, path: scenario.path, hash: scenario.hash },
    segments: planSegments(request.segments, request.rate),
    thresholds,
    config,
    launched: [],
    state: 'planned',
    bundledScenario: scenario.bundled,
  };
}
