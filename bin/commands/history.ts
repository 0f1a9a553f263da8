/** `soak history`: the runs of an env, with each key figure and its change against the baseline. */
import { readFile } from 'node:fs/promises';
import {
  BaselineSettingsSchema,
  compareWithBaseline,
  formatValue,
  RegressionRulesSchema,
  type MetricComparison,
  type RegressionAnalysis,
  type RegressionConfig,
} from '../../core/baseline.js';
import { describeIssues, parseEnvConfig } from '../../core/config.js';
import { listHistoryScenarios, readHistory, type HistoryEntry, type HistorySnapshot } from '../../core/history.js';
import { keys, type ResultStore } from '../../core/ports.js';
import { ExitCode, UsageError, type Io } from '../io.js';

/**
 * Returns the settings of the comparison from an environment configuration document.
 * `baseline` and `regression` are read apart, so that this works whether or not the
 * configuration schema has those blocks yet.
 */
export function regressionConfigOf(raw: unknown, source: string): RegressionConfig {
  const object = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const { baseline, regression, ...rest } = object;
  const config = parseEnvConfig(rest, source);
  const parsedBaseline = BaselineSettingsSchema.safeParse(baseline ?? {});
  if (!parsedBaseline.success) throw new UsageError(`Invalid baseline settings in ${source}: ${describeIssues(parsedBaseline.error, baseline).join('; ')}.`);
  const parsedRules = RegressionRulesSchema.safeParse(regression ?? {});
  if (!parsedRules.success) throw new UsageError(`Invalid regression settings in ${source}: ${describeIssues(parsedRules.error, regression).join('; ')}.`);
  return { baseline: parsedBaseline.data, regression: parsedRules.data, probe: config.probe, warmup: config.warmup };
}

/**
 * Returns the comparison settings of `file` when given, else those stored in the
 * manifest of `runId` (the configuration that run was finalized with), else the defaults.
 */
export async function loadRegressionConfig(store: ResultStore, env: string, options: { file?: string; runId?: string }): Promise<RegressionConfig> {
  if (options.file) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      throw new UsageError(`Could not read the configuration ${options.file}: ${(error as Error).message}.`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${options.file} is not valid JSON: ${(error as Error).message}.`);
    }
    return regressionConfigOf(raw, options.file);
  }
  if (options.runId) {
    const bytes = await store.get(keys.manifest(env, options.runId));
    if (bytes !== undefined) {
      try {
        const manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as { config?: unknown };
        return regressionConfigOf(manifest.config ?? {}, `the manifest of run ${options.runId}`);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        // A damaged or older manifest falls back to the defaults below.
      }
    }
  }
  return regressionConfigOf({}, 'the default configuration');
}

export interface HistoryOptions {
  env: string;
  /** Only this scenario; all scenarios of the env when absent. */
  scenario?: string;
  /** Newest runs shown per scenario. */
  limit?: number;
  json?: boolean;
  /** Comparison settings; by default those of each scenario's newest run (loadRegressionConfig). */
  config?: RegressionConfig;
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
    const newest = snapshot.entries[snapshot.entries.length - 1];
    const config = options.config ?? (await loadRegressionConfig(store, options.env, { runId: newest?.runId }));
    output.push({
      scenario,
      pinned: snapshot.pins?.runIds ?? null,
      excluded: snapshot.exclusions.map((exclusion) => exclusion.runId),
      invalid: snapshot.invalid,
      rows: historyRows(snapshot, config).slice(-limit),
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
