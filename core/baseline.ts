/**
 * Comparison of a run with earlier nights: the baseline, the regression rules, and
 * the series of the last nights for the report's chart.
 *
 * The baseline of a run is the median and the spread of the last `baseline.runs`
 * passing runs of the same env and scenario that are comparable with it. Comparable
 * runs have the same scenario hash, k6 version and rate, and a planned duration within
 * a factor of `baseline.durationFactor`. Pinned runs replace the last passing ones, and
 * excluded runs are never used. The spread is the median absolute deviation (MAD),
 * scaled by 1.4826 so that it estimates a standard deviation under normal noise.
 *
 * Every compared metric is lower-is-better. A metric regresses when its rise over the
 * baseline median is above all three bounds: the relative tolerance of the median,
 * `spreadMultiple` times the scaled MAD, and an absolute floor. The floor matters when
 * the earlier nights were identical, such as an error rate of 0 on every night, where
 * the other two bounds are 0. docs/analysis.md explains the defaults.
 */
import { z } from 'zod';
import { warmupSeconds } from './analysis.js';
import type { EnvConfig, ProbeSeries } from './config.js';
import { buildHistoryEntry, compareEntries, readHistory, type HistoryEntry, type HistorySnapshot } from './history.js';
import type { Log, ResultStore } from './ports.js';
import type { Reason, RunReport } from './report-schema.js';
import { MAD_TO_SIGMA, mad, median } from './stats.js';
import { VerdictSchema, type RunManifest } from './schemas.js';
import { decideVerdict, sortReasons } from './verdict.js';

// ---------------------------------------------------------------- settings

export const BaselineSettingsSchema = z
  .object({
    /** How many of the last comparable passing runs make the baseline. */
    runs: z.number().int().min(1).max(100).default(7),
    /** Fewer comparable passing runs than this give "no baseline yet". */
    minRuns: z.number().int().min(1).max(100).default(3),
    /** A run is comparable when its planned duration is within this factor of the current one. */
    durationFactor: z.number().min(1).max(100).default(2),
    /** Runs shown in the report's chart of recent nights, the current one included. */
    chartRuns: z.number().int().min(2).max(365).default(30),
  })
  .strict()
  .refine((settings) => settings.minRuns <= settings.runs, { message: 'minRuns must not exceed runs', path: ['minRuns'] });
export type BaselineSettings = z.infer<typeof BaselineSettingsSchema>;

function metricRuleSchema(defaults: { relativeTolerance: number; spreadMultiple: number; absoluteTolerance: number }) {
  return z
    .object({
      /** Share of the baseline median the metric may rise by. */
      relativeTolerance: z.number().nonnegative().default(defaults.relativeTolerance),
      /** Multiple of the baseline's scaled MAD the metric may rise by. */
      spreadMultiple: z.number().nonnegative().default(defaults.spreadMultiple),
      /** Rise that never counts, in the metric's unit (ms, or a ratio for the error rate). */
      absoluteTolerance: z.number().nonnegative().default(defaults.absoluteTolerance),
      enabled: z.boolean().default(true),
    })
    .strict()
    .prefault({});
}

export const RegressionRulesSchema = z
  .object({
    p95: metricRuleSchema({ relativeTolerance: 0.15, spreadMultiple: 3, absoluteTolerance: 2 }),
    p99: metricRuleSchema({ relativeTolerance: 0.25, spreadMultiple: 3, absoluteTolerance: 2 }),
    errorRate: metricRuleSchema({ relativeTolerance: 0.5, spreadMultiple: 3, absoluteTolerance: 0.002 }),
    probeSlopes: z
      .object({
        relativeTolerance: z.number().nonnegative().default(0.5),
        spreadMultiple: z.number().nonnegative().default(3),
        /**
         * Floor as a share of each probe's `leakTolerancePerHour`, raised for short runs
         * to the probe's `leakMinGrowth` spread over the time after warm-up. Probes
         * without a leak tolerance are not compared.
         */
        leakToleranceShare: z.number().nonnegative().default(0.5),
        enabled: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type RegressionRules = z.infer<typeof RegressionRulesSchema>;
export type MetricRule = RegressionRules['p95'];

/**
 * A probe series with `leakMinGrowth`: the least total growth after warm-up that counts
 * as a leak, in the probe's unit.
 */
export type ProbeWithGrowthFloor = ProbeSeries & { leakMinGrowth?: number | null };

/** The part of the environment configuration the comparison reads. */
export interface RegressionConfig {
  baseline: BaselineSettings;
  regression: RegressionRules;
  probe: { series: readonly ProbeWithGrowthFloor[] };
  warmup: EnvConfig['warmup'];
}

// ---------------------------------------------------------------- result

const nullableNumber = z.number().nullable();

export const MetricComparisonSchema = z.object({
  /** `p95`, `p99`, `errorRate`, or `slope:<probe>` for the growth per hour of a probe. */
  metric: z.string(),
  unit: z.string(),
  current: nullableNumber,
  baselineMedian: nullableNumber,
  /** Scaled MAD (1.4826 × MAD) of the baseline values. */
  baselineSpread: nullableNumber,
  /** current − baselineMedian, and that over the median when the median is not 0. */
  delta: nullableNumber,
  relativeDelta: nullableNumber,
  /** The largest rise that still passes: the highest of the three bounds. */
  allowedRise: nullableNumber,
  /** Baseline runs that had a value of this metric. */
  baselineRuns: z.number().int().nonnegative(),
  status: z.enum(['regressed', 'ok', 'improved', 'no-data']),
  message: z.string(),
});
export type MetricComparison = z.infer<typeof MetricComparisonSchema>;

export const ChartPointSchema = z.object({
  runId: z.string(),
  startedAt: z.string().nullable(),
  verdict: VerdictSchema,
  p99: nullableNumber,
  errorRate: nullableNumber,
  /** Growth of `heapUsedBytes` per hour, in bytes. */
  heapSlopePerHour: nullableNumber,
  current: z.boolean(),
  inBaseline: z.boolean(),
  comparable: z.boolean(),
});
export type ChartPoint = z.infer<typeof ChartPointSchema>;

export const RegressionAnalysisSchema = z.object({
  /**
   * `compared`: a baseline existed and each metric was judged. `no-baseline`: too few
   * comparable runs. `skipped`: the run itself has no usable result (ERROR, INCOMPLETE,
   * STOPPED), so it is not compared.
   */
  status: z.enum(['compared', 'no-baseline', 'skipped']),
  message: z.string(),
  /** Source of the baseline runs: the last passing runs, a pin, or runs named on request. */
  mode: z.enum(['rolling', 'pinned', 'named']),
  baselineRunIds: z.array(z.string()),
  /** Comparable runs found (k) and runs required (minRuns) for a baseline. */
  available: z.number().int().nonnegative(),
  required: z.number().int().nonnegative(),
  /** Earlier runs left out because they cannot be compared, newest first, each with why. */
  incomparable: z.array(z.object({ runId: z.string(), reasons: z.array(z.string()) })),
  excludedRunIds: z.array(z.string()),
  metrics: z.array(MetricComparisonSchema),
  /** The run before this one, for notifications on a change of verdict. */
  previous: z.object({ runId: z.string(), verdict: VerdictSchema }).nullable(),
  /** The last nights, oldest first, with this run last. */
  chart: z.array(ChartPointSchema),
});
export type RegressionAnalysis = z.infer<typeof RegressionAnalysisSchema>;

export interface CompareInput {
  /** The history of the run's env and scenario; the current run is ignored if it is in it. */
  history: HistorySnapshot;
  /** The history entry of the run being judged, with its verdict before this comparison. */
  current: HistoryEntry;
  config: RegressionConfig;
  /** Runs to compare with instead of the pin or the last passing runs. */
  against?: readonly string[];
}

/** How many incomparable runs the analysis lists, newest first. */
const INCOMPARABLE_LISTED = 10;

const UNJUDGED_VERDICTS = new Set(['ERROR', 'INCOMPLETE', 'STOPPED']);

// ---------------------------------------------------------------- comparability

/**
 * Returns why `candidate` cannot be compared with `current`, or an empty list when it
 * can. Unknown values (null) compare equal only to unknown values.
 */
export function incomparabilityReasons(candidate: HistoryEntry, current: HistoryEntry, durationFactor: number): string[] {
  const reasons: string[] = [];
  if (candidate.scenarioHash !== current.scenarioHash) {
    reasons.push(`scenario hash ${shortHash(candidate.scenarioHash)} differs from ${shortHash(current.scenarioHash)}`);
  }
  if (candidate.k6Version !== current.k6Version) {
    reasons.push(`k6 ${candidate.k6Version ?? 'unknown'} differs from ${current.k6Version ?? 'unknown'}`);
  }
  if (candidate.rate !== current.rate) reasons.push(`rate ${candidate.rate}/s differs from ${current.rate}/s`);
  const ratio = candidate.durationS / current.durationS;
  if (!(ratio <= durationFactor && ratio >= 1 / durationFactor)) {
    reasons.push(`duration ${candidate.durationS} s is not within a factor of ${durationFactor} of ${current.durationS} s`);
  }
  return reasons;
}

function shortHash(hash: string | null): string {
  return hash === null ? 'unknown' : hash.slice(0, 12);
}

// ---------------------------------------------------------------- comparison

/**
 * Compares a run with its baseline and returns the analysis for the report. The
 * baseline runs are, in order of precedence: the runs named in `against`, the pinned
 * runs, or the last `baseline.runs` comparable passing runs before this one. Named and
 * pinned runs need not have passed, but they must be comparable. Excluded runs are
 * never used, not even when pinned or named.
 */
export function compareWithBaseline(input: CompareInput): RegressionAnalysis {
  const { history, current, config } = input;
  const settings = config.baseline;
  const earlier = history.entries.filter((entry) => entry.runId !== current.runId && isBefore(entry, current));
  const excluded = new Set(history.exclusions.map((exclusion) => exclusion.runId));
  const previousEntry = earlier[earlier.length - 1];
  const previous = previousEntry ? { runId: previousEntry.runId, verdict: previousEntry.verdict } : null;

  const named = input.against && input.against.length > 0 ? [...input.against] : null;
  let mode: RegressionAnalysis['mode'] = 'rolling';
  if (named) mode = 'named';
  else if (history.pins) mode = 'pinned';
  const incomparable: RegressionAnalysis['incomparable'] = [];
  const excludedRunIds: string[] = [];
  const baseline: HistoryEntry[] = [];
  const notes: string[] = [];

  if (mode === 'rolling') {
    // Newest first, so that the last runs are taken.
    for (const entry of [...earlier].reverse()) {
      if (baseline.length >= settings.runs) break;
      if (excluded.has(entry.runId)) {
        excludedRunIds.push(entry.runId);
        continue;
      }
      const reasons = incomparabilityReasons(entry, current, settings.durationFactor);
      if (reasons.length > 0) {
        if (incomparable.length < INCOMPARABLE_LISTED) incomparable.push({ runId: entry.runId, reasons });
        continue;
      }
      if (entry.verdict === 'PASS') baseline.push(entry);
    }
    baseline.reverse();
  } else {
    const wanted = named ?? history.pins!.runIds;
    // Named runs may come after the current one (compare an old night with a newer one).
    const byId = new Map(history.entries.map((entry) => [entry.runId, entry]));
    for (const runId of wanted) {
      const entry = byId.get(runId);
      if (entry === undefined) {
        notes.push(`run ${runId} has no history entry`);
        continue;
      }
      if (entry.runId === current.runId) continue;
      if (excluded.has(runId)) {
        excludedRunIds.push(runId);
        continue;
      }
      const reasons = incomparabilityReasons(entry, current, settings.durationFactor);
      if (reasons.length > 0) {
        incomparable.push({ runId, reasons });
        continue;
      }
      baseline.push(entry);
    }
    baseline.sort(compareEntries);
  }

  const required = mode === 'rolling' ? settings.minRuns : 1;
  const chart = chartOf(history.entries, current, baseline, settings);
  const common = {
    mode,
    baselineRunIds: baseline.map((entry) => entry.runId),
    available: baseline.length,
    required,
    incomparable,
    excludedRunIds,
    previous,
    chart,
  };

  if (UNJUDGED_VERDICTS.has(current.verdict)) {
    return {
      ...common,
      status: 'skipped',
      message: `not compared with earlier runs: the run is ${current.verdict}, so its figures are not a fair measure of the target`,
      metrics: [],
    };
  }

  if (baseline.length < required) {
    return {
      ...common,
      status: 'no-baseline',
      message: noBaselineMessage(mode, baseline.length, required, settings, incomparable.length, notes),
      metrics: [],
    };
  }

  const metrics = compareMetrics(current, baseline, config);
  const regressed = metrics.filter((metric) => metric.status === 'regressed');
  const source = describeSource(mode, baseline.length);
  const message =
    regressed.length === 0
      ? `no regression against ${source}`
      : `${regressed.map((metric) => metric.metric).join(', ')} regressed against ${source}`;
  return { ...common, status: 'compared', message: withNotes(message, notes), metrics };
}

function isBefore(entry: HistoryEntry, current: HistoryEntry): boolean {
  // A run without a start time stored no sample; it sorts first and never hides a later run.
  return entry.startedAt === null || current.startedAt === null || entry.startedAt < current.startedAt;
}

function describeSource(mode: RegressionAnalysis['mode'], count: number): string {
  const runs = `${count} run${count === 1 ? '' : 's'}`;
  if (mode === 'pinned') return `the pinned baseline of ${runs}`;
  if (mode === 'named') return `the named ${runs}`;
  return `the baseline of the last ${runs} that passed`;
}

function withNotes(message: string, notes: readonly string[]): string {
  return notes.length === 0 ? message : `${message} (${notes.join('; ')})`;
}

function noBaselineMessage(
  mode: RegressionAnalysis['mode'],
  available: number,
  required: number,
  settings: BaselineSettings,
  incomparableCount: number,
  notes: readonly string[],
): string {
  if (mode !== 'rolling') {
    const source = mode === 'pinned' ? 'none of the pinned runs' : 'none of the named runs';
    return withNotes(`no baseline: ${source} can be compared with this run`, notes);
  }
  const skipped =
    incomparableCount > 0
      ? `; ${incomparableCount} earlier run${incomparableCount === 1 ? ' differs' : 's differ'} in scenario hash, k6 version or load and ${incomparableCount === 1 ? 'is' : 'are'} not compared`
      : '';
  return (
    `no baseline yet (${available} of ${required} runs): a baseline needs ${required} earlier passing runs ` +
    `with the same scenario hash, k6 version, rate and a duration within a factor of ${settings.durationFactor}${skipped}`
  );
}

interface MetricSpec {
  metric: string;
  unit: string;
  pick: (entry: HistoryEntry) => number | null;
  rule: { relativeTolerance: number; spreadMultiple: number; absoluteTolerance: number };
}

function metricSpecs(config: RegressionConfig, current: HistoryEntry): MetricSpec[] {
  const rules = config.regression;
  const specs: MetricSpec[] = [];
  if (rules.p95.enabled) specs.push({ metric: 'p95', unit: 'ms', pick: (entry) => entry.p95, rule: rules.p95 });
  if (rules.p99.enabled) specs.push({ metric: 'p99', unit: 'ms', pick: (entry) => entry.p99, rule: rules.p99 });
  if (rules.errorRate.enabled) specs.push({ metric: 'errorRate', unit: 'ratio', pick: (entry) => entry.errorRate, rule: rules.errorRate });
  if (rules.probeSlopes.enabled) {
    // A slope measured over minutes varies by more per hour than one measured over hours.
    const analysedHours = Math.max(0, current.durationS - warmupSeconds(current.durationS, config.warmup)) / 3600;
    for (const probe of config.probe.series) {
      if (probe.leakTolerancePerHour === null) continue;
      const growthFloor = probe.leakMinGrowth && analysedHours > 0 ? probe.leakMinGrowth / analysedHours : 0;
      specs.push({
        metric: `slope:${probe.name}`,
        unit: `${probe.unit || 'units'}/h`,
        pick: (entry) => entry.probeSlopes[probe.name] ?? null,
        rule: {
          relativeTolerance: rules.probeSlopes.relativeTolerance,
          spreadMultiple: rules.probeSlopes.spreadMultiple,
          absoluteTolerance: Math.max(rules.probeSlopes.leakToleranceShare * probe.leakTolerancePerHour, growthFloor),
        },
      });
    }
  }
  return specs;
}

function compareMetrics(current: HistoryEntry, baseline: readonly HistoryEntry[], config: RegressionConfig): MetricComparison[] {
  return metricSpecs(config, current).map((spec) => compareMetric(spec, current, baseline));
}

/** Judges one lower-is-better metric against the baseline values. */
function compareMetric(spec: MetricSpec, current: HistoryEntry, baseline: readonly HistoryEntry[]): MetricComparison {
  const values = baseline.map(spec.pick).filter((value): value is number => value !== null && Number.isFinite(value));
  const value = spec.pick(current);
  const center = median(values);
  const spread = values.length > 0 ? MAD_TO_SIGMA * mad(values)! : null;
  const empty = {
    metric: spec.metric,
    unit: spec.unit,
    current: value,
    baselineMedian: center,
    baselineSpread: spread,
    delta: null,
    relativeDelta: null,
    allowedRise: null,
    baselineRuns: values.length,
  };
  if (value === null || !Number.isFinite(value)) {
    return { ...empty, current: null, status: 'no-data', message: `${spec.metric}: no value in this run` };
  }
  if (center === null || spread === null) {
    return { ...empty, status: 'no-data', message: `${spec.metric}: no baseline run has a value` };
  }

  const delta = value - center;
  const relativeDelta = center !== 0 ? delta / Math.abs(center) : null;
  const relativeBound = spec.rule.relativeTolerance * Math.abs(center);
  const spreadBound = spec.rule.spreadMultiple * spread;
  const allowedRise = Math.max(relativeBound, spreadBound, spec.rule.absoluteTolerance);
  let status: MetricComparison['status'] = 'ok';
  let verb = 'is within tolerance';
  if (delta > allowedRise) {
    status = 'regressed';
    verb = 'is worse';
  } else if (delta < -allowedRise) {
    status = 'improved';
    verb = 'is better';
  }

  const figure = `${formatValue(value, spec.unit)} against a baseline of ${formatValue(center, spec.unit)}`;
  const change = `${formatSigned(delta, spec.unit)}${relativeDelta === null ? '' : `, ${formatSignedPercent(relativeDelta)}`}`;
  const bounds =
    `the limit is a rise of ${formatValue(allowedRise, spec.unit)}: the highest of ${formatPercent(spec.rule.relativeTolerance)} of the median, ` +
    `${spec.rule.spreadMultiple} × the spread ${formatValue(spread, spec.unit)} and the floor ${formatValue(spec.rule.absoluteTolerance, spec.unit)}`;
  return {
    ...empty,
    delta,
    relativeDelta,
    allowedRise,
    status,
    message: `${spec.metric} ${verb}: ${figure} (${change}, median of ${values.length} runs); ${bounds}`,
  };
}

/** Returns one REGRESSION reason per regressed metric, for the report's reasons. */
export function regressionReasons(analysis: RegressionAnalysis): Reason[] {
  if (analysis.status !== 'compared') return [];
  return analysis.metrics
    .filter((metric) => metric.status === 'regressed')
    .map((metric) => ({
      code: `REGRESSION_${metric.metric.replace('slope:', 'SLOPE_').toUpperCase()}`,
      verdict: 'REGRESSION' as const,
      message: metric.message,
    }));
}

/**
 * Compares a built report with the history of its env and scenario, and returns the
 * report with the regression analysis, its REGRESSION reasons and the verdict they
 * lead to, plus the history entry to write afterwards. A damaged history control file
 * leaves the report uncompared, with a note, instead of failing the finalize.
 */
export async function addRegressionAnalysis(
  store: ResultStore,
  report: RunReport,
  manifest: RunManifest,
  config: RegressionConfig,
  targetVersion: string | null,
  log: Log,
): Promise<{ report: RunReport; entry: HistoryEntry }> {
  let history: HistorySnapshot;
  try {
    history = await readHistory(store, report.env, report.scenario);
  } catch (error) {
    log.warn('history not readable, run not compared', { error, env: report.env, scenario: report.scenario });
    const note = `Not compared with earlier runs: ${(error as Error).message}`;
    return { report: { ...report, notes: [...report.notes, note] }, entry: buildHistoryEntry(report, manifest, targetVersion) };
  }
  const analysis = compareWithBaseline({ history, current: buildHistoryEntry(report, manifest, targetVersion), config });
  const reasons = sortReasons([...report.reasons, ...regressionReasons(analysis)]);
  const notes = [...report.notes];
  if (analysis.status !== 'compared') notes.push(`Regression check: ${analysis.message}.`);
  for (const problem of history.invalid) notes.push(`History entry skipped: ${problem}.`);
  const judged: RunReport = {
    ...report,
    verdict: decideVerdict(reasons),
    reasons,
    notes,
    analyses: { ...report.analyses, regression: analysis },
  };
  return { report: judged, entry: buildHistoryEntry(judged, manifest, targetVersion) };
}

/** Returns the last `chartRuns` − 1 runs before the current one and the current one, oldest first. */
function chartOf(entries: readonly HistoryEntry[], current: HistoryEntry, baseline: readonly HistoryEntry[], settings: BaselineSettings): ChartPoint[] {
  const inBaseline = new Set(baseline.map((entry) => entry.runId));
  const earlier = entries.filter((entry) => entry.runId !== current.runId && isBefore(entry, current));
  const shown = [...earlier.slice(-(settings.chartRuns - 1)), current];
  return shown.map((entry) => ({
    runId: entry.runId,
    startedAt: entry.startedAt,
    verdict: entry.verdict,
    p99: entry.p99,
    errorRate: entry.errorRate,
    heapSlopePerHour: entry.probeSlopes.heapUsedBytes ?? null,
    current: entry.runId === current.runId,
    inBaseline: inBaseline.has(entry.runId),
    comparable: entry.runId === current.runId || incomparabilityReasons(entry, current, settings.durationFactor).length === 0,
  }));
}

// ---------------------------------------------------------------- formatting

/**
 * Formats the change of one figure against the baseline for a message, such as
 * ` (+12 % vs baseline)` or ` (+0.4 pp vs baseline, regressed)`. Returns '' when the run
 * was not compared or the figure has no change, so callers can append it as is.
 */
export function formatBaselineDelta(regression: RegressionAnalysis | null, metric: string): string {
  const comparison = regression?.status === 'compared' ? regression.metrics.find((item) => item.metric === metric) : undefined;
  if (comparison === undefined || comparison.delta === null) return '';
  let change: string;
  if (comparison.unit === 'ratio') {
    const points = comparison.delta * 100;
    change = `${points >= 0 ? '+' : '−'}${round(Math.abs(points))} pp`;
  } else if (comparison.relativeDelta !== null) {
    change = formatSignedPercent(comparison.relativeDelta);
  } else {
    change = formatSigned(comparison.delta, comparison.unit);
  }
  return ` (${change} vs baseline${comparison.status === 'regressed' ? ', regressed' : ''})`;
}

/** Formats a value in a metric's unit: ms, a ratio as a percentage, bytes with binary prefixes. */
export function formatValue(value: number, unit: string): string {
  if (unit === 'ratio') return formatPercent(value);
  if (unit === 'ms') return `${round(value)} ms`;
  if (unit.startsWith('bytes')) return `${formatBytes(value)}${unit.slice('bytes'.length)}`;
  return unit === '' ? round(value) : `${round(value)} ${unit}`;
}

function formatSigned(value: number, unit: string): string {
  return `${value >= 0 ? '+' : '−'}${formatValue(Math.abs(value), unit)}`;
}

function formatPercent(ratio: number): string {
  return `${round(ratio * 100)} %`;
}

function formatSignedPercent(ratio: number): string {
  return `${ratio >= 0 ? '+' : '−'}${formatPercent(Math.abs(ratio))}`;
}

function round(value: number): string {
  if (value === 0) return '0';
  return Number(value.toPrecision(3)).toString();
}

function formatBytes(value: number): string {
  const prefixes = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let index = 0;
  while (Math.abs(scaled) >= 1024 && index < prefixes.length - 1) {
    scaled /= 1024;
    index++;
  }
  return `${round(scaled)} ${prefixes[index]}`;
}
