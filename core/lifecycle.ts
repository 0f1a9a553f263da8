/**
 * The run lifecycle shared by the start-run and finish-run Lambdas: start (guards,
 * lock, manifest, launch), record a segment's stop, finalize exactly once, sweep
 * runs past their deadline, and the kill switch.
 */
import type { EnvConfig } from './config.js';
import { finalizeRun, readManifest, type FinalizeDeps, type FinalizeOutcome, type RunError, type StopRequest } from './finalize.js';
import { acquireLock, LockHeldError, releaseLock, type LockBody } from './lock.js';
import { LogEvent } from './log.js';
import { buildManifest, deriveRunId, RequestValidationError, validateRunRequest, type FieldNames } from './plan.js';
import { keys, type Launcher, type Log, type ResultStore } from './ports.js';
import type { RunManifest } from './schemas.js';

export const SCHEDULED_TIME_LABEL = 'scheduledTime';

/** Time after the deadline before the sweep finalizes a run whose tasks never reported. */
export const SWEEP_GRACE_MS = 5 * 60 * 1000;

export type StartOutcome =
  | { status: 'started'; runId: string; manifest: RunManifest; launched: number }
  | { status: 'planned'; runId: string; manifest: RunManifest }
  | { status: 'duplicate'; runId: string; message: string }
  | { status: 'rejected'; problems: string[] }
  | { status: 'locked'; message: string; activeRunId: string }
  | { status: 'launch-failed'; runId: string; message: string };

export interface StartDeps {
  store: ResultStore;
  launcher: Launcher;
  log: Log;
  nowMs: () => number;
  /** Names of the scenarios the load-generator image contains. */
  bundledScenarios: readonly string[];
}

/**
 * Validates a run request against the environment's guards, takes the lock, writes
 * the manifest create-only and launches one task per segment. A scheduled run's id
 * comes from its scheduled time, so a duplicate delivery finds the manifest taken.
 */
export async function startRun(deps: StartDeps, input: Record<string, unknown>, config: EnvConfig, names: FieldNames = {}): Promise<StartOutcome> {
  let request;
  try {
    request = validateRunRequest(input, config, names);
  } catch (error) {
    if (error instanceof RequestValidationError) return { status: 'rejected', problems: error.problems };
    throw error;
  }
  if (!deps.bundledScenarios.includes(request.scenario)) {
    return {
      status: 'rejected',
      problems: [`${names.scenario ?? 'scenario'}: "${request.scenario}" is not a scenario of the load-generator image; available: ${deps.bundledScenarios.join(', ')}`],
    };
  }

  const nowMs = deps.nowMs();
  const scheduledTime = request.labels[SCHEDULED_TIME_LABEL];
  const runId = request.runId ?? deriveRunId({ nowMs, scheduledTime });
  const manifest = buildManifest({
    runId,
    request,
    config,
    // The Lambda has no k6: segment 0 reads the script's thresholds with `k6 inspect`
    // and stores them beside the manifest (inspect.json), and finalize merges them.
    scenario: { name: request.scenario, path: request.scenario, hash: null, bundled: true, thresholds: {} },
    nowMs,
  });
  if (request.dryRun) return { status: 'planned', runId, manifest };

  const log = deps.log.child({ runId, env: request.env, scenario: request.scenario });
  if ((await deps.store.get(keys.manifest(request.env, runId))) !== undefined) {
    return { status: 'duplicate', runId, message: `Run ${runId} already exists: a second trigger of the same schedule starts nothing.` };
  }
  try {
    await acquireLock(deps.store, request.env, runId, manifest.deadlineMs, nowMs);
  } catch (error) {
    if (error instanceof LockHeldError) return { status: 'locked', message: error.message, activeRunId: error.holder.runId };
    throw error;
  }

  const created = await deps.store.putIfAbsent(keys.manifest(request.env, runId), `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  if (!created) {
    // acquireLock returns without error when the lock already names this run id, so a
    // concurrent duplicate gets here while the other start of the same run holds the lock.
    // Only a finished run's lock is this call's own to release.
    if ((await deps.store.get(keys.finalized(request.env, runId))) !== undefined) await releaseLock(deps.store, request.env, runId);
    return { status: 'duplicate', runId, message: `Run ${runId} already exists: a second trigger of the same schedule starts nothing.` };
  }
  log.info('run planned', { event: LogEvent.RunPlanned, segments: request.segments, rate: request.rate, durationS: request.durationS });

  const launch = await deps.launcher.launch(manifest.segments.map((segment) => ({ manifest, segment })));
  const launchedManifest: RunManifest = {
    ...manifest,
    state: 'running',
    launched: launch.launched.map((item) => ({ segment: item.segment, taskId: item.taskId, launchedAtMs: deps.nowMs() })),
  };
  await deps.store.put(keys.manifest(request.env, runId), `${JSON.stringify(launchedManifest, null, 2)}\n`, 'application/json');
  for (const item of launch.launched) log.info('segment launched', { event: LogEvent.SegmentLaunched, segment: item.segment, taskId: item.taskId });

  if (launch.failed.length > 0) {
    // A partial load would be judged as if it were the planned one: stop what runs and end as ERROR.
    const reasons = launch.failed.map((failure) => `segment ${failure.segment}: ${failure.reason}`).join('; ');
    const message = `${launch.failed.length} of ${manifest.segments.length} segments could not be launched (${reasons}); the launched ones were stopped.`;
    log.error('launch failed', { failed: launch.failed });
    const runError: RunError = { code: 'LAUNCH_FAILED', message, atMs: deps.nowMs() };
    await deps.store.put(keys.runError(request.env, runId), JSON.stringify(runError, null, 2), 'application/json');
    // A segment that never launched sends no stop event, so its stop is recorded here, after
    // run-error.json so that any finalize sees the launch error. The stops of the launched
    // tasks then finalize the run, or the next sweep does when none launched.
    for (const failure of launch.failed) {
      const stop: SegmentStop = {
        env: request.env,
        runId,
        segment: failure.segment,
        taskId: '',
        exitCode: null,
        stopCode: null,
        stoppedReason: `never launched: ${failure.reason}`,
        containerReason: null,
        stoppedAtMs: deps.nowMs(),
      };
      await deps.store.put(keys.segmentStop(request.env, runId, failure.segment), JSON.stringify(stop, null, 2), 'application/json');
    }
    if (launch.launched.length > 0) await deps.launcher.stop(runId, 'launch of the other segments failed');
    return { status: 'launch-failed', runId, message };
  }
  log.info('run started', { event: LogEvent.RunStarted, launched: launch.launched.length });
  return { status: 'started', runId, manifest: launchedManifest, launched: launch.launched.length };
}

/** Facts finish-run records of an ECS task that stopped. */
export interface SegmentStop {
  env: string;
  runId: string;
  segment: number;
  taskId: string;
  exitCode: number | null;
  stopCode: string | null;
  stoppedReason: string | null;
  /** Container-level reasons, such as `OutOfMemoryError: Container killed due to memory usage`. */
  containerReason: string | null;
  stoppedAtMs: number;
}

export interface FinishDeps extends FinalizeDeps {
  nowMs: () => number;
  /** Sends the run's notification; called once per run, by the first finalizer. */
  notify: (outcome: FinalizeOutcome) => Promise<void>;
  publishRunMetrics: (outcome: FinalizeOutcome) => Promise<void>;
  launcher: Launcher;
}



/**
 * Records a stopped task and finalizes the run when every segment has stopped.
 * Duplicate and out-of-order events are harmless: each segment's record is
 * overwritten with the same facts, and finalize notifies only once.
 */
export async function recordSegmentStop(deps: FinishDeps, stop: SegmentStop): Promise<{ finalized: boolean; outcome?: FinalizeOutcome }> {
  const log = deps.log.child({ runId: stop.runId, env: stop.env, segment: stop.segment });
  let manifest: RunManifest;
  try {
    manifest = await readManifest(deps.store, stop.env, stop.runId);
  } catch (error) {
    log.warn('stop event for an unknown run ignored', { error });
    return { finalized: false };
  }
  await deps.store.put(keys.segmentStop(stop.env, stop.runId, stop.segment), JSON.stringify(stop, null, 2), 'application/json');
  log.info('segment stop recorded', { event: LogEvent.SegmentFinished, exitCode: stop.exitCode, stopCode: stop.stopCode, stoppedReason: stop.stoppedReason });

  const allStopped = await everySegmentStopped(deps.store, manifest);
  const pastDeadline = deps.nowMs() > manifest.deadlineMs + SWEEP_GRACE_MS;
  if (!allStopped && !pastDeadline) return { finalized: false };
  return { finalized: true, outcome: await finalizeOnce(deps, manifest) };
}

async function everySegmentStopped(store: ResultStore, manifest: RunManifest): Promise<boolean> {
  const stopped = new Set(
    (await store.list(`${keys.run(manifest.env, manifest.runId)}stops/`)).map((key) => Number(key.slice(key.lastIndexOf('/') + 1).replace('.json', ''))),
  );
  return manifest.segments.every((segment) => stopped.has(segment.index));
}

/** Finalizes a run, releases its lock, and notifies and publishes when this call finalized first. */
export async function finalizeOnce(deps: FinishDeps, manifest: RunManifest): Promise<FinalizeOutcome> {
  const outcome = await finalizeRun(deps, manifest.env, manifest.runId);
  await releaseLock(deps.store, manifest.env, manifest.runId);
  if (outcome.first) {
    await deps.publishRunMetrics(outcome).catch((error) => deps.log.error('run metrics not published', { runId: manifest.runId, error }));
    await deps.notify(outcome).catch((error) => deps.log.error('notification failed', { event: LogEvent.NotificationFailed, runId: manifest.runId, error }));
  }
  return outcome;
}

/**
 * Finalizes the active run of an environment when it is past its deadline: its
 * stragglers are stopped first, and segments that never reported count as missing.
 * Before the deadline it finalizes only a run whose every segment has a recorded stop,
 * such as a launch in which no task started.
 */
export async function sweepEnvironment(deps: FinishDeps, env: string): Promise<FinalizeOutcome | null> {
  const bytes = await deps.store.get(keys.lock(env));
  if (bytes === undefined) return null;
  const lock = JSON.parse(Buffer.from(bytes).toString('utf8')) as LockBody;
  const pastDeadline = deps.nowMs() > lock.deadlineMs + SWEEP_GRACE_MS;

  const log = deps.log.child({ runId: lock.runId, env });
  let manifest: RunManifest;
  try {
    manifest = await readManifest(deps.store, env, lock.runId);
  } catch (error) {
    // Before the deadline the manifest may still be on its way, because start-run takes
    // the lock before it writes the manifest.
    if (!pastDeadline) return null;
    log.warn('stale lock without a manifest released', { error });
    await releaseLock(deps.store, env, lock.runId);
    return null;
  }
  if (!pastDeadline) {
    if (!(await everySegmentStopped(deps.store, manifest))) return null;
    log.info('finalizing a run whose every segment has stopped');
    return finalizeOnce(deps, manifest);
  }
  const unfinished: number[] = [];
  for (const segment of manifest.segments) {
    if ((await deps.store.get(keys.segmentResult(env, lock.runId, segment.index))) === undefined) unfinished.push(segment.index);
  }
  log.warn('run past its deadline: stopping stragglers and finalizing', { deadline: new Date(manifest.deadlineMs).toISOString(), unfinished });
  // finalize reports a deadline stop as a FAIL finding, which is wrong for a run whose
  // segments all wrote their results and only their stop events were lost.
  if (unfinished.length > 0) {
    const stop: StopRequest = { kind: 'deadline', reason: `The run passed its deadline (${new Date(manifest.deadlineMs).toISOString()}) and was finalized by the sweep`, atMs: deps.nowMs() };
    await deps.store.putIfAbsent(keys.stopRequest(env, lock.runId), JSON.stringify(stop), 'application/json');
  }
  await deps.launcher.stop(lock.runId, 'deadline passed');
  return finalizeOnce(deps, manifest);
}

/** Stops a run (the kill switch): records who stopped it and stops every task, so finish-run finalizes it as STOPPED. */
export async function stopRun(deps: { store: ResultStore; launcher: Launcher; log: Log; nowMs: () => number }, env: string, runId: string, reason: string): Promise<{ stopped: boolean; message: string }> {
  await readManifest(deps.store, env, runId);
  // A stop request written after the verdict would turn the report into STOPPED at the next
  // finalize, run by a late duplicate event or `soak finalize`, unlike the notification sent.
  if ((await deps.store.get(keys.finalized(env, runId))) !== undefined) {
    await deps.launcher.stop(runId, reason);
    deps.log.info('stop of a finalized run: no stop request written', { runId, env, reason });
    return { stopped: false, message: `Run ${runId} is already finalized and its report stays as it is. Any of its tasks still running were asked to stop.` };
  }
  const stop: StopRequest = { kind: 'person', reason, atMs: deps.nowMs() };
  const created = await deps.store.putIfAbsent(keys.stopRequest(env, runId), JSON.stringify(stop), 'application/json');
  await deps.launcher.stop(runId, reason);
  deps.log.info('stop requested', { event: LogEvent.StopRequested, runId, env, reason });
  return { stopped: true, message: created ? `Stopping every task of ${runId}.` : `A stop of ${runId} was already requested; its tasks were asked to stop again.` };
}
