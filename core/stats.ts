/**
 * Robust statistics for the drift and leak analyses: order statistics, the standard
 * normal CDF, the Theil–Sen slope and the Mann–Kendall trend test, plus their blocked
 * forms for a series split into independent pieces.
 *
 * Every function is pure. None returns NaN: an empty input gives `null`, and a fit
 * that cannot be computed gives `{ ok: false, reason }`. Non-finite inputs are a
 * caller bug and raise a RangeError.
 */

/** A value, or the reason it could not be computed (shown in the report). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Factor that turns the median absolute deviation into a consistent estimate of the
 * standard deviation of normal data: 1 / Φ⁻¹(3/4) (Rousseeuw & Croux, JASA 1993).
 */
export const MAD_TO_SIGMA = 1.482602218505602;

/**
 * Maximum number of pairwise slopes that `theilSen` and `blockedTheilSen` keep in
 * memory: the pair count of 5000 points, 100 MB as float64. Above it each block is
 * subsampled evenly, so the slope is then an estimate from a subset. A run of 72 hours
 * has 4320 minute points, under the limit.
 */
export const MAX_PAIRWISE_SLOPES = (5000 * 4999) / 2;

// ---------------------------------------------------------------- order statistics

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  assertFinite(values, 'values');
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

/**
 * Returns the q-quantile (0 <= q <= 1) by linear interpolation between order
 * statistics, definition 7 of Hyndman & Fan (The American Statistician, 1996), the
 * default of R and NumPy. Null for an empty input.
 */
export function quantile(values: readonly number[], q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile level must be within [0, 1], got ${q}`);
  if (values.length === 0) return null;
  assertFinite(values, 'values');

  const sorted = Float64Array.from(values).sort();
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  const high = sorted[above]!;
  return low + (high - low) * (position - below);
}

/** Returns the median absolute deviation from the median, unscaled (multiply by MAD_TO_SIGMA for a sigma). */
export function mad(values: readonly number[]): number | null {
  const center = median(values);
  if (center === null) return null;
  return median(values.map((value) => Math.abs(value - center)));
}

// ---------------------------------------------------------------- normal distribution

/**
 * Returns Φ(z), the standard normal CDF, with a relative error near 1e-13 in both
 * tails, so that p-values far below 1e-10 stay meaningful.
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) throw new RangeError('normalCdf needs a number, got NaN');
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Complementary error function: the series for |x| < 2.5, a continued fraction beyond. */
function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) return 1 - erfSeries(x);
  return erfcContinuedFraction(x);
}

/**
 * erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (Abramowitz & Stegun 7.1.6).
 * All terms are positive, so the sum loses no digits to cancellation.
 */
function erfSeries(x: number): number {
  const twoXSquared = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= twoXSquared / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/**
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (A&S 7.1.14),
 * evaluated from the tail. For x >= 2.5, 100 terms converge to double precision.
 */
function erfcContinuedFraction(x: number): number {
  let denominator = x;
  for (let k = 100; k >= 1; k--) denominator = x + k / 2 / denominator;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / denominator;
}

// ---------------------------------------------------------------- Theil–Sen

export interface TheilSenFit {
  /** Median of the pairwise slopes (Sen, JASA 1968; Theil 1950). */
  slope: number;
  /** Median of y − slope·x. */
  intercept: number;
  /** Points and pairwise slopes used; fewer than given when `subsampled`. */
  points: number;
  pairs: number;
  subsampled: boolean;
}

export interface BlockedTheilSenFit {
  /** Median of the pairwise slopes taken within each block, never across blocks. */
  slope: number;
  /** Median of y − slope·x per block; null for an empty block. */
  intercepts: Array<number | null>;
  points: number;
  pairs: number;
  subsampled: boolean;
}

export interface XYSeries {
  x: readonly number[];
  y: readonly number[];
}

/**
 * Fits y = intercept + slope·x with the Theil–Sen estimator: the median of the slopes
 * of all point pairs with distinct x. It tolerates up to 29 % of outliers (its
 * breakdown point), which is why a short stall barely moves it. Pairs with equal x
 * are skipped, and the fit fails when no pair is left.
 */
export function theilSen(x: readonly number[], y: readonly number[]): Outcome<TheilSenFit> {
  const fit = blockedTheilSen([{ x, y }]);
  if (!fit.ok) return fit;
  const { slope, intercepts, points, pairs, subsampled } = fit.value;
  return { ok: true, value: { slope, intercept: intercepts[0]!, points, pairs, subsampled } };
}

/**
 * Fits one slope shared by several blocks, each with its own intercept, as the median
 * of the pairwise slopes within blocks. This is the slope estimator of the seasonal
 * Kendall test (Hirsch, Slack & Smith, Water Resources Research 1982), used here for
 * pieces of a series split at a restart.
 */
export function blockedTheilSen(blocks: readonly XYSeries[]): Outcome<BlockedTheilSenFit> {
  for (const block of blocks) {
    if (block.x.length !== block.y.length) {
      throw new RangeError(`x and y must have the same length, got ${block.x.length} and ${block.y.length}`);
    }
    assertFinite(block.x, 'x');
    assertFinite(block.y, 'y');
  }

  const totalPairs = blocks.reduce((sum, block) => sum + pairCount(block.x.length), 0);
  const subsampled = totalPairs > MAX_PAIRWISE_SLOPES;
  // NOTE: above the limit each block keeps an even subset of about sqrt(limit / pairs)
  // of its points, so the slope is that of the subset, not of every pair.
  const keepFraction = subsampled ? Math.sqrt(MAX_PAIRWISE_SLOPES / totalPairs) : 1;
  const used = blocks.map((block) => (subsampled ? subsampleEvenly(block, keepFraction) : block));

  const slopes = new Float64Array(used.reduce((sum, block) => sum + pairCount(block.x.length), 0));
  let count = 0;
  for (const block of used) {
    const n = block.x.length;
    for (let i = 0; i < n - 1; i++) {
      const xi = block.x[i]!;
      const yi = block.y[i]!;
      for (let j = i + 1; j < n; j++) {
        const dx = block.x[j]! - xi;
        if (dx === 0) continue;
        slopes[count++] = (block.y[j]! - yi) / dx;
      }
    }
  }
  if (count === 0) {
    return { ok: false, reason: 'no two points with different times, so no slope can be fitted' };
  }

  const slope = medianInPlace(slopes.subarray(0, count));
  const intercepts = blocks.map((block) => median(block.y.map((value, i) => value - slope * block.x[i]!)));
  const points = used.reduce((sum, block) => sum + block.x.length, 0);
  return { ok: true, value: { slope, intercepts, points, pairs: count, subsampled } };
}

function pairCount(n: number): number {
  return (n * (n - 1)) / 2;
}

function subsampleEvenly(block: XYSeries, fraction: number): XYSeries {
  const n = block.x.length;
  const keep = Math.min(n, Math.max(2, Math.floor(n * fraction)));
  if (keep >= n) return block;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < keep; i++) {
    const index = Math.round((i * (n - 1)) / (keep - 1));
    x.push(block.x[index]!);
    y.push(block.y[index]!);
  }
  return { x, y };
}

/** Returns the median of a non-empty array, reordering it. Averages the two middle values for an even count. */
function medianInPlace(values: Float64Array): number {
  const n = values.length;
  const upper = Math.floor(n / 2);
  const upperValue = selectInPlace(values, upper);
  if (n % 2 === 1) return upperValue;

  // After selection every value left of `upper` is <= upperValue, so the lower
  // middle value is the largest of them.
  let lowerValue = -Infinity;
  for (let i = 0; i < upper; i++) if (values[i]! > lowerValue) lowerValue = values[i]!;
  return (lowerValue + upperValue) / 2;
}

/**
 * Returns the k-th smallest value (0-based) in expected linear time, reordering the
 * array so that values[k] contains it with smaller-or-equal values to its left. This is
 * Hoare's FIND with the partition of Wirth (Algorithms + Data Structures = Programs,
 * 1976), which stays balanced when many values are equal, as slopes of a clean line are.
 */
function selectInPlace(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (left < right) {
    const pivot = medianOfThree(values[left]!, values[k]!, values[right]!);
    let i = left;
    let j = right;
    do {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) left = i;
    if (k < i) right = j;
  }
  return values[k]!;
}

function medianOfThree(a: number, b: number, c: number): number {
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  if (c <= low) return low;
  if (c >= high) return high;
  return c;
}

// ---------------------------------------------------------------- Mann–Kendall

export interface MannKendallResult {
  /** Values compared; pairs are taken in the given (time) order. */
  n: number;
  /** Kendall's S: rising pairs minus falling pairs. */
  s: number;
  /** Variance of S under no trend, corrected for ties. */
  varianceS: number;
  /** Normal score with continuity correction: (S − sign(S)) / √Var(S), 0 when S = 0. */
  z: number;
  /** Two-sided p-value 2·Φ(−|Z|), in [0, 1]. */
  pValue: number;
}

/**
 * Runs the Mann–Kendall test for a monotonic trend (Mann, Econometrica 1945; Kendall,
 * Rank Correlation Methods 1975) on values in time order.
 *
 * Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18, where t runs over the sizes of the
 * groups of tied values. The p-value uses the normal approximation with continuity
 * correction. When every value is tied, S is 0 with certainty, so p is exactly 1.
 *
 * NOTE: the normal approximation is coarse below about 10 values, and the test
 * assumes independent values. Autocorrelated minutes make p smaller than it should
 * be, so the analyses also require a change above a tolerance before they flag.
 */
export function mannKendall(values: readonly number[]): MannKendallResult {
  return blockedMannKendall([values]);
}

/**
 * Runs the Mann–Kendall test on several independent blocks, summing S and Var(S) over
 * them, as the seasonal Kendall test does (Hirsch, Slack & Smith 1982). Pairs are never
 * formed across blocks, so a drop between blocks, such as a restart, adds nothing to S.
 */
export function blockedMannKendall(blocks: ReadonlyArray<readonly number[]>): MannKendallResult {
  let n = 0;
  let s = 0;
  let varianceS = 0;
  for (const block of blocks) {
    assertFinite(block, 'values');
    n += block.length;
    s += kendallS(block);
    varianceS += varianceOfS(block);
  }

  if (s === 0 || varianceS === 0) return { n, s, varianceS, z: 0, pValue: 1 };
  const z = (s - Math.sign(s)) / Math.sqrt(varianceS);
  const pValue = Math.min(1, 2 * normalCdf(-Math.abs(z)));
  return { n, s, varianceS, z, pValue };
}

function kendallS(values: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < values.length - 1; i++) {
    const vi = values[i]!;
    for (let j = i + 1; j < values.length; j++) s += Math.sign(values[j]! - vi);
  }
  return s;
}

function varianceOfS(values: readonly number[]): number {
  const n = values.length;
  let ties = 0;
  const sorted = Float64Array.from(values).sort();
  let run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && sorted[i] === sorted[i - 1]) {
      run++;
      continue;
    }
    ties += run * (run - 1) * (2 * run + 5);
    run = 1;
  }
  return (n * (n - 1) * (2 * n + 5) - ties) / 18;
}

function assertFinite(values: readonly number[], name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${name}[${i}] must be a finite number, got ${values[i]}`);
  }
}
