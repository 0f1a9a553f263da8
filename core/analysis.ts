/**
 * Drift and leak analyses of a run's per-minute series, after the warm-up.
 *
 * Both rest on two robust statistics from `stats.ts`: the Theil–Sen slope (how fast a
 * series moves) and the Mann–Kendall test (whether it moves at all). A series is
 * flagged only when the trend is significant and its size is above a tolerance, so a
 * long run with tiny but significant changes stays quiet. docs/analysis.md explains
 * the rules and how to tune them.
 */
import type { EnvConfig, ProbeSeries } from './config.js';
import type { SeriesAnalysis, SeriesPoint, TrendFit } from './report-schema.js';
import {
  blockedMannKendall,
  blockedTheilSen,
  MAD_TO_SIGMA,
  mad,
  mannKendall,
  median,
  theilSen,
  type Outcome,
} from './stats.js';

const MS_PER_HOUR = 3_600_000;

/**
 * Returns the warm-up length in seconds: the larger of `minS` and `fraction` of the run,
 * but never more than half the run, so that the analyses keep data to work on.
 */
export function warmupSeconds(durationS: number, warmup: EnvConfig['warmup']): number {
  if (!(durationS >= 0 && Number.isFinite(durationS))) {
    throw new RangeError(`durationS must be a finite number >= 0, got ${durationS}`);
  }
  return Math.min(durationS / 2, Math.max(warmup.minS, warmup.fraction * durationS));
}

const WINDOW_S = 10;

/**
 * Returns the length in seconds of the points the drift and leak analyses use: the time
 * after warm-up divided by `targetPoints`, rounded down to whole 10-second windows and
 * kept from 10 s to 60 s. A 5-minute run (240 s after warm-up) gets 10-second points,
 * 24 of them. From about 27 minutes on, the points are minutes, as in the report.
 */
export function analysisPointSeconds(durationS: number, warmupS: number, targetPoints: number): number {
  const perPoint = Math.max(0, durationS - warmupS) / targetPoints;
  const windows = Math.floor(perPoint / WINDOW_S);
  return Math.min(60, Math.max(WINDOW_S, windows * WINDOW_S));
}

/** One value of a series after the warm-up, with x in hours since the run start. */
export interface Sample {
  t: number;
  x: number;
  y: number;
}

interface Collected {
  /** Non-null values in the whole series, warm-up included. */
  valueCount: number;
  samples: Sample[];
}

function collect(
  series: readonly SeriesPoint[],
  pick: (point: SeriesPoint) => number | null | undefined,
  runStartMs: number,
  warmupS: number,
): Collected {
  const warmupEndMs = runStartMs + warmupS * 1000;
  const ordered = [...series].sort((a, b) => a.t - b.t);
  let valueCount = 0;
  const samples: Sample[] = [];
  for (const point of ordered) {
    const value = pick(point);
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    valueCount++;
    if (point.t < warmupEndMs) continue;
    samples.push({ t: point.t, x: (point.t - runStartMs) / MS_PER_HOUR, y: value });
  }
  return { valueCount, samples };
}

function emptyAnalysis(
  series: string,
  unit: string,
  tolerance: string,
  status: 'no-data' | 'insufficient-data',
  message: string,
): SeriesAnalysis {
  return {
    series,
    unit,
    status,
    message,
    fit: null,
    firstQuarter: null,
    lastQuarter: null,
    relativeChange: null,
    growthPerHour: null,
    projected24h: null,
    tolerance,
  };
}

function notEnoughData(available: number, required: number, detail?: string): string {
  const explanation = detail ?? `the analysis needs ${required} values after the warm-up`;
  return `not enough data (${available} of ${required} points): ${explanation}`;
}

// ---------------------------------------------------------------- drift

export interface DriftOptions {
  runStartMs: number;
  warmupS: number;
  drift: EnvConfig['drift'];
}

interface DriftSeriesSpec {
  series: 'p50' | 'p95' | 'p99' | 'errorRate';
  unit: string;
  kind: 'latency' | 'errorRate';
  pick: (point: SeriesPoint) => number | null;
}

const DRIFT_SERIES: readonly DriftSeriesSpec[] = [
  // The median shows a delay added to every response even when the tail is noisy.
  { series: 'p50', unit: 'ms', kind: 'latency', pick: (point) => point.p50 },
  { series: 'p95', unit: 'ms', kind: 'latency', pick: (point) => point.p95 },
  { series: 'p99', unit: 'ms', kind: 'latency', pick: (point) => point.p99 },
  { series: 'errorRate', unit: 'ratio', kind: 'errorRate', pick: (point) => point.errorRate },
];

/**
 * Analyses p50, p95 and p99 latency and the error rate for drift after the
 * warm-up. A series is flagged when all three hold:
 *
 * 1. the Mann–Kendall test is significant (p < `drift.alpha`);
 * 2. it rises: a positive Theil–Sen slope, or a zero slope with a positive Kendall S,
 *    which happens when most values are tied, as an error rate of 0 in most minutes;
 * 3. the median of the last quarter of the time after warm-up exceeds that of the
 *    first quarter by more than the tolerance. Latency must rise by more than each of
 *    the relative tolerance, the absolute floor in ms and `latencySpreadMultiple` times
 *    the spread of the points around the fitted line. The error rate must rise by more
 *    than its absolute tolerance.
 *
 * The spread bound lets a quiet series be judged by the tight relative tolerance while
 * a noisy one needs a rise well above its own noise.
 *
 * Quarter medians and the Theil–Sen slope both ignore a short stall, so a few slow
 * minutes that recover do not count as drift. A lasting step up does count.
 */
export function analyzeDrift(series: readonly SeriesPoint[], options: DriftOptions): SeriesAnalysis[] {
  return DRIFT_SERIES.map((spec) => analyzeDriftSeries(spec, series, options));
}

function analyzeDriftSeries(spec: DriftSeriesSpec, series: readonly SeriesPoint[], options: DriftOptions): SeriesAnalysis {
  const { drift } = options;
  const tolerance = driftToleranceText(spec.kind, drift, null);

  const { valueCount, samples } = collect(series, spec.pick, options.runStartMs, options.warmupS);
  if (valueCount === 0) return emptyAnalysis(spec.series, spec.unit, tolerance, 'no-data', `no ${spec.series} values in the run`);
  if (samples.length < drift.minPoints) {
    return emptyAnalysis(spec.series, spec.unit, tolerance, 'insufficient-data', notEnoughData(samples.length, drift.minPoints));
  }

  const x = samples.map((sample) => sample.x);
  const y = samples.map((sample) => sample.y);
  const fit = theilSen(x, y);
  if (!fit.ok) return emptyAnalysis(spec.series, spec.unit, tolerance, 'insufficient-data', fit.reason);
  const test = mannKendall(y);

  const { first, last } = quarterMedians(samples);
  const change = last - first;
  const relativeChange = first > 0 ? change / first : null;
  const spread = spec.kind === 'latency' ? residualSpread(x, y, fit.value) : null;

  const significant = test.pValue < drift.alpha;
  const rising = fit.value.slope > 0 || (fit.value.slope === 0 && test.s > 0);
  const flagged = significant && rising && exceedsTolerance(spec.kind, change, relativeChange, drift, spread ?? 0);

  const trendFit: TrendFit = {
    slopePerHour: fit.value.slope,
    intercept: fit.value.intercept,
    pValue: test.pValue,
    points: samples.length,
    significant,
  };

  const unit = spec.unit === 'ms' ? ' ms' : '';
  const changeText =
    `${formatNumber(first)}${unit} to ${formatNumber(last)}${unit}` +
    (relativeChange === null ? '' : ` (${formatSignedPercent(relativeChange)})`);
  const trendText = `slope ${formatNumber(fit.value.slope)}${unit}/h, Mann–Kendall ${formatP(test.pValue)}, ${samples.length} points`;

  let message: string;
  if (flagged) {
    message = `${spec.series} drifted up: the quarter medians went from ${changeText}. Trend: ${trendText}`;
  } else if (!significant) {
    message = `no significant trend in ${spec.series} (${trendText}). Quarter medians: ${changeText}`;
  } else if (!rising) {
    message = `${spec.series} trends down (${trendText}). Quarter medians: ${changeText}`;
  } else {
    message = `${spec.series} rises within tolerance: the quarter medians went from ${changeText}. Trend: ${trendText}`;
  }

  return {
    series: spec.series,
    unit: spec.unit,
    status: flagged ? 'flagged' : 'ok',
    message,
    fit: trendFit,
    firstQuarter: first,
    lastQuarter: last,
    relativeChange,
    growthPerHour: null,
    projected24h: null,
    tolerance: driftToleranceText(spec.kind, drift, spread),
  };
}

/** Describes the drift rule of a series, with the measured spread of a latency series once known. */
function driftToleranceText(kind: DriftSeriesSpec['kind'], drift: EnvConfig['drift'], spreadMs: number | null): string {
  const prefix = `Mann–Kendall p < ${drift.alpha}, a rising slope, and a last-quarter median above the first by more than`;
  if (kind === 'errorRate') return `${prefix} ${drift.errorRateTolerance}`;
  const spreadText = spreadMs === null ? 'the spread around the trend' : `the spread around the trend (${formatNumber(spreadMs)} ms)`;
  return (
    `${prefix} ${formatPercent(drift.latencyRelativeTolerance)}, ${drift.latencyAbsoluteToleranceMs} ms ` +
    `and ${drift.latencySpreadMultiple} × ${spreadText}`
  );
}

/**
 * Returns the robust spread of the points around the fitted line: 1.4826 × the median
 * absolute deviation of the residuals, which estimates their standard deviation when the
 * noise is normal, while a stall of a few points moves it little.
 */
function residualSpread(x: readonly number[], y: readonly number[], fit: { slope: number; intercept: number }): number {
  const residuals = y.map((value, index) => value - (fit.intercept + fit.slope * x[index]!));
  return MAD_TO_SIGMA * (mad(residuals) ?? 0);
}

function exceedsTolerance(
  kind: DriftSeriesSpec['kind'],
  change: number,
  relativeChange: number | null,
  drift: EnvConfig['drift'],
  spread: number,
): boolean {
  if (kind === 'errorRate') return change > drift.errorRateTolerance;
  if (change <= drift.latencyAbsoluteToleranceMs) return false;
  if (change <= drift.latencySpreadMultiple * spread) return false;
  // A first quarter at 0 ms has no relative change, and any rise from 0 exceeds every ratio.
  if (relativeChange === null) return true;
  return relativeChange > drift.latencyRelativeTolerance;
}

/**
 * Returns the medians of the first and last quarter of the time span, each containing at
 * least its end point. Medians, not means, so that a stall shorter than half a quarter
 * leaves them unchanged.
 */
function quarterMedians(samples: readonly Sample[]): { first: number; last: number } {
  const start = samples[0]!.t;
  const end = samples[samples.length - 1]!.t;
  const quarter = (end - start) / 4;
  const firstValues = samples.filter((sample) => sample.t <= start + quarter).map((sample) => sample.y);
  const lastValues = samples.filter((sample) => sample.t >= end - quarter).map((sample) => sample.y);
  return { first: median(firstValues)!, last: median(lastValues)! };
}

// ---------------------------------------------------------------- leaks

export interface LeakOptions {
  runStartMs: number;
  warmupS: number;
  /** Probe series of the configuration. Series with a null `leakTolerancePerHour` are skipped. */
  probes: readonly ProbeSeries[];
  leak: EnvConfig['leak'];
}

/**
 * A fall between two consecutive points counts as a drop (a restart or a collection of
 * the whole heap) when it exceeds three bounds. The first is this share of the series
 * range. The second, DROP_NOISE_SIGMAS robust standard deviations of the point-to-point
 * changes, keeps plain noise from looking like drops. The third, DROP_LEVEL_FRACTION of
 * the value it falls from, keeps a flat count from doing so: descriptors that sit at 30
 * with a rare 28 have no noise by the median, and their range is 2.
 */
const DROP_RANGE_FRACTION = 0.3;
const DROP_NOISE_SIGMAS = 6;
const DROP_LEVEL_FRACTION = 0.1;

/**
 * From this many drops on, a series is read as a sawtooth (periodic collection or
 * flushing) rather than a few restarts. A restart loop this frequent is read as a
 * sawtooth too, so a leak that crashes the target every few minutes and restarts from
 * the same floor is not flagged.
 */
const SAWTOOTH_MIN_DROPS = 6;

/**
 * Share of the time after warm-up, counted back from the end, in which growth must go on
 * for a leak. Two thirds leave out growth that ends within the first third after the
 * warm-up (caches filling, a heap reaching its working size) and still give the late
 * slope two thirds of the points. With the last half, the detection benchmark missed a
 * weak heap leak in 16 of 50 replays, with two thirds in 2 (docs/analysis.md).
 */
const LATE_SHARE = 2 / 3;

type LeakShape = 'steady' | 'restarts' | 'sawtooth';

interface ShapeFit {
  slope: number;
  intercept: number | null;
  pValue: number;
  points: number;
}

/**
 * Analyses each probe series that has a leak tolerance for growth after the warm-up.
 * Values that are null are gaps and skipped. Slopes are per hour (x in hours since
 * the run start); `fit` describes the line over the whole time after warm-up, for the
 * chart. `growthPerHour` is the growth that lasted: the smaller of that slope and the
 * slope of the last two thirds (LATE_SHARE). A plateau reached after the warm-up then
 * neither projects its early climb over 24 h (`projected24h`) nor enters the history
 * as a steep slope.
 *
 * Probes reduced with `min` (memory) are read as floors first: each point becomes the
 * lowest of it and the points before it, `leak.floorPoints` in all, within the pieces
 * between drops (see trailingFloor).
 *
 * Drops split the series into pieces, and their number sets how growth is measured:
 * - no drop: Theil–Sen slope and Mann–Kendall test on all values;
 * - fewer than SAWTOOTH_MIN_DROPS drops, read as restarts: the slope and the test run
 *   within pieces only (blocked, as in the seasonal Kendall test), so growth that
 *   starts over after each restart still counts and the drop itself never does;
 * - more drops, read as a sawtooth (periodic collection or flushing): the analysis
 *   runs on the floor, the minimum of each piece after a drop, so only a rising floor
 *   counts. It needs `leak.minPoints` floors.
 *
 * A series is flagged when the test is significant (p < `leak.alpha`), the slope is
 * above the probe's tolerance, and the slope over the last two thirds of the time after
 * warm-up is above the tolerance too. The last rule keeps growth that ends soon after
 * the warm-up (caches filling, then a plateau) from counting as a leak. The last two
 * thirds have fewer points, so only their slope is checked, not its significance.
 */
export function analyzeLeaks(series: readonly SeriesPoint[], options: LeakOptions): SeriesAnalysis[] {
  return options.probes
    .filter((probe) => probe.leakTolerancePerHour !== null)
    .map((probe) => analyzeProbe(probe, probe.leakTolerancePerHour!, series, options));
}

function analyzeProbe(
  probe: ProbeSeries,
  tolerancePerHour: number,
  series: readonly SeriesPoint[],
  options: LeakOptions,
): SeriesAnalysis {
  const { leak } = options;
  const unit = probe.unit;
  const tolerance =
    `Mann–Kendall p < ${leak.alpha} and growth above ${formatAmount(tolerancePerHour, unit)}/h, ` +
    'both after the warm-up and in its last two thirds' +
    (probe.leakMinGrowth == null ? '' : `; in a short run, at least ${formatAmount(probe.leakMinGrowth, unit)} spread over the time after the warm-up`);

  const pick = (point: SeriesPoint): number | null | undefined => point.probes[probe.name];
  const { valueCount, samples: raw } = collect(series, pick, options.runStartMs, options.warmupS);
  if (valueCount === 0) return emptyAnalysis(probe.name, unit, tolerance, 'no-data', `no ${probe.name} values in the run`);
  if (raw.length < leak.minPoints) {
    return emptyAnalysis(probe.name, unit, tolerance, 'insufficient-data', notEnoughData(raw.length, leak.minPoints));
  }

  const dropTimes = findDropTimes(raw);
  const samples = probe.perMinute === 'min' ? trailingFloor(raw, leak.floorPoints, dropTimes) : raw;
  const shape = classifyShape(dropTimes.size);
  const full = fitShape(shape, samples, dropTimes);
  if (!full.ok) return emptyAnalysis(probe.name, unit, tolerance, 'insufficient-data', full.reason);
  if (shape === 'sawtooth' && full.value.points < leak.minPoints) {
    const detail = `the series is a sawtooth, measured on the floor after each of its ${full.value.points} drops`;
    const message = notEnoughData(full.value.points, leak.minPoints, detail);
    return emptyAnalysis(probe.name, unit, tolerance, 'insufficient-data', message);
  }

  const lastX = samples[samples.length - 1]!.x;
  const lateStartX = lastX - LATE_SHARE * (lastX - samples[0]!.x);
  const late = fitShape(shape, samples.filter((sample) => sample.x >= lateStartX), dropTimes);

  const significant = full.value.pValue < leak.alpha;
  // In a short run, leakMinGrowth spread over the time after warm-up is the larger bound.
  const analysedHours = samples[samples.length - 1]!.x - samples[0]!.x;
  const growthBound = probe.leakMinGrowth == null || analysedHours <= 0 ? 0 : probe.leakMinGrowth / analysedHours;
  const effectiveTolerance = Math.max(tolerancePerHour, growthBound);
  const aboveTolerance = full.value.slope > effectiveTolerance;
  const lateSlope = late.ok ? late.value.slope : null;
  const persists = lateSlope !== null && lateSlope > effectiveTolerance;
  const flagged = significant && aboveTolerance && persists;

  // The growth that lasted: a plateau reached after the warm-up keeps only its flat end.
  const growthPerHour = lateSlope === null ? full.value.slope : Math.min(full.value.slope, lateSlope);
  const projected24h = growthPerHour * 24;
  const fit: TrendFit = {
    slopePerHour: full.value.slope,
    intercept: full.value.intercept,
    pValue: full.value.pValue,
    points: full.value.points,
    significant,
  };

  const rate = `${formatAmount(full.value.slope, unit)}/h`;
  const stats = `Mann–Kendall ${formatP(full.value.pValue)}, ${full.value.points} points`;
  const shapeText = describeShape(shape, dropTimes, options.runStartMs);
  let message: string;
  if (flagged) {
    message =
      `${probe.name} grows ${rate} (${stats}) and ${formatAmount(lateSlope!, unit)}/h in the last two thirds, ` +
      `projected ${formatSignedAmount(projected24h, unit)} over 24 h${shapeText}`;
  } else if (!significant) {
    message = `no significant trend in ${probe.name} (${rate}, ${stats})${shapeText}`;
  } else if (!aboveTolerance && growthBound > tolerancePerHour) {
    message =
      `${probe.name} changes ${rate} (${stats}), within ${formatAmount(effectiveTolerance, unit)}/h: ` +
      `the least growth of ${formatAmount(probe.leakMinGrowth!, unit)} over the ${formatNumber(analysedHours * 60)} minutes after the warm-up${shapeText}`;
  } else if (!aboveTolerance) {
    message = `${probe.name} changes ${rate} (${stats}), within the tolerance of ${formatAmount(tolerancePerHour, unit)}/h${shapeText}`;
  } else {
    const lateText = lateSlope === null ? 'too few values to measure growth' : `only ${formatAmount(lateSlope, unit)}/h`;
    // NOTE: with a growth bound above the tolerance, "did not persist" means the last two thirds grew less than that bound.
    message =
      `${probe.name} grew ${rate} (${stats}) but shows ${lateText} in the last two thirds, ` +
      `so the growth did not persist${shapeText}`;
  }

  return {
    series: probe.name,
    unit,
    status: flagged ? 'flagged' : 'ok',
    message,
    fit,
    firstQuarter: null,
    lastQuarter: null,
    relativeChange: null,
    growthPerHour,
    projected24h,
    tolerance,
  };
}

/**
 * Replaces each value by the lowest of it and the `points - 1` values before it. Memory of
 * a garbage-collected runtime climbs with garbage until a collection frees it, and a large
 * heap may go a minute or more between full collections. The floor over a few points
 * follows what stays allocated: garbage that waits late in a run for its collection
 * does not read as growth, while a leak raises every floor. A drop shows at once, because
 * the floor takes the new low value at the point where it appears.
 */
export function trailingFloor(samples: readonly Sample[], points: number, dropTimes: ReadonlySet<number>): Sample[] {
  if (points <= 1) return [...samples];
  return splitAtDrops(samples, dropTimes).flatMap((piece) =>
    piece.map((sample, index) => {
      let low = sample.y;
      for (let back = Math.max(0, index - points + 1); back < index; back++) low = Math.min(low, piece[back]!.y);
      return { ...sample, y: low };
    }),
  );
}

function classifyShape(dropCount: number): LeakShape {
  if (dropCount === 0) return 'steady';
  if (dropCount < SAWTOOTH_MIN_DROPS) return 'restarts';
  return 'sawtooth';
}

/** Returns the times of the first sample after each drop (see DROP_RANGE_FRACTION). */
function findDropTimes(samples: readonly Sample[]): Set<number> {
  const values = samples.map((sample) => sample.y);
  const range = Math.max(...values) - Math.min(...values);
  const drops = new Set<number>();
  if (range === 0) return drops;

  const changes = values.slice(1).map((value, i) => value - values[i]!);
  const noise = MAD_TO_SIGMA * (mad(changes) ?? 0);
  const threshold = Math.max(DROP_RANGE_FRACTION * range, DROP_NOISE_SIGMAS * noise);
  changes.forEach((change, i) => {
    if (-change > threshold && -change > DROP_LEVEL_FRACTION * Math.abs(values[i]!)) drops.add(samples[i + 1]!.t);
  });
  return drops;
}

/** Splits samples into pieces, starting a new piece at each drop time. */
function splitAtDrops(samples: readonly Sample[], dropTimes: ReadonlySet<number>): Sample[][] {
  const pieces: Sample[][] = [];
  let current: Sample[] = [];
  for (const sample of samples) {
    if (dropTimes.has(sample.t) && current.length > 0) {
      pieces.push(current);
      current = [];
    }
    current.push(sample);
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}

function fitShape(shape: LeakShape, samples: readonly Sample[], dropTimes: ReadonlySet<number>): Outcome<ShapeFit> {
  if (shape === 'steady') return fitSteady(samples);

  const pieces = splitAtDrops(samples, dropTimes);
  if (shape === 'sawtooth') {
    // The first piece usually starts mid-cycle, so its minimum is not a floor.
    const floors = pieces
      .filter((piece) => dropTimes.has(piece[0]!.t))
      .map((piece) => piece.reduce((low, sample) => (sample.y < low.y ? sample : low)));
    return fitSteady(floors);
  }

  const fit = blockedTheilSen(pieces.map((piece) => ({ x: piece.map((s) => s.x), y: piece.map((s) => s.y) })));
  if (!fit.ok) return fit;
  const test = blockedMannKendall(pieces.map((piece) => piece.map((s) => s.y)));
  // The line is drawn for the last piece, the level the target runs at now.
  const intercept = fit.value.intercepts[fit.value.intercepts.length - 1] ?? null;
  return { ok: true, value: { slope: fit.value.slope, intercept, pValue: test.pValue, points: samples.length } };
}

function fitSteady(samples: readonly Sample[]): Outcome<ShapeFit> {
  const fit = theilSen(
    samples.map((sample) => sample.x),
    samples.map((sample) => sample.y),
  );
  if (!fit.ok) return fit;
  const test = mannKendall(samples.map((sample) => sample.y));
  return {
    ok: true,
    value: { slope: fit.value.slope, intercept: fit.value.intercept, pValue: test.pValue, points: samples.length },
  };
}

function describeShape(shape: LeakShape, dropTimes: ReadonlySet<number>, runStartMs: number): string {
  if (shape === 'steady') return '';
  const times = [...dropTimes].sort((a, b) => a - b).map((t) => formatRunOffset(t - runStartMs));
  if (shape === 'restarts') {
    const drops = times.length === 1 ? `drops once, at ${times[0]}` : `drops ${times.length} times, at ${times.join(', ')}`;
    return `. The series ${drops} into the run (a restart, perhaps), so growth is measured within the pieces between drops, and the fitted line follows the last piece`;
  }
  return `. The series is a sawtooth with ${times.length} drops, so growth is measured on the floor after each drop`;
}

// ---------------------------------------------------------------- formatting

/** Formats a time since the run start as m:ss, or h:mm:ss from an hour on. */
function formatRunOffset(ms: number): string {
  const totalS = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(totalS / 3600);
  const minutes = Math.floor((totalS % 3600) / 60);
  const seconds = String(totalS % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

function formatNumber(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || magnitude < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}

function formatPercent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(3))} %`;
}

function formatSignedPercent(ratio: number): string {
  return `${ratio >= 0 ? '+' : ''}${formatPercent(ratio)}`;
}

function formatP(pValue: number): string {
  return pValue < 1e-4 ? 'p < 0.0001' : `p = ${Number(pValue.toPrecision(2))}`;
}

const BINARY_PREFIXES = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function formatAmount(value: number, unit: string): string {
  if (unit === 'bytes') {
    let scaled = value;
    let prefix = 0;
    while (Math.abs(scaled) >= 1024 && prefix < BINARY_PREFIXES.length - 1) {
      scaled /= 1024;
      prefix++;
    }
    return `${Number(scaled.toPrecision(3))} ${BINARY_PREFIXES[prefix]}`;
  }
  const text = formatNumber(value);
  return unit === '' || unit === 'count' ? text : `${text} ${unit}`;
}

function formatSignedAmount(value: number, unit: string): string {
  return `${value >= 0 ? '+' : ''}${formatAmount(value, unit)}`;
}
