/**
 * Faults inside one segment, with SegmentRunner in this process so that its result
 * store can fail on purpose: a store that fails for a while, a write whose response
 * was lost, a store that stays down through the end, S3 answering 503 SlowDown, and
 * a straggler past the run's deadline. k6 is the test double replaying a real k6
 * v1.3.0 recording (or, for the straggler, a stand-in that ignores SIGTERM).
 *
 * To keep each run near 12 s, the runner gets 2-second windows and checkpoints every
 * 2 s instead of the production 10 s and 10..600 s; checkpointing does not depend on
 * those lengths. Where retries should not wait, Math.random is pinned to 0, which
 * makes the full-jitter backoff of core/retry.ts zero.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, mock, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { S3ResultStore } from '../../adapters/aws/s3-result-store.js';
import { parseEnvConfig, type EnvConfig } from '../../core/config.js';
import { buildReport, finalizeRun } from '../../core/finalize.js';
import { silentLog } from '../../core/log.js';
import { keys, type Log, type ResultStore } from '../../core/ports.js';
import { decodeRollups } from '../../core/rollup.js';
import type { RunManifest, WindowRecord } from '../../core/schemas.js';
import { SegmentRunner } from '../../task/segment-runner.js';
import { FAKE_K6_PATH } from '../support/fake-k6.js';
import { FaultyStore, memoryLog, mockBucket, s3Error, seedManifest, storedWindows, type FaultAction } from '../support/fault-kit.js';
import { ROOT } from '../support/soak-cli.js';

const STUBBORN_K6 = fileURLToPath(new URL('./fixtures/stubborn-k6.mjs', import.meta.url));

// SegmentRunner builds k6's environment from scratch and passes these names through.
process.env.SOAK_K6_PASS_ENV = 'FAKE_K6_CASE,FAKE_K6_LOOP_S';
process.env.FAKE_K6_CASE = 'pass';
process.env.FAKE_K6_LOOP_S = '12';

function fastConfig(manifest: RunManifest): EnvConfig {
  const config = parseEnvConfig(manifest.config, 'manifest');
  // 2-second windows: see the file header.
  return { ...config, windows: { ...config.windows, lengthS: 2 as 10, graceS: 1, checkpointEveryS: 2 } };
}

interface SegmentRun {
  manifest: RunManifest;
  /** Every window the runner closed, in order, from its progress stream. */
  emitted: WindowRecord[];
  runner: SegmentRunner;
}

async function newRun(store: ResultStore, options: { runId: string; bundled?: boolean; deadlineMs?: number }): Promise<RunManifest> {
  const folder = store instanceof FaultyStore ? store.inner : store;
  const manifest = await seedManifest(folder, { runId: options.runId, durationS: 10, rate: 100, bundled: options.bundled });
  if (options.deadlineMs === undefined) return manifest;
  const late = { ...manifest, deadlineMs: options.deadlineMs };
  await folder.put(keys.manifest(manifest.env, manifest.runId), JSON.stringify(late));
  return late;
}

function startSegment(store: ResultStore, manifest: RunManifest, options: { log?: Log; k6Bin?: string } = {}): SegmentRun & { done: Promise<Awaited<ReturnType<SegmentRunner['run']>>> } {
  const emitted: WindowRecord[] = [];
  const progress = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) emitted.push((JSON.parse(line) as { record: WindowRecord }).record);
      callback();
    },
  });
  const runner = new SegmentRunner({
    manifest: manifest.bundledScenario ? manifest : { ...manifest, scenario: { ...manifest.scenario, path: join(ROOT, 'scenarios/sigil/script.js') } },
    segment: manifest.segments[0]!,
    config: fastConfig(manifest),
    store,
    log: options.log ?? silentLog,
    k6Bin: options.k6Bin ?? FAKE_K6_PATH,
    scenariosDir: join(ROOT, 'scenarios'),
    secrets: {},
    progress,
  });
  return { manifest, emitted, runner, done: runner.run() };
}

function folderStore(): FolderResultStore {
  return new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-faults-')));
}

const isWindowsKey = (key: string) => key.includes('/windows/');
const starts = (records: readonly WindowRecord[]) => records.map((record) => record.startMs).sort((a, b) => a - b);

describe('segment faults', { concurrency: 4 }, () => {
  test('store failing for a while loses nothing', async () => {
    // Six failed writes: one checkpoint's four attempts all fail, the next one's first two.
    let failuresLeft = 6;
    const store = new FaultyStore(folderStore(), (operation, key) => {
      if (operation !== 'putIfAbsent' || !isWindowsKey(key) || failuresLeft === 0) return 'ok';
      failuresLeft -= 1;
      return 'fail';
    });
    const manifest = await newRun(store, { runId: 'store-flaky' });
    const { log, lines } = memoryLog();
    const run = startSegment(store, manifest, { log });
    const result = await run.done;

    const stored = await storedWindows(store.inner, 'local', manifest.runId, 0);
    assert.equal(store.faults.length, 6);
    assert.ok(run.emitted.length >= 5, `only ${run.emitted.length} windows closed`);
    assert.deepEqual(starts(stored), starts(run.emitted));
    assert.equal(result.windowsWritten, run.emitted.length);
    assert.equal(result.stopReason, 'completed');
    assert.equal(run.runner.storeFailed, false);
    const delays = lines.filter((line) => line.includes('checkpoint write retried')).map((line) => Number(/"delayMs":(\d+)/.exec(line)?.[1]));
    assert.equal(delays.length, 5, 'three retries of the first checkpoint and two of the next are logged');
    assert.ok(delays.some((delay) => delay > 0), 'retries wait');
    assert.ok(lines.some((line) => line.includes('windows kept in memory')), 'a failed checkpoint is logged');
  });


  test('S3 503 SlowDown is retried until stored', async () => {
    let slowDowns = 0;
    const client = new S3Client({ region: 'eu-west-1' });
    const bucket = mockBucket(client, (command, key) => {
      if (command !== 'PutObject' || !isWindowsKey(key) || slowDowns >= 3) return undefined;
      slowDowns += 1;
      return s3Error('SlowDown', 503);
    });
    try {
      const store = new S3ResultStore(client, { bucket: 'soak-results', prefix: 'soak' });
      const manifest = await newRun(store, { runId: 's3-slowdown' });
      const { log, lines } = memoryLog();
      const run = startSegment(store, manifest, { log });
      const result = await run.done;

      const stored = await storedWindows(store, 'local', manifest.runId, 0);
      assert.equal(slowDowns, 3);
      assert.deepEqual(starts(stored), starts(run.emitted));
      assert.equal(result.stopReason, 'completed');
      assert.ok(lines.some((line) => line.includes('checkpoint write retried') && line.includes('SlowDown')), 'the S3 error is logged');
      const { report } = await finalizeRun({ store, log: silentLog }, 'local', manifest.runId);
      assert.equal(report.verdict, 'PASS', JSON.stringify(report.reasons));
    } finally {
      bucket.restore();
    }
  });

  test('k6 that stops on SIGTERM ends as stopped', async () => {
    const store = folderStore();
    const manifest = await newRun(store, { runId: 'straggler-polite', deadlineMs: Date.now() + 1000 });
    const started = Date.now();
    const result = await startSegment(store, manifest).done;

    assert.ok(Date.now() - started < 15_000, 'stopped within a few deadline checks');
    assert.equal(result.stopReason, 'stopped');
    assert.match(result.detail, /passed its deadline/);
    const { report } = await finalizeRun({ store, log: silentLog }, 'local', manifest.runId);
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.match(report.reasons[0]!.message, /Segment 0 .*passed its deadline/);
  });

  test('k6 that ignores SIGTERM is killed', async () => {
    const store = folderStore();
    // Past the deadline by more than the 60 s allowed after SIGTERM: the first check kills.
    const manifest = await newRun(store, { runId: 'straggler-stubborn', deadlineMs: Date.now() - 61_000 });
    const started = Date.now();
    const result = await startSegment(store, manifest, { k6Bin: STUBBORN_K6 }).done;

    assert.ok(Date.now() - started < 15_000, 'killed at the first deadline check');
    assert.equal(result.k6Signal, 'SIGKILL');
    assert.equal(result.stopReason, 'stopped');
    assert.match(result.detail, /passed its deadline/);
  });
});

// Math.random is global to this process: it stays pinned to 0 for this whole group,
// whose tests would otherwise wait through the backoff of every failed write.
describe('checkpoints with instant retries', { concurrency: 2 }, () => {
  before(() => {
    mock.method(Math, 'random', () => 0);
  });
  after(() => {
    mock.restoreAll();
  });

  test('lost write response then outage loses nothing', async () => {
    // The first checkpoint is written but its response is lost, and its retries all fail.
    // The next checkpoint then carries more windows under the same number.
    const actions: FaultAction[] = ['lost', 'fail', 'fail', 'fail'];
    const store = new FaultyStore(folderStore(), (operation, key) => (operation === 'putIfAbsent' && isWindowsKey(key) ? (actions.shift() ?? 'ok') : 'ok'));
    const manifest = await newRun(store, { runId: 'store-lost-answer' });
    const run = startSegment(store, manifest);
    const result = await run.done;

    const stored = await storedWindows(store.inner, 'local', manifest.runId, 0);
    assert.equal(actions.length, 0, 'every injected fault was used');
    assert.deepEqual([...new Set(starts(stored))], starts(run.emitted));
    assert.equal(result.stopReason, 'completed');
  });

  test('rollups written through a lost response count each window once', async () => {
    // The first rollup is stored but its response is lost: the same records go again under the next number.
    const actions: FaultAction[] = ['lost'];
    const store = new FaultyStore(folderStore(), (operation, key) => (operation === 'putIfAbsent' && key.includes('/rollups/') ? (actions.shift() ?? 'ok') : 'ok'));
    const manifest = await newRun(store, { runId: 'rollup-lost-answer' });
    const run = startSegment(store, manifest);
    const result = await run.done;
    assert.equal(result.stopReason, 'completed');
    assert.equal(actions.length, 0, 'the injected fault was used');

    const rollupKeys = await store.inner.list(keys.rollupsPrefix('local', manifest.runId, 0));
    assert.ok(rollupKeys.length >= 2, `the retried rollup went under a new number: ${rollupKeys.join(', ')}`);
    const first = decodeRollups((await store.inner.get(rollupKeys[0]!))!, rollupKeys[0]!);
    const second = decodeRollups((await store.inner.get(rollupKeys[1]!))!, rollupKeys[1]!);
    assert.deepEqual(second.slice(0, first.length), first, 'the second object starts with the same records');

    // Finalized as a long run, which reads rollups: every stored request once, nothing read past.
    const long = { ...manifest, request: { ...manifest.request, durationS: 1800 } };
    await store.inner.put(keys.manifest('local', manifest.runId), JSON.stringify(long));
    const stored = await storedWindows(store.inner, 'local', manifest.runId, 0);
    const report = await buildReport(store.inner, 'local', manifest.runId, silentLog);
    assert.equal(report.requests.total, stored.reduce((sum, record) => sum + record.requests.ok + record.requests.failed, 0));
    assert.ok(report.requests.total > 0);
    assert.equal(report.segments[0]!.windows, run.emitted.length);
    assert.ok(!report.notes.some((note) => note.includes('rollup')), report.notes.join('\n'));
  });

  test('store down through the end never passes', async () => {
    let windowWrites = 0;
    const store = new FaultyStore(folderStore(), (operation, key) => {
      if (operation !== 'putIfAbsent' || !isWindowsKey(key)) return 'ok';
      windowWrites += 1;
      return windowWrites <= 2 ? 'ok' : 'fail';
    });
    // A script of one's own has no planned iteration count, so no load check hides the gap.
    const manifest = await newRun(store, { runId: 'store-down-at-end', bundled: false });
    const run = startSegment(store, manifest);
    const result = await run.done;
    const stored = await storedWindows(store.inner, 'local', manifest.runId, 0);
    assert.ok(stored.length < run.emitted.length, 'some windows were never stored');
    assert.equal(run.runner.storeFailed, true);
    assert.notEqual(result.stopReason, 'completed');
    assert.match(result.detail, /could not be stored/);

    const { report } = await finalizeRun({ store: store.inner, log: silentLog }, 'local', manifest.runId);
    assert.notEqual(report.verdict, 'PASS');
    assert.match(report.reasons[0]!.message, /windows .*could not be stored/);
  });

});

/** Starts s3rver with the results bucket on `port` (0 for a free one), keeping objects in `directory`. */
async function startS3rver(directory: string, port = 0): Promise<{ server: S3rver; port: number }> {
  const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: 'soak-results' }] });
  const address = await server.run();
  return { server, port: address.port };
}

async function stopS3rver(server: S3rver): Promise<void> {
  server.httpServer?.closeAllConnections();
  await server.close();
}

describe('checkpoints on s3rver', () => {
  test('S3 server down for a while loses nothing', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'soak-s3rver-'));
    let { server, port } = await startS3rver(directory);
    // One attempt per call, so that the runner's own retries meet the outage.
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    try {
      const store = new S3ResultStore(client, { bucket: 'soak-results', prefix: 'soak' });
      const manifest = await newRun(store, { runId: 's3rver-outage' });
      const { log, lines } = memoryLog();
      const run = startSegment(store, manifest, { log });

      await new Promise((resolve) => setTimeout(resolve, 3000));
      await stopS3rver(server);
      await new Promise((resolve) => setTimeout(resolve, 4000));
      ({ server } = await startS3rver(directory, port));
      const result = await run.done;

      const stored = await storedWindows(store, 'local', manifest.runId, 0);
      // NOTE: the S3 store names a refused connection only as "Error"; see docs/reliability.md.
      assert.ok(lines.some((line) => line.includes('checkpoint write retried') && line.includes('S3 kept failing')), 'writes failed during the outage');
      assert.deepEqual([...new Set(starts(stored))], starts(run.emitted));
      assert.equal(result.stopReason, 'completed');
      const { report } = await finalizeRun({ store, log: silentLog }, 'local', manifest.runId);
      assert.equal(report.verdict, 'PASS', JSON.stringify(report.reasons));
    } finally {
      client.destroy();
      await stopS3rver(server);
    }
  });
});
