/**
 * Finalizes one synthetic run of any shape and prints time, peak RSS and sizes; the
 * finalize benchmark's full and quick modes use fixed shapes. Used for the per-minute
 * rollup cases in BENCHMARKS.md:
 *
 *   npx tsx bench/finalize-case.ts --segments 64 --hours 72 --record-s 60 [--compare-root DIR]
 *
 * With --compare-root, DIR's bench/finalize-child.ts (and so DIR's core/) finalizes
 * the same data after this checkout does; --skip-own leaves this checkout out.
 * `--mode abort-poll` measures segment 0's abort check instead (10-second records only).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDataset, measureChild, resetOutputs } from './finalize.js';
import { formatBytes } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    segments: { type: 'string', default: '64' },
    hours: { type: 'string', default: '8' },
    'record-s': { type: 'string', default: '10' },
    rollups: { type: 'boolean', default: false },
    'compare-root': { type: 'string' },
    'skip-own': { type: 'boolean', default: false },
    mode: { type: 'string', default: 'finalize' },
  },
});
if (values.mode !== 'finalize' && values.mode !== 'abort-poll') {
  process.stderr.write(`--mode: "${values.mode}" is invalid; use finalize or abort-poll.\n`);
  process.exit(2);
}
const mode = values.mode;
const shape = { segments: Number(values.segments), hours: Number(values.hours), recordS: Number(values['record-s']), rollups: values.rollups };
const log = (line: string) => process.stderr.write(`${line}\n`);
const dataset = await ensureDataset(shape, log);
log(`${dataset.windows.toLocaleString('en-US')} records, ${formatBytes(dataset.checkpointBytes)} of checkpoints`);

const roots: (string | undefined)[] = [];
if (!values['skip-own']) roots.push(undefined);
if (values['compare-root'] !== undefined) roots.push(resolve(values['compare-root']));
for (const root of roots) {
  await resetOutputs(dataset);
  const measured = await measureChild(dataset, mode, root);
  process.stdout.write(
    `${JSON.stringify({ checkout: root ?? 'this', mode, shape, records: dataset.windows, wallS: measured.wallS, maxRssBytes: measured.maxRssBytes, ...measured.result })}\n`,
  );
}
