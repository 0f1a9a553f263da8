/**
 * `soak baseline pin|unpin|exclude|include|show|compare`: control which earlier runs a
 * run is compared with, and compare any run with named ones.
 */
import { compareWithBaseline, formatValue, type RegressionAnalysis, type RegressionConfig } from '../../core/baseline.js';
import {
  excludeRun,
  findScenariosOfRun,
  includeRun,
  listHistoryScenarios,
  pinBaseline,
  readHistory,
  unpinBaseline,
} from '../../core/history.js';
import type { ResultStore } from '../../core/ports.js';
import { ExitCode, UsageError, type Io } from '../io.js';
import { loadRegressionConfig } from './history.js';

export interface BaselineTarget {
  env: string;
  /** Found from the run ids when absent. */
  scenario?: string;
}

/** Returns the one scenario whose history contains every run id, or raises a UsageError. */
async function scenarioOfRuns(store: ResultStore, target: BaselineTarget, runIds: readonly string[]): Promise<string> {
  if (target.scenario) {
    const snapshot = await readHistory(store, target.env, target.scenario);
    const known = new Set(snapshot.entries.map((entry) => entry.runId));
    const missing = runIds.filter((runId) => !known.has(runId));
    if (missing.length > 0) {
      throw new UsageError(
        `No history entry for ${missing.join(', ')} in env "${target.env}", scenario "${target.scenario}". Run \`soak history --env ${target.env} --scenario ${target.scenario}\` to list its runs.`,
      );
    }
    return target.scenario;
  }
  const scenarios = new Set<string>();
  for (const runId of runIds) {
    const found = await findScenariosOfRun(store, target.env, runId);
    if (found.length === 0) {
      throw new UsageError(`No history entry for run "${runId}" in env "${target.env}" under ${store.location}. Only finished runs have one; list them with \`soak history --env ${target.env}\`.`);
    }
    if (found.length > 1) throw new UsageError(`Run "${runId}" is in the history of several scenarios (${found.join(', ')}); choose one with --scenario.`);
    scenarios.add(found[0]!);
  }
  if (scenarios.size > 1) throw new UsageError(`The runs belong to different scenarios (${[...scenarios].join(', ')}); a baseline contains runs of one scenario.`);
  return [...scenarios][0]!;
}

/** Returns `target.scenario`, or the env's only scenario, or raises a UsageError. */
async function onlyScenario(store: ResultStore, target: BaselineTarget): Promise<string> {
  if (target.scenario) return target.scenario;
  const scenarios = await listHistoryScenarios(store, target.env);
  if (scenarios.length === 1) return scenarios[0]!;
  if (scenarios.length === 0) throw new UsageError(`No history in env "${target.env}" under ${store.location}.`);
  throw new UsageError(`Env "${target.env}" has the scenarios ${scenarios.join(', ')}; choose one with --scenario.`);
}

export async function baselinePin(store: ResultStore, options: BaselineTarget & { runIds: string[]; note?: string }, io: Io): Promise<number> {
  if (options.runIds.length === 0) throw new UsageError('soak baseline pin needs at least one run id.');
  const scenario = await scenarioOfRuns(store, options, options.runIds);
  const snapshot = await readHistory(store, options.env, scenario);
  const pins = await pinBaseline(store, options.env, scenario, options.runIds, options.note ?? null);
  io.out.write(`Baseline of ${options.env} / ${scenario} pinned to ${pins.runIds.join(', ')}.\n`);
  const notPassed = snapshot.entries.filter((entry) => pins.runIds.includes(entry.runId) && entry.verdict !== 'PASS');
  for (const entry of notPassed) io.err.write(`soak: note: pinned run ${entry.runId} has the verdict ${entry.verdict}, not PASS.\n`);
  return ExitCode.Pass;
}

export async function baselineUnpin(store: ResultStore, options: BaselineTarget, io: Io): Promise<number> {
  const scenario = await onlyScenario(store, options);
  const removed = await unpinBaseline(store, options.env, scenario);
  io.out.write(
    removed
      ? `Baseline of ${options.env} / ${scenario} unpinned: runs are compared with the last passing runs again.\n`
      : `The baseline of ${options.env} / ${scenario} was not pinned.\n`,
  );
  return ExitCode.Pass;
}

export async function baselineExclude(store: ResultStore, options: BaselineTarget & { runId: string; reason: string }, io: Io): Promise<number> {
  const scenario = await scenarioOfRuns(store, options, [options.runId]);
  await excludeRun(store, options.env, scenario, options.runId, options.reason);
  io.out.write(`Run ${options.runId} is excluded from the baselines of ${options.env} / ${scenario}: ${options.reason}\n`);
  return ExitCode.Pass;
}

export async function baselineInclude(store: ResultStore, options: BaselineTarget & { runId: string }, io: Io): Promise<number> {
  const scenario = await scenarioOfRuns(store, options, [options.runId]);
  const removed = await includeRun(store, options.env, scenario, options.runId);
  io.out.write(
    removed
      ? `Run ${options.runId} may be part of the baselines of ${options.env} / ${scenario} again.\n`
      : `Run ${options.runId} was not excluded.\n`,
  );
  return ExitCode.Pass;
}

export async function baselineShow(store: ResultStore, options: BaselineTarget & { json?: boolean }, io: Io): Promise<number> {
  const scenario = await onlyScenario(store, options);
  const snapshot = await readHistory(store, options.env, scenario);
  if (options.json) {
    io.out.write(`${JSON.stringify({ env: options.env, scenario, pins: snapshot.pins, exclusions: snapshot.exclusions }, null, 2)}\n`);
    return ExitCode.Pass;
  }
  const lines = [
    `${options.env} / ${scenario}: ${snapshot.entries.length} runs in the history`,
    snapshot.pins
      ? `pinned to ${snapshot.pins.runIds.join(', ')} since ${snapshot.pins.pinnedAt}${snapshot.pins.note ? ` (${snapshot.pins.note})` : ''}`
      : 'not pinned: the baseline is the last passing comparable runs',
    ...(snapshot.exclusions.length === 0
      ? ['no run excluded']
      : snapshot.exclusions.map((exclusion) => `excluded ${exclusion.runId} since ${exclusion.excludedAt}: ${exclusion.reason}`)),
  ];
  io.out.write(`${lines.join('\n')}\n`);
  return ExitCode.Pass;
}

/**
 * Compares a run with the runs named in `against`, or with its baseline when none is
 * named. Returns 1 when a metric regressed, like a run with that verdict.
 */
export async function baselineCompare(
  store: ResultStore,
  options: BaselineTarget & { runId: string; against: string[]; json?: boolean; config?: RegressionConfig },
  io: Io,
): Promise<number> {
  const scenario = await scenarioOfRuns(store, options, [options.runId, ...options.against]);
  const snapshot = await readHistory(store, options.env, scenario);
  const current = snapshot.entries.find((entry) => entry.runId === options.runId)!;
  // By default, the settings the judged run was finalized with.
  const config = options.config ?? (await loadRegressionConfig(store, options.env, { runId: options.runId }));
  const analysis = compareWithBaseline({ history: snapshot, current, config, against: options.against });
  if (options.json) io.out.write(`${JSON.stringify(analysis, null, 2)}\n`);
  else io.out.write(formatComparison(options.runId, analysis));
  return analysis.metrics.some((metric) => metric.status === 'regressed') ? ExitCode.FailingVerdict : ExitCode.Pass;
}

export function formatComparison(runId: string, analysis: RegressionAnalysis): string {
  const lines = [`${runId}: ${analysis.message}`];
  if (analysis.baselineRunIds.length > 0) lines.push(`baseline runs: ${analysis.baselineRunIds.join(', ')}`);
  for (const metric of analysis.metrics) {
    const current = metric.current === null ? '—' : formatValue(metric.current, metric.unit);
    const base = metric.baselineMedian === null ? '—' : formatValue(metric.baselineMedian, metric.unit);
    lines.push(`  ${metric.status.padEnd(9)} ${metric.metric.padEnd(28)} ${current.padStart(12)}  baseline ${base}`);
  }
  for (const skipped of analysis.incomparable) lines.push(`not comparable: ${skipped.runId} (${skipped.reasons.join('; ')})`);
  for (const runId of analysis.excludedRunIds) lines.push(`excluded: ${runId}`);
  return `${lines.join('\n')}\n`;
}
