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
import { rollup, totalOf, WindowMerger, type MergedWindow } from './merge.js';
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
import { RunManifestSchema, SegmentResultSchema, type MetricAggregate, type RunManifest, type SegmentResult } from './schemas.js';
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

interface CollectedRun {
  merger: WindowMerger;
  results: Map<number, SegmentResult>;
  perSegment: Map<number, { windows: number; requests: number; firstMs: number | null; lastEndMs: number | null }>;
  /** Per segment, windows missing between its first and last stored one, and checkpoints that could not be read. */
  lost: Map<number, { missingWindows: number; unreadable: string[] }>;
  notes: string[];
}

async function collect(store: ResultStore, manifest: RunManifest, log: Log): Promise<CollectedRun> {
  const merger = new WindowMerger();
  const results = new Map<number, SegmentResult>();
  const perSegment = new Map<number, { windows: number; requests: number; firstMs: number | null; lastEndMs: number | null }>();
  const lost = new Map<number, { missingWindows: number; unreadable: string[] }>();
  const notes: string[] = [];

  for (const plan of manifest.segments) {
    const rawResult = await readJson(store, keys.segmentResult(manifest.env, manifest.runId, plan.index));
    if (rawResult !== undefined) {
      const parsed = SegmentResultSchema.safeParse(rawResult);
      if (parsed.success) results.set(plan.index, parsed.data);
      else notes.push(`Segment ${plan.index} wrote a result.json that is not valid; it was ignored.`);
    }

    const stats = { windows: 0, requests: 0, firstMs: null as number | null, lastEndMs: null as number | null };
    const starts = new Set<number>();
    const unreadable: string[] = [];
    let lengthMs = 0;
    for (const key of await store.list(keys.windowsPrefix(manifest.env, manifest.runId, plan.index))) {
      if (!key.endsWith('.ndjson.gz')) continue;
      const bytes = await store.get(key);
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
        merger.add(record);
        starts.add(record.startMs);
        lengthMs = record.lengthMs;
        stats.windows += 1;
        stats.requests += record.requests.ok + record.requests.failed;
        stats.firstMs = stats.firstMs === null ? record.startMs : Math.min(stats.firstMs, record.startMs);
        const end = record.startMs + record.lengthMs;
        stats.lastEndMs = stats.lastEndMs === null ? end : Math.max(stats.lastEndMs, end);
      }
    }
    perSegment.set(plan.index, stats);
    // A live runner closes a window every window length, so a hole between the first
    // and the last stored window is data that was lost, not time without load.
    const spanned = stats.firstMs === null || stats.lastEndMs === null || lengthMs === 0 ? 0 : Math.round((stats.lastEndMs - stats.firstMs) / lengthMs);
    const missingWindows = Math.max(0, spanned - starts.size);
    if (missingWindows > 0 || unreadable.length > 0) lost.set(plan.index, { missingWindows, unreadable });
  }
  if (merger.duplicates > 0) notes.push(`${merger.duplicates} windows were stored twice (retried checkpoints) and counted once.`);
  return { merger, results, perSegment, lost, notes };
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
  const collected = await collect(store, manifest, log);
  const notes = [...collected.notes];
  const runError = (await readJson(store, keys.runError(env, runId))) as RunError | undefined;
  const inspect = (await readJson(store, keys.inspect(env, runId))) as InspectRecord | undefined;
  const stops = new Map<number, SegmentStopRecord>();
  for (const plan of manifest.segments) {
    const stopRecord = (await readJson(store, keys.segmentStop(env, runId, plan.index))) as SegmentStopRecord | undefined;
    if (stopRecord) stops.set(plan.index, stopRecord);
  }
  const stop = (await readJson(store, keys.stopRequest(env, runId))) as StopRequest | undefined;

  const windows = collected.merger.windows();
  const minutes = rollup(windows);
  const total = totalOf(windows);
  const views = judgeSegments(manifest, collected.results, collected.perSegment);
  const coveredS = Math.max(0, ...views.map((view) => view.coveredS));
  const runStartMs = windows[0]?.startMs ?? manifest.createdAtMs;
  const runEndMs = windows.length > 0 ? windows[windows.length - 1]!.startMs + windows[windows.length - 1]!.lengthMs : null;

  const series = buildSeries(minutes, config);
  const warmupS = warmupSeconds(manifest.request.durationS, config.warmup);
  // Short runs are analysed on points shorter than a minute, so that they have enough of them.
  const pointS = analysisPointSeconds(manifest.request.durationS, warmupS, config.analysisPoints.targetPoints);
  const analysisSeries = pointS === 60 ? series : buildSeries(rollup(windows, pointS * 1000), config);
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
    perMinute: minutes.map((minute) => ({ metrics: aggregatesOf(minute, thresholdKeys), durationS: minute.lengthMs / 1000 })),
  });
  const load = analyzeLoad({ manifest, config, total, windows, coveredS });

  const reasons: Reason[] = [];
  for (const problem of thresholdProblems) reasons.push({ code: 'INVALID_THRESHOLD', verdict: 'ERROR', message: problem });
  if (runError) reasons.push({ code: runError.code, verdict: 'ERROR', message: runError.message });
  const deliberateStop = stop && stop.kind !== 'deadline' ? stop : null;
  reasons.push(...segmentReasons(views, config, deliberateStop, stops));
  reasons.push(...lostWindowReasons(collected.lost));

  const { ok, failed } = total.requests;
  if (!runError && !stop && ok + failed === 0 && windows.length === 0) {
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

  if (pointS !== 60) notes.push(`Drift and leak analyses used ${pointS}-second points, because the run is short.`);

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
    startedAt: windows.length > 0 ? new Date(runStartMs).toISOString() : null,
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

