import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { previousVerdict, shouldNotify } from '../../core/notify-policy.js';
import { keys } from '../../core/ports.js';
import { buildSampleReport } from '../support/sample-report.js';

async function storeWith(entries: Array<{ runId: string; startedAt: string; verdict: string }>): Promise<FolderResultStore> {
  const store = new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-notify-')));
  for (const entry of entries) await store.put(keys.history('staging', 'sigil', entry.runId), JSON.stringify(entry));
  return store;
}

const current = buildSampleReport({ env: 'staging', scenario: 'sigil', runId: 'r3', startedAt: '2026-12-03T01:00:00.000Z', verdict: 'PASS', reasons: [] });

test('previous verdict is the latest earlier run', async () => {
  const store = await storeWith([
    { runId: 'r1', startedAt: '2026-12-01T01:00:00.000Z', verdict: 'FAIL' },
    { runId: 'r2', startedAt: '2026-12-02T01:00:00.000Z', verdict: 'LEAK_SUSPECTED' },
    { runId: 'r3', startedAt: '2026-12-03T01:00:00.000Z', verdict: 'PASS' },
    { runId: 'r4', startedAt: '2026-12-04T01:00:00.000Z', verdict: 'DRIFT' },
  ]);
  assert.equal(await previousVerdict(store, current), 'LEAK_SUSPECTED');
});

test('on-change skips an unchanged verdict', async () => {
  const store = await storeWith([{ runId: 'r2', startedAt: '2026-12-02T01:00:00.000Z', verdict: 'PASS' }]);
  const policy = await shouldNotify('on-change', store, current);
  assert.equal(policy.notify, false);
  assert.match(policy.why, /unchanged/);
});

test('on-change notifies a changed verdict', async () => {
  const store = await storeWith([{ runId: 'r2', startedAt: '2026-12-02T01:00:00.000Z', verdict: 'FAIL' }]);
  const policy = await shouldNotify('on-change', store, current);
  assert.equal(policy.notify, true);
  assert.match(policy.why, /from FAIL to PASS/);
});

test('on-change notifies the first run', async () => {
  assert.equal((await shouldNotify('on-change', await storeWith([]), current)).notify, true);
});

test('always and never ignore history', async () => {
  const store = await storeWith([{ runId: 'r2', startedAt: '2026-12-02T01:00:00.000Z', verdict: 'PASS' }]);
  assert.equal((await shouldNotify('always', store, current)).notify, true);
  assert.equal((await shouldNotify('never', store, current)).notify, false);
});
