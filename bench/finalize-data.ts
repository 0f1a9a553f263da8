/**
 * Child process of the finalize benchmark: writes the synthetic checkpoints and
 * results of segments FROM to TO-1 (see bench/lib/synthetic.ts) into the folder store
 * at ROOT, with records RECORD_S seconds long, with the runner's rollups when KIND is
 * `rollups`, and prints `{"bytes":N}` when done.
 *
 *   npx tsx bench/finalize-data.ts ROOT SEGMENTS HOURS RECORD_S windows|rollups FROM TO
 */
import { FolderResultStore } from '../adapters/local/folder-store.js';
import { writeSyntheticSegment } from './lib/synthetic.js';

const [root, segments, hours, recordS, kind, from, to] = process.argv.slice(2);
if (to === undefined || (kind !== 'rollups' && kind !== 'windows')) {
  process.stderr.write('usage: finalize-data.ts ROOT SEGMENTS HOURS RECORD_S windows|rollups FROM TO\n');
  process.exit(2);
}
const store = new FolderResultStore(root!);
const shape = { segments: Number(segments), hours: Number(hours), recordS: Number(recordS), rollups: kind === 'rollups' };
let bytes = 0;
for (let segment = Number(from); segment < Number(to); segment++) bytes += await writeSyntheticSegment(store, shape, segment);
process.stdout.write(`${JSON.stringify({ bytes })}\n`);
