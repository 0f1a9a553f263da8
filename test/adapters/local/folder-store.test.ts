import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FolderResultStore } from '../../../adapters/local/folder-store.js';
import { StoreError } from '../../../core/ports.js';

function store(): FolderResultStore {
  return new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-store-')));
}

test('folder store round trips bytes', async () => {
  const folder = store();
  await folder.put('runs/local/r1/report.json', '{"a":1}');
  assert.equal(Buffer.from((await folder.get('runs/local/r1/report.json'))!).toString(), '{"a":1}');
});

test('missing key reads as undefined', async () => {
  assert.equal(await store().get('runs/local/none.json'), undefined);
});

test('create-only write refuses an existing key and keeps its content', async () => {
  const folder = store();
  assert.equal(await folder.putIfAbsent('locks/local.json', 'first'), true);
  assert.equal(await folder.putIfAbsent('locks/local.json', 'second'), false);
  assert.equal(Buffer.from((await folder.get('locks/local.json'))!).toString(), 'first');
});

test('concurrent create-only writes have exactly one winner', async () => {
  const folder = store();
  const results = await Promise.all(Array.from({ length: 25 }, (_, i) => folder.putIfAbsent('runs/local/r/finalized.json', `writer ${i}`)));
  assert.equal(results.filter(Boolean).length, 1);
  const winner = results.indexOf(true);
  assert.equal(Buffer.from((await folder.get('runs/local/r/finalized.json'))!).toString(), `writer ${winner}`);
});

test('list returns sorted keys under a prefix without temporary files', async () => {
  const folder = store();
  await folder.put('runs/local/r/segments/0/windows/000001.ndjson.gz', 'b');
  await folder.put('runs/local/r/segments/0/windows/000000.ndjson.gz', 'a');
  await folder.put('runs/local/other/manifest.json', 'c');
  assert.deepEqual(await folder.list('runs/local/r/'), [
    'runs/local/r/segments/0/windows/000000.ndjson.gz',
    'runs/local/r/segments/0/windows/000001.ndjson.gz',
  ]);
  const leftovers = readdirSync(join(folder.root, 'runs/local/r/segments/0/windows')).filter((name) => name.startsWith('.tmp-'));
  assert.deepEqual(leftovers, []);
  assert.deepEqual(await folder.list('runs/local/r/', 'runs/local/r/segments/0/windows/000000.ndjson.gz'), ['runs/local/r/segments/0/windows/000001.ndjson.gz']);
});

test('keys that escape the folder are rejected', async () => {
  await assert.rejects(store().put('../outside.json', 'x'), (error: unknown) => error instanceof StoreError && !error.retryable);
});

test('delete removes a key and tolerates a missing one', async () => {
  const folder = store();
  await folder.put('a/b.json', 'x');
  await folder.delete('a/b.json');
  await folder.delete('a/b.json');
  assert.equal(await folder.get('a/b.json'), undefined);
});
