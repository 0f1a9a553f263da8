/**
 * The RunReport contract (`report.json`). A missing value is `null`, never NaN, and
 * the reason for it is in `notes` or in the analysis that could not run.
 */
import { z } from 'zod';
import { RegressionAnalysisSchema } from './baseline.js';
import { SCHEMA_VERSION, VerdictSchema } from './schemas.js';

export const REPORT_SCHEMA_VERSION = SCHEMA_VERSION;

const nullableNumber = z.number().nullable();

export const ReasonSchema = z.object({
  /** Stable machine code, such as `THRESHOLD_FAILED` or `HEAP_LEAK`. */
  code: z.string(),
  /** The verdict this finding would lead to on its own. */
  verdict: VerdictSchema,
  message: z.string(),
});
export type Reason = z.infer<typeof ReasonSchema>;

export const ThresholdResultSchema = z.object({
  metric: z.string(),
  expression: z.string(),
  abortOnFail: z.boolean(),
  /** The aggregate the expression compares, as computed on the merged run. */
  observed: nullableNumber,
  passed: z.boolean().nullable(),
  source: z.enum(['script', 'config', 'request', 'slo']),
  /** Minutes (series index) in which the expression failed on that minute alone. */
  failedMinutes: z.number().int().nonnegative(),
  note: z.string().nullable(),
});
export type ThresholdResult = z.infer<typeof ThresholdResultSchema>;

export const SeriesPointSchema = z.object({
  /** Minute start, epoch milliseconds. */
  t: z.number().int(),
  requests: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  errorRate: nullableNumber,
  rate: nullableNumber,
  p50: nullableNumber,
  p95: nullableNumber,
  p99: nullableNumber,
  droppedIterations: z.number().int().nonnegative(),
  vus: nullableNumber,
  /** Probe values of the minute: the minimum for floors (heap), else the maximum. */
  probes: z.record(z.string(), nullableNumber),
});
export type SeriesPoint = z.infer<typeof SeriesPointSchema>;

export const TrendFitSchema = z.object({
  /** Theil–Sen slope in the series' unit per hour. */
  slopePerHour: nullableNumber,
  intercept: nullableNumber,
  /** Mann–Kendall two-sided p-value. */
  pValue: nullableNumber,
  points: z.number().int().nonnegative(),
  significant: z.boolean(),
});
export type TrendFit = z.infer<typeof TrendFitSchema>;

export const SeriesAnalysisSchema = z.object({
  series: z.string(),
  unit: z.string(),
  status: z.enum(['ok', 'flagged', 'insufficient-data', 'no-data']),
  message: z.string(),
  fit: TrendFitSchema.nullable(),
  /** Median of the first and last quarter after warm-up, and their relative change. */
  firstQuarter: nullableNumber,
  lastQuarter: nullableNumber,
  relativeChange: nullableNumber,
  /** Growth per hour and projected over 24 h, for probe series. */
  growthPerHour: nullableNumber,
  projected24h: nullableNumber,
  tolerance: z.string(),
});
export type SeriesAnalysis = z.infer<typeof SeriesAnalysisSchema>;

export const SegmentSummarySchema = z.object({
  index: z.number().int(),
  segment: z.string(),
  exitCode: z.number().int().nullable(),
  status: z.string(),
  detail: z.string(),
  coverage: nullableNumber,
  requests: z.number().int().nonnegative(),
  windows: z.number().int().nonnegative(),
  scriptExceptions: z.number().int().nonnegative(),
});

export const RunReportSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  runId: z.string(),
  env: z.string(),
  scenario: z.string(),
  scenarioHash: z.string().nullable(),
  target: z.string(),
  labels: z.record(z.string(), z.string()),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  plannedDurationS: z.number(),
  k6Version: z.string().nullable(),
  verdict: VerdictSchema,
  reasons: z.array(ReasonSchema),
  requests: z.object({
    total: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    errorRate: nullableNumber,
    failures: z.record(z.string(), z.number().int().nonnegative()),
    statuses: z.record(z.string(), z.number().int().nonnegative()),
  }),
  latencyMs: z.object({
    p50: nullableNumber,
    p90: nullableNumber,
    p95: nullableNumber,
    p99: nullableNumber,
    max: nullableNumber,
    mean: nullableNumber,
  }),
  byName: z.array(
    z.object({
      name: z.string(),
      requests: z.number().int(),
      failed: z.number().int(),
      p95: nullableNumber,
      p99: nullableNumber,
    }),
  ),
  checks: z.object({ passes: z.number().int(), fails: z.number().int(), rate: nullableNumber }),
  load: z.object({
    plannedRate: z.number(),
    achievedRate: nullableNumber,
    plannedIterations: z.number(),
    iterations: z.number().int(),
    dropped: z.number().int(),
    shortfall: nullableNumber,
    cause: z.enum(['none', 'generator', 'target', 'unknown']),
    generator: z.object({
      latePoints: z.number().int(),
      unparsableLines: z.number().int(),
      unknownMetricPoints: z.number().int(),
      scriptExceptions: z.number().int(),
      probeFailures: z.number().int(),
      streamLagMsMax: nullableNumber,
      runnerCpuMax: nullableNumber,
      /** Share of the segments' time in which their machine had no CPU to spare (0 to 1). */
      cpuSaturatedShare: nullableNumber.default(null),
    }),
  }),
  segments: z.array(SegmentSummarySchema),
  series: z.array(SeriesPointSchema),
  thresholds: z.array(ThresholdResultSchema),
  analyses: z.object({
    warmupS: z.number(),
    drift: z.array(SeriesAnalysisSchema),
    leaks: z.array(SeriesAnalysisSchema),
    /**
     * The comparison with earlier runs of the same env and scenario (core/baseline.ts);
     * `null` in reports built before finalize compares, such as `buildReport` alone.
     */
    regression: RegressionAnalysisSchema.nullable(),
  }),
  notes: z.array(z.string()),
  links: z.record(z.string(), z.string()),
});
export type RunReport = z.infer<typeof RunReportSchema>;
