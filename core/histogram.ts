import { z } from 'zod';

/**
 * Mergeable latency histogram with logarithmic buckets.
 *
 * Bucket i covers (gamma^(i-1), gamma^i] with gamma = (1 + a) / (1 - a), so the
 * midpoint estimate 2 * gamma^i / (gamma + 1) is within a relative error `a` of every
 * value in the bucket (the DDSketch construction, Masson et al., VLDB 2019).
 * Two histograms merge by adding bucket counts, so the quantile of merged data is
 * exact up to the bucket error, whatever the number of segments or windows.
 */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);

/** Values at or below this (in the metric's unit, ms for latency) count as zero. */
export const MIN_TRACKED_VALUE = 1e-6;

/**
 * Bucket indexes that finite values above MIN_TRACKED_VALUE can have: from
 * bucketIndex(1e-6) = -690 to bucketIndex(Number.MAX_VALUE) = 35,488. A stored
 * histogram outside this range is damaged.
 */
export const MIN_BUCKET_INDEX = -700;
export const MAX_BUCKET_INDEX = 35_500;

/**
 * True when `value` is an array of integers from `min` to `max`. One loop instead of a
 * schema per element: checkpoints hold millions of bucket numbers, and validating them
 * element by element was the largest cost of finalize.
 */
function isIntegerArray(value: unknown, min: number, max: number): value is number[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'number' || !Number.isInteger(item) || item < min || item > max) return false;
  }
  return true;
}

export const HistogramJsonSchema = z.object({
  count: z.number().int().nonnegative(),
  sum: z.number(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  zeros: z.number().int().nonnegative(),
  /** Sorted bucket indexes and their counts, as parallel arrays to keep files small. */
  indexes: z.custom<number[]>((value) => isIntegerArray(value, MIN_BUCKET_INDEX, MAX_BUCKET_INDEX), {
    message: `expected an array of integer bucket indexes from ${MIN_BUCKET_INDEX} to ${MAX_BUCKET_INDEX}`,
  }),
  counts: z.custom<number[]>((value) => isIntegerArray(value, 1, Number.MAX_SAFE_INTEGER), {
    message: 'expected an array of positive integer counts',
  }),
});
export type HistogramJson = z.infer<typeof HistogramJsonSchema>;

export class Histogram {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zeros = 0;
  /**
   * Counts of the buckets from #offset on, dense: merging adds two arrays, which is
   * many times faster than merging maps. Latency data spans a few hundred buckets,
   * so the array stays small; its worst case is the whole valid index range.
   */
  #counts = new Float64Array(0);
  #offset = 0;

  static bucketIndex(value: number): number {
    return Math.ceil(Math.log(value) / LOG_GAMMA);
  }

  static bucketValue(index: number): number {
    return (2 * Math.pow(GAMMA, index)) / (GAMMA + 1);
  }

  static fromJSON(json: HistogramJson): Histogram {
    const histogram = new Histogram();
    histogram.count = json.count;
    histogram.sum = json.sum;
    histogram.min = json.min ?? Infinity;
    histogram.max = json.max ?? -Infinity;
    histogram.zeros = json.zeros;
    const { indexes, counts } = json;
    if (indexes.length > 0) {
      // The format promises sorted indexes, but the range is taken from all of them.
      let low = indexes[0]!;
      let high = low;
      for (const index of indexes) {
        if (index < low) low = index;
        if (index > high) high = index;
      }
      histogram.#cover(low, high);
      for (let i = 0; i < indexes.length; i++) histogram.#counts[indexes[i]! - histogram.#offset] = counts[i]!;
    }
    return histogram;
  }

  /** Records one sample. Negative and non-finite values are the caller's to reject. */
  record(value: number): void {
    this.count += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;

    if (value <= MIN_TRACKED_VALUE) {
      this.zeros += 1;
      return;
    }
    const index = Histogram.bucketIndex(value);
    const slot = index - this.#offset;
    if (slot < 0 || slot >= this.#counts.length) this.#cover(index, index);
    this.#counts[index - this.#offset]! += 1;
  }

  merge(other: Histogram): this {
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    this.zeros += other.zeros;
    const source = other.#counts;
    if (source.length > 0) {
      this.#cover(other.#offset, other.#offset + source.length - 1);
      const target = this.#counts;
      const shift = other.#offset - this.#offset;
      for (let i = 0; i < source.length; i++) target[shift + i]! += source[i]!;
    }
    return this;
  }

  /**
   * Returns the q-quantile (0 <= q <= 1) with the rank rule of k6 and most tools:
   * the value at rank q * (count - 1), clamped to [min, max]. Null when empty.
   */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;

    const rank = q * (this.count - 1);
    let seen = this.zeros;
    if (rank < seen) return Math.max(0, this.min);

    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      seen += counts[i]!;
      if (rank < seen) return clamp(Histogram.bucketValue(this.#offset + i), this.min, this.max);
    }
    return this.max;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  /** Number of samples strictly above `threshold`, within the bucket error. */
  countAbove(threshold: number): number {
    let above = 0;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] !== 0 && Histogram.bucketValue(this.#offset + i) > threshold) above += counts[i]!;
    }
    return above;
  }

  toJSON(): HistogramJson {
    const indexes: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < this.#counts.length; i++) {
      if (this.#counts[i] === 0) continue;
      indexes.push(this.#offset + i);
      counts.push(this.#counts[i]!);
    }
    return {
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? null : this.min,
      max: this.count === 0 ? null : this.max,
      zeros: this.zeros,
      indexes,
      counts,
    };
  }

  get bucketCount(): number {
    let buckets = 0;
    for (let i = 0; i < this.#counts.length; i++) if (this.#counts[i] !== 0) buckets += 1;
    return buckets;
  }

  /** Grows the dense array so that it covers bucket indexes `low` to `high`. */
  #cover(low: number, high: number): void {
    if (low < MIN_BUCKET_INDEX || high > MAX_BUCKET_INDEX) {
      throw new RangeError(`histogram bucket index ${low < MIN_BUCKET_INDEX ? low : high} is outside ${MIN_BUCKET_INDEX}..${MAX_BUCKET_INDEX}`);
    }
    const length = this.#counts.length;
    if (length > 0 && low >= this.#offset && high < this.#offset + length) return;
    const from = length === 0 ? low : Math.min(low, this.#offset);
    const to = length === 0 ? high : Math.max(high, this.#offset + length - 1);
    // Room for a few more buckets on each side, so recording a tail does not copy each time.
    const start = Math.max(MIN_BUCKET_INDEX, from - (length === 0 ? 0 : 16));
    const end = Math.min(MAX_BUCKET_INDEX, to + (length === 0 ? 0 : 16));
    const grown = new Float64Array(end - start + 1);
    if (length > 0) grown.set(this.#counts, this.#offset - start);
    this.#counts = grown;
    this.#offset = start;
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
