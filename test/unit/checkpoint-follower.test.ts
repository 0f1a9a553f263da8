import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { encodeWindows } from '../../core/checkpoint.js';
import { CheckpointFollower } from '../../core/checkpoint-follower.js';
import { keys, type ResultStore } from '../../core/ports.js';
import type { WindowRecord } from '../../core/schemas.js';
import { WindowAggregator } from '../../core/windows.js';

const ENV = 'test';
const RUN_ID = 'follower-run';
const BASE_MS = Date.parse('2026-12-05T01:00:00Z');
const MINUTE_MS = 60_000;

/** A folder store that records each list call's prefix and start key. */
class CountingStore extends FolderResultStore {
  readonly lists: { prefix: string; startAfter: string | undefined }[] = [];

  override async list(prefix: string, startAfter?: string): Promise<string[]> {
    this.lists.push({ prefix, startAfter });
    return super.list(prefix, startAfter);
  }
}

/** Builds one 10-second window of a segment. Its iteration count identifies the checkpoint. */
function window(segment: number, startMs: number, iterations: number): WindowRecord {
  const aggregator = new WindowAggregator({ runId: RUN_ID, segment });
  aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name: 'iterations', type: 'counter', contains: 'default', thresholds: [] }, metric: 'iterations' }));
  aggregator.addPoint('iterations', startMs, iterations, '{}');
  const records = aggregator.closeAll();
  assert.equal(records.length, 1);
  return records[0]!;
}

async function storeCheckpoint(store: ResultStore, segment: number, seq: number): Promise<void> {
  const records = [window(segment, BASE_MS + seq * MINUTE_MS, 100 * (segment + 1) + seq)];
  await store.put(keys.windows(ENV, RUN_ID, segment, seq), encodeWindows(records), 'application/gzip');
}

/** Calls readNew and returns every record it passed on. */
async function readAll(follower: CheckpointFollower, nowMs: number): Promise<WindowRecord[]> {
  const records: WindowRecord[] = [];
  const checkpoints = await follower.readNew((batch) => records.push(...batch), nowMs);
  assert.ok(checkpoints <= records.length, `${checkpoints} checkpoints gave ${records.length} records`);
  return records;
}

function newFollower(store: ResultStore, segments: number[]): CheckpointFollower {
  return new CheckpointFollower({ store, env: ENV, runId: RUN_ID, segments, checkpointEveryMs: MINUTE_MS });
}

describe('CheckpointFollower', () => {
  it('reads each checkpoint once', async () => {
    const store = new CountingStore(mkdtempSync(join(tmpdir(), 'soak-follower-')));
    const follower = newFollower(store, [0, 1]);
    await storeCheckpoint(store, 0, 0);
    await storeCheckpoint(store, 1, 0);
    const first = await readAll(follower, BASE_MS);
    assert.deepEqual(first.map((record) => [record.segment, record.iterations]).sort(), [
      [0, 100],
      [1, 200],
    ]);

    await storeCheckpoint(store, 1, 1);
    const second = await readAll(follower, BASE_MS + MINUTE_MS);
    assert.deepEqual(second.map((record) => [record.segment, record.iterations]), [[1, 201]]);
    assert.deepEqual(await readAll(follower, BASE_MS + 2 * MINUTE_MS), []);
  });

  it('lists each segment after its last key', async () => {
    const store = new CountingStore(mkdtempSync(join(tmpdir(), 'soak-follower-')));
    const follower = newFollower(store, [0, 1]);
    await storeCheckpoint(store, 0, 0);
    await storeCheckpoint(store, 1, 0);
    await readAll(follower, BASE_MS);
    await storeCheckpoint(store, 0, 1);
    await readAll(follower, BASE_MS + MINUTE_MS);

    assert.ok(store.lists.every((call) => /\/segments\/[01]\/windows\/$/.test(call.prefix)), JSON.stringify(store.lists));
    const laterCalls = store.lists.slice(2);
    assert.deepEqual(laterCalls.find((call) => call.prefix.includes('/segments/0/'))?.startAfter, keys.windows(ENV, RUN_ID, 0, 0));
  });

  it('waits before listing a segment again', async () => {
    const store = new CountingStore(mkdtempSync(join(tmpdir(), 'soak-follower-')));
    const follower = newFollower(store, [0]);
    await storeCheckpoint(store, 0, 0);
    await readAll(follower, BASE_MS);
    assert.equal(follower.listCalls, 1);

    // Polls every 10 s: the segment's folder is not listed until 48 s after its last checkpoint.
    for (let seconds = 10; seconds <= 40; seconds += 10) await readAll(follower, BASE_MS + seconds * 1000);
    assert.equal(follower.listCalls, 1);

    await readAll(follower, BASE_MS + 50_000);
    assert.equal(follower.listCalls, 2);
    // Nothing new yet, so the next poll lists again.
    await readAll(follower, BASE_MS + 60_000);
    assert.equal(follower.listCalls, 3);
  });

  it('follows a skipped checkpoint number', async () => {
    // A write whose response was lost takes its number; the batch goes under the next.
    const store = new CountingStore(mkdtempSync(join(tmpdir(), 'soak-follower-')));
    const follower = newFollower(store, [0]);
    await storeCheckpoint(store, 0, 0);
    await storeCheckpoint(store, 0, 2);
    const records = await readAll(follower, BASE_MS);
    assert.deepEqual(
      records.map((record) => record.iterations),
      [100, 102],
    );
  });

  it('ignores other objects in the folder', async () => {
    const store = new CountingStore(mkdtempSync(join(tmpdir(), 'soak-follower-')));
    const follower = newFollower(store, [0]);
    await storeCheckpoint(store, 0, 0);
    await store.put(keys.rollups(ENV, RUN_ID, 0, 0), Buffer.from('not windows'), 'application/gzip');
    await store.put(`${keys.windowsPrefix(ENV, RUN_ID, 0)}notes.txt`, 'not a checkpoint', 'text/plain');
    const records = await readAll(follower, BASE_MS);
    assert.deepEqual(
      records.map((record) => record.iterations),
      [100],
    );
  });
});
