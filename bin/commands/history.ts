/** `soak history`: the runs of an env, with each key figure and its change against the baseline. */
import { compareWithBaseline, formatValue, type MetricComparison, type RegressionAnalysis, type RegressionConfig } from '../../core/baseline.js';
import { listHistoryScenarios, readHistory, type HistoryEntry, type HistorySnapshot } from '../../core/history.js';
import type { ResultStore } from '../../core/ports.js';
import { ExitCode, UsageError, type Io } from '../io.js';

export interface HistoryOptions {
  env: string;
  /** Only this scenario; all scenarios of the env when absent. */
  scenario?: string;
  /** Newest runs shown per scenario. */
  limit?: number;
  json?: boolean;
  config: RegressionConfig;
}

export interface HistoryRow {
  entry: HistoryEntry;
  /** The entry compared with the runs before it, as finalize would have compared it. */
  regression: RegressionAnalysis;
}

/** Compares every entry of a snapshot with the runs before it; returns rows oldest first. */
export function historyRows(snapshot: HistorySnapshot, config: RegressionConfig): HistoryRow[] {
  return snapshot.entries.map((entry) => ({ entry, regression: compareWithBaseline({ history: snapshot, current: entry, config }) }));
}

const DEFAULT_LIMIT = 30;

export async function showHistory(store: ResultStore, options: HistoryOptions, io: Io): Promise<number> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${options.limit}" must be a whole number of at least 1.`);
  const scenarios = options.scenario ? [options.scenario] : await listHistoryScenarios(store, options.env);
  if (scenarios.length === 0) {
    io.out.write(`No history in env "${options.env}" under ${store.location}: finalize writes an entry after each finished run.\n`);
    return ExitCode.Pass;
  }

  const output: Array<{ scenario: string; pinned: string[] | null; excluded: string[]; invalid: string[]; rows: HistoryRow[] }> = [];
  for (const scenario of scenarios) {
    const snapshot = await readHistory(store, options.env, scenario);
    if (options.scenario && snapshot.entries.length === 0 && snapshot.invalid.length === 0) {
      throw new UsageError(`No history for scenario "${scenario}" in env "${options.env}" under ${store.location}. Run \`soak history --env ${options.env}\` to list the scenarios that have one.`);
    }
    output.push({
      scenario,
      pinned: snapshot.pins?.runIds ?? null,
      excluded: snapshot.exclusions.map((exclusion) => exclusion.runId),
      invalid: snapshot.invalid,
      rows: historyRows(snapshot, options.config).slice(-limit),
    });
  }

  if (options.json) {
    io.out.write(`${JSON.stringify(output, null, 2)}\n`);
    return ExitCode.Pass;
  }
  for (const part of output) io.out.write(formatHistoryTable(options.env, part.scenario, part.rows, part.pinned, part.excluded, part.invalid));
  return ExitCode.Pass;
}

/** Formats the rows as an aligned text table, newest run first. */
export function formatHistoryTable(
  env: string,
  scenario: string,
  rows: readonly HistoryRow[],
  pinned: readonly string[] | null,
  excluded: readonly string[],
  invalid: readonly string[],
): string {
  const header = ['run', 'started', 'verdict', 'rate', 'p95', 'Δ p95', 'p99', 'Δ p99', 'errors', 'Δ errors', 'heap/h', 'baseline'];
  const excludedSet = new Set(excluded);
  const lines = [...rows].reverse().map((row) => {
    const { entry, regression } = row;
    const metric = (name: string) => regression.metrics.find((comparison) => comparison.metric === name);
    const heapSlope = entry.probeSlopes.heapUsedBytes;
    return [
      entry.runId + (excludedSet.has(entry.runId) ? ' (excluded)' : ''),
      entry.startedAt?.slice(0, 16).replace('T', ' ') ?? '—',
      entry.verdict,
      `${entry.rate}/s`,
      entry.p95 === null ? '—' : formatValue(entry.p95, 'ms'),
      formatDelta(metric('p95')),
      entry.p99 === null ? '—' : formatValue(entry.p99, 'ms'),
      formatDelta(metric('p99')),
      entry.errorRate === null ? '—' : formatValue(entry.errorRate, 'ratio'),
      formatDelta(metric('errorRate')),
      heapSlope === null || heapSlope === undefined ? '—' : formatValue(heapSlope, 'bytes'),
      describeBaseline(regression),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();

  const parts = [`${env} / ${scenario}: ${rows.length} run${rows.length === 1 ? '' : 's'}, newest first`];
  parts.push(pinned ? `baseline pinned to ${pinned.join(', ')}` : 'baseline: the last passing comparable runs');
  parts.push('', format(header), ...lines.map(format));
  for (const problem of invalid) parts.push(`skipped ${problem}`);
  return `${parts.join('\n')}\n\n`;
}

/** `+12 %` or `+0.4 pp`, with `!` when the metric regressed; `—` without a comparison. */
function formatDelta(comparison: MetricComparison | undefined): string {
  if (comparison === undefined || comparison.delta === null) return '—';
  const mark = comparison.status === 'regressed' ? ' !' : '';
  if (comparison.unit === 'ratio') {
    const points = comparison.delta * 100;
    return `${points >= 0 ? '+' : '−'}${Number(Math.abs(points).toPrecision(2))} pp${mark}`;
  }
  if (comparison.relativeDelta === null) return `${comparison.delta >= 0 ? '+' : '−'}${formatValue(Math.abs(comparison.delta), comparison.unit)}${mark}`;
  const percent = comparison.relativeDelta * 100;
  return `${percent >= 0 ? '+' : '−'}${Number(Math.abs(percent).toPrecision(2))} %${mark}`;
}

function describeBaseline(regression: RegressionAnalysis): string {
  if (regression.status === 'skipped') return 'not compared';
  if (regression.status === 'no-baseline') return regression.mode === 'rolling' ? `none yet (${regression.available} of ${regression.required})` : 'none comparable';
  return `${regression.mode} ${regression.available}`;
}
