/** Types of the benchmarks' options and results, shared with bench/run.ts. */

export interface BenchOptions {
  quick: boolean;
  /** Folder for CSV curves and JSON details (bench/results/, git-ignored). */
  resultsDir: string;
  /** Progress lines for the terminal. */
  log: (line: string) => void;
  /**
   * Another checkout of this repository, such as a patched copy. The overhead and
   * throughput benchmarks then compare its runner with this one's side by side.
   */
  compareRoot?: string;
  /** Overhead variants to run instead of the default set (see bench/overhead.ts). */
  variants?: string[];
  /** Repetitions of the overhead benchmark instead of the mode's default. */
  repetitions?: number;
}

/** One measured value against its target, printed as one line of the summary. */
export interface TargetCheck {
  bench: string;
  name: string;
  value: string;
  target: string;
  /** Null when the value is informational and has no target. */
  holds: boolean | null;
}

export interface BenchOutcome {
  checks: TargetCheck[];
  /** Every measured number, written as JSON beside the curves. */
  details: Record<string, unknown>;
}

export type Benchmark = (options: BenchOptions) => Promise<BenchOutcome>;
