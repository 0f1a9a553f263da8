/**
 * Run history: one small summary per finished run under `history/<env>/<scenario>/`,
 * beside two control files that people edit with `soak baseline`:
 *
 * - `_baseline.json` pins the runs a baseline is made of, so that a slow creep
 *   across nights does not move the baseline with it;
 * - `_exclusions.json` lists runs that no rolling baseline may use (a night with a
 *   known outage, a run against the wrong build).
 *
 * Entry files are named `<runId>.json`. Run ids never start with an underscore
 * (RunIdSchema), so the control files cannot clash with an entry.
 */
import { z } from 'zod';
import { keys, type ResultStore } from './ports.js';
import type { RunReport } from './report-schema.js';
import { SCHEMA_VERSION, VerdictSchema, type RunManifest } from './schemas.js';

const nullableNumber = z.number().nullable();

export const HistoryEntrySchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  runId: z.string(),
  env: z.string(),
  scenario: z.string(),
  /** Hash of the script, its local imports and its resolved options; null when unknown. */
  scenarioHash: z.string().nullable(),
  k6Version: z.string().nullable(),
  /** Version the target reported (a header or a `/metrics` label); null when it reports none. */
  targetVersion: z.string().nullable().default(null),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  verdict: VerdictSchema,
  /** Planned iterations per second and planned duration in seconds. */
  rate: z.number(),
  durationS: z.number(),
  labels: z.record(z.string(), z.string()).default({}),
  /** Latency of successful requests over the whole run, in milliseconds. */
  p50: nullableNumber,
  p95: nullableNumber,
  p99: nullableNumber,
  errorRate: nullableNumber,
  achievedRate: nullableNumber,
  /** Growth per hour of each probe series after the warm-up (Theil–Sen), in the probe's unit. */
  probeSlopes: z.record(z.string(), nullableNumber).default({}),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;
export type HistoryEntryInput = z.input<typeof HistoryEntrySchema>;

export const BaselinePinsSchema = z.object({
  /** Runs the baseline is made of, instead of the last passing runs. */
  runIds: z.array(z.string()).min(1),
  pinnedAt: z.string(),
  note: z.string().nullable().default(null),
});
export type BaselinePins = z.infer<typeof BaselinePinsSchema>;

export const ExclusionSchema = z.object({
  runId: z.string(),
  reason: z.string(),
  excludedAt: z.string(),
});
export type Exclusion = z.infer<typeof ExclusionSchema>;

const ExclusionsFileSchema = z.object({ runs: z.array(ExclusionSchema) });

/** Store keys of the history of one env and scenario. */
export const historyKeys = {
  prefix: (env: string, scenario: string) => `history/${env}/${scenario}/`,
  entry: (env: string, scenario: string, runId: string) => `history/${env}/${scenario}/${runId}.json`,
  pins: (env: string, scenario: string) => `history/${env}/${scenario}/_baseline.json`,
  exclusions: (env: string, scenario: string) => `history/${env}/${scenario}/_exclusions.json`,
} as const;

/** Key of the version the target reported; segment 0 writes it at the start of a run. */
export const targetVersionKey = keys.targetVersion;

/** Returns the version the target reported during the run, or null when none was stored. */
export async function readTargetVersion(store: ResultStore, env: string, runId: string): Promise<string | null> {
  const read = await readJson(store, targetVersionKey(env, runId));
  if (!read.found || 'error' in read) return null;
  const parsed = z.object({ version: z.string().min(1) }).safeParse(read.value);
  return parsed.success ? parsed.data.version : null;
}

/** Everything stored for one env and scenario, entries oldest first. */
export interface HistorySnapshot {
  entries: HistoryEntry[];
  pins: BaselinePins | null;
  exclusions: Exclusion[];
  /** Keys of entries that could not be read, each with the problem. */
  invalid: string[];
}

/** Builds the history entry of a finished run from its report. */
export function buildHistoryEntry(report: RunReport, manifest: RunManifest, targetVersion: string | null): HistoryEntry {
  const probeSlopes = Object.fromEntries(report.analyses.leaks.map((analysis) => [analysis.series, analysis.growthPerHour]));
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: report.runId,
    env: report.env,
    scenario: report.scenario,
    scenarioHash: report.scenarioHash,
    k6Version: report.k6Version,
    targetVersion,
    startedAt: report.startedAt,
    endedAt: report.endedAt,
    verdict: report.verdict,
    rate: manifest.request.rate,
    durationS: manifest.request.durationS,
    labels: report.labels,
    p50: report.latencyMs.p50,
    p95: report.latencyMs.p95,
    p99: report.latencyMs.p99,
    errorRate: report.requests.errorRate,
    achievedRate: report.load.achievedRate,
    probeSlopes,
  };
}

async function readJson(store: ResultStore, key: string): Promise<{ found: false } | { found: true; value: unknown } | { found: true; error: string }> {
  const bytes = await store.get(key);
  if (bytes === undefined) return { found: false };
  try {
    return { found: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  } catch (error) {
    return { found: true, error: `not valid JSON (${(error as Error).message})` };
  }
}

/** Orders entries by start time, then run id; entries without a start time come first. */
export function compareEntries(a: HistoryEntry, b: HistoryEntry): number {
  const byTime = (a.startedAt ?? '').localeCompare(b.startedAt ?? '');
  return byTime !== 0 ? byTime : a.runId.localeCompare(b.runId);
}

/**
 * Reads the history of one env and scenario. Entries that are not valid JSON or do not
 * match HistoryEntrySchema are skipped and listed in `invalid`, so one damaged file does
 * not stop a comparison. A damaged control file raises an error instead, because
 * ignoring a pin or an exclusion would silently change the baseline.
 */
export async function readHistory(store: ResultStore, env: string, scenario: string): Promise<HistorySnapshot> {
  const prefix = historyKeys.prefix(env, scenario);
  const entries: HistoryEntry[] = [];
  const invalid: string[] = [];
  for (const key of await store.list(prefix)) {
    const name = key.slice(prefix.length);
    if (name.includes('/') || !name.endsWith('.json') || name.startsWith('_')) continue;
    const read = await readJson(store, key);
    if (!read.found) continue;
    if ('error' in read) {
      invalid.push(`${key}: ${read.error}`);
      continue;
    }
    const parsed = HistoryEntrySchema.safeParse(read.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      invalid.push(`${key}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
      continue;
    }
    entries.push(parsed.data);
  }
  entries.sort(compareEntries);
  return { entries, pins: await readPins(store, env, scenario), exclusions: await readExclusions(store, env, scenario), invalid };
}

export class HistoryControlFileError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key} is damaged (${problem}). Fix or delete it; \`soak baseline unpin\` or \`soak baseline include\` rewrite it.`);
    this.name = 'HistoryControlFileError';
  }
}

async function readControlFile<T>(store: ResultStore, key: string, schema: z.ZodType<T>): Promise<T | null> {
  const read = await readJson(store, key);
  if (!read.found) return null;
  if ('error' in read) throw new HistoryControlFileError(key, read.error);
  const parsed = schema.safeParse(read.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HistoryControlFileError(key, `${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

export async function readPins(store: ResultStore, env: string, scenario: string): Promise<BaselinePins | null> {
  return readControlFile(store, historyKeys.pins(env, scenario), BaselinePinsSchema);
}

export async function readExclusions(store: ResultStore, env: string, scenario: string): Promise<Exclusion[]> {
  const file = await readControlFile(store, historyKeys.exclusions(env, scenario), ExclusionsFileSchema);
  return file?.runs ?? [];
}

/** Writes the entry of a finished run, replacing the one of an earlier finalize. */
export async function writeHistoryEntry(store: ResultStore, entry: HistoryEntry): Promise<void> {
  await store.put(historyKeys.entry(entry.env, entry.scenario, entry.runId), `${JSON.stringify(entry)}\n`, 'application/json');
}

/** Returns the scenarios that have a history in `env`, sorted. */
export async function listHistoryScenarios(store: ResultStore, env: string): Promise<string[]> {
  const prefix = `history/${env}/`;
  const scenarios = new Set<string>();
  for (const key of await store.list(prefix)) {
    const scenario = key.slice(prefix.length).split('/')[0];
    if (scenario) scenarios.add(scenario);
  }
  return [...scenarios].sort();
}

/** Returns the scenarios whose history contains `runId`, so a command can find a run by id alone. */
export async function findScenariosOfRun(store: ResultStore, env: string, runId: string): Promise<string[]> {
  const found: string[] = [];
  for (const scenario of await listHistoryScenarios(store, env)) {
    if ((await store.get(historyKeys.entry(env, scenario, runId))) !== undefined) found.push(scenario);
  }
  return found;
}

/** Pins the baseline of a scenario to `runIds`, replacing an earlier pin. */
export async function pinBaseline(
  store: ResultStore,
  env: string,
  scenario: string,
  runIds: readonly string[],
  note: string | null,
  now: Date = new Date(),
): Promise<BaselinePins> {
  const pins = BaselinePinsSchema.parse({ runIds: [...new Set(runIds)], pinnedAt: now.toISOString(), note });
  await store.put(historyKeys.pins(env, scenario), `${JSON.stringify(pins, null, 2)}\n`, 'application/json');
  return pins;
}

/** Removes the pin, so the baseline is the last passing runs again; returns false when none was set. */
export async function unpinBaseline(store: ResultStore, env: string, scenario: string): Promise<boolean> {
  const key = historyKeys.pins(env, scenario);
  if ((await store.get(key)) === undefined) return false;
  await store.delete(key);
  return true;
}

/** Adds `runId` to the exclusions; an exclusion that exists already gets the new reason. */
export async function excludeRun(
  store: ResultStore,
  env: string,
  scenario: string,
  runId: string,
  reason: string,
  now: Date = new Date(),
): Promise<Exclusion[]> {
  const runs = (await readExclusions(store, env, scenario)).filter((exclusion) => exclusion.runId !== runId);
  runs.push({ runId, reason, excludedAt: now.toISOString() });
  await store.put(historyKeys.exclusions(env, scenario), `${JSON.stringify({ runs }, null, 2)}\n`, 'application/json');
  return runs;
}

/** Removes `runId` from the exclusions; returns false when it was not excluded. */
export async function includeRun(store: ResultStore, env: string, scenario: string, runId: string): Promise<boolean> {
  const before = await readExclusions(store, env, scenario);
  const runs = before.filter((exclusion) => exclusion.runId !== runId);
  if (runs.length === before.length) return false;
  await store.put(historyKeys.exclusions(env, scenario), `${JSON.stringify({ runs }, null, 2)}\n`, 'application/json');
  return true;
}
