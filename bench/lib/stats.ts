/** Small statistics and formatting helpers for benchmark results. */

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolation quantile (q between 0 and 1); NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

export function formatSpread(value: Spread, digits = 2): string {
  return `${value.median.toFixed(digits)} (range ${value.min.toFixed(digits)}–${value.max.toFixed(digits)}, n=${value.n})`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

const SPARK = '▁▂▃▄▅▆▇█';

/** Draws values as a one-line chart scaled between `low` and `high` (default: their min and max). */
export function sparkline(values: readonly number[], low = Math.min(...values), high = Math.max(...values)): string {
  const range = high - low;
  return values
    .map((value) => {
      const level = range === 0 ? 0 : Math.round(((value - low) / range) * (SPARK.length - 1));
      return SPARK[Math.max(0, Math.min(SPARK.length - 1, level))];
    })
    .join('');
}
