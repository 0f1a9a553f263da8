/**
 * Rollups: the period a run gets, the records a segment writes from its stored
 * checkpoints, and finalize reading them. A report finalized from rollups must contain
 * exactly the figures of the same run's windows, also when a rollup is missing, damaged,
 * stored twice or stops before the segment's last window.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { buildReport } from '../../core/finalize.js';
import { silentLog } from '../../core/log.js';
import { rollup, WindowMerger } from '../../core/merge.js';
import { keys } from '../../core/ports.js';
import type { RunReport } from '../../core/report-schema.js';
import { decodeRollups, encodeRollups, rollupPeriodS, SegmentRollup, type RollupRecord } from '../../core/rollup.js';
import type { RunManifest, WindowRecord } from '../../core/schemas.js';
import { aggregateLines, seedManifest, segmentResult, storeResult, storeWindows, trafficLines } from '../support/fault-kit.js';

// Starts 25 s into a minute, so that checkpoints of six windows straddle minutes.
const START_MS = Date.UTC(2026, 0, 1, 3, 0, 25);
const RUN_S = 30 * 60;

function segmentWindows(runId: string, segment: number, latencies: readonly number[]): WindowRecord[] {
  const part = RUN_S / latencies.length;
  const lines = latencies.flatMap((latencyMs, index) =>
    trafficLines({ startMs: START_MS + index * part * 1000, seconds: part, perSecond: 3 + segment, latencyMs }),
  );
  return aggregateLines(lines, { runId, segment });
}

/**
 * Groups rollup records into objects as SegmentRunner does after each stored checkpoint
 * of six windows, and at the end. With `everyCheckpoint` an object follows every
 * checkpoint that finished a period, which makes many small objects to damage in tests.
 */
function rollupsOf(
  records: readonly WindowRecord[],
  periodS: number,
  options: { finish?: boolean; perCheckpoint?: number; everyCheckpoint?: boolean } = {},
): RollupRecord[][] {
  const perCheckpoint = options.perCheckpoint ?? 6;
  const rollup = new SegmentRollup({ periodS, runId: records[0]!.runId, segment: records[0]!.segment });
  const files: RollupRecord[][] = [];
  let seq = 0;
  for (let i = 0; i < records.length; i += perCheckpoint, seq++) {
    rollup.add(records.slice(i, i + perCheckpoint), seq);
    if (options.everyCheckpoint === false ? rollup.due(false) : rollup.pending.length > 0) {
      files.push([...rollup.pending]);
      rollup.stored(rollup.pending.length);
    }
  }
  if (options.finish !== false) {
    rollup.finish(seq);
    if (rollup.pending.length > 0) files.push([...rollup.pending]);
  }
  return files;
}

async function storeRollupFiles(store: FolderResultStore, manifest: RunManifest, segment: number, files: readonly RollupRecord[][], firstSeq = 0): Promise<void> {
  for (const [index, records] of files.entries()) {
    await store.putIfAbsent(keys.rollups(manifest.env, manifest.runId, segment, firstSeq + index), encodeRollups(records));
  }
}

interface SeededRun {
  store: FolderResultStore;
  manifest: RunManifest;
  windows: WindowRecord[][];
}

async function seedRun(runId: string, options: { segments?: number; durationS?: number } = {}): Promise<SeededRun> {
  const store = new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-rollup-')));
  const segments = options.segments ?? 2;
  const manifest = await seedManifest(store, {
    runId,
    durationS: options.durationS ?? RUN_S,
    segments,
    rate: 7,
    bundled: false,
    createdAtMs: START_MS - 5000,
    config: { thresholds: { http_req_duration: ['p(95)<35'] } },
  });
  const windows: WindowRecord[][] = [];
  // Two segments store data; any others of the plan never ran.
  for (let segment = 0; segment < Math.min(segments, 2); segment++) {
    const records = segmentWindows(runId, segment, segment === 0 ? [20, 30, 40] : [25, 25, 45]);
    windows.push(records);
    await storeWindows(store, manifest, segment, records);
    await storeResult(store, segmentResult(manifest, segment, records));
  }
  return { store, manifest, windows };
}

/** Returns the parts of a report that come from the stored data. */
function figures(report: RunReport): unknown {
  return {
    verdict: report.verdict,
    reasons: report.reasons,
    requests: report.requests,
    latencyMs: report.latencyMs,
    byName: report.byName,
    checks: report.checks,
    load: report.load,
    segments: report.segments,
    series: report.series,
    thresholds: report.thresholds,
    analyses: report.analyses,
    startedAt: report.startedAt,
    endedAt: report.endedAt,
  };
}

describe('rollupPeriodS', () => {
  test('minutes up to the record budget', () => {
    assert.equal(rollupPeriodS(8 * 3600, 64), 60);
    assert.equal(rollupPeriodS(72 * 3600, 1), 60);
    assert.equal(rollupPeriodS(24 * 3600, 64), 300);
    assert.equal(rollupPeriodS(72 * 3600, 64), 600);
  });
});

describe('SegmentRollup', () => {
  test('one record per period, spans contiguous', () => {
    const records = segmentWindows('r1', 0, [20]).slice(0, 30);
    const files = rollupsOf(records, 60);
    const all = files.flat();
    // 30 windows from 03:00:25 span 03:00 to 03:05:25: six periods.
    assert.deepEqual(
      all.map((record) => record.period.startMs),
      [0, 1, 2, 3, 4, 5].map((minute) => Date.UTC(2026, 0, 1, 3, minute)),
    );
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.fromMs, all[i - 1]!.toMs, `record ${i} starts where record ${i - 1} ends`);
    assert.equal(all.reduce((sum, record) => sum + record.windows, 0), 30);
    // The second minute ends inside checkpoint 1 (windows 6-11, 03:01:25 to 03:02:25).
    assert.equal(all[1]!.tailSeq, 1);
    // Each record sums exactly the windows of its period.
    const merger = new WindowMerger();
    for (const record of records) merger.add(record);
    const minutes = rollup(merger.windows());
    for (const [index, minute] of minutes.entries()) {
      assert.equal(all[index]!.period.requests.ok, minute.requests.ok);
      assert.deepEqual(all[index]!.period.requests.okLatency, minute.requests.okLatency.toJSON());
    }
  });

  test('one object per half hour', () => {
    const files = rollupsOf(segmentWindows('r4', 0, [20]), 60, { everyCheckpoint: false });
    // 30 minutes from 03:00:25: minutes 03:00 to 03:29 first, then 03:30 at the end.
    assert.deepEqual(
      files.map((file) => file.length),
      [30, 1],
    );
    assert.equal(files[1]![0]!.fromMs, files[0]![29]!.toMs);
  });

  test('skips windows sent again after a retried checkpoint', () => {
    const records = segmentWindows('r2', 0, [20]).slice(0, 12);
    const rollup = new SegmentRollup({ periodS: 60, runId: 'r2', segment: 0 });
    rollup.add(records.slice(0, 6), 0);
    // The response to checkpoint 1 was lost, so its windows went again under 2.
    rollup.add(records.slice(6, 12), 1);
    rollup.add(records.slice(6, 12), 2);
    rollup.finish(3);
    assert.equal(rollup.pending.reduce((sum, record) => sum + record.windows, 0), 12);
  });

  test('round-trips through its file format and names the file of a damaged line', () => {
    const files = rollupsOf(segmentWindows('r3', 0, [20]).slice(0, 12), 60);
    const bytes = encodeRollups(files.flat());
    assert.deepEqual(decodeRollups(bytes, 'k'), files.flat());
    assert.throws(() => decodeRollups(Buffer.from('plain text'), 'runs/x/rollups/000004.ndjson.gz'), /rollups\/000004\.ndjson\.gz is not valid gzip/);
  });
});

describe('finalize from rollups', () => {
  test('gives the same report as the windows alone', async () => {
    const run = await seedRun('same');
    const fromWindows = await buildReport(run.store, 'local', 'same', silentLog);
    await storeRollupFiles(run.store, run.manifest, 0, rollupsOf(run.windows[0]!, 60));
    await storeRollupFiles(run.store, run.manifest, 1, rollupsOf(run.windows[1]!, 60, { everyCheckpoint: false }));
    const fromRollups = await buildReport(run.store, 'local', 'same', silentLog);
    assert.deepEqual(figures(fromRollups), figures(fromWindows));
    assert.deepEqual(fromRollups.notes, fromWindows.notes);
    // The data itself is right, not only the same twice: each point is the minute of all windows merged.
    const merger = new WindowMerger();
    for (const record of run.windows.flat()) merger.add(record);
    const minutes = rollup(merger.windows());
    assert.equal(fromRollups.series.length, 31);
    assert.deepEqual(
      fromRollups.series.map((point) => [point.t, point.requests, point.p95, point.vus]),
      minutes.map((minute) => [minute.startMs, minute.requests.ok, minute.requests.okLatency.quantile(0.95), minute.vus]),
    );
    assert.ok(fromRollups.thresholds.some((threshold) => threshold.failedMinutes > 0), 'the 40 and 45 ms part fails p(95)<35 minute by minute');
  });

  test('reads the windows after the last rollup of a segment killed mid-period', async () => {
    const run = await seedRun('killed');
    const reference = await buildReport(run.store, 'local', 'killed', silentLog);
    await storeRollupFiles(run.store, run.manifest, 0, rollupsOf(run.windows[0]!, 60, { finish: false }).slice(0, 20));
    await storeRollupFiles(run.store, run.manifest, 1, rollupsOf(run.windows[1]!, 60));
    const report = await buildReport(run.store, 'local', 'killed', silentLog);
    assert.deepEqual(figures(report), figures(reference));
    assert.deepEqual(report.notes, reference.notes);
  });

  test('counts the records of a rollup stored twice once', async () => {
    const run = await seedRun('twice');
    const reference = await buildReport(run.store, 'local', 'twice', silentLog);
    const files = rollupsOf(run.windows[0]!, 60);
    // The response to rollup 3 was lost: its records went again, with the next period, under 4.
    const retried = [...files.slice(0, 4), [...files[3]!, ...files[4]!], ...files.slice(5)];
    await storeRollupFiles(run.store, run.manifest, 0, retried);
    const report = await buildReport(run.store, 'local', 'twice', silentLog);
    assert.deepEqual(figures(report), figures(reference));
    // Skipped as a repeat, not read past: no note of rollups falling back to windows.
    assert.deepEqual(report.notes, reference.notes);
  });

  test('damaged or missing rollup falls back', async () => {
    const run = await seedRun('damaged');
    const reference = await buildReport(run.store, 'local', 'damaged', silentLog);
    const files = rollupsOf(run.windows[0]!, 60);
    await storeRollupFiles(run.store, run.manifest, 0, files.slice(0, 10));
    await run.store.put(keys.rollups('local', 'damaged', 0, 10), 'not gzip');
    await storeRollupFiles(run.store, run.manifest, 0, files.slice(11), 11);
    // Segment 1 lost its first rollup: none of its rollups can be trusted.
    await storeRollupFiles(run.store, run.manifest, 1, rollupsOf(run.windows[1]!, 60).slice(1), 1);
    const report = await buildReport(run.store, 'local', 'damaged', silentLog);
    assert.deepEqual(figures(report), figures(reference));
    assert.ok(
      report.notes.some((note) => note.startsWith('Segment 0: rollup runs/local/damaged/segments/0/rollups/000010.ndjson.gz could not be read')),
      report.notes.join('\n'),
    );
  });

  test('longer periods over the budget', async () => {
    // Planned as 64 segments x 72 h, so the period is 10 minutes; two segments stored 30 minutes.
    const run = await seedRun('long', { segments: 64, durationS: 72 * 3600 });
    for (let segment = 0; segment < 2; segment++) await storeRollupFiles(run.store, run.manifest, segment, rollupsOf(run.windows[segment]!, 600));
    const report = await buildReport(run.store, 'local', 'long', silentLog);
    assert.deepEqual(
      report.series.map((point) => point.t),
      [0, 10, 20, 30].map((minute) => Date.UTC(2026, 0, 1, 3, minute)),
    );
    assert.equal(report.requests.total, run.windows.flat().reduce((sum, record) => sum + record.requests.ok, 0));
    const threshold = report.thresholds.find((entry) => entry.metric === 'http_req_duration')!;
    assert.equal(threshold.failedMinutes % 10, 0);
    assert.ok(threshold.failedMinutes >= 10);
    assert.ok(report.notes.some((note) => note.includes('10-minute points')), report.notes.join('\n'));
  });
});
