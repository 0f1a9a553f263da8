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

export const HistogramJsonSchema = z.object({
  count: z.number().int().nonnegative(),
  sum: z.number(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  zeros: z.number().int().nonnegative(),
  /** Sorted bucket indexes and their counts, as parallel arrays to keep files small. */
  indexes: z.array(z.number().int()),
  counts: z.array(z.number().int().positive()),
});
export type HistogramJson = z.infer<typeof HistogramJsonSchema>;

export class Histogram {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zeros = 0;
  readonly #buckets = new Map<number, number>();

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
    json.indexes.forEach((index, i) => histogram.#buckets.set(index, json.counts[i]!));
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
    this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + 1);
  }

  merge(other: Histogram): this {
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    this.zeros += other.zeros;
    for (const [index, count] of other.#buckets) {
      this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + count);
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

    const indexes = [...this.#buckets.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      seen += this.#buckets.get(index)!;
      if (rank < seen) return clamp(Histogram.bucketValue(index), this.min, this.max);
    }
    return this.max;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  /** Number of samples strictly above `threshold`, within the bucket error. */
  countAbove(threshold: number): number {
    let above = 0;
    for (const [index, count] of this.#buckets) {
      if (Histogram.bucketValue(index) > threshold) above += count;
    }
    return above;
  }

  toJSON(): HistogramJson {
    const indexes = [...this.#buckets.keys()].sort((a, b) => a - b);
    return {
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? null : this.min,
      max: this.count === 0 ? null : this.max,
      zeros: this.zeros,
      indexes,
      counts: indexes.map((index) => this.#buckets.get(index)!),
    };
  }

  get bucketCount(): number {
    return this.#buckets.size;
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
