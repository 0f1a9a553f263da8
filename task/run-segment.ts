/**
 * `run-segment`: the entrypoint of one load-generator task, in the Fargate container
 * and as a child process of the local mode.
 *
 * Inputs (environment variables, names in core/env-vars.ts):
 *   SOAK_RUN_ID, SOAK_ENV, SOAK_SEGMENT   which run and which segment (0-based)
 *   SOAK_STORE                            `file:///folder` or `s3://bucket[/prefix]`
 *   SOAK_TARGET_TOKEN                     optional bearer token, passed to k6 as TOKEN
 *   SOAK_TARGET_CLIENT_SECRET             optional, passed to k6 as CLIENT_SECRET
 *   SOAK_SCENARIOS_DIR                    folder of the bundled scenarios
 *   K6_BIN                                k6 binary; PATH is searched when unset
 *   SOAK_PROGRESS_FD                      optional descriptor for live window records
 * Everything else (scenario, target, rate, duration, segment plan, configuration)
 * comes from the run manifest in the store.
 *
 * Writes: runs/<env>/<runId>/segments/<i>/windows/<seq>.ndjson.gz and .../result.json.
 * Exit codes: see SegmentExitCode in core/env-vars.ts.
 */
import { createWriteStream, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnvConfig } from '../core/config.js';
import { EnvVar, SegmentExitCode } from '../core/env-vars.js';
import { createLogger, LogEvent, registerSecret } from '../core/log.js';
import { keys, type Log, type ResultStore } from '../core/ports.js';
import { RunManifestSchema, SCHEMA_VERSION, type RunManifest, type SegmentResult } from '../core/schemas.js';
import { openMetricsSink, openStore } from '../adapters/store.js';
import { findK6, inspectScript, K6InspectError, K6NotFoundError } from './k6.js';
import { hashScenario } from './scenario-hash.js';
import { readTargetVersionFrom } from './target-version.js';
import { targetVersionKey } from '../core/history.js';
import type { InspectRecord } from '../core/finalize.js';
import type { EnvConfig } from '../core/config.js';
import { waitForHealth } from './health.js';
import { exitCodeForSegment } from './segment-exit.js';
import { scriptPathOf, SegmentRunner } from './segment-runner.js';

/** Non-secret variables k6 inspect needs to resolve the options as the run will. */
function inspectVariables(manifest: RunManifest, config: EnvConfig): Record<string, string> {
  const variables: Record<string, string> = { ...config.scenarioEnv, BASE_URL: manifest.request.target.replace(/\/$/, '') };
  if (manifest.bundledScenario) {
    variables.RATE = String(manifest.request.rate);
    variables.DURATION = `${manifest.request.durationS}s`;
  }
  return variables;
}

export class SegmentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentInputError';
  }
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new SegmentInputError(`Environment variable ${name} is missing; run-segment needs it (see task/run-segment.ts for the contract).`);
  }
  return value;
}

function defaultScenariosDir(): string {
  // The bundle (dist/run-segment.mjs) and the source (task/run-segment.ts) both sit one level below the root.
  return join(dirname(dirname(fileURLToPath(import.meta.url))), 'scenarios');
}

/**
 * Tells the local launcher, on the progress descriptor, that the signal handlers are
 * installed: it holds back SIGTERM until then, because SIGTERM kills a run-segment that
 * is still loading before it can write a result.
 */
function announceReady(): void {
  const fd = process.env[EnvVar.ProgressFd];
  if (fd) writeSync(Number(fd), `${JSON.stringify({ type: 'ready' })}\n`);
}

/** Opens SOAK_STORE; a location that names no store is invalid input, not a k6 failure. */
async function openStoreFromEnv(location: string): Promise<ResultStore> {
  try {
    return await openStore(location);
  } catch (error) {
    throw new SegmentInputError(`${EnvVar.Store} is invalid: ${(error as Error).message}`);
  }
}

async function loadManifest(store: ResultStore, env: string, runId: string): Promise<RunManifest> {
  const bytes = await store.get(keys.manifest(env, runId));
  if (bytes === undefined) {
    throw new SegmentInputError(`No manifest for run ${runId} in env ${env} at ${store.location}: check SOAK_RUN_ID, SOAK_ENV and SOAK_STORE.`);
  }
  const parsed = RunManifestSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SegmentInputError(`The manifest of run ${runId} is invalid at ${issue?.path.join('.')}: ${issue?.message}.`);
  }
  return parsed.data;
}

/** Writes a result for a segment that never started k6, so finalize can name the cause. */
async function writeFailedResult(
  store: ResultStore,
  manifest: RunManifest,
  segment: number,
  reason: SegmentResult['stopReason'],
  detail: string,
): Promise<void> {
  const now = Date.now();
  const plan = manifest.segments[segment];
  const result: SegmentResult = {
    schemaVersion: SCHEMA_VERSION,
    runId: manifest.runId,
    segment,
    executionSegment: plan?.executionSegment ?? 'unknown',
    k6Version: null,
    k6ExitCode: null,
    k6Signal: null,
    stopReason: reason,
    detail,
    startedAtMs: now,
    endedAtMs: now,
    firstPointMs: null,
    lastPointMs: null,
    plannedDurationS: manifest.request.durationS,
    windowsWritten: 0,
    lastCheckpointSeq: null,
    scriptExceptions: 0,
    stderrTail: [],
  };
  await store.put(keys.segmentResult(manifest.env, manifest.runId, segment), JSON.stringify(result, null, 2));
}

export async function main(): Promise<number> {
  let log: Log = createLogger({ base: { component: 'run-segment' } });
  let store: ResultStore | undefined;
  let manifest: RunManifest | undefined;
  let segmentIndex = -1;

  // A stop can come while the script is inspected or the target is awaited: remember
  // it, so the segment ends as stopped with a result instead of dying without one.
  let earlySignal: NodeJS.Signals | null = null;
  const earlyStop = new AbortController();
  const onEarlySignal = (signal: NodeJS.Signals) => {
    earlySignal ??= signal;
    earlyStop.abort();
  };
  process.on('SIGTERM', onEarlySignal);
  process.on('SIGINT', onEarlySignal);
  announceReady();

  try {
    const runId = requireEnv(EnvVar.RunId);
    const env = requireEnv(EnvVar.Env);
    segmentIndex = Number(requireEnv(EnvVar.Segment));
    const token = process.env[EnvVar.TargetToken];
    const clientSecret = process.env[EnvVar.TargetClientSecret];
    registerSecret(token);
    registerSecret(clientSecret);

    store = await openStoreFromEnv(requireEnv(EnvVar.Store));
    manifest = await loadManifest(store, env, runId);
    const segment = manifest.segments[segmentIndex];
    if (!Number.isInteger(segmentIndex) || segment === undefined) {
      throw new SegmentInputError(`SOAK_SEGMENT is "${process.env[EnvVar.Segment]}", but run ${runId} has segments 0..${manifest.segments.length - 1}.`);
    }
    const config = parseEnvConfig(manifest.config, `the manifest of run ${runId}`);
    log = log.child({ runId, env, scenario: manifest.scenario.name, segment: segmentIndex });

    let k6Bin: string;
    try {
      k6Bin = await findK6();
    } catch (error) {
      if (!(error instanceof K6NotFoundError)) throw error;
      log.error('k6 not found', { error });
      await writeFailedResult(store, manifest, segmentIndex, 'k6-not-found', error.message);
      return SegmentExitCode.K6Failed;
    }

    const healthUrl = new URL(config.defaults.healthPath, manifest.request.target).toString();
    const health = await waitForHealth(healthUrl, config.defaults.healthTimeoutS * 1000, { signal: earlyStop.signal });
    if (!health.healthy && earlySignal === null) {
      const detail = `target unavailable: ${healthUrl} did not answer 2xx within ${config.defaults.healthTimeoutS} s (last: ${health.lastError})`;
      log.error('target unavailable', { event: LogEvent.TargetUnavailable, url: healthUrl, lastError: health.lastError });
      await writeFailedResult(store, manifest, segmentIndex, 'runner-error', detail);
      return SegmentExitCode.K6Failed;
    }

    // Every segment validates the script and learns its thresholds with `k6 inspect`:
    // the cloud's start-run Lambda has no k6, and the threshold tag filters decide
    // which aggregates the windows keep. Segment 0 stores the result for finalize.
    const scenariosDir = process.env[EnvVar.ScenariosDir] ?? defaultScenariosDir();
    const scriptPath = scriptPathOf(manifest, scenariosDir);
    let inspected;
    try {
      inspected = await inspectScript(k6Bin, scriptPath, inspectVariables(manifest, config));
    } catch (error) {
      if (!(error instanceof K6InspectError)) throw error;
      log.error('k6 inspect rejected the script', { error });
      await writeFailedResult(store, manifest, segmentIndex, 'script-error', error.message);
      return SegmentExitCode.ScriptError;
    }
    if (segmentIndex === 0) {
      const version = await readTargetVersionFrom(config, manifest.request.target);
      if (version !== null) await store.putIfAbsent(targetVersionKey(env, runId), JSON.stringify({ version }), 'application/json');
      const record: InspectRecord = {
        thresholds: inspected.thresholds as InspectRecord['thresholds'],
        scenarioHash: await hashScenario(scriptPath, inspected.options),
        totalDurationS: inspected.totalDurationS,
      };
      await store.putIfAbsent(keys.inspect(env, runId), JSON.stringify(record, null, 2), 'application/json');
    }
    const runManifest: RunManifest = { ...manifest, thresholds: { ...(inspected.thresholds as RunManifest['thresholds']), ...manifest.thresholds } };

    const progressFd = process.env[EnvVar.ProgressFd];
    const progress = progressFd ? createWriteStream('', { fd: Number(progressFd) }) : undefined;
    const runner = new SegmentRunner({
      manifest: runManifest,
      segment,
      config,
      store,
      log,
      k6Bin,
      scenariosDir,
      secrets: { token, clientSecret },
      progress,
      metrics: await openMetricsSink(requireEnv(EnvVar.Store), log),
    });

    process.off('SIGTERM', onEarlySignal);
    process.off('SIGINT', onEarlySignal);
    if (earlySignal !== null) {
      await writeFailedResult(store, manifest, segmentIndex, 'stopped', `run-segment received ${earlySignal} before k6 started`);
      return SegmentExitCode.Stopped;
    }
    const onSignal = (signal: NodeJS.Signals) => runner.requestStop('stopped', `run-segment received ${signal}`);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    const result = await runner.run();
    progress?.end();
    const coveredS = result.firstPointMs !== null && result.lastPointMs !== null ? (result.lastPointMs - result.firstPointMs) / 1000 : 0;
    const coverageOk = coveredS >= result.plannedDurationS * config.minCoverage;
    return exitCodeForSegment(result.stopReason, coverageOk, runner.storeFailed);
  } catch (error) {
    log.error('run-segment failed', { error });
    if (error instanceof SegmentInputError) {
      process.stderr.write(`${error.message}\n`);
      return SegmentExitCode.InvalidInput;
    }
    if (store && manifest && segmentIndex >= 0) {
      await writeFailedResult(store, manifest, segmentIndex, 'runner-error', `run-segment failed: ${(error as Error).message}`).catch(() => undefined);
    }
    return SegmentExitCode.K6Failed;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    () => process.exit(SegmentExitCode.K6Failed),
  );
}
