import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import {
  buildHistoryEntry,
  excludeRun,
  findScenariosOfRun,
  HistoryControlFileError,
  HistoryEntrySchema,
  historyKeys,
  includeRun,
  listHistoryScenarios,
  pinBaseline,
  readHistory,
  unpinBaseline,
  writeHistoryEntry,
  type HistoryEntry,
} from '../../core/history.js';
import type { RunManifest } from '../../core/schemas.js';
import { buildSampleReport } from '../support/sample-report.js';

const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function newStore(): FolderResultStore {
  const folder = mkdtempSync(join(tmpdir(), 'soak-history-test-'));
  folders.push(folder);
  return new FolderResultStore(folder);
}

function entry(runId: string, startedAt: string, scenario = 'sigil'): HistoryEntry {
  return HistoryEntrySchema.parse({
    schemaVersion: 1,
    runId,
    env: 'staging',
    scenario,
    scenarioHash: 'hash-a',
    k6Version: 'v1.3.0',
    startedAt,
    endedAt: null,
    verdict: 'PASS',
    rate: 100,
    durationS: 3600,
    p50: 10,
    p95: 20,
    p99: 30,
    errorRate: 0,
    achievedRate: 100,
  });
}

describe('readHistory', () => {
  it('returns entries oldest first', async () => {
    const store = newStore();
    await writeHistoryEntry(store, entry('b', '2026-12-02T01:00:00.000Z'));
    await writeHistoryEntry(store, entry('a', '2026-12-03T01:00:00.000Z'));
    const history = await readHistory(store, 'staging', 'sigil');
    assert.deepEqual(
      history.entries.map((item) => item.runId),
      ['b', 'a'],
    );
  });

  it('reads entries written before targetVersion existed', async () => {
    const store = newStore();
    const { targetVersion: _dropped, ...older } = entry('a', '2026-12-01T01:00:00.000Z');
    await store.put(historyKeys.entry('staging', 'sigil', 'a'), JSON.stringify(older));
    const history = await readHistory(store, 'staging', 'sigil');
    assert.equal(history.entries[0]!.targetVersion, null);
  });

  it('skips a damaged entry and names it', async () => {
    const store = newStore();
    await writeHistoryEntry(store, entry('a', '2026-12-01T01:00:00.000Z'));
    await store.put(historyKeys.entry('staging', 'sigil', 'broken'), '{"runId": ');
    const history = await readHistory(store, 'staging', 'sigil');
    assert.equal(history.entries.length, 1);
    assert.match(history.invalid[0]!, /^history\/staging\/sigil\/broken\.json: not valid JSON/);
  });

  it('skips an entry of another shape', async () => {
    const store = newStore();
    await store.put(historyKeys.entry('staging', 'sigil', 'odd'), JSON.stringify({ runId: 'odd' }));
    const history = await readHistory(store, 'staging', 'sigil');
    assert.equal(history.entries.length, 0);
    assert.equal(history.invalid.length, 1);
  });

  it('does not read control files as entries', async () => {
    const store = newStore();
    await writeHistoryEntry(store, entry('a', '2026-12-01T01:00:00.000Z'));
    await pinBaseline(store, 'staging', 'sigil', ['a'], null);
    await excludeRun(store, 'staging', 'sigil', 'a', 'outage');
    const history = await readHistory(store, 'staging', 'sigil');
    assert.equal(history.entries.length, 1);
    assert.deepEqual(history.invalid, []);
  });

  it('rejects a damaged pin file', async () => {
    const store = newStore();
    await store.put(historyKeys.pins('staging', 'sigil'), '{"runIds": []}');
    await assert.rejects(readHistory(store, 'staging', 'sigil'), HistoryControlFileError);
  });
});

describe('pins and exclusions', () => {
  it('stores pinned run ids once each', async () => {
    const store = newStore();
    await pinBaseline(store, 'staging', 'sigil', ['a', 'b', 'a'], 'before the cache change', new Date('2026-12-04T00:00:00Z'));
    const history = await readHistory(store, 'staging', 'sigil');
    assert.deepEqual(history.pins, { runIds: ['a', 'b'], pinnedAt: '2026-12-04T00:00:00.000Z', note: 'before the cache change' });
  });

  it('unpins a pinned baseline', async () => {
    const store = newStore();
    await pinBaseline(store, 'staging', 'sigil', ['a'], null);
    assert.equal(await unpinBaseline(store, 'staging', 'sigil'), true);
    assert.equal((await readHistory(store, 'staging', 'sigil')).pins, null);
  });

  it('reports unpinning without a pin', async () => {
    assert.equal(await unpinBaseline(newStore(), 'staging', 'sigil'), false);
  });

  it('replaces the reason of a repeated exclusion', async () => {
    const store = newStore();
    await excludeRun(store, 'staging', 'sigil', 'a', 'first');
    await excludeRun(store, 'staging', 'sigil', 'a', 'second');
    const history = await readHistory(store, 'staging', 'sigil');
    assert.deepEqual(
      history.exclusions.map((exclusion) => exclusion.reason),
      ['second'],
    );
  });

  it('includes an excluded run again', async () => {
    const store = newStore();
    await excludeRun(store, 'staging', 'sigil', 'a', 'outage');
    assert.equal(await includeRun(store, 'staging', 'sigil', 'a'), true);
    assert.deepEqual((await readHistory(store, 'staging', 'sigil')).exclusions, []);
  });

  it('reports including a run never excluded', async () => {
    assert.equal(await includeRun(newStore(), 'staging', 'sigil', 'a'), false);
  });
});

describe('scenario lookup', () => {
  it('lists the scenarios of an env', async () => {
    const store = newStore();
    await writeHistoryEntry(store, entry('a', '2026-12-01T01:00:00.000Z', 'sigil'));
    await writeHistoryEntry(store, entry('b', '2026-12-01T01:00:00.000Z', 'checkout'));
    assert.deepEqual(await listHistoryScenarios(store, 'staging'), ['checkout', 'sigil']);
  });

  it('finds the scenario of a run', async () => {
    const store = newStore();
    await writeHistoryEntry(store, entry('a', '2026-12-01T01:00:00.000Z', 'sigil'));
    await writeHistoryEntry(store, entry('b', '2026-12-01T01:00:00.000Z', 'checkout'));
    assert.deepEqual(await findScenariosOfRun(store, 'staging', 'b'), ['checkout']);
  });
});

describe('buildHistoryEntry', () => {
  const report = buildSampleReport();
  const manifest = { request: { rate: 50, durationS: 1800 } } as unknown as RunManifest;
  const built = buildHistoryEntry(report, manifest, '2.4.1');

  it('matches the entry schema', () => {
    assert.deepEqual(HistoryEntrySchema.parse(built), built);
  });

  it('keeps the target version', () => {
    assert.equal(built.targetVersion, '2.4.1');
  });

  it('takes the load from the manifest', () => {
    assert.equal(built.rate, 50);
    assert.equal(built.durationS, 1800);
  });

  it('keeps the heap slope', () => {
    const heap = report.analyses.leaks.find((analysis) => analysis.series === 'heapUsedBytes');
    assert.equal(built.probeSlopes.heapUsedBytes, heap?.growthPerHour);
  });
});
