/**
 * CPU profile of the runner's stream path alone: replays recorded k6 output in
 * process (see bench/lib/replay.ts) and prints the functions with the most self time.
 *
 *   npx tsx bench/profile-replay.ts [--lines 2000000]
 *
 * It restarts itself under `node --cpu-prof` and leaves the .cpuprofile file in
 * bench/results/profiles/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTopFunctions, topFunctions } from './lib/cpuprofile.js';
import { buildReplayStream, replayInProcess } from './lib/replay.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    child: { type: 'boolean', default: false },
  },
});

if (values.child) {
  const stream = buildReplayStream(Number(values.lines));
  const bytes = stream.bytes;
  for (let round = 0; round < 2; round++) {
    const result = replayInProcess(bytes, stream.lines);
    process.stdout.write(`round ${round + 1}: ${Math.round(result.linesPerS).toLocaleString('en-US')} lines/s (${result.seconds.toFixed(2)} s)\n`);
  }
} else {
  const profileDir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
  mkdirSync(profileDir, { recursive: true });
  const before = new Set(readdirSync(profileDir));
  const script = fileURLToPath(import.meta.url);
  const run = spawnSync(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', import.meta.resolve('tsx'), script, '--child', '--lines', values.lines],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
  for (const name of readdirSync(profileDir).filter((file) => file.endsWith('.cpuprofile') && !before.has(file))) {
    process.stdout.write(`\n${join(profileDir, name)}\n${formatTopFunctions(topFunctions(join(profileDir, name), 20))}\n`);
  }
}
