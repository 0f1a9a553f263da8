/**
 * Times finalize's steps one by one on stored checkpoints: gunzip, JSON.parse, schema
 * validation and WindowMerger.add, per window. Reads the first FILES checkpoints of
 * segments 0 to 3 of a synthetic dataset (see bench/finalize.ts).
 *
 *   npx tsx bench/finalize-steps.ts DATASET_ROOT RUN_ID [--files 60] [--compare-root DIR]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { SYNTHETIC_ENV } from './lib/synthetic.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { files: { type: 'string', default: '60' }, 'compare-root': { type: 'string' } },
});
const [root, runId] = positionals;
if (runId === undefined) {
  process.stderr.write('usage: finalize-steps.ts DATASET_ROOT RUN_ID [--files 60] [--compare-root DIR]\n');
  process.exit(2);
}

const segmentsDir = join(root!, 'runs', SYNTHETIC_ENV, runId, 'segments');
const files: Buffer[] = [];
for (const segment of ['0', '1', '2', '3']) {
  const folder = join(segmentsDir, segment, 'windows');
  for (const name of readdirSync(folder).sort().slice(0, Number(values.files))) files.push(readFileSync(join(folder, name)));
}

function timed<T>(step: string, windows: number, work: () => T): T {
  const started = process.hrtime.bigint();
  const result = work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`  ${step.padEnd(18)} ${(ms / windows).toFixed(3)} ms per window\n`);
  return result;
}

const checkouts = [resolve(new URL('..', import.meta.url).pathname)];
if (values['compare-root'] !== undefined) checkouts.push(resolve(values['compare-root']));
for (const checkout of checkouts) {
  const schemas = (await import(pathToFileURL(join(checkout, 'core', 'schemas.ts')).href)) as typeof import('../core/schemas.js');
  const merge = (await import(pathToFileURL(join(checkout, 'core', 'merge.ts')).href)) as typeof import('../core/merge.js');
  const texts = files.map((bytes) => gunzipSync(bytes).toString('utf8'));
  const lines = texts.flatMap((text) => text.split('\n').filter((line) => line.length > 0));
  process.stdout.write(`${checkout}: ${lines.length} windows from ${files.length} checkpoints\n`);
  timed('gunzip', lines.length, () => files.map((bytes) => gunzipSync(bytes)));
  const parsed = timed('JSON.parse', lines.length, () => lines.map((line) => JSON.parse(line) as unknown));
  const records = timed('schema validation', lines.length, () => parsed.map((value) => schemas.WindowRecordSchema.parse(value)));
  const merger = new merge.WindowMerger();
  timed('WindowMerger.add', lines.length, () => records.forEach((record) => merger.add(record)));
}
