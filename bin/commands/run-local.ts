/**
 * `soak run --local`: the whole pipeline on one machine. Validates the request,
 * inspects the script, waits for the target, starts one run-segment child per
 * segment, shows live progress, and finalizes from the stored windows.
 */
import { resolve } from 'node:path';
import { ConfigError, type EnvConfig } from '../../core/config.js';
import { parseDuration } from '../../core/duration.js';
import { SCHEMA_VERSION } from '../../core/schemas.js';
import { estimateRunCost } from '../../core/cost.js';
import { ALWAYS_FILTERED_KEYS, type RunError, type StopRequest } from '../../core/finalize.js';
import { LogEvent, registerSecret } from '../../core/log.js';
import { buildManifest, CLI_FIELD_NAMES, deriveRunId, RequestValidationError, validateRunRequest } from '../../core/plan.js';
import { keys, type Log } from '../../core/ports.js';
import { normalizeThresholds, ThresholdSyntaxError } from '../../core/thresholds.js';
import { EnvVar } from '../../core/env-vars.js';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { ProcessLauncher } from '../../adapters/local/process-launcher.js';
import { findK6, inspectScript, K6InspectError, K6NotFoundError } from '../../task/k6.js';
import { waitForHealth } from '../../task/health.js';
import { loadEnvConfig } from '../config-loader.js';
import { ProgressDisplay } from '../progress.js';
import { hashScenario, resolveScenario, ScenarioNotFoundError } from '../scenario.js';
import { acquireLock, LockHeldError, releaseLock } from '../../core/lock.js';
import { ExitCode, UsageError, type Io } from '../io.js';
import { finalizeAndNotify } from './finalize.js';

export interface RunLocalOptions {
  env: string;
  results: string;
  target?: string;
  scenario?: string;
  rate?: string;
  duration?: string;
  segments?: string;
  healthPath?: string;
  healthTimeout?: string;
  config?: string;
  webhook?: string;
  threshold: string[];
  label: string[];
  runId?: string;
  dryRun?: boolean;
  json?: boolean;
  open?: boolean;
}

function parseInteger(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`${option}: "${value}" is not a whole number.`);
  return Number(value);
}

function parseDurationOption(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds === null) throw new UsageError(`${option}: "${value}" is not a duration; use for example 90s, 10m, 2h or 1h30m.`);
  return seconds;
}

function parsePairs(option: string, values: string[], separator: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const value of values) {
    const index = value.indexOf(separator);
    if (index <= 0) throw new UsageError(`${option}: "${value}" must look like KEY${separator}VALUE.`);
    pairs[value.slice(0, index)] = value.slice(index + 1);
  }
  return pairs;
}

/** `--threshold 'http_req_duration=p(99)<800'` → `{ http_req_duration: ['p(99)<800'] }`. */
function parseThresholdOptions(values: string[]): Record<string, string[]> {
  const thresholds: Record<string, string[]> = {};
  for (const value of values) {
    const index = value.indexOf('=');
    if (index <= 0) throw new UsageError(`--threshold: "${value}" must look like METRIC=EXPRESSION, for example http_req_duration=p(99)<1500.`);
    const metric = value.slice(0, index);
    (thresholds[metric] ??= []).push(value.slice(index + 1));
  }
  try {
    normalizeThresholds(thresholds, 'request');
  } catch (error) {
    if (error instanceof ThresholdSyntaxError) throw new UsageError(`--threshold: ${error.message}`);
    throw error;
  }
  return thresholds;
}

function requestInput(options: RunLocalOptions, config: EnvConfig): Record<string, unknown> {
  const input: Record<string, unknown> = {
    schemaVersion: SCHEMA_VERSION,
    env: options.env,
    target: options.target ?? config.defaults.target,
    scenario: options.scenario ?? config.defaults.scenario,
    rate: parseInteger('--rate', options.rate) ?? config.defaults.rate,
    durationS: parseDurationOption('--duration', options.duration) ?? config.defaults.durationS,
    segments: parseInteger('--segments', options.segments) ?? config.defaults.segments,
    thresholds: parseThresholdOptions(options.threshold),
    labels: parsePairs('--label', options.label, '='),
    dryRun: options.dryRun ?? false,
  };
  if (input.target === undefined) {
    throw new UsageError('--target is required (or set defaults.target in the environment configuration), for example --target http://127.0.0.1:3000.');
  }
  if (options.runId !== undefined) input.runId = options.runId;
  return input;
}

export async function runLocal(options: RunLocalOptions, io: Io, log: Log): Promise<number> {
  // 1. Everything that can be rejected is checked before anything is written.
  let config: EnvConfig;
  try {
    config = (await loadEnvConfig(options.env, { file: options.config })).config;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  if (options.healthPath !== undefined) {
    if (!options.healthPath.startsWith('/')) throw new UsageError(`--health-path: "${options.healthPath}" must start with "/", for example /healthz.`);
    config.defaults.healthPath = options.healthPath;
  }
  const healthTimeoutS = parseDurationOption('--health-timeout', options.healthTimeout);
  if (healthTimeoutS !== undefined) config.defaults.healthTimeoutS = healthTimeoutS;

  let request;
  try {
    request = validateRunRequest(requestInput(options, config), config, CLI_FIELD_NAMES);
  } catch (error) {
    if (error instanceof RequestValidationError) throw new UsageError(error.message);
    throw error;
  }

  let scenario;
  try {
    scenario = await resolveScenario(request.scenario);
  } catch (error) {
    if (error instanceof ScenarioNotFoundError) throw new UsageError(error.message);
    throw error;
  }

  let k6Bin: string;
  try {
    k6Bin = await findK6();
  } catch (error) {
    if (error instanceof K6NotFoundError) throw new UsageError(error.message);
    throw error;
  }

  const token = process.env[EnvVar.TargetToken];
  const clientSecret = process.env[EnvVar.TargetClientSecret];
  registerSecret(token);
  registerSecret(clientSecret);
  const inspectEnv: Record<string, string> = { ...config.scenarioEnv, BASE_URL: request.target.replace(/\/$/, '') };
  if (scenario.bundled) {
    inspectEnv.RATE = String(request.rate);
    inspectEnv.DURATION = `${request.durationS}s`;
  }
  let inspected;
  try {
    inspected = await inspectScript(k6Bin, scenario.path, inspectEnv);
  } catch (error) {
    if (error instanceof K6InspectError) throw new UsageError(error.message);
    throw error;
  }
  // A script of one's own keeps its own options: its planned time is k6's own estimate.
  if (!scenario.bundled && inspected.totalDurationS !== null && options.duration === undefined) {
    request.durationS = Math.max(10, Math.round(inspected.totalDurationS));
  }
  const thresholds = inspected.thresholds as Record<string, never[]>;
  try {
    normalizeThresholds(thresholds, 'script');
  } catch (error) {
    if (error instanceof ThresholdSyntaxError) throw new UsageError(`The thresholds of ${scenario.path} are invalid: ${error.message}`);
    throw error;
  }

  const nowMs = Date.now();
  const runId = request.runId ?? deriveRunId({ nowMs });
  const manifest = buildManifest({
    runId,
    request,
    config,
    scenario: {
      name: scenario.name,
      path: scenario.path,
      hash: await hashScenario(scenario.path, inspected.options),
      bundled: scenario.bundled,
      thresholds: { ...Object.fromEntries(ALWAYS_FILTERED_KEYS.map((key) => [key, []])), ...thresholds },
    },
    nowMs,
  });

  if (request.dryRun) {
    // The local mode costs nothing; the estimate is what the same plan would cost on Fargate.
    const cost = estimateRunCost({ segments: request.segments, durationS: request.durationS });
    io.out.write(
      `${JSON.stringify({ dryRun: true, plan: { runId, request, segments: manifest.segments, thresholds: manifest.thresholds, deadline: new Date(manifest.deadlineMs).toISOString() }, fargateCostEstimate: cost }, null, 2)}\n`,
    );
    return ExitCode.Pass;
  }

  // 2. The run exists from here on: lock, manifest, then the health check.
  const resultsRoot = resolve(options.results);
  const store = new FolderResultStore(resultsRoot);
  const runLog = log.child({ runId, env: request.env, scenario: scenario.name });
  try {
    await acquireLock(store, request.env, runId, manifest.deadlineMs, nowMs);
  } catch (error) {
    if (error instanceof LockHeldError) throw new UsageError(error.message);
    throw error;
  }

  try {
    const created = await store.putIfAbsent(keys.manifest(request.env, runId), `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
    if (!created) throw new UsageError(`Run ${runId} already exists in ${resultsRoot}; choose another --run-id.`);
    runLog.info('run planned', { event: LogEvent.RunPlanned, segments: request.segments, rate: request.rate, durationS: request.durationS });
    io.err.write(`soak: run ${runId} → ${resultsRoot}/runs/${request.env}/${runId}\n`);

    const healthUrl = new URL(config.defaults.healthPath, request.target).toString();
    io.err.write(`soak: waiting for ${healthUrl} (up to ${config.defaults.healthTimeoutS} s)\n`);
    const health = await waitForHealth(healthUrl, config.defaults.healthTimeoutS * 1000);
    if (!health.healthy) {
      const runError: RunError = {
        code: 'TARGET_UNAVAILABLE',
        message: `target unavailable: ${healthUrl} did not answer with 2xx within ${config.defaults.healthTimeoutS} s (${health.attempts} attempts, last: ${health.lastError}). No load was sent.`,
        atMs: Date.now(),
      };
      runLog.error('target unavailable', { event: LogEvent.TargetUnavailable, url: healthUrl, lastError: health.lastError });
      await store.put(keys.runError(request.env, runId), JSON.stringify(runError, null, 2));
      return await finalizeAndNotify({ store, env: request.env, runId, io, log: runLog, webhook: options.webhook, json: options.json, open: options.open });
    }
    runLog.info('target healthy', { event: LogEvent.TargetHealthy, url: healthUrl, waitedMs: health.waitedMs });

    // 3. One run-segment child per segment, with live progress from their windows.
    const progress = new ProgressDisplay({ out: io.out, json: options.json ?? false, plannedS: request.durationS, segments: request.segments, runId });
    const launcher = new ProcessLauncher({
      storeRoot: resultsRoot,
      secrets: { token, clientSecret },
      baseEnv: { ...process.env, [EnvVar.K6Bin]: k6Bin },
      onWindow: (record) => progress.onWindow(record),
      onExit: (exit) => {
        progress.onSegmentExit(exit.segment, exit.code, exit.signal);
        runLog.info('segment exited', { event: LogEvent.SegmentFinished, segment: exit.segment, exitCode: exit.code, signal: exit.signal });
      },
    });

    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      io.err.write(`\nsoak: ${signal} received, stopping every segment and finalizing as STOPPED…\n`);
      const stop: StopRequest = { kind: 'person', reason: `${signal} to the soak CLI`, atMs: Date.now() };
      void store
        .putIfAbsent(keys.stopRequest(request.env, runId), JSON.stringify(stop), 'application/json')
        .finally(() => void launcher.stop());
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const launch = await launcher.launch(manifest.segments.map((segment) => ({ manifest, segment })));
    for (const launched of launch.launched) runLog.info('segment launched', { event: LogEvent.SegmentLaunched, segment: launched.segment, taskId: launched.taskId });
    runLog.info('run started', { event: LogEvent.RunStarted });
    progress.start();
    await launcher.waitAll();
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);

    return await finalizeAndNotify({ store, env: request.env, runId, io, log: runLog, webhook: options.webhook, json: options.json, open: options.open });
  } finally {
    await releaseLock(store, request.env, runId).catch((error) => runLog.warn('lock release failed', { error }));
  }
}
