/**
 * Replays recorded real runs with seeded noise through the runner's analyses
 * (analyzeDrift, analyzeLeaks, compareWithBaseline) to count detections, false
 * alarms and the time to detection.
 *
 * Noise model: the residuals of the clean recordings after the warm-up around their
 * Theil–Sen line, at the same resolution, resampled with a seeded generator and added to a recorded run:
 * - p95 and p99 are multiplied by (1 + r), r a relative residual of a clean run;
 * - probe values get an absolute residual of the same probe in a clean run;
 * - the failed count of each point gets binomial noise at the point's own error rate.
 * The recorded series already hold real noise, so a replay is noisier than a real run.
 */
import { analyzeDrift, analyzeLeaks, warmupSeconds } from '../../core/analysis.js';
import { compareWithBaseline, regressionReasons } from '../../core/baseline.js';
import type { EnvConfig } from '../../core/config.js';
import { HistoryEntrySchema, type HistoryEntry } from '../../core/history.js';
import type { SeriesAnalysis, SeriesPoint } from '../../core/report-schema.js';
import { median, theilSen } from '../../core/stats.js';
import type { DetectionCase } from './cases.js';
import type { Recording } from './recording.js';

export type Resolution = '10s' | '60s';

/**
 * One way of running the analyses: the resolution of the points and the configuration.
 * The benchmark uses the runner's defaults (see defaultVariant in run.ts).
 */
export interface Variant {
  name: string;
  resolution: Resolution;
  config: EnvConfig;
}

/** Seeded uniform generator in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function seriesOf(recording: Recording, resolution: Resolution): SeriesPoint[] {
  return resolution === '10s' ? recording.series10s : recording.series60s;
}

function afterWarmup(recording: Recording, resolution: Resolution, warmupS: number): SeriesPoint[] {
  return seriesOf(recording, resolution).filter((point) => point.t >= recording.runStartMs + warmupS * 1000);
}

/** Residual pools of the clean recordings, per resolution. */
export interface NoiseModel {
  latency: { p95: number[]; p99: number[] };
  probes: Record<string, number[]>;
}

export function buildNoiseModel(clean: readonly Recording[], resolution: Resolution, warmupS: number): NoiseModel {
  const model: NoiseModel = { latency: { p95: [], p99: [] }, probes: {} };
  for (const recording of clean) {
    const points = afterWarmup(recording, resolution, warmupS);
    for (const key of ['p95', 'p99'] as const) {
      const residuals = residualsAroundTrend(points, (point) => point[key], 'relative');
      model.latency[key].push(...residuals);
    }
    const probeNames = new Set(points.flatMap((point) => Object.keys(point.probes)));
    for (const name of probeNames) {
      const residuals = residualsAroundTrend(points, (point) => point.probes[name], 'absolute');
      (model.probes[name] ??= []).push(...residuals);
    }
  }
  return model;
}

/**
 * Returns the residuals of a clean series around its Theil–Sen line. A clean run's
 * resident memory still climbs for minutes as the runtime settles, and residuals around
 * the median would turn that climb into noise of tens of MiB, added at random times.
 */
function residualsAroundTrend(
  points: readonly SeriesPoint[],
  value: (point: SeriesPoint) => number | null | undefined,
  kind: 'relative' | 'absolute',
): number[] {
  const usable = points.filter((point) => {
    const y = value(point);
    return y !== null && y !== undefined && Number.isFinite(y) && (kind === 'absolute' || y > 0);
  });
  const x = usable.map((point) => point.t / 3_600_000);
  const y = usable.map((point) => value(point)!);
  const fit = theilSen(x, y);
  if (!fit.ok) return [];
  return y.flatMap((observed, index) => {
    const expected = fit.value.intercept + fit.value.slope * x[index]!;
    if (kind === 'absolute') return [observed - expected];
    return expected > 0 ? [observed / expected - 1] : [];
  });
}

function pick(pool: readonly number[], random: () => number): number {
  if (pool.length === 0) return 0;
  return pool[Math.floor(random() * pool.length)]!;
}

/** Returns a copy of the series with seeded noise from the model. Seed 0 returns the series unchanged. */
export function withNoise(series: readonly SeriesPoint[], model: NoiseModel, seed: number): SeriesPoint[] {
  if (seed === 0) return series.map((point) => ({ ...point, probes: { ...point.probes } }));
  const random = seededRandom(seed);
  return series.map((point) => {
    let failed = point.failed;
    if (point.requests > 0 && point.errorRate !== null && point.errorRate > 0) {
      const p = point.errorRate;
      const deviation = Math.sqrt(point.requests * p * (1 - p));
      failed = Math.min(point.requests, Math.max(0, Math.round(point.failed + deviation * gaussian(random))));
    }
    const probes: Record<string, number | null> = {};
    for (const [name, value] of Object.entries(point.probes)) {
      probes[name] = value === null ? null : Math.max(0, value + pick(model.probes[name] ?? [], random));
    }
    const scale = (value: number | null, pool: readonly number[]) => (value === null ? null : Math.max(0, value * (1 + pick(pool, random))));
    return {
      ...point,
      failed,
      errorRate: point.requests > 0 ? failed / point.requests : null,
      p95: scale(point.p95, model.latency.p95),
      p99: scale(point.p99, model.latency.p99),
      probes,
    };
  });
}

export interface AnalysisOutcome {
  codes: string[];
  drift: SeriesAnalysis[];
  leaks: SeriesAnalysis[];
}

/** Runs the drift and leak analyses as finalize does and returns the reason codes they would add. */
export function analyze(series: readonly SeriesPoint[], runStartMs: number, warmupS: number, variant: Variant): AnalysisOutcome {
  const { config } = variant;
  const drift = analyzeDrift(series, { runStartMs, warmupS, drift: config.drift });
  const leaks = analyzeLeaks(series, { runStartMs, warmupS, probes: config.probe.series, leak: config.leak });
  const codes: string[] = [];
  for (const analysis of leaks) if (analysis.status === 'flagged') codes.push(`LEAK_${analysis.series.toUpperCase()}`);
  for (const analysis of drift) if (analysis.status === 'flagged') codes.push(`DRIFT_${analysis.series.toUpperCase()}`);
  return { codes, drift, leaks };
}

/** Returns whether the reason codes of a run meet the case's expectation. */
export function meetsExpectation(codes: readonly string[], testCase: DetectionCase): boolean {
  if (testCase.expect.verdict === 'PASS') return codes.length === 0;
  if (testCase.expect.match === 'any') return testCase.expect.reasons.some((code) => codes.includes(code));
  return testCase.expect.reasons.every((code) => codes.includes(code));
}

/**
 * Returns the shortest prefix, in seconds from the run start, on which the expected
 * reasons are already found, or null when the whole run does not find them. Prefixes
 * grow by one point of the resolution; the warm-up stays that of the whole run.
 */
export function timeToDetection(series: readonly SeriesPoint[], runStartMs: number, durationS: number, variant: Variant, testCase: DetectionCase): number | null {
  if (testCase.expect.verdict === 'PASS') return null;
  const stepMs = variant.resolution === '10s' ? 10_000 : 60_000;
  const warmupS = warmupSeconds(durationS, variant.config.warmup);
  for (let endMs = runStartMs + warmupS * 1000 + stepMs; endMs <= runStartMs + durationS * 1000 + stepMs; endMs += stepMs) {
    const prefix = series.filter((point) => point.t + stepMs <= endMs);
    const codes = analyze(prefix, runStartMs, warmupS, variant).codes;
    if (meetsExpectation(codes, testCase)) return (endMs - runStartMs) / 1000;
  }
  return null;
}

/** Builds the history entry a replayed run would leave, with figures from its series after the warm-up. */
export function entryOf(series: readonly SeriesPoint[], recording: Recording, leaks: readonly SeriesAnalysis[], runId: string, startedAt: string, warmupS: number): HistoryEntry {
  const points = series.filter((point) => point.t >= recording.runStartMs + warmupS * 1000);
  const values = (key: 'p50' | 'p95' | 'p99') => points.map((point) => point[key]).filter((value): value is number => value !== null);
  const requests = points.reduce((sum, point) => sum + point.requests, 0);
  const failed = points.reduce((sum, point) => sum + point.failed, 0);
  return HistoryEntrySchema.parse({
    schemaVersion: 1,
    runId,
    env: 'bench',
    scenario: 'sigil',
    scenarioHash: 'bench',
    k6Version: recording.k6Version,
    startedAt,
    endedAt: null,
    verdict: 'PASS',
    rate: recording.rate,
    durationS: recording.durationS,
    p50: median(values('p50')),
    p95: median(values('p95')),
    p99: median(values('p99')),
    errorRate: requests > 0 ? failed / requests : null,
    achievedRate: null,
    probeSlopes: Object.fromEntries(leaks.map((analysis) => [analysis.series, analysis.growthPerHour])),
  });
}

/**
 * Returns the REGRESSION codes a case must cause against clean nights, where `A|B` means
 * either. An empty list means that no code may appear, and null that the case has no
 * expectation.
 */
export function expectedRegression(testCase: DetectionCase): string[] | null {
  switch (testCase.fault) {
    case 'none':
    case 'restart at 180 s, no leak':
    case 'heap +60 MB over the first 90 s, then flat':
      return [];
    case 'heap leak':
    case 'restart at 180 s with a strong heap leak':
      return ['REGRESSION_SLOPE_HEAPUSEDBYTES'];
    case 'descriptor leak':
      return ['REGRESSION_SLOPE_OPENFDS'];
    case 'latency drift':
      return ['REGRESSION_P95|REGRESSION_P99'];
    case 'rising error rate':
      return ['REGRESSION_ERRORRATE'];
    default:
      // A stall raises the night's p99 for real, so a REGRESSION is no false alarm.
      return null;
  }
}

/** Compares a replayed run with seven replayed clean nights and returns the REGRESSION codes. */
export function regressionCodes(current: HistoryEntry, nights: readonly HistoryEntry[], variant: Variant): string[] {
  const analysis = compareWithBaseline({
    history: { entries: [...nights], pins: null, exclusions: [], invalid: [] },
    current,
    config: variant.config,
  });
  return regressionReasons(analysis).map((reason) => reason.code);
}

/** Returns whether the REGRESSION codes meet the expectation: all expected found, and none at all on a no-fault case. */
export function meetsRegression(codes: readonly string[], expected: readonly string[]): boolean {
  if (expected.length === 0) return codes.length === 0;
  // `A|B` is met by either code.
  return expected.every((alternatives) => alternatives.split('|').some((code) => codes.includes(code)));
}
