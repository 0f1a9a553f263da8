/**
 * The run lifecycle (core/lifecycle.ts) on a real FolderResultStore in a temporary
 * folder, with a launcher that starts nothing and a clock the tests move.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { parseEnvConfig } from '../../core/config.js';
import { RunNotFoundError, type FinalizeOutcome } from '../../core/finalize.js';
import {
  recordSegmentStop,
  startRun,
  stopRun,
  sweepEnvironment,
  SWEEP_GRACE_MS,
  type FinishDeps,
  type SegmentStop,
  type StartDeps,
} from '../../core/lifecycle.js';
import { silentLog } from '../../core/log.js';
import { CLI_FIELD_NAMES } from '../../core/plan.js';
import { keys, type ResultStore } from '../../core/ports.js';
import type { RunManifest } from '../../core/schemas.js';
import { RecordingLauncher, taskArnFor } from '../support/recording-launcher.js';
import { writeSegmentData } from '../support/run-data.js';

const ENV = 'staging';
const START_MS = Date.UTC(2026, 11, 5, 1, 0, 0);
const SCHEDULED_LABELS = { trigger: 'schedule', scheduledTime: '2026-12-05T01:00:00Z' };
const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';

const config = parseEnvConfig(
  {
    targetAllowlist: ['api.staging.example.com'],
    limits: { maxRate: 100, maxDurationS: 3600, maxSegments: 8 },
  },
  null,
);

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

interface Harness {
  store: FolderResultStore;
  launcher: RecordingLauncher;
  clock: { nowMs: number };
  notified: FinalizeOutcome[];
  published: FinalizeOutcome[];
  startDeps: StartDeps;
  finishDeps: FinishDeps;
}

function harness(): Harness {
  const folder = mkdtempSync(join(tmpdir(), 'soak-lifecycle-'));
  folders.push(folder);
  const store = new FolderResultStore(folder);
  const launcher = new RecordingLauncher();
  const clock = { nowMs: START_MS };
  const nowMs = () => clock.nowMs;
  const notified: FinalizeOutcome[] = [];
  const published: FinalizeOutcome[] = [];
  return {
    store,
    launcher,
    clock,
    notified,
    published,
    startDeps: { store, launcher, log: silentLog, nowMs, bundledScenarios: ['sigil'] },
    finishDeps: {
      store,
      launcher,
      log: silentLog,
      nowMs,
      notify: async (outcome) => {
        notified.push(outcome);
      },
      publishRunMetrics: async (outcome) => {
        published.push(outcome);
      },
    },
  };
}

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { env: ENV, target: 'https://api.staging.example.com', scenario: 'sigil', rate: 4, durationS: 60, segments: 2, ...overrides };
}

async function startedRun(h: Harness, overrides: Record<string, unknown> = {}): Promise<RunManifest> {
  const outcome = await startRun(h.startDeps, request(overrides), config);
  assert.equal(outcome.status, 'started', JSON.stringify(outcome));
  if (outcome.status !== 'started') throw new Error('unreachable');
  return outcome.manifest;
}

/** Builds the facts finish-run takes from the ECS event of a task that ended on its own. */
function stopOf(manifest: RunManifest, segment: number, facts: Partial<SegmentStop> = {}): SegmentStop {
  return {
    env: manifest.env,
    runId: manifest.runId,
    segment,
    taskId: taskArnFor(manifest.runId, segment),
    exitCode: 0,
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    containerReason: null,
    stoppedAtMs: START_MS + 120_000,
    ...facts,
  };
}

async function readJson(store: ResultStore, key: string): Promise<any> {
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : JSON.parse(Buffer.from(bytes).toString('utf8'));
}

/** Stores a full minute of data for every segment, as a run that went to plan leaves it. */
async function completeSegments(h: Harness, manifest: RunManifest): Promise<void> {
  for (const plan of manifest.segments) await writeSegmentData(h.store, manifest, plan.index, { startMs: START_MS + 60_000 });
}

describe('startRun', () => {
  test('scheduled run id comes from scheduledTime', async () => {
    const manifest = await startedRun(harness(), { labels: SCHEDULED_LABELS });
    assert.equal(manifest.runId, 'nightly-20261205T010000Z');
  });

  test('duplicate scheduled delivery is a duplicate', async () => {
    const h = harness();
    await startedRun(h, { labels: SCHEDULED_LABELS });
    h.clock.nowMs += 30_000;
    const second = await startRun(h.startDeps, request({ labels: SCHEDULED_LABELS }), config);
    assert.equal(second.status, 'duplicate');
  });

  test('duplicate scheduled delivery launches once', async () => {
    const h = harness();
    await startedRun(h, { labels: SCHEDULED_LABELS });
    await startRun(h.startDeps, request({ labels: SCHEDULED_LABELS }), config);
    assert.equal(h.launcher.launches.length, 1);
  });

  test('concurrent duplicate deliveries launch once', async () => {
    const h = harness();
    const outcomes = await Promise.all([
      startRun(h.startDeps, request({ labels: SCHEDULED_LABELS }), config),
      startRun(h.startDeps, request({ labels: SCHEDULED_LABELS }), config),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['duplicate', 'started']);
    assert.equal(h.launcher.launches.length, 1);
  });

  test('concurrent duplicate delivery keeps the lock', async () => {
    const h = harness();
    await Promise.all([
      startRun(h.startDeps, request({ labels: SCHEDULED_LABELS }), config),
      startRun(h.startDeps, request({ labels: SCHEDULED_LABELS }), config),
    ]);
    const lock = await readJson(h.store, keys.lock(ENV));
    assert.equal(lock?.runId, 'nightly-20261205T010000Z');
  });

  test('second run of an env is locked', async () => {
    const h = harness();
    await startedRun(h);
    const second = await startRun(h.startDeps, request(), config);
    assert.equal(second.status, 'locked');
  });

  test('locked outcome names the active run', async () => {
    const h = harness();
    const first = await startedRun(h);
    const second = await startRun(h.startDeps, request(), config);
    assert.ok(second.status === 'locked');
    assert.equal(second.activeRunId, first.runId);
    assert.match(second.message, new RegExp(`active run: ${first.runId}.*soak stop --env staging ${first.runId}`));
  });

  test('locked start launches nothing', async () => {
    const h = harness();
    await startedRun(h);
    await startRun(h.startDeps, request(), config);
    assert.equal(h.launcher.launches.length, 1);
  });

  test('stale lock is taken over after the deadline', async () => {
    const h = harness();
    const first = await startedRun(h);
    h.clock.nowMs = first.deadlineMs + 1;
    const second = await startedRun(h);
    const lock = await readJson(h.store, keys.lock(ENV));
    assert.equal(lock.runId, second.runId);
    assert.notEqual(second.runId, first.runId);
  });

  test('rate above the limit is rejected', async () => {
    const outcome = await startRun(harness().startDeps, request({ rate: 500 }), config);
    assert.ok(outcome.status === 'rejected');
    assert.match(outcome.problems.join('\n'), /^rate: 500 is above the limit of env "staging"; allowed 1\.\.100$/m);
  });

  test('host outside the allowlist is rejected', async () => {
    const outcome = await startRun(harness().startDeps, request({ target: 'https://api.example.org' }), config);
    assert.ok(outcome.status === 'rejected');
    assert.match(outcome.problems.join('\n'), /^target: host "api\.example\.org" is not in the allowlist of env "staging" \(api\.staging\.example\.com\)/m);
  });

  test('unknown scenario is rejected', async () => {
    const outcome = await startRun(harness().startDeps, request({ scenario: 'checkout' }), config);
    assert.ok(outcome.status === 'rejected');
    assert.match(outcome.problems.join('\n'), /^scenario: "checkout" is not a scenario of the load-generator image; available: sigil$/m);
  });

  test('rejection names fields as the caller spelled them', async () => {
    const outcome = await startRun(harness().startDeps, request({ rate: 500, target: 'https://api.example.org' }), config, CLI_FIELD_NAMES);
    assert.ok(outcome.status === 'rejected');
    assert.deepEqual(
      outcome.problems.map((problem) => problem.slice(0, problem.indexOf(':'))),
      ['--rate', '--target'],
    );
  });

  test('rejected request writes nothing', async () => {
    const h = harness();
    await startRun(h.startDeps, request({ rate: 500 }), config);
    assert.deepEqual(await h.store.list(''), []);
  });

  test('dry run writes nothing', async () => {
    const h = harness();
    const outcome = await startRun(h.startDeps, request({ dryRun: true }), config);
    assert.equal(outcome.status, 'planned');
    assert.deepEqual(await h.store.list(''), []);
  });

  test('dry run launches nothing', async () => {
    const h = harness();
    await startRun(h.startDeps, request({ dryRun: true }), config);
    assert.equal(h.launcher.launches.length, 0);
  });

  test('started run records its tasks in the manifest', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    const stored = await readJson(h.store, keys.manifest(ENV, manifest.runId));
    assert.equal(stored.state, 'running');
    assert.deepEqual(
      stored.launched.map((entry: { segment: number; taskId: string }) => [entry.segment, entry.taskId]),
      [
        [0, taskArnFor(manifest.runId, 0)],
        [1, taskArnFor(manifest.runId, 1)],
      ],
    );
  });
});

describe('partial launch failure', () => {
  const ENI_FAILURE = 'RESOURCE:ENI: no free addresses in subnet-0a1b2c3d4e5f60718';

  async function failedLaunch(h: Harness): Promise<{ runId: string; message: string }> {
    h.launcher.failures.set(1, ENI_FAILURE);
    const outcome = await startRun(h.startDeps, request({ segments: 3, rate: 6 }), config);
    assert.ok(outcome.status === 'launch-failed', JSON.stringify(outcome));
    return outcome;
  }

  test('failed segment makes the start launch-failed', async () => {
    const outcome = await failedLaunch(harness());
    assert.match(outcome.message, /^1 of 3 segments could not be launched \(segment 1: RESOURCE:ENI: no free addresses/);
  });

  test('launch failure stops the launched tasks', async () => {
    const h = harness();
    const { runId } = await failedLaunch(h);
    assert.deepEqual(h.launcher.stops.map((stop) => stop.runId), [runId]);
  });

  test('launch failure writes run-error.json', async () => {
    const h = harness();
    const { runId } = await failedLaunch(h);
    const runError = await readJson(h.store, keys.runError(ENV, runId));
    assert.equal(runError.code, 'LAUNCH_FAILED');
  });

  test('stops of the launched segments finalize as ERROR', async () => {
    const h = harness();
    const { runId } = await failedLaunch(h);
    const manifest = await readJson(h.store, keys.manifest(ENV, runId));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0, { exitCode: 3, stopCode: 'UserInitiated', stoppedReason: 'launch of the other segments failed' }));
    const last = await recordSegmentStop(h.finishDeps, stopOf(manifest, 2, { exitCode: 3, stopCode: 'UserInitiated', stoppedReason: 'launch of the other segments failed' }));
    assert.equal(last.outcome?.report.verdict, 'ERROR');
    assert.equal(last.outcome?.report.reasons[0]?.code, 'LAUNCH_FAILED');
  });

  test('report names the segment that never launched', async () => {
    const h = harness();
    const { runId } = await failedLaunch(h);
    const manifest = await readJson(h.store, keys.manifest(ENV, runId));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    const last = await recordSegmentStop(h.finishDeps, stopOf(manifest, 2));
    const missing = last.outcome?.report.reasons.find((reason) => reason.code === 'SEGMENT_MISSING' && reason.message.startsWith('Segment 1 '));
    assert.match(missing?.message ?? '', /^Segment 1 \(1\/3:2\/3\) never reported a result \(its task stopped: never launched: RESOURCE:ENI: no free addresses/);
  });

  test('launch-failed run notifies once', async () => {
    const h = harness();
    const { runId } = await failedLaunch(h);
    const manifest = await readJson(h.store, keys.manifest(ENV, runId));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 2));
    assert.equal(h.notified.length, 1);
  });

  test('launch-failed run releases the lock once finalized', async () => {
    const h = harness();
    const { runId } = await failedLaunch(h);
    const manifest = await readJson(h.store, keys.manifest(ENV, runId));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 2));
    assert.equal(await h.store.get(keys.lock(ENV)), undefined);
  });

  test('run with no launched task is finalized by the next sweep', async () => {
    const h = harness();
    h.launcher.failures = new Map([
      [0, ENI_FAILURE],
      [1, ENI_FAILURE],
    ]);
    const outcome = await startRun(h.startDeps, request(), config);
    assert.equal(outcome.status, 'launch-failed');
    h.clock.nowMs += 5 * 60_000;
    const swept = await sweepEnvironment(h.finishDeps, ENV);
    assert.equal(swept?.report.reasons[0]?.code, 'LAUNCH_FAILED');
  });
});

describe('recordSegmentStop', () => {
  async function runWithData(h: Harness): Promise<RunManifest> {
    const manifest = await startedRun(h);
    await completeSegments(h, manifest);
    h.clock.nowMs = START_MS + 125_000;
    return manifest;
  }

  test('last stop finalizes the run as PASS', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    const last = await recordSegmentStop(h.finishDeps, stopOf(manifest, 1));
    assert.equal(last.outcome?.report.verdict, 'PASS');
    assert.equal(last.outcome?.first, true);
  });

  test('first of two stops does not finalize', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    const first = await recordSegmentStop(h.finishDeps, stopOf(manifest, 1));
    assert.equal(first.finalized, false);
    assert.equal(await h.store.get(keys.report(ENV, manifest.runId)), undefined);
  });

  test('stop is stored with its ECS facts', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    const stop = stopOf(manifest, 1, { exitCode: 137, containerReason: OOM_REASON });
    await recordSegmentStop(h.finishDeps, stop);
    assert.deepEqual(await readJson(h.store, keys.segmentStop(ENV, manifest.runId, 1)), stop);
  });

  test('out-of-order and duplicate stops finalize once', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    const results = [];
    for (const segment of [1, 1, 0, 0, 1]) results.push(await recordSegmentStop(h.finishDeps, stopOf(manifest, segment)));
    assert.equal(results.filter((result) => result.outcome?.first === true).length, 1);
    assert.equal(h.notified.length, 1);
  });

  test('out-of-order and duplicate stops publish metrics once', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    for (const segment of [1, 0, 1, 0]) await recordSegmentStop(h.finishDeps, stopOf(manifest, segment));
    assert.equal(h.published.length, 1);
  });

  test('concurrent last stops notify once', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    await Promise.all([recordSegmentStop(h.finishDeps, stopOf(manifest, 0)), recordSegmentStop(h.finishDeps, stopOf(manifest, 1))]);
    assert.equal(h.notified.length, 1);
  });

  test('concurrent duplicate stops after both ended notify once', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    await Promise.all([
      recordSegmentStop(h.finishDeps, stopOf(manifest, 1)),
      recordSegmentStop(h.finishDeps, stopOf(manifest, 1)),
      recordSegmentStop(h.finishDeps, stopOf(manifest, 0)),
    ]);
    assert.equal(h.notified.length, 1);
  });

  test('finalize writes the marker with the verdict', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 1));
    assert.equal((await readJson(h.store, keys.finalized(ENV, manifest.runId))).verdict, 'PASS');
  });

  test('finalize releases the lock', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 1));
    assert.equal(await h.store.get(keys.lock(ENV)), undefined);
  });

  test('failed notification still finalizes', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    h.finishDeps.notify = async () => {
      throw new Error('Slack unreachable');
    };
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    const last = await recordSegmentStop(h.finishDeps, stopOf(manifest, 1));
    assert.equal(last.outcome?.first, true);
  });

  test('stop of an unknown run is ignored', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    const result = await recordSegmentStop(h.finishDeps, { ...stopOf(manifest, 0), runId: 'run-20261204T010000Z-abcdef' });
    assert.equal(result.finalized, false);
    assert.deepEqual(await h.store.list('runs/staging/run-20261204T010000Z-abcdef/'), []);
  });

  test('stop past the deadline finalizes without the others', async () => {
    const h = harness();
    const manifest = await runWithData(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    const result = await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    assert.equal(result.finalized, true);
  });
});

describe('sweepEnvironment', () => {
  /**
   * Segment 1 was killed for memory after 20 s and wrote no result. Segment 0 stored its
   * windows but its task never stopped, so only segment 1's stop event arrived.
   */
  async function stragglerRun(h: Harness): Promise<RunManifest> {
    const manifest = await startedRun(h);
    await writeSegmentData(h.store, manifest, 0, { startMs: START_MS + 60_000, writeResult: false });
    await writeSegmentData(h.store, manifest, 1, { startMs: START_MS + 60_000, seconds: 20, writeResult: false });
    h.clock.nowMs = START_MS + 90_000;
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 1, { exitCode: 137, containerReason: OOM_REASON }));
    return manifest;
  }

  test('sweep before the deadline does nothing', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS;
    assert.equal(await sweepEnvironment(h.finishDeps, ENV), null);
    assert.deepEqual(h.launcher.stops, []);
  });

  test('sweep of an env without a run does nothing', async () => {
    assert.equal(await sweepEnvironment(harness().finishDeps, ENV), null);
  });

  test('sweep stops the stragglers', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    await sweepEnvironment(h.finishDeps, ENV);
    assert.deepEqual(h.launcher.stops, [{ runId: manifest.runId, reason: 'deadline passed' }]);
  });

  test('sweep finalizes a straggler run as INCOMPLETE', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    const outcome = await sweepEnvironment(h.finishDeps, ENV);
    assert.equal(outcome?.report.verdict, 'INCOMPLETE');
  });

  test('sweep names the killed segment and its ECS stop', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    const outcome = await sweepEnvironment(h.finishDeps, ENV);
    const missing = outcome?.report.reasons.find((reason) => reason.code === 'SEGMENT_MISSING' && reason.message.startsWith('Segment 1 '));
    assert.match(missing?.message ?? '', /exit code 137, EssentialContainerExited, Essential container in task exited, OutOfMemoryError: Container killed due to memory usage/);
  });

  test('sweep says when no stop was recorded', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    const outcome = await sweepEnvironment(h.finishDeps, ENV);
    const missing = outcome?.report.reasons.find((reason) => reason.code === 'SEGMENT_MISSING' && reason.message.startsWith('Segment 0 '));
    assert.match(missing?.message ?? '', /no task stop was recorded/);
  });

  test('sweep records the deadline as the stop request', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    await sweepEnvironment(h.finishDeps, ENV);
    assert.equal((await readJson(h.store, keys.stopRequest(ENV, manifest.runId))).kind, 'deadline');
  });

  test('repeated sweeps notify once', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    await sweepEnvironment(h.finishDeps, ENV);
    h.clock.nowMs += 5 * 60_000;
    await sweepEnvironment(h.finishDeps, ENV);
    assert.equal(h.notified.length, 1);
  });

  test('late stop after the sweep does not notify again', async () => {
    const h = harness();
    const manifest = await stragglerRun(h);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    await sweepEnvironment(h.finishDeps, ENV);
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0, { exitCode: 3, stopCode: 'UserInitiated', stoppedReason: 'deadline passed' }));
    assert.equal(h.notified.length, 1);
  });

  test('sweep of a finished run with lost events keeps its verdict', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    await completeSegments(h, manifest);
    h.clock.nowMs = manifest.deadlineMs + SWEEP_GRACE_MS + 1;
    const outcome = await sweepEnvironment(h.finishDeps, ENV);
    assert.equal(outcome?.report.verdict, 'PASS');
  });

  test('sweep releases a stale lock without a manifest', async () => {
    const h = harness();
    await h.store.put(keys.lock(ENV), JSON.stringify({ runId: 'run-20261204T010000Z-abcdef', deadlineMs: START_MS, acquiredAtMs: START_MS - 3_600_000 }));
    h.clock.nowMs = START_MS + SWEEP_GRACE_MS + 1;
    assert.equal(await sweepEnvironment(h.finishDeps, ENV), null);
    assert.equal(await h.store.get(keys.lock(ENV)), undefined);
  });
});

describe('stopRun', () => {
  const REASON = 'target deploy at 02:00, stopped by on-call';

  test('stop writes a stop request by a person', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    await stopRun(h.startDeps, ENV, manifest.runId, REASON);
    const stop = await readJson(h.store, keys.stopRequest(ENV, manifest.runId));
    assert.deepEqual(stop, { kind: 'person', reason: REASON, atMs: START_MS });
  });

  test('stop asks the launcher to stop every task', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    await stopRun(h.startDeps, ENV, manifest.runId, REASON);
    assert.deepEqual(h.launcher.stops, [{ runId: manifest.runId, reason: REASON }]);
  });

  test('stopped run finalizes as STOPPED', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    for (const plan of manifest.segments) {
      await writeSegmentData(h.store, manifest, plan.index, { startMs: START_MS + 60_000, seconds: 20, stopReason: 'stopped', detail: 'stopped by SIGTERM' });
    }
    h.clock.nowMs = START_MS + 85_000;
    await stopRun(h.startDeps, ENV, manifest.runId, REASON);
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0, { exitCode: 3, stopCode: 'UserInitiated', stoppedReason: REASON }));
    const last = await recordSegmentStop(h.finishDeps, stopOf(manifest, 1, { exitCode: 3, stopCode: 'UserInitiated', stoppedReason: REASON }));
    assert.equal(last.outcome?.report.verdict, 'STOPPED');
    assert.equal(last.outcome?.report.reasons[0]?.message, `Stopped by a person: ${REASON}.`);
  });

  test('second stop reports the earlier request', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    await stopRun(h.startDeps, ENV, manifest.runId, REASON);
    const second = await stopRun(h.startDeps, ENV, manifest.runId, 'again');
    assert.match(second.message, /already requested/);
  });

  test('stop of an unknown run raises RunNotFoundError', async () => {
    await assert.rejects(stopRun(harness().startDeps, ENV, 'run-20261204T010000Z-abcdef', REASON), RunNotFoundError);
  });

  test('stop of a finalized run changes nothing', async () => {
    const h = harness();
    const manifest = await startedRun(h);
    await completeSegments(h, manifest);
    h.clock.nowMs = START_MS + 125_000;
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 0));
    await recordSegmentStop(h.finishDeps, stopOf(manifest, 1));
    const result = await stopRun(h.startDeps, ENV, manifest.runId, REASON);
    assert.equal(result.stopped, false);
    assert.equal(await h.store.get(keys.stopRequest(ENV, manifest.runId)), undefined);
  });
});
