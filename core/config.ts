/**
 * Environment configuration: everything a run needs beyond the request itself.
 * The local mode reads `config/<env>.json`; the CDK stack extends the same schema.
 */
import { z } from 'zod';
import { BaselineSettingsSchema, RegressionRulesSchema } from './baseline.js';
import { DURATION_RANGE_S, RATE_RANGE, SEGMENTS_RANGE, ThresholdMapSchema } from './schemas.js';

export const ProbeSeriesSchema = z
  .object({
    /** Name in the report, such as `heapUsedBytes`. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'use letters, digits and underscores'),
    /** Prometheus metric name on the target's `/metrics`. */
    metric: z.string().min(1),
    /** Label values a sample must carry to count; samples that match are summed. */
    labels: z.record(z.string(), z.string()).default({}),
    unit: z.string().default(''),
    /**
     * Reduction of a minute of samples to one point: `min` for garbage-collected memory
     * (the floor after collection), `max` for counts such as descriptors.
     */
    perMinute: z.enum(['min', 'max', 'last']).default('max'),
    /** Growth per hour above which a significant trend counts as a leak; null disables. */
    leakTolerancePerHour: z.number().nonnegative().nullable().default(null),
    /**
     * Minimum total growth after the warm-up, in the series' unit, that counts as a leak:
     * the tolerance per hour is at least this divided by the hours after warm-up. It
     * decides in short runs, where a few minutes of noise make a large slope per hour.
     */
    leakMinGrowth: z.number().nonnegative().nullable().optional(),
  })
  .strict();
export type ProbeSeries = z.infer<typeof ProbeSeriesSchema>;

export const DEFAULT_PROBE_SERIES: z.input<typeof ProbeSeriesSchema>[] = [
  {
    name: 'heapUsedBytes',
    metric: 'nodejs_heap_size_used_bytes',
    unit: 'bytes',
    perMinute: 'min',
    leakTolerancePerHour: 16 * 1024 * 1024,
    leakMinGrowth: 12 * 1024 * 1024,
  },
  {
    name: 'residentMemoryBytes',
    metric: 'process_resident_memory_bytes',
    unit: 'bytes',
    perMinute: 'min',
    leakTolerancePerHour: 32 * 1024 * 1024,
    leakMinGrowth: 64 * 1024 * 1024,
  },
  { name: 'openFds', metric: 'process_open_fds', unit: 'count', perMinute: 'max', leakTolerancePerHour: 30, leakMinGrowth: 40 },
  {
    name: 'eventLoopLagP99Seconds',
    metric: 'nodejs_eventloop_lag_p99_seconds',
    unit: 's',
    perMinute: 'max',
    leakTolerancePerHour: null,
  },
];

export const AbortRuleSchema = z
  .object({
    /** `errorRate` of all requests, or `p99Ms` of successful requests, per 10-second window. */
    metric: z.enum(['errorRate', 'p99Ms']),
    above: z.number().nonnegative(),
    /** How long the condition must hold on the merged data before every segment stops. */
    forS: z.number().int().min(10).max(3600),
    /** Ignore the first seconds of the run, while connections warm up. */
    afterS: z.number().int().nonnegative().default(0),
  })
  .strict();
export type AbortRule = z.infer<typeof AbortRuleSchema>;

export const EnvConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** Defaults for a run request; the CLI or the request overrides each. */
    defaults: z
      .object({
        target: z.url({ protocol: /^https?$/ }).optional(),
        scenario: z.string().min(1).default('sigil'),
        rate: z.number().int().min(RATE_RANGE.min).max(RATE_RANGE.max).default(50),
        durationS: z.number().int().min(DURATION_RANGE_S.min).max(DURATION_RANGE_S.max).default(600),
        segments: z.number().int().min(SEGMENTS_RANGE.min).max(SEGMENTS_RANGE.max).default(1),
        healthPath: z.string().startsWith('/').default('/healthz'),
        healthTimeoutS: z.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    /** Targets a run may send load to; an empty list allows any host (local mode only). */
    targetAllowlist: z.array(z.string().min(1)).default([]),
    limits: z
      .object({
        maxRate: z.number().int().min(RATE_RANGE.min).max(RATE_RANGE.max).default(RATE_RANGE.max),
        maxDurationS: z.number().int().min(DURATION_RANGE_S.min).max(DURATION_RANGE_S.max).default(DURATION_RANGE_S.max),
        maxSegments: z.number().int().min(SEGMENTS_RANGE.min).max(SEGMENTS_RANGE.max).default(SEGMENTS_RANGE.max),
      })
      .strict()
      .prefault({}),
    /** Service-level objectives checked on every run besides the script's thresholds. */
    slo: z
      .object({
        p99Ms: z.number().positive().nullable().default(1500),
        errorRate: z.number().min(0).max(1).nullable().default(0.01),
      })
      .strict()
      .prefault({}),
    /**
     * Non-secret variables passed to k6 (`__ENV`) besides the bundled-scenario contract,
     * such as `TOKEN_URL` or `CLIENT_ID`. Secrets come from SOAK_TARGET_TOKEN and
     * SOAK_TARGET_CLIENT_SECRET instead, so they never sit in a config file.
     */
    scenarioEnv: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'use upper-case letters, digits and underscores'), z.string()).default({}),
    /** Threshold overrides merged over the script's, per metric key. */
    thresholds: ThresholdMapSchema.default({}),
    warmup: z
      .object({
        fraction: z.number().min(0).max(0.5).default(0.1),
        minS: z.number().int().nonnegative().default(60),
      })
      .strict()
      .prefault({}),
    /**
     * Length of the points the drift and leak analyses use: the time after warm-up
     * divided by `targetPoints`, rounded to whole 10-second windows, from 10 s to 60 s.
     * A 5-minute run gets 10-second points, and a run of about 27 minutes or more gets minutes.
     */
    analysisPoints: z
      .object({
        targetPoints: z.number().int().min(6).max(1000).default(24),
      })
      .strict()
      .prefault({}),
    drift: z
      .object({
        /** Significance level of the Mann–Kendall test. */
        alpha: z.number().gt(0).lt(0.5).default(0.01),
        /**
         * Relative growth of p50/p95/p99 (last quarter over first) that counts as drift.
         * The quarter medians of a linear rise are 3/4 of the rise apart, so 0.1 finds a
         * rise of about 14 % or more over the time after warm-up. 0.25 needed 35 %.
         */
        latencyRelativeTolerance: z.number().positive().default(0.1),
        /** Absolute floor in ms, so sub-millisecond noise never counts as drift. */
        latencyAbsoluteToleranceMs: z.number().nonnegative().default(5),
        /**
         * Multiple of the spread of the latency points around their fitted line (1.4826 ×
         * MAD of the residuals) that the rise must exceed as well, so a noisy series needs
         * a rise well above its own noise.
         */
        latencySpreadMultiple: z.number().nonnegative().default(2),
        /**
         * Absolute rise of the error rate (last quarter minus first) that counts as drift.
         * 0.01 found a rise from 0 to 2 % over a 5-minute run in 19 of 40 replays, 0.005 in 37.
         */
        errorRateTolerance: z.number().positive().default(0.005),
        minPoints: z.number().int().min(4).default(6),
      })
      .strict()
      .prefault({}),
    leak: z
      .object({
        alpha: z.number().gt(0).lt(0.5).default(0.01),
        minPoints: z.number().int().min(4).default(6),
        /**
         * For probe series reduced with `min` (memory floors), each point is first replaced by
         * the lowest of it and the points before it, this many in all, so that garbage
         * not yet collected does not count as growth. 1 turns it off.
         */
        floorPoints: z.number().int().min(1).max(60).default(3),
      })
      .strict()
      .prefault({}),
    probe: z
      .object({
        enabled: z.boolean().default(true),
        /** Full URL; by default the target's origin plus `/metrics`. */
        url: z.url({ protocol: /^https?$/ }).optional(),
        path: z.string().startsWith('/').default('/metrics'),
        intervalS: z.number().min(1).max(300).default(5),
        timeoutMs: z.number().int().min(100).max(60_000).default(2000),
        series: z.array(ProbeSeriesSchema).default(() => DEFAULT_PROBE_SERIES.map((series) => ProbeSeriesSchema.parse(series))),
      })
      .strict()
      .prefault({}),
    abort: z
      .array(AbortRuleSchema)
      .default([{ metric: 'errorRate', above: 0.5, forS: 120, afterS: 30 }]),
    windows: z
      .object({
        lengthS: z.literal(10).default(10),
        /** A window closes this long after its end, so late points still land in it. */
        graceS: z.number().min(1).max(60).default(3),
        checkpointEveryS: z.number().int().min(10).max(600).default(60),
        /** Distinct `name` tags kept apart; the rest fold into `other`. */
        maxRequestNames: z.number().int().min(1).max(1000).default(50),
        /**
         * k6 metrics the runner does not aggregate, because no analysis or report reads
         * them. A metric that a threshold names is aggregated anyway. These timing trends
         * are 7 of the about 13 sample lines k6 writes per request. Set [] to keep every
         * metric in the stored windows.
         */
        skipMetrics: z
          .array(z.string().min(1))
          .default([
            'http_req_blocked',
            'http_req_connecting',
            'http_req_tls_handshaking',
            'http_req_sending',
            'http_req_waiting',
            'http_req_receiving',
            'iteration_duration',
          ]),
      })
      .strict()
      .prefault({}),
    /** A segment that covered less than this share of the planned time makes the run INCOMPLETE. */
    minCoverage: z.number().min(0).max(1).default(0.95),
    /** A run whose achieved rate is this much short of the plan cannot PASS. */
    maxLoadShortfall: z.number().min(0).max(1).default(0.05),
    /** How many earlier runs make a baseline, and which runs are comparable. */
    baseline: BaselineSettingsSchema.prefault({}),
    /** When a key figure counts as worse than the baseline, per metric. */
    regression: RegressionRulesSchema.prefault({}),
    /**
     * Source of the target's version: a response header of the health endpoint,
     * or a label of a `/metrics` series such as `app_info{version="2.4.1"}`. Segment 0
     * reads it at start and stores target-version.json, which finalize puts in the history.
     */
    targetVersion: z
      .object({
        header: z.string().regex(/^[A-Za-z0-9-]+$/, 'use a header name such as X-App-Version').optional(),
        metric: z.string().min(1).optional(),
        label: z.string().min(1).default('version'),
      })
      .strict()
      .prefault({}),
    notify: z
      .object({
        mode: z.enum(['always', 'on-change', 'never']).default('always'),
        reportBaseUrl: z.string().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type EnvConfig = z.infer<typeof EnvConfigSchema>;
export type EnvConfigInput = z.input<typeof EnvConfigSchema>;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file: string | null,
    readonly issues: string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Formats zod issues as `field: message (got value)` lines. An unknown field gets a line
 * of its own with its name and value. The line names the field meant when the name is
 * close to one that `schema` has there (a typo or another case), or else lists the
 * fields allowed.
 */
export function describeIssues(error: z.ZodError, input: unknown, schema?: z.ZodType): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = schema === undefined ? [] : knownFieldsAt(schema, issue.path);
      return issue.keys.map((key) => {
        const field = [...issue.path, key].join('.');
        const valueText = JSON.stringify(valueAt(input, [...issue.path, key]))?.slice(0, 120);
        const meant = closestField(key, known);
        let hint = 'remove it';
        if (meant !== null) hint = `did you mean "${meant}"?`;
        else if (known.length > 0) hint = `the fields here are ${known.slice(0, 15).join(', ')}${known.length > 15 ? ', …' : ''}`;
        return `${field}: unknown field; ${hint} (got ${valueText})`;
      });
    }
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    const value = valueAt(input, issue.path);
    const shown = value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 120);
    return [`${field}: ${issue.message} (got ${shown})`];
  });
}

/** Returns the schema inside optional, nullable, default, prefault, readonly, catch and pipe wrappers. */
function unwrapSchema(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodReadonly ||
      current instanceof z.ZodCatch
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** Returns the field names of the object schema at `path`, or none when it is not an object. */
function knownFieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current = unwrapSchema(schema);
  for (const key of path) {
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(key)];
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else return [];
    current = unwrapSchema(current);
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape).filter((name) => name !== '$schema') : [];
}

/** Returns the known field that `name` most likely meant: the same letters in another case, or at most two edits away. */
function closestField(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  const sameLetters = known.find((field) => field.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  let best: { field: string; distance: number } | null = null;
  for (const field of known) {
    const distance = editDistance(lower, field.toLowerCase());
    if (distance <= 2 && (best === null || distance < best.distance)) best = { field, distance };
  }
  return best?.field ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Validates a parsed configuration document; `file` names it in the error. */
export function parseEnvConfig(input: unknown, file: string | null): EnvConfig {
  const result = EnvConfigSchema.safeParse(input);
  if (result.success) return result.data;

  const issues = describeIssues(result.error, input, EnvConfigSchema);
  const where = file ?? 'the environment configuration';
  throw new ConfigError(
    `Invalid configuration in ${where}:\n  ${issues.join('\n  ')}\nFix the fields above; docs/configuration.md lists every field with its range and default.`,
    file,
    issues,
  );
}
