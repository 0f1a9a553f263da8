/**
 * Finalize: from the stored manifest, segment results and window checkpoints alone,
 * merge every segment, evaluate thresholds and SLOs, run the analyses, decide the
 * verdict, and write report.json, report.html, message.json and the history entry.
 *
 * The same function runs in the CLI (`soak run --local`, `soak finalize`) and in the
 * finish-run Lambda. A create-only `finalized.json` marker makes the first finalizer
 * the one that notifies. Later calls rewrite the same report and send no notification.
 */
import { analysisPointSeconds, analyzeDrift, analyzeLeaks, warmupSeconds } from './analysis.js';
import { addRegressionAnalysis } from './baseline.js';
import { decodeWindows } from './checkpoint.js';
import { parseEnvConfig, type EnvConfig } from './config.js';
import { readTargetVersion, writeHistoryEntry } from './history.js';
import { LogEvent } from './log.js';
import { emptyWindow, fromRecord, mergeAcrossTime, mergeSameWindow, rollup, totalOf, WindowMerger, type MergedWindow } from './merge.js';
import { decodeRollups, fromRollupRecord, rollupPeriodS, type RollupRecord } from './rollup.js';
import { keys, type Log, type ResultStore } from './ports.js';
import { toJsonAggregate } from './aggregates.js';
import {
  analyzeLoad,
  buildSeries,
  errorRateOf,
  judgeSegments,
  latencySummary,
  summarizeSegments,
  type SegmentView,
} from './report-build.js';
import { REPORT_SCHEMA_VERSION, RunReportSchema, type Reason, type RunReport, type SeriesAnalysis } from './report-schema.js';
import { RunManifestSchema, SegmentResultSchema, type MetricAggregate, type RunManifest, type SegmentResult, type WindowRecord } from './schemas.js';
import { checkThresholdTypes, evaluateThresholds, normalizeThresholds, type ThresholdDefinition } from './thresholds.js';
import { decideVerdict, sortReasons } from './verdict.js';

export class RunNotFoundError extends Error {
  constructor(
    readonly env: string,
    readonly runId: string,
    location: string,
  ) {
    super(`No run "${runId}" in env "${env}" at ${location}: runs/${env}/${runId}/manifest.json does not exist. List runs with \`soak list --env ${env}\`.`);
    this.name = 'RunNotFoundError';
  }
}

export class InvalidRunDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRunDataError';
  }
}

/** A fault recorded before any segment ran, such as an unreachable target. */
export interface RunError {
  code: string;
  message: string;
  atMs: number;
}

/** The script's thresholds and hash as segment 0 read them with `k6 inspect`, stored beside the manifest. */
export interface InspectRecord {
  thresholds: Record<string, Array<string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string }>>;
  scenarioHash: string;
  totalDurationS: number | null;
}

/** Written by `soak stop`, by an abort rule or by the CLI's signal handler. */
export interface StopRequest {
  kind: 'person' | 'abort-rule' | 'abort-threshold' | 'deadline';
  reason: string;
  atMs: number;
}

export interface FinalizeDeps {
  store: ResultStore;
  log: Log;
  /** Renders report.html; finalize writes no HTML without it. */
  renderHtml?: (report: RunReport) => string;
  buildMessage?: (report: RunReport) => unknown;
  nowMs?: () => number;
}

export interface FinalizeOutcome {
  report: RunReport;
  /** True for the first finalizer of the run, the one that should notify. */
  first: boolean;
  keys: { report: string; html: string | null; message: string | null };
}

const SLO_LATENCY_KEY = 'http_req_duration{expected_response:true}';

/** Metric keys every run aggregates apart, whatever the script declares. */
export const ALWAYS_FILTERED_KEYS = [SLO_LATENCY_KEY];

async function readJson(store: ResultStore, key: string): Promise<unknown | undefined> {
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidRunDataError(`${key} in ${store.location} is not valid JSON. The file is damaged; restore it or delete it to finalize without it.`);
  }
}

export async function readManifest(store: ResultStore, env: string, runId: string): Promise<RunManifest> {
  const raw = await readJson(store, keys.manifest(env, runId));
  if (raw === undefined) throw new RunNotFoundError(env, runId, store.location);
  const parsed = RunManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidRunDataError(
      `runs/${env}/${runId}/manifest.json in ${store.location} is not a soak-runner manifest (${issue?.path.join('.')}: ${issue?.message}).`,
    );
  }
  return parsed.data;
}

interface SegmentStats {
  windows: number;
  requests: number;
  firstMs: number | null;
  lastEndMs: number | null;
}

interface CollectedRun {
  /** 10-second windows merged across segments; empty when the run was read from rollups. */
  windows: MergedWindow[];
  /** Periods of `periodMs` merged across segments: the report's series points. */
  periods: MergedWindow[];
  periodMs: number;
  firstMs: number | null;
  lastEndMs: number | null;
  results: Map<number, SegmentResult>;
  perSegment: Map<number, SegmentStats>;
  /** Per segment, windows missing between its first and last stored one, and checkpoints that could not be read. */
  lost: Map<number, { missingWindows: number; unreadable: string[] }>;
  notes: string[];
}

function addSpan(stats: SegmentStats, firstMs: number, lastEndMs: number): void {
  stats.firstMs = stats.firstMs === null ? firstMs : Math.min(stats.firstMs, firstMs);
  stats.lastEndMs = stats.lastEndMs === null ? lastEndMs : Math.max(stats.lastEndMs, lastEndMs);
}

/** Number of objects finalize reads ahead of the one it works on, because each S3 read takes tens of milliseconds. */
const READ_AHEAD = 16;

/** Yields each key with its stored bytes, in the order of `keys`, reading up to READ_AHEAD objects ahead. */
async function* readInOrder(store: ResultStore, keys: readonly string[]): AsyncGenerator<[string, Uint8Array | undefined]> {
  const reads: Promise<Uint8Array | undefined>[] = [];
  let next = 0;
  for (const key of keys) {
    while (next < keys.length && reads.length < READ_AHEAD) {
      const read = store.get(keys[next++]!);
      // Awaited in turn below; this only keeps a failure ahead from being reported as unhandled.
      read.catch(() => undefined);
      reads.push(read);
    }
    yield [key, await reads.shift()!];
  }
}

function seqOf(key: string): number {
  return Number.parseInt(key.slice(key.lastIndexOf('/') + 1), 10);
}

/**
 * Reads one segment's window checkpoints numbered `fromSeq` and later, and passes each
 * window that starts at or after `fromMs` and was not seen before to `onWindow`.
 */
async function readSegmentWindows(
  store: ResultStore,
  manifest: RunManifest,
  segment: number,
  from: { seq: number; ms: number | null },
  onWindow: (record: WindowRecord) => void,
  notes: string[],
  log: Log,
): Promise<{ unreadable: string[]; duplicates: number; lengthMs: number }> {
  const seen = new Set<number>();
  const unreadable: string[] = [];
  let duplicates = 0;
  let lengthMs = 0;
  const prefix = keys.windowsPrefix(manifest.env, manifest.runId, segment);
  const startAfter = from.seq > 0 ? keys.windows(manifest.env, manifest.runId, segment, from.seq - 1) : undefined;
  const listed = (await store.list(prefix, startAfter)).filter((key) => key.endsWith('.ndjson.gz') && seqOf(key) >= from.seq);
  for await (const [key, bytes] of readInOrder(store, listed)) {
    if (bytes === undefined) continue;
    let records;
    try {
      records = decodeWindows(bytes, key);
    } catch (error) {
      notes.push(`Checkpoint ${key} could not be read and was skipped: ${(error as Error).message}`);
      log.warn('damaged checkpoint skipped', { key, error });
      unreadable.push(key.slice(key.lastIndexOf('/') + 1));
      continue;
    }
    for (const record of records) {
      if (from.ms !== null && record.startMs < from.ms) continue;
      // A window re-sent after a retried checkpoint must count once.
      if (seen.has(record.startMs)) {
        duplicates += 1;
        continue;
      }
      seen.add(record.startMs);
      lengthMs = record.lengthMs;
      onWindow(record);
    }
  }
  return { unreadable, duplicates, lengthMs };
}

async function readSegmentResult(store: ResultStore, manifest: RunManifest, segment: number, results: Map<number, SegmentResult>, notes: string[]): Promise<void> {
  const rawResult = await readJson(store, keys.segmentResult(manifest.env, manifest.runId, segment));
  if (rawResult === undefined) return;
  const parsed = SegmentResultSchema.safeParse(rawResult);
  if (parsed.success) results.set(segment, parsed.data);
  else notes.push(`Segment ${segment} wrote a result.json that is not valid; it was ignored.`);
}

function countWindow(stats: SegmentStats, record: WindowRecord): void {
  stats.windows += 1;
  stats.requests += record.requests.ok + record.requests.failed;
  addSpan(stats, record.startMs, record.startMs + record.lengthMs);
}

/**
 * Records a segment's unreadable checkpoints and the windows missing between its first
 * and last stored window. A live runner closes a window every window length, so such a
 * hole is data that was lost.
 */
function noteLoss(lost: CollectedRun['lost'], segment: number, stats: SegmentStats, unreadable: string[], lengthMs: number): void {
  const spanned = stats.firstMs === null || stats.lastEndMs === null || lengthMs === 0 ? 0 : Math.round((stats.lastEndMs - stats.firstMs) / lengthMs);
  const missingWindows = Math.max(0, spanned - stats.windows);
  if (missingWindows > 0 || unreadable.length > 0) lost.set(segment, { missingWindows, unreadable });
}

function spanOf(perSegment: ReadonlyMap<number, SegmentStats>): { firstMs: number | null; lastEndMs: number | null } {
  const span: SegmentStats = { windows: 0, requests: 0, firstMs: null, lastEndMs: null };
  for (const stats of perSegment.values()) if (stats.firstMs !== null && stats.lastEndMs !== null) addSpan(span, stats.firstMs, stats.lastEndMs);
  return { firstMs: span.firstMs, lastEndMs: span.lastEndMs };
}

/** Reads every segment's 10-second windows: the way for runs short enough to analyse on points under a minute. */
async function collectWindows(store: ResultStore, manifest: RunManifest, periodMs: number, log: Log): Promise<CollectedRun> {
  const merger = new WindowMerger();
  const results = new Map<number, SegmentResult>();
  const perSegment = new Map<number, SegmentStats>();
  const lost = new Map<number, { missingWindows: number; unreadable: string[] }>();
  const notes: string[] = [];
  let duplicates = 0;

  for (const plan of manifest.segments) {
    await readSegmentResult(store, manifest, plan.index, results, notes);
    const stats: SegmentStats = { windows: 0, requests: 0, firstMs: null, lastEndMs: null };
    const read = await readSegmentWindows(
      store,
      manifest,
      plan.index,
      { seq: 0, ms: null },
      (record) => {
        merger.add(record);
        countWindow(stats, record);
      },
      notes,
      log,
    );
    duplicates += read.duplicates;
    perSegment.set(plan.index, stats);
    noteLoss(lost, plan.index, stats, read.unreadable, read.lengthMs);
  }
  if (duplicates > 0) notes.push(`${duplicates} windows were stored twice (retried checkpoints) and counted once.`);
  const windows = merger.windows();
  return { windows, periods: rollup(windows, periodMs), periodMs, ...spanOf(perSegment), results, perSegment, lost, notes };
}

/**
 * Reads each segment's rollup records (core/rollup.ts) in order while their spans
 * follow each other, then the windows stored after the last of them. Periods of one
 * segment merge across time, those of different segments like windows of the same
 * start. The result is the same as rolling up every window, with fewer records read.
 */
async function collectRollups(store: ResultStore, manifest: RunManifest, periodMs: number, log: Log): Promise<CollectedRun> {
  const results = new Map<number, SegmentResult>();
  const perSegment = new Map<number, SegmentStats>();
  const lost = new Map<number, { missingWindows: number; unreadable: string[] }>();
  const notes: string[] = [];
  const periods = new Map<number, MergedWindow>();
  let duplicates = 0;

  for (const plan of manifest.segments) {
    await readSegmentResult(store, manifest, plan.index, results, notes);
    const stats: SegmentStats = { windows: 0, requests: 0, firstMs: null, lastEndMs: null };
    const own = new Map<number, MergedWindow>();
    // A rollup period or a window after the rollups joins the period it falls in.
    const addToPeriod = (window: MergedWindow): void => {
      const start = Math.floor(window.startMs / periodMs) * periodMs;
      const existing = own.get(start);
      if (existing !== undefined) {
        mergeAcrossTime(existing, window);
      } else if (window.startMs === start && window.lengthMs === periodMs) {
        own.set(start, window);
      } else {
        const period = emptyWindow(start, periodMs);
        mergeAcrossTime(period, window);
        own.set(start, period);
      }
    };

    let coveredToMs: number | null = null;
    let tailSeq = 0;
    let windowMs = 0;
    let stoppedAt: string | null = null;
    const rollupKeys = (await store.list(keys.rollupsPrefix(manifest.env, manifest.runId, plan.index))).filter((key) => key.endsWith('.ndjson.gz'));
    for await (const [key, bytes] of readInOrder(store, rollupKeys)) {
      let records: RollupRecord[];
      try {
        if (bytes === undefined) throw new Error(`${key} was listed but could not be read`);
        records = decodeRollups(bytes, key);
      } catch (error) {
        stoppedAt = `${key} could not be read (${(error as Error).message})`;
        break;
      }
      for (const record of records) {
        const first = coveredToMs === null;
        if (first ? seqOf(key) !== 0 : record.fromMs !== coveredToMs) {
          // The same records again, from a retried write whose first try was stored.
          if (!first && record.toMs <= coveredToMs!) continue;
          stoppedAt = `${key} does not follow the rollups before it`;
          break;
        }
        if (record.period.segment !== plan.index || record.period.lengthMs !== periodMs) {
          stoppedAt = `${key} holds periods of ${record.period.lengthMs / 1000} s of segment ${record.period.segment}, not of ${periodMs / 1000} s of segment ${plan.index}`;
          break;
        }
        addToPeriod(fromRollupRecord(record));
        coveredToMs = record.toMs;
        tailSeq = record.tailSeq;
        windowMs = record.windowMs;
        stats.windows += record.windows;
        stats.requests += record.period.requests.ok + record.period.requests.failed;
        addSpan(stats, record.firstWindowMs, record.lastWindowEndMs);
      }
      if (stoppedAt !== null) break;
    }
    if (stoppedAt !== null) {
      notes.push(`Segment ${plan.index}: rollup ${stoppedAt}; its later data was read from its windows instead.`);
      log.warn('rollups of a segment not usable past a point', { segment: plan.index, detail: stoppedAt });
    }

    const read = await readSegmentWindows(
      store,
      manifest,
      plan.index,
      { seq: tailSeq, ms: coveredToMs },
      (record) => {
        addToPeriod(fromRecord(record));
        countWindow(stats, record);
      },
      notes,
      log,
    );
    duplicates += read.duplicates;
    perSegment.set(plan.index, stats);
    noteLoss(lost, plan.index, stats, read.unreadable, read.lengthMs || windowMs);

    // Segments add up like windows of the same start; the covered time is the longest segment's.
    for (const [start, period] of own) {
      const existing = periods.get(start);
      if (existing === undefined) {
        periods.set(start, period);
        continue;
      }
      const coveredMs = Math.max(existing.coveredMs, period.coveredMs);
      mergeSameWindow(existing, period);
      existing.coveredMs = coveredMs;
    }
  }
  if (duplicates > 0) notes.push(`${duplicates} windows were stored twice (retried checkpoints) and counted once.`);
  const sorted = [...periods.values()].sort((a, b) => a.startMs - b.startMs);
  return { windows: [], periods: sorted, periodMs, ...spanOf(perSegment), results, perSegment, lost, notes };
}

/** Returns the window's aggregates in their JSON form, only those of `keys` when given. */
function aggregatesOf(window: MergedWindow, keys?: ReadonlySet<string>): Record<string, MetricAggregate> {
  const entries = [...window.metrics].filter(([key]) => keys === undefined || keys.has(key));
  return Object.fromEntries(entries.map(([key, aggregate]) => [key, toJsonAggregate(aggregate)]));
}

interface ThresholdSources {
  script: RunManifest['thresholds'];
  config: RunManifest['thresholds'];
  request: RunManifest['thresholds'];
}

/**
 * Normalizes every threshold of the run with its origin: the script's (read with k6
 * inspect), the environment configuration's and the request's, where a later origin
 * replaces an earlier one for the same metric key, plus the runner's SLOs. Invalid
 * ones are returned as problems, which make the run an ERROR.
 */
function thresholdDefinitions(sources: ThresholdSources, config: EnvConfig): { definitions: ThresholdDefinition[]; problems: string[] } {
  const definitions: ThresholdDefinition[] = [];
  const problems: string[] = [];
  const origins: Array<[keyof ThresholdSources, RunManifest['thresholds']]> = [
    ['script', sources.script],
    ['config', sources.config],
    ['request', sources.request],
  ];
  const owner = new Map<string, keyof ThresholdSources>();
  for (const [origin, map] of origins) for (const key of Object.keys(map)) owner.set(key, origin);

  for (const [origin, map] of origins) {
    const own = Object.fromEntries(Object.entries(map).filter(([key]) => owner.get(key) === origin));
    try {
      definitions.push(...normalizeThresholds(own, origin));
    } catch (error) {
      problems.push(`The ${origin} thresholds are invalid: ${(error as Error).message}`);
    }
  }
  const slo: Record<string, string[]> = {};
  if (config.slo.p99Ms !== null) slo[SLO_LATENCY_KEY] = [`p(99)<${config.slo.p99Ms}`];
  if (config.slo.errorRate !== null) slo.http_req_failed = [`rate<${config.slo.errorRate}`];
  definitions.push(...normalizeThresholds(slo, 'slo'));
  return { definitions, problems };
}

/** The ECS facts finish-run recorded when a segment's task stopped. */
interface SegmentStopRecord {
  taskId: string;
  exitCode: number | null;
  stopCode: string | null;
  stoppedReason: string | null;
  containerReason: string | null;
}

function describeTaskStop(record: SegmentStopRecord | undefined): string {
  if (record === undefined) return 'no task stop was recorded';
  const parts = [
    record.exitCode !== null ? `exit code ${record.exitCode}` : null,
    record.stopCode,
    record.stoppedReason,
    record.containerReason,
  ].filter((part): part is string => part !== null && part !== '');
  return `its task stopped: ${parts.join(', ') || 'no reason given'}`;
}

/** Names the ECS task stop (a Spot interruption, for example) after a segment's own reason, when one was recorded. */
function taskStopSuffix(record: SegmentStopRecord | undefined): string {
  return record === undefined ? '' : `; ${describeTaskStop(record)}`;
}

function lostWindowReasons(lost: CollectedRun['lost']): Reason[] {
  return [...lost].map(([segment, { missingWindows, unreadable }]) => {
    const parts: string[] = [];
    if (missingWindows > 0) parts.push(`${missingWindows} windows between its first and last stored window are missing`);
    if (unreadable.length > 0) parts.push(`checkpoints ${unreadable.join(', ')} could not be read`);
    return {
      code: 'WINDOWS_MISSING',
      verdict: 'INCOMPLETE' as const,
      message: `Segment ${segment}: ${parts.join(', and ')}, so the report lacks part of its data.`,
    };
  });
}

/**
 * Returns the script's share of the manifest's thresholds. plan.ts merged script, config
 * and request thresholds into one map, so the keys that config or request own are left out.
 */
function scriptThresholdsOf(manifest: RunManifest, config: EnvConfig): RunManifest['thresholds'] {
  return Object.fromEntries(
    Object.entries(manifest.thresholds).filter(
      ([key, entries]) => !(key in config.thresholds) && !(key in manifest.request.thresholds) && entries.length > 0,
    ),
  );
}

function segmentReasons(views: readonly SegmentView[], config: EnvConfig, stop: StopRequest | null, stops: ReadonlyMap<number, SegmentStopRecord>): Reason[] {
  const reasons: Reason[] = [];
  for (const view of views) {
    const result = view.result;
    const coverage = view.coverage === null ? 'unknown' : `${(view.coverage * 100).toFixed(0)} %`;
    if (result === null) {
      reasons.push({
        code: 'SEGMENT_MISSING',
        verdict: 'INCOMPLETE',
        message: `Segment ${view.index} (${view.executionSegment}) never reported a result (${describeTaskStop(stops.get(view.index))}); its windows cover ${coverage} of the planned time.`,
      });
      continue;
    }
    switch (result.stopReason) {
      case 'script-error':
      case 'config-error':
      case 'aborted-by-script':
      case 'k6-not-found':
        reasons.push({ code: 'SCRIPT_ERROR', verdict: 'ERROR', message: `Segment ${view.index}: ${result.detail}.` });
        break;
      case 'runner-error':
        reasons.push({
          code: result.detail.startsWith('target unavailable') ? 'TARGET_UNAVAILABLE' : 'RUNNER_ERROR',
          verdict: 'ERROR',
          message: `Segment ${view.index}: ${result.detail}.`,
        });
        break;
      case 'killed':
      case 'k6-error':
        reasons.push({
          code: 'SEGMENT_DIED',
          verdict: 'INCOMPLETE',
          message: `Segment ${view.index} (${view.executionSegment}) stopped early: ${result.detail}; exit code ${result.k6ExitCode ?? result.k6Signal ?? 'none'}, coverage ${coverage}${taskStopSuffix(stops.get(view.index))}.`,
        });
        break;
      case 'stopped':
        if (stop === null) {
          reasons.push({
            code: 'SEGMENT_STOPPED',
            verdict: 'INCOMPLETE',
            message: `Segment ${view.index} (${view.executionSegment}) was stopped from outside (${result.detail}) after covering ${coverage} of the planned time${taskStopSuffix(stops.get(view.index))}.`,
          });
        }
        break;
      case 'completed':
        if ((view.coverage ?? 0) < config.minCoverage) {
          reasons.push({
            code: 'SEGMENT_SHORT',
            verdict: 'INCOMPLETE',
            message: `Segment ${view.index} (${view.executionSegment}) covered ${coverage} of the planned time, less than the required ${(config.minCoverage * 100).toFixed(0)} %.`,
          });
        }
        break;
    }
  }
  return reasons;
}

function analysisReasons(analyses: readonly SeriesAnalysis[], verdict: 'DRIFT' | 'LEAK_SUSPECTED', code: string): Reason[] {
  return analyses
    .filter((analysis) => analysis.status === 'flagged')
    .map((analysis) => ({ code: `${code}_${analysis.series.toUpperCase()}`, verdict, message: analysis.message }));
}

function thresholdReasons(thresholds: RunReport['thresholds']): Reason[] {
  return thresholds
    .filter((threshold) => threshold.passed === false)
    .map((threshold) => ({
      code: threshold.source === 'slo' ? 'SLO_FAILED' : 'THRESHOLD_FAILED',
      verdict: 'FAIL' as const,
      message: `${threshold.source === 'slo' ? 'SLO' : 'Threshold'} ${threshold.metric} ${threshold.expression} failed: observed ${formatObserved(threshold.observed)}${threshold.failedMinutes > 0 ? `, failing in ${threshold.failedMinutes} minutes` : ''}.`,
    }));
}

function formatObserved(value: number | null): string {
  if (value === null) return 'no value';
  return Number(value.toPrecision(4)).toString();
}

/** Builds the report from what the store holds; pure apart from reading the store. */
export async function buildReport(store: ResultStore, env: string, runId: string, log: Log): Promise<RunReport> {
  const manifest = await readManifest(store, env, runId);
  const config = parseEnvConfig(manifest.config, `the manifest of run ${runId}`);
  const warmupS = warmupSeconds(manifest.request.durationS, config.warmup);
  // Short runs are analysed on points shorter than a minute so that they have enough of
  // them. Those points need every window. Longer runs read the segments' rollups.
  const pointS = analysisPointSeconds(manifest.request.durationS, warmupS, config.analysisPoints.targetPoints);
  const periodMs = rollupPeriodS(manifest.request.durationS, manifest.segments.length) * 1000;
  const collected = pointS < 60 ? await collectWindows(store, manifest, periodMs, log) : await collectRollups(store, manifest, periodMs, log);
  const notes = [...collected.notes];
  const runError = (await readJson(store, keys.runError(env, runId))) as RunError | undefined;
  const inspect = (await readJson(store, keys.inspect(env, runId))) as InspectRecord | undefined;
  const stops = new Map<number, SegmentStopRecord>();
  for (const plan of manifest.segments) {
    const stopRecord = (await readJson(store, keys.segmentStop(env, runId, plan.index))) as SegmentStopRecord | undefined;
    if (stopRecord) stops.set(plan.index, stopRecord);
  }
  const stop = (await readJson(store, keys.stopRequest(env, runId))) as StopRequest | undefined;

  const { windows, periods } = collected;
  const total = totalOf(periods);
  const views = judgeSegments(manifest, collected.results, collected.perSegment);
  const coveredS = Math.max(0, ...views.map((view) => view.coveredS));
  const runStartMs = collected.firstMs ?? manifest.createdAtMs;
  const runEndMs = collected.lastEndMs;

  const series = buildSeries(periods, config);
  const analysisSeries = pointS < 60 ? buildSeries(rollup(windows, pointS * 1000), config) : series;
  const drift = analyzeDrift(analysisSeries, { runStartMs, warmupS, drift: config.drift });
  const leaks = analyzeLeaks(analysisSeries, { runStartMs, warmupS, probes: config.probe.series, leak: config.leak });

  const { definitions, problems: thresholdProblems } = thresholdDefinitions(
    {
      script: { ...(inspect?.thresholds ?? {}), ...scriptThresholdsOf(manifest, config) },
      config: config.thresholds,
      request: manifest.request.thresholds,
    },
    config,
  );
  const mergedAggregates = aggregatesOf(total);
  for (const error of checkThresholdTypes(definitions, mergedAggregates)) thresholdProblems.push(error.message);
  // Per minute, only the metrics that thresholds name: converting every metric of
  // every minute took more memory than the rest of finalize in runs of many hours.
  const thresholdKeys = new Set(definitions.map((definition) => definition.metricKey));
  const thresholds = evaluateThresholds(definitions, {
    merged: mergedAggregates,
    durationS: coveredS,
    perMinute: periods.map((period) => ({ metrics: aggregatesOf(period, thresholdKeys), durationS: period.lengthMs / 1000 })),
  });
  // A period longer than a minute that failed counts as that many failing minutes.
  if (collected.periodMs > 60_000) for (const threshold of thresholds) threshold.failedMinutes *= collected.periodMs / 60_000;
  const load = analyzeLoad({ manifest, config, total, windows: windows.length > 0 ? windows : periods, coveredS });

  const reasons: Reason[] = [];
  for (const problem of thresholdProblems) reasons.push({ code: 'INVALID_THRESHOLD', verdict: 'ERROR', message: problem });
  if (runError) reasons.push({ code: runError.code, verdict: 'ERROR', message: runError.message });
  const deliberateStop = stop && stop.kind !== 'deadline' ? stop : null;
  reasons.push(...segmentReasons(views, config, deliberateStop, stops));
  reasons.push(...lostWindowReasons(collected.lost));

  const { ok, failed } = total.requests;
  if (!runError && !stop && ok + failed === 0 && periods.length === 0) {
    reasons.push({ code: 'NO_DATA', verdict: 'ERROR', message: 'No segment stored any sample: k6 never ran, or every checkpoint was lost.' });
  } else if (ok === 0 && failed > 0) {
    reasons.push({
      code: 'NO_RESPONSE',
      verdict: 'ERROR',
      message: `No request ever succeeded: all ${failed} requests failed (${describeFailures(total)}). The target never answered.`,
    });
  }
  if (total.generator.scriptExceptions > 0 && total.iterations > 0 && total.generator.scriptExceptions > total.iterations / 2) {
    reasons.push({
      code: 'SCRIPT_EXCEPTIONS',
      verdict: 'ERROR',
      message: `The script threw on most iterations (${total.generator.scriptExceptions} exceptions in ${total.iterations} iterations).`,
    });
  } else if (total.generator.scriptExceptions > 0) {
    notes.push(`The script threw ${total.generator.scriptExceptions} exceptions in ${total.iterations} iterations; k6 logged them to stderr (segment logs).`);
  }
  if (stop?.kind === 'person') reasons.push({ code: 'STOPPED', verdict: 'STOPPED', message: `Stopped by a person: ${stop.reason}.` });
  if (stop && (stop.kind === 'abort-rule' || stop.kind === 'abort-threshold')) reasons.push({ code: 'ABORTED', verdict: 'FAIL', message: stop.reason });
  // The sweep's deadline stop explains nothing by itself: the segments it cut short are
  // judged by their coverage like any other early stop.
  if (stop?.kind === 'deadline') notes.push(`${stop.reason}.`);

  // A short run stopped on purpose is explained by the stop, not by its load.
  if (!deliberateStop) reasons.push(...load.reasons);
  reasons.push(...thresholdReasons(thresholds));
  reasons.push(...analysisReasons(leaks, 'LEAK_SUSPECTED', 'LEAK'));
  reasons.push(...analysisReasons(drift, 'DRIFT', 'DRIFT'));
  if (total.generator.unparsableLines > 0 || total.generator.unknownMetricPoints > 0 || total.generator.latePoints > 0) {
    notes.push(
      `k6 stream: ${total.generator.unparsableLines} unparsable lines, ${total.generator.unknownMetricPoints} points of undeclared metrics, ${total.generator.latePoints} points after their window closed (counted, not aggregated).`,
    );
  }
  if (total.generator.probeFailures > 0) notes.push(`${total.generator.probeFailures} target probes failed; they are gaps in the probe series.`);

  if (pointS < 60) notes.push(`Drift and leak analyses used ${pointS}-second points, because the run is short.`);
  if (collected.periodMs > 60_000) {
    notes.push(
      `Series, per-period thresholds and the drift and leak analyses use ${collected.periodMs / 60_000}-minute points, so that finalize of ${manifest.segments.length} segments x ${(manifest.request.durationS / 3600).toFixed(1)} h stays within its time and memory.`,
    );
  }

  const sorted = sortReasons(reasons);
  const byName = [...total.requestsByName].map(([name, requests]) => ({
    name,
    requests: requests.ok + requests.failed,
    failed: requests.failed,
    p95: requests.okLatency.quantile(0.95),
    p99: requests.okLatency.quantile(0.99),
  }));
  const results = [...collected.results.values()];

  const report: RunReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    runId,
    env,
    scenario: manifest.scenario.name,
    scenarioHash: manifest.scenario.hash ?? inspect?.scenarioHash ?? null,
    target: manifest.request.target,
    labels: manifest.request.labels,
    startedAt: collected.firstMs !== null ? new Date(runStartMs).toISOString() : null,
    endedAt: runEndMs === null ? null : new Date(runEndMs).toISOString(),
    plannedDurationS: manifest.request.durationS,
    k6Version: results.find((result) => result.k6Version !== null)?.k6Version ?? null,
    verdict: decideVerdict(sorted),
    reasons: sorted,
    requests: {
      total: ok + failed,
      failed,
      errorRate: errorRateOf(ok, failed),
      failures: { ...total.failures },
      statuses: { ...total.statuses },
    },
    latencyMs: latencySummary(total.requests.okLatency),
    byName: byName.sort((a, b) => b.requests - a.requests),
    checks: {
      passes: total.checks.passes,
      fails: total.checks.fails,
      rate: errorRateOf(total.checks.fails, total.checks.passes),
    },
    load: load.load,
    segments: summarizeSegments(views, config.minCoverage),
    series,
    thresholds,
    analyses: { warmupS, drift, leaks, regression: null },
    notes,
    links: {},
  };
  return RunReportSchema.parse(report);
}

function describeFailures(total: MergedWindow): string {
  return Object.entries(total.failures)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
}

export async function finalizeRun(deps: FinalizeDeps, env: string, runId: string): Promise<FinalizeOutcome> {
  const { store } = deps;
  const now = deps.nowMs ?? Date.now;
  const log = deps.log.child({ runId, env });
  const manifest = await readManifest(store, env, runId);
  const config = parseEnvConfig(manifest.config, `the manifest of run ${runId}`);
  const built = await buildReport(store, env, runId, log);
  const targetVersion = await readTargetVersion(store, env, runId);
  // Compared before this run's entry is written; a re-finalize skips the run's own earlier entry.
  const { report, entry } = await addRegressionAnalysis(store, built, manifest, config, targetVersion, log);

  const reportKey = keys.report(env, runId);
  await store.put(reportKey, `${JSON.stringify(report, null, 2)}\n`, 'application/json');

  let htmlKey: string | null = null;
  if (deps.renderHtml) {
    htmlKey = keys.reportHtml(env, runId);
    await store.put(htmlKey, deps.renderHtml(report), 'text/html; charset=utf-8');
  }
  let messageKey: string | null = null;
  if (deps.buildMessage) {
    messageKey = keys.message(env, runId);
    await store.put(messageKey, `${JSON.stringify(deps.buildMessage(report), null, 2)}\n`, 'application/json');
  }
  await writeHistoryEntry(store, entry);

  const first = await store.putIfAbsent(
    keys.finalized(env, runId),
    JSON.stringify({ atMs: now(), verdict: report.verdict }),
    'application/json',
  );
  log.info('run finalized', { event: LogEvent.RunFinalized, verdict: report.verdict, first, reasons: report.reasons.map((reason) => reason.code) });
  return { report, first, keys: { report: reportKey, html: htmlKey, message: messageKey } };
}

