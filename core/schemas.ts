/**
 * Versioned contracts shared by the local mode, the Fargate task and the Lambdas.
 * Every file read back from a result store is parsed with these schemas.
 */
import { z } from 'zod';
import { HistogramJsonSchema } from './histogram.js';

export const SCHEMA_VERSION = 1;

export const RATE_RANGE = { min: 1, max: 100_000 } as const;
export const DURATION_RANGE_S = { min: 10, max: 72 * 3600 } as const;
export const SEGMENTS_RANGE = { min: 1, max: 64 } as const;

/** Every verdict, from highest to lowest precedence (core/verdict.ts explains the order). */
export const VERDICTS = [
  'ERROR',
  'INCOMPLETE',
  'STOPPED',
  'FAIL',
  'REGRESSION',
  'LEAK_SUSPECTED',
  'DRIFT',
  'PASS',
] as const;
export const VerdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof VerdictSchema>;

const EnvNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'use 1-32 lowercase letters, digits or dashes, for example "staging"');

export const RunIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/, 'use letters, digits, dot, dash or underscore (at most 80)');

/**
 * Threshold expressions per metric key, in the forms k6's `options.thresholds` takes:
 * `{ "http_req_duration{name:verify}": ["p(95)<800", { threshold: "p(99)<1500", abortOnFail: true }] }`.
 */
export const ThresholdEntrySchema = z.union([
  z.string().min(1),
  z
    .object({
      threshold: z.string().min(1),
      abortOnFail: z.boolean().optional(),
      // k6 prints null when abortOnFail is set without a delay; a number is milliseconds.
      delayAbortEval: z.union([z.string(), z.number().nonnegative()]).nullable().optional(),
    })
    .strict(),
]);
export const ThresholdMapSchema = z.record(z.string().min(1), z.array(ThresholdEntrySchema));
export type ThresholdMap = z.infer<typeof ThresholdMapSchema>;

/** A request for a run: a scheduled night, `soak run --local`, `soak start` or a Lambda invoke. */
export const RunRequestSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION).default(SCHEMA_VERSION),
    env: EnvNameSchema,
    target: z.url({ protocol: /^https?$/ }),
    scenario: z.string().min(1),
    rate: z.number().int().min(RATE_RANGE.min).max(RATE_RANGE.max),
    durationS: z.number().int().min(DURATION_RANGE_S.min).max(DURATION_RANGE_S.max),
    segments: z.number().int().min(SEGMENTS_RANGE.min).max(SEGMENTS_RANGE.max),
    thresholds: ThresholdMapSchema.default({}),
    labels: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(256)).default({}),
    dryRun: z.boolean().default(false),
    runId: RunIdSchema.optional(),
  })
  .strict();
export type RunRequest = z.infer<typeof RunRequestSchema>;
export type RunRequestInput = z.input<typeof RunRequestSchema>;

/** One k6 execution segment of a run, as `--execution-segment` takes it. */
export const SegmentPlanSchema = z.object({
  index: z.number().int().nonnegative(),
  executionSegment: z.string(),
  sequence: z.string(),
  fraction: z.number().positive().max(1),
  plannedRate: z.number().nonnegative(),
});
export type SegmentPlan = z.infer<typeof SegmentPlanSchema>;

// ---------------------------------------------------------------- windows

export const CounterAggregateSchema = z.object({ type: z.literal('counter'), samples: z.number(), sum: z.number() });
export const GaugeAggregateSchema = z.object({
  type: z.literal('gauge'),
  samples: z.number(),
  min: z.number(),
  max: z.number(),
  last: z.number(),
});
export const RateAggregateSchema = z.object({ type: z.literal('rate'), passes: z.number(), total: z.number() });
export const TrendAggregateSchema = z.object({ type: z.literal('trend'), histogram: HistogramJsonSchema });
export const MetricAggregateSchema = z.discriminatedUnion('type', [
  CounterAggregateSchema,
  GaugeAggregateSchema,
  RateAggregateSchema,
  TrendAggregateSchema,
]);
export type MetricAggregate = z.infer<typeof MetricAggregateSchema>;

export const FAILURE_KINDS = ['status4xx', 'status5xx', 'timeout', 'connection', 'otherTransport'] as const;
export const FailureCountsSchema = z.object(
  Object.fromEntries(FAILURE_KINDS.map((kind) => [kind, z.number().int().nonnegative()])) as Record<
    (typeof FAILURE_KINDS)[number],
    z.ZodNumber
  >,
);
export type FailureCounts = z.infer<typeof FailureCountsSchema>;

export const RequestAggregateSchema = z.object({
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** `http_req_duration` of successful requests only, so a dead target never shows good latency. */
  okLatency: HistogramJsonSchema,
  failedLatency: HistogramJsonSchema,
});
export type RequestAggregate = z.infer<typeof RequestAggregateSchema>;

export const ProbeAggregateSchema = z.object({
  samples: z.number().int().nonnegative(),
  min: z.number(),
  max: z.number(),
  last: z.number(),
});
export type ProbeAggregate = z.infer<typeof ProbeAggregateSchema>;

export const GeneratorHealthSchema = z.object({
  /** CPU seconds used by k6 and by the runner during the window, when measurable. */
  k6CpuS: z.number().nullable(),
  runnerCpuS: z.number().nullable(),
  /** Largest wall-clock delay between a point's timestamp and its arrival at the runner. */
  streamLagMsMax: z.number().nullable(),
  latePoints: z.number().int().nonnegative(),
  unparsableLines: z.number().int().nonnegative(),
  unknownMetricPoints: z.number().int().nonnegative(),
  scriptExceptions: z.number().int().nonnegative(),
  probeFailures: z.number().int().nonnegative(),
  /** Seconds in which the generator's machine was at least 90 % busy or its cgroup throttled. */
  cpuSaturatedS: z.number().nonnegative().default(0),
});
export type GeneratorHealth = z.infer<typeof GeneratorHealthSchema>;

/** One 10-second window of one segment. Windows of all segments merge by key. */
export const WindowRecordSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  runId: z.string(),
  segment: z.number().int().nonnegative(),
  /** Window start in epoch milliseconds, a multiple of `lengthMs` (UTC aligned). */
  startMs: z.number().int(),
  lengthMs: z.number().int().positive(),
  /** Per metric name and per threshold tag filter (`http_req_duration{name:verify}`). */
  metrics: z.record(z.string(), MetricAggregateSchema),
  requests: RequestAggregateSchema,
  /** Requests by `name` tag; names past the cap fold into `other`. */
  requestsByName: z.record(z.string(), RequestAggregateSchema),
  failures: FailureCountsSchema,
  /** Counts of `status` tag values, such as `"200"`, `"500"` or `"0"`. */
  statuses: z.record(z.string(), z.number().int().nonnegative()),
  checks: z.object({ passes: z.number().int().nonnegative(), fails: z.number().int().nonnegative() }),
  iterations: z.number().int().nonnegative(),
  droppedIterations: z.number().int().nonnegative(),
  vus: z.number().nullable(),
  vusMax: z.number().nullable(),
  dataSentBytes: z.number().nonnegative(),
  dataReceivedBytes: z.number().nonnegative(),
  probes: z.record(z.string(), ProbeAggregateSchema),
  generator: GeneratorHealthSchema,
});
export type WindowRecord = z.infer<typeof WindowRecordSchema>;

// ---------------------------------------------------------------- segment result

export const SEGMENT_STOP_REASONS = [
  'completed',
  'stopped',
  'aborted-by-script',
  'script-error',
  'config-error',
  'k6-error',
  'killed',
  'k6-not-found',
  'runner-error',
] as const;
export const SegmentStopReasonSchema = z.enum(SEGMENT_STOP_REASONS);
export type SegmentStopReason = z.infer<typeof SegmentStopReasonSchema>;

export const SegmentResultSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  runId: z.string(),
  segment: z.number().int().nonnegative(),
  executionSegment: z.string(),
  k6Version: z.string().nullable(),
  k6ExitCode: z.number().int().nullable(),
  k6Signal: z.string().nullable(),
  stopReason: SegmentStopReasonSchema,
  /** A human sentence on why the segment stopped, free of secrets. */
  detail: z.string(),
  startedAtMs: z.number().int(),
  endedAtMs: z.number().int(),
  /** First and last sample time seen on the k6 stream. */
  firstPointMs: z.number().int().nullable(),
  lastPointMs: z.number().int().nullable(),
  plannedDurationS: z.number(),
  windowsWritten: z.number().int().nonnegative(),
  lastCheckpointSeq: z.number().int().nullable(),
  scriptExceptions: z.number().int().nonnegative(),
  /** Last lines of k6's stderr (bounded, secrets redacted). */
  stderrTail: z.array(z.string()),
});
export type SegmentResult = z.infer<typeof SegmentResultSchema>;

// ---------------------------------------------------------------- manifest

export const RUN_STATES = ['planned', 'running', 'finalizing', 'finalized'] as const;

export const RunManifestSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  runId: z.string(),
  env: z.string(),
  createdAtMs: z.number().int(),
  /** Time after which the run is over whatever its segments do: start + duration + grace. */
  deadlineMs: z.number().int(),
  request: RunRequestSchema,
  /** Path or name of the k6 script, and its hash (script plus resolved options). */
  scenario: z.object({ name: z.string(), path: z.string(), hash: z.string().nullable() }),
  segments: z.array(SegmentPlanSchema),
  thresholds: ThresholdMapSchema,
  /** The environment configuration as resolved for this run. */
  config: z.unknown(),
  launched: z.array(z.object({ segment: z.number().int(), taskId: z.string(), launchedAtMs: z.number().int() })),
  state: z.enum(RUN_STATES),
  /** Whether the bundled scenario contract (`RATE`, `DURATION` through `__ENV`) applies. */
  bundledScenario: z.boolean(),
});
export type RunManifest = z.infer<typeof RunManifestSchema>;
