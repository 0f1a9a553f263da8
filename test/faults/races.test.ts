/**
 * Duplicate, late and out-of-order completion events and finalizers that race.
 * Whatever the order, a run gets one report and one notification. The races run on
 * the folder store's exclusive create (hard links), on the SDK mock's S3 responses
 * (412 PreconditionFailed and 409 ConditionalRequestConflict, which s3rver never
 * returns), and between two `soak finalize` processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { S3ResultStore } from '../../adapters/aws/s3-result-store.js';
import { finalizeRun, type FinalizeOutcome } from '../../core/finalize.js';
import { recordSegmentStop, type FinishDeps, type SegmentStop } from '../../core/lifecycle.js';
import { silentLog } from '../../core/log.js';
import { keys, type Launcher, type ResultStore } from '../../core/ports.js';
import { aggregateLines, mockBucket, s3Error, seedManifest, segmentResult, storeResult, storeWindows, trafficLines } from '../support/fault-kit.js';
import { runSoak } from '../support/soak-cli.js';

const START_MS = Date.UTC(2026, 0, 1, 4, 0, 0);

/** Stores a finished two-segment run that nothing has finalized yet. */
async function seedFinishedRun(store: ResultStore, runId: string, env = 'local'): Promise<void> {
  const manifest = await seedManifest(store, { runId, env, rate: 10, durationS: 60, segments: 2, createdAtMs: START_MS });
  for (const segment of [0, 1]) {
    const records = aggregateLines(trafficLines({ startMs: START_MS, seconds: 60, perSecond: 5 }), { runId, segment });
    await storeWindows(store, manifest, segment, records);
    await storeResult(store, segmentResult(manifest, segment, records), env);
  }
}

function folder(): FolderResultStore {
  return new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-races-')));
}

const idleLauncher: Launcher = {
  launch: async () => ({ launched: [], failed: [] }),
  stop: async () => undefined,
};

function finishDeps(store: ResultStore, notified: FinalizeOutcome[]): FinishDeps {
  return {
    store,
    log: silentLog,
    nowMs: () => START_MS + 120_000,
    launcher: idleLauncher,
    notify: async (outcome) => {
      notified.push(outcome);
    },
    publishRunMetrics: async () => undefined,
  };
}

function stopEvent(runId: string, segment: number, env = 'local'): SegmentStop {
  return { env, runId, segment, taskId: `arn:aws:ecs:eu-west-1:123456789012:task/soak/${segment}`, exitCode: 0, stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containerReason: null, stoppedAtMs: START_MS + 65_000 };
}

describe('finalizers racing', { concurrency: 3 }, () => {
  test('folder store: eight finalizers, one first', async () => {
    const store = folder();
    await seedFinishedRun(store, 'race-folder');
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => finalizeRun({ store, log: silentLog }, 'local', 'race-folder')));
    assert.equal(outcomes.filter((outcome) => outcome.first).length, 1);
    for (const outcome of outcomes) assert.deepEqual(outcome.report, outcomes[0]!.report);
    assert.equal(JSON.parse(readFileSync(join(store.root, keys.finalized('local', 'race-folder')), 'utf8')).verdict, outcomes[0]!.report.verdict);
  });

  test('S3 conditional writes: five finalizers, one first', async () => {
    const client = new S3Client({ region: 'eu-west-1' });
    let conflicts = 0;
    // The first two create-only writes of the marker meet a concurrent write (409), which S3 can return.
    const bucket = mockBucket(client, (command, key, createOnly) => {
      if (command !== 'PutObject' || !createOnly || !key.endsWith('finalized.json') || conflicts >= 2) return undefined;
      conflicts += 1;
      return s3Error('ConditionalRequestConflict', 409);
    });
    try {
      const store = new S3ResultStore(client, { bucket: 'soak-results', prefix: 'soak', conflictBaseDelayMs: 5 });
      await seedFinishedRun(store, 'race-s3');
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => finalizeRun({ store, log: silentLog }, 'local', 'race-s3')));
      assert.equal(conflicts, 2);
      assert.equal(outcomes.filter((outcome) => outcome.first).length, 1);
      assert.ok(bucket.objects.has('soak/runs/local/race-s3/report.json'));
    } finally {
      bucket.restore();
    }
  });

  test('two soak finalize processes notify once', async () => {
    const store = folder();
    await seedFinishedRun(store, 'race-cli');
    const [first, second] = await Promise.all([
      runSoak(['finalize', '--results', store.root, 'race-cli']),
      runSoak(['finalize', '--results', store.root, 'race-cli']),
    ]);
    assert.equal(first.code, second.code, first.stderr + second.stderr);
    const notifications = [first, second].filter((run) => run.stdout.includes('--- notification')).length;
    assert.equal(notifications, 1);
  });
});

describe('completion events', { concurrency: 2 }, () => {
  for (const kind of ['folder', 's3'] as const) {
    test(`${kind}: duplicate and out-of-order events notify once`, async () => {
      const client = new S3Client({ region: 'eu-west-1' });
      const bucket = kind === 's3' ? mockBucket(client) : null;
      try {
        const store: ResultStore = kind === 's3' ? new S3ResultStore(client, { bucket: 'soak-results' }) : folder();
        const runId = `events-${kind}`;
        await seedFinishedRun(store, runId);
        const notified: FinalizeOutcome[] = [];
        const deps = finishDeps(store, notified);

        // Segment 1 reports before segment 0, and each event arrives twice at once.
        const results = await Promise.all([1, 0, 1, 0].map((segment) => recordSegmentStop(deps, stopEvent(runId, segment))));
        assert.ok(results.some((result) => result.finalized), 'the last stop finalizes the run');
        assert.equal(notified.length, 1);

        // A late duplicate after the run is finalized changes nothing.
        const late = await recordSegmentStop(deps, stopEvent(runId, 0));
        assert.equal(late.outcome?.first, false);
        assert.equal(notified.length, 1);
        assert.equal(late.outcome?.report.verdict, notified[0]!.report.verdict);
      } finally {
        bucket?.restore();
      }
    });
  }

  test('stop of an unknown run is ignored', async () => {
    const store = folder();
    const notified: FinalizeOutcome[] = [];
    const result = await recordSegmentStop(finishDeps(store, notified), stopEvent('no-such-run', 0));
    assert.equal(result.finalized, false);
    assert.deepEqual(await store.list('runs/'), []);
  });
});
