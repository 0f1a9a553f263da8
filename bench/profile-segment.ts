/**
 * CPU profile of run-segment under load: starts the benchmark target, runs one
 * segment of bench/k6/constant-vus.js (20 VUs) with `node --cpu-prof`, and prints
 * the functions with the most self time.
 *
 *   K6_BIN=/path/to/k6 npx tsx bench/profile-segment.ts [--seconds 20] [--out DIR]
 *
 * The .cpuprofile file stays in DIR (default bench/results/profiles/) for Chrome
 * DevTools or speedscope.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTopFunctions, topFunctions } from './lib/cpuprofile.js';
import { requireK6Bin, waitForExit } from './lib/k6.js';
import { readSegmentOutput, segmentLogPath, spawnRunSegment, writeSegmentManifest } from './lib/segment.js';
import { startTarget } from './lib/target.js';
import { SCRIPT, VUS } from './overhead.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    out: { type: 'string', default: fileURLToPath(new URL('./results/profiles/', import.meta.url)) },
  },
});
const durationS = Math.max(10, Number(values.seconds));
const profileDir = resolve(values.out);
mkdirSync(profileDir, { recursive: true });

const k6Bin = requireK6Bin();
const target = await startTarget(durationS + 300);
const storeRoot = mkdtempSync(join(tmpdir(), 'soak-bench-profile-'));
try {
  const runId = 'bench-profile';
  const input = {
    storeRoot,
    runId,
    targetUrl: target.url,
    script: SCRIPT,
    durationS,
    scriptEnv: { DURATION: `${durationS}s`, VUS: String(VUS) },
    k6Bin,
  };
  await writeSegmentManifest(input);
  const before = new Set(readdirSync(profileDir));
  const child = spawnRunSegment(input, segmentLogPath(storeRoot, runId), ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  const exit = await waitForExit(child, (durationS + 150) * 1000, 'run-segment');
  const requests = await target.requests();
  const { windows } = await readSegmentOutput(storeRoot, runId);
  const runnerCpuS = windows.reduce((sum, window) => sum + (window.generator.runnerCpuS ?? 0), 0);
  process.stdout.write(`run-segment exit ${exit.code}; ${requests} requests in ${durationS} s (${Math.round(requests / durationS)}/s), runner CPU ${runnerCpuS.toFixed(2)} s\n`);

  const created = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile') && !before.has(name));
  for (const name of created) {
    process.stdout.write(`\n${join(profileDir, name)}\n${formatTopFunctions(topFunctions(join(profileDir, name), 25))}\n`);
  }
} finally {
  await target.stop();
  rmSync(storeRoot, { recursive: true, force: true });
}
