/**
 * Builders of realistic RunReport objects for tests: a 30-minute soak at 50 iterations/s whose
 * heap grows 40 MiB/h (verdict LEAK_SUSPECTED), the same run compared with 13 earlier nights
 * (verdict REGRESSION), and an ERROR run whose target never responded.
 * Analysis messages and tolerances follow the wording of core/analysis.ts.
 * All go through `RunReportSchema.parse`, so an override that breaks the contract throws.
 */
import {
  BaselineSettingsSchema,
  compareWithBaseline,
  regressionReasons,
  RegressionRulesSchema,
  type RegressionAnalysis,
  type RegressionConfig,
} from '../../core/baseline.js';
import { ProbeSeriesSchema } from '../../core/config.js';
import { HistoryEntrySchema, type HistoryEntry, type HistoryEntryInput } from '../../core/history.js';
import { RunReportSchema, type RunReport, type SeriesAnalysis, type SeriesPoint } from '../../core/report-schema.js';
import { decideVerdict, sortReasons } from '../../core/verdict.js';

const MIB = 1024 * 1024;
const HOUR_MS = 3600 * 1000;
export const SAMPLE_START = '2026-12-04T01:00:00.000Z';
const SAMPLE_START_MS = Date.parse(SAMPLE_START);
const WARMUP_S = 180;
const PLANNED_RATE = 50;

export const HEAP_START_BYTES = 82 * MIB;
export const HEAP_GROWTH_PER_HOUR = 40 * MIB;

export interface SampleOptions {
  /** Minutes of series data; 30 by default. */
  minutes?: number;
}

/** Deterministic noise in [-1, 1) (mulberry32), so every build gives the same report. */
function noiseSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function buildSampleSeries(minutes: number): SeriesPoint[] {
  const noise = noiseSource(42);
  const points: SeriesPoint[] = [];
  for (let minute = 0; minute < minutes; minute += 1) {
    const t = SAMPLE_START_MS + minute * 60_000;
    const hours = (t - SAMPLE_START_MS) / HOUR_MS;
    const requests = Math.round(PLANNED_RATE * 60 + noise() * 8);
    const failed = Math.max(0, Math.round(1.5 + noise() * 2));
    points.push({
      t,
      requests,
      failed,
      errorRate: failed / requests,
      rate: round(requests / 60, 2),
      p50: round(40 + noise() * 2, 1),
      p95: round(122 + noise() * 6, 1),
      p99: round(265 + noise() * 20, 1),
      droppedIterations: minute === 0 ? 12 : 0,
      vus: Math.round(7 + noise() * 2),
      probes: {
        heapUsedBytes: Math.round(HEAP_START_BYTES + HEAP_GROWTH_PER_HOUR * hours + noise() * 0.4 * MIB),
        residentMemoryBytes: Math.round(190 * MIB + 4 * MIB * hours + noise() * 1.5 * MIB),
        openFds: Math.round(48 + noise() * 2),
        eventLoopLagP99Seconds: round(0.011 + noise() * 0.002, 5),
      },
    });
  }
  return points;
}

function median(values: number[]): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Medians of the first and last quarter of the time after warm-up, as the drift analysis computes them. */
function quarterMedians(series: SeriesPoint[], read: (point: SeriesPoint) => number | null) {
  const samples = series
    .filter((point) => point.t >= SAMPLE_START_MS + WARMUP_S * 1000)
    .map((point) => ({ t: point.t, y: read(point) }))
    .filter((sample): sample is { t: number; y: number } => sample.y !== null);
  const start = samples[0]?.t ?? 0;
  const end = samples.at(-1)?.t ?? 0;
  const quarter = (end - start) / 4;
  const firstQuarter = median(samples.filter((sample) => sample.t <= start + quarter).map((sample) => sample.y));
  const lastQuarter = median(samples.filter((sample) => sample.t >= end - quarter).map((sample) => sample.y));
  const relativeChange =
    firstQuarter === null || lastQuarter === null || firstQuarter <= 0 ? null : (lastQuarter - firstQuarter) / firstQuarter;
  return { firstQuarter, lastQuarter, relativeChange, points: samples.length };
}

const LEAK_TOLERANCE_TEXT = (perHour: string) =>
  `Mann–Kendall p < 0.01 and growth above ${perHour}/h, both after the warm-up and in its last two thirds`;
const LATENCY_TOLERANCE_TEXT =
  'Mann–Kendall p < 0.01, a rising slope, and a last-quarter median above the first by more than 10 %, 5 ms and 2 × the spread around the trend';
const ERROR_TOLERANCE_TEXT = 'Mann–Kendall p < 0.01, a rising slope, and a last-quarter median above the first by more than 0.005';

function leakAnalysis(
  series: SeriesPoint[],
  name: string,
  unit: string,
  fit: { slopePerHour: number; intercept: number; pValue: number },
  fields: Pick<SeriesAnalysis, 'status' | 'message' | 'tolerance'>,
): SeriesAnalysis {
  const points = quarterMedians(series, (point) => point.probes[name] ?? null).points;
  return {
    series: name,
    unit,
    status: fields.status,
    message: fields.message,
    fit: { ...fit, points, significant: fit.pValue < 0.01 },
    firstQuarter: null,
    lastQuarter: null,
    relativeChange: null,
    growthPerHour: fit.slopePerHour,
    projected24h: fit.slopePerHour * 24,
    tolerance: fields.tolerance,
  };
}

function driftAnalysis(
  series: SeriesPoint[],
  name: 'p95' | 'p99' | 'errorRate',
  fit: { slopePerHour: number; intercept: number; pValue: number },
): SeriesAnalysis {
  const summary = quarterMedians(series, (point) => point[name]);
  const unit = name === 'errorRate' ? 'ratio' : 'ms';
  return {
    series: name,
    unit,
    status: 'ok',
    message: `no significant trend in ${name} (slope ${fit.slopePerHour}${unit === 'ms' ? ' ms' : ''}/h, Mann–Kendall p = ${fit.pValue}, ${summary.points} points)`,
    fit: { ...fit, points: summary.points, significant: false },
    firstQuarter: summary.firstQuarter,
    lastQuarter: summary.lastQuarter,
    relativeChange: summary.relativeChange,
    growthPerHour: null,
    projected24h: null,
    tolerance: name === 'errorRate' ? ERROR_TOLERANCE_TEXT : LATENCY_TOLERANCE_TEXT,
  };
}

/** Builds a valid LEAK_SUSPECTED report of a 30-minute run, with `overrides` replacing top-level fields. */
export function buildSampleReport(overrides: Partial<RunReport> = {}, options: SampleOptions = {}): RunReport {
  const minutes = options.minutes ?? 30;
  const series = buildSampleSeries(minutes);
  const total = series.reduce((sum, point) => sum + point.requests, 0);
  const failed = series.reduce((sum, point) => sum + point.failed, 0);
  const timeouts = Math.min(3, failed);
  const endedAt = new Date(SAMPLE_START_MS + minutes * 60_000).toISOString();
  const heapMessage =
    'heapUsedBytes grows 40 MiB/h (Mann–Kendall p < 0.0001, 27 points) and 40.3 MiB/h in the last two thirds; ' +
    'projected +960 MiB over 24 h';

  const report: RunReport = {
    schemaVersion: 1,
    runId: '20261204T010000Z-staging-sigil',
    env: 'staging',
    scenario: 'sigil',
    scenarioHash: 'sha256:9f2c41d0a7be',
    target: 'http://127.0.0.1:3000',
    labels: { trigger: 'schedule', commit: '4f1c2ab' },
    startedAt: SAMPLE_START,
    endedAt,
    plannedDurationS: minutes * 60,
    k6Version: 'v1.3.0',
    verdict: 'LEAK_SUSPECTED',
    reasons: [{ code: 'LEAK_HEAPUSEDBYTES', verdict: 'LEAK_SUSPECTED', message: heapMessage }],
    requests: {
      total,
      failed,
      errorRate: failed / total,
      failures: { status4xx: 0, status5xx: failed - timeouts, timeout: timeouts, connection: 0, otherTransport: 0 },
      statuses: {
        '200': Math.round(total * 0.5),
        '201': Math.round(total * 0.25),
        '400': total - Math.round(total * 0.5) - Math.round(total * 0.25) - failed,
        '500': failed - timeouts,
        '0': timeouts,
      },
    },
    latencyMs: { p50: 40.2, p90: 98.4, p95: 122.7, p99: 268.1, max: 1843.5, mean: 52.9 },
    byName: [
      { name: 'create sigil', requests: Math.round(total * 0.25), failed: failed - timeouts, p95: 168.2, p99: 310.4 },
      { name: 'verify sigil', requests: Math.round(total * 0.25), failed: timeouts, p95: 118.9, p99: 255.0 },
      { name: 'list sigils', requests: Math.round(total * 0.25), failed: 0, p95: 96.1, p99: 201.7 },
      { name: 'invalid sigil (expect 400)', requests: total - 3 * Math.round(total * 0.25), failed: 0, p95: 31.0, p99: 58.3 },
    ],
    checks: { passes: total * 2 - failed, fails: failed, rate: (total * 2 - failed) / (total * 2) },
    load: {
      plannedRate: PLANNED_RATE,
      achievedRate: round(total / (minutes * 60), 2),
      plannedIterations: PLANNED_RATE * minutes * 60,
      iterations: total,
      dropped: 12,
      shortfall: round(1 - total / (PLANNED_RATE * minutes * 60), 4),
      cause: 'none',
      generator: {
        latePoints: 0,
        unparsableLines: 0,
        unknownMetricPoints: 0,
        scriptExceptions: 0,
        probeFailures: 1,
        streamLagMsMax: 84,
        runnerCpuMax: 0.41,
        cpuSaturatedShare: 0,
      },
    },
    segments: [
      {
        index: 0,
        segment: '0:1/2',
        exitCode: 0,
        status: 'completed',
        detail: 'k6 ran the planned duration and exited 0.',
        coverage: 1,
        requests: Math.floor(total / 2),
        windows: minutes * 6,
        scriptExceptions: 0,
      },
      {
        index: 1,
        segment: '1/2:1',
        exitCode: 0,
        status: 'completed',
        detail: 'k6 ran the planned duration and exited 0.',
        coverage: 0.998,
        requests: total - Math.floor(total / 2),
        windows: minutes * 6,
        scriptExceptions: 0,
      },
    ],
    series,
    thresholds: [
      { metric: 'http_req_duration', expression: 'p(95)<800', abortOnFail: false, observed: 122.7, passed: true, source: 'script', failedMinutes: 0, note: null },
      { metric: 'http_req_duration{name:verify sigil}', expression: 'p(99)<1200', abortOnFail: false, observed: 255, passed: true, source: 'script', failedMinutes: 0, note: null },
      { metric: 'http_req_failed', expression: 'rate<0.01', abortOnFail: true, observed: failed / total, passed: true, source: 'script', failedMinutes: 0, note: null },
      { metric: 'http_req_duration{expected_response:true}', expression: 'p(99)<1500', abortOnFail: false, observed: 268.1, passed: true, source: 'slo', failedMinutes: 1, note: null },
      { metric: 'sigil_verify_mismatch', expression: 'count<1', abortOnFail: false, observed: null, passed: null, source: 'request', failedMinutes: 0, note: 'The scenario emitted no sample of this metric.' },
    ],
    analyses: {
      warmupS: WARMUP_S,
      drift: [
        driftAnalysis(series, 'p95', { slopePerHour: 1.8, intercept: 121.9, pValue: 0.41 }),
        driftAnalysis(series, 'p99', { slopePerHour: -3.1, intercept: 266, pValue: 0.38 }),
        driftAnalysis(series, 'errorRate', { slopePerHour: 0.00002, intercept: 0.0005, pValue: 0.74 }),
      ],
      // The default probe series with a leak tolerance. Event loop lag has none, so it is charted but not analysed.
      leaks: [
        leakAnalysis(series, 'heapUsedBytes', 'bytes', { slopePerHour: HEAP_GROWTH_PER_HOUR, intercept: HEAP_START_BYTES, pValue: 2.1e-9 }, {
          status: 'flagged',
          message: heapMessage,
          tolerance: LEAK_TOLERANCE_TEXT('16 MiB'),
        }),
        leakAnalysis(series, 'residentMemoryBytes', 'bytes', { slopePerHour: 4 * MIB, intercept: 190 * MIB, pValue: 0.0031 }, {
          status: 'ok',
          message: 'residentMemoryBytes changes 4 MiB/h (Mann–Kendall p = 0.0031, 27 points), within the tolerance of 32 MiB/h',
          tolerance: LEAK_TOLERANCE_TEXT('32 MiB'),
        }),
        leakAnalysis(series, 'openFds', 'count', { slopePerHour: 0.4, intercept: 48, pValue: 0.62 }, {
          status: 'ok',
          message: 'no significant trend in openFds (0.4/h, Mann–Kendall p = 0.62, 27 points)',
          tolerance: LEAK_TOLERANCE_TEXT('30'),
        }),
      ],
      regression: null,
    },
    notes: [
      'The first 3 min are warm-up and are left out of the drift and leak analyses.',
      'One probe scrape of /metrics timed out after 2000 ms and was skipped.',
    ],
    links: {
      'report.json': 'report.json',
      dashboard: 'https://console.aws.amazon.com/cloudwatch/home#dashboards:name=soak-staging',
    },
  };
  return RunReportSchema.parse({ ...report, ...overrides });
}

/** Builds a valid ERROR report of a run whose target never responded: no series, no latency, no fits. */
export function buildErrorReport(overrides: Partial<RunReport> = {}): RunReport {
  const base = buildSampleReport();
  const healthMessage = 'The target did not respond to GET /healthz within 60 s, so k6 did not start.';
  const noData = (analysis: SeriesAnalysis): SeriesAnalysis => ({
    ...analysis,
    status: 'no-data',
    message: `no ${analysis.series} values in the run`,
    fit: null,
    firstQuarter: null,
    lastQuarter: null,
    relativeChange: null,
    growthPerHour: null,
    projected24h: null,
  });

  const report: RunReport = {
    ...base,
    runId: '20261204T010000Z-staging-sigil-error',
    endedAt: '2026-12-04T01:01:05.000Z',
    k6Version: null,
    verdict: 'ERROR',
    reasons: [{ code: 'TARGET_UNREACHABLE', verdict: 'ERROR', message: healthMessage }],
    requests: { total: 0, failed: 0, errorRate: null, failures: {}, statuses: {} },
    latencyMs: { p50: null, p90: null, p95: null, p99: null, max: null, mean: null },
    byName: [],
    checks: { passes: 0, fails: 0, rate: null },
    load: {
      ...base.load,
      achievedRate: null,
      iterations: 0,
      dropped: 0,
      shortfall: null,
      cause: 'target',
      generator: { ...base.load.generator, probeFailures: 12, streamLagMsMax: null, runnerCpuMax: null },
    },
    segments: [
      {
        index: 0,
        segment: '0:1',
        exitCode: null,
        status: 'runner-error',
        detail: healthMessage,
        coverage: null,
        requests: 0,
        windows: 0,
        scriptExceptions: 0,
      },
    ],
    series: [],
    thresholds: base.thresholds.map((threshold) => ({
      ...threshold,
      observed: null,
      passed: null,
      failedMinutes: 0,
      note: 'No data: no request was sent.',
    })),
    analyses: {
      warmupS: base.analyses.warmupS,
      drift: base.analyses.drift.map(noData),
      leaks: base.analyses.leaks.map(noData),
      regression: null,
    },
    notes: [healthMessage],
    links: {},
  };
  return RunReportSchema.parse({ ...report, ...overrides });
}

// ---------------------------------------------------------------- comparison with earlier nights

const SAMPLE_REGRESSION_CONFIG: RegressionConfig = {
  baseline: BaselineSettingsSchema.parse({}),
  regression: RegressionRulesSchema.parse({}),
  probe: {
    series: [
      ProbeSeriesSchema.parse({
        name: 'heapUsedBytes',
        metric: 'nodejs_heap_size_used_bytes',
        unit: 'bytes',
        perMinute: 'min',
        leakTolerancePerHour: 16 * MIB,
      }),
    ],
  },
  warmup: { fraction: 0.1, minS: 180 },
};

/** Earlier nights of November and December 2026, oldest first, as [month, day, overrides]. */
const EARLIER_NIGHTS: [number, number, Partial<HistoryEntryInput>][] = [
  [11, 21, { p95: 117.2, p99: 201.4, errorRate: 0.0031 }],
  [11, 22, { p95: 119.0, p99: 206.9, errorRate: 0.0029 }],
  [11, 23, { p95: 116.4, p99: 198.2, errorRate: 0.0033 }],
  [11, 24, { p95: 118.8, p99: 204.6, errorRate: 0.003 }],
  [11, 25, { p95: 120.1, p99: 209.3, errorRate: 0.0028 }],
  [11, 26, { p95: 117.7, p99: 202.8, errorRate: 0.0032 }],
  [11, 27, { p95: 118.3, p99: 205.1, errorRate: 0.003 }],
  // Excluded from baselines: the target had a database outage that night.
  [11, 28, { p95: 161.5, p99: 390.2, errorRate: 0.021 }],
  [11, 29, { p95: 119.4, p99: 207.5, errorRate: 0.0031 }],
  [11, 30, { verdict: 'FAIL', p95: 142.9, p99: 301.8, errorRate: 0.012 }],
  // A manual run at twice the rate, so it is not comparable.
  [12, 1, { rate: 100, p95: 131.6, p99: 244.0, errorRate: 0.0041 }],
  [12, 2, { p95: 118.1, p99: 203.3, errorRate: 0.0029 }],
  [12, 3, { p95: 117.9, p99: 204.2, errorRate: 0.003 }],
];

function sampleNight(month: number, day: number, overrides: Partial<HistoryEntryInput>): HistoryEntry {
  const date = `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return HistoryEntrySchema.parse({
    schemaVersion: 1,
    runId: `${date.replaceAll('-', '')}T010000Z-staging-sigil`,
    env: 'staging',
    scenario: 'sigil',
    scenarioHash: 'sha256:9f2c41d0a7be',
    k6Version: 'v1.3.0',
    startedAt: `${date}T01:00:00.000Z`,
    endedAt: `${date}T01:30:00.000Z`,
    verdict: 'PASS',
    rate: PLANNED_RATE,
    durationS: 1800,
    p50: 40,
    p95: 118,
    p99: 204,
    errorRate: 0.003,
    achievedRate: PLANNED_RATE,
    // The earlier nights ran a build without the leak.
    probeSlopes: { heapUsedBytes: (4 + (day % 3)) * MIB },
    ...overrides,
  });
}

/**
 * Builds the regression analysis of the sample run against 13 earlier nights: p99 and the
 * heap growth regressed, p95 is within tolerance, the error rate improved. One night is
 * excluded, one failed and one ran at another rate.
 */
export function buildSampleRegression(report: RunReport = buildSampleReport()): RegressionAnalysis {
  const entries = EARLIER_NIGHTS.map(([month, day, overrides]) => sampleNight(month, day, overrides));
  const current: HistoryEntry = {
    ...sampleNight(12, 4, {}),
    runId: report.runId,
    startedAt: report.startedAt,
    endedAt: report.endedAt,
    verdict: report.verdict,
    durationS: report.plannedDurationS,
    p50: report.latencyMs.p50,
    p95: report.latencyMs.p95,
    p99: report.latencyMs.p99,
    errorRate: report.requests.errorRate,
    probeSlopes: { heapUsedBytes: HEAP_GROWTH_PER_HOUR },
  };
  const excluded = entries[7]!;
  return compareWithBaseline({
    history: {
      entries: [...entries, current],
      pins: null,
      exclusions: [{ runId: excluded.runId, reason: 'database outage', excludedAt: '2026-11-28T09:12:00.000Z' }],
      invalid: [],
    },
    current,
    config: SAMPLE_REGRESSION_CONFIG,
  });
}

/** Builds the sample report with its regression analysis, the REGRESSION reasons and the verdict they lead to. */
export function buildRegressionReport(overrides: Partial<RunReport> = {}): RunReport {
  const base = buildSampleReport();
  const regression = buildSampleRegression(base);
  const reasons = sortReasons([...base.reasons, ...regressionReasons(regression)]);
  const report: RunReport = {
    ...base,
    verdict: decideVerdict(reasons),
    reasons,
    analyses: { ...base.analyses, regression },
  };
  return RunReportSchema.parse({ ...report, ...overrides });
}
