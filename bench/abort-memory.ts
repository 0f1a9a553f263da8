/**
 * Measures the memory that segment 0's AbortMonitor keeps per 10-second window. It runs
 * run-segment for 30 s against the benchmark target to get real windows of
 * bench/k6/constant-vus.js, and feeds 720 copies of them (two hours, what the monitor
 * keeps) to a monitor. It prints the growth of heap and array buffers per window,
 * measured after full collections.
 *
 *   K6_BIN=/path/to/k6 node --expose-gc --import tsx bench/abort-memory.ts [--compare-root DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { requireK6Bin, waitForExit } from './lib/k6.js';
import { readSegmentOutput, segmentLogPath, spawnRunSegment, writeSegmentManifest } from './lib/segment.js';
import { startTarget } from './lib/target.js';
import { SCRIPT, VUS } from './overhead.js';

const { values } = parseArgs({ options: { 'compare-root': { type: 'string' } } });
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) {
  process.stderr.write('Run with node --expose-gc --import tsx, so that the heap is measured after a full collection.\n');
  process.exit(2);
}

const k6Bin = requireK6Bin();
const target = await startTarget(600);
const storeRoot = mkdtempSync(join(tmpdir(), 'soak-bench-abort-memory-'));
const input = { storeRoot, runId: 'abort-memory', targetUrl: target.url, script: SCRIPT, durationS: 30, scriptEnv: { DURATION: '30s', VUS: String(VUS) }, k6Bin };
await writeSegmentManifest(input);
const exit = await waitForExit(spawnRunSegment(input, segmentLogPath(storeRoot, input.runId)), 300_000, 'run-segment');
await target.stop();
const { windows } = await readSegmentOutput(storeRoot, input.runId);
rmSync(storeRoot, { recursive: true, force: true });
const full = windows.filter((window) => window.requests.ok + window.requests.failed > 0);
if (exit.code !== 0 || full.length === 0) throw new Error(`run-segment exited with code ${exit.code} and stored ${full.length} windows with requests`);

const checkouts = [resolve(new URL('..', import.meta.url).pathname)];
if (values['compare-root'] !== undefined) checkouts.push(resolve(values['compare-root']));
for (const checkout of checkouts) {
  const { AbortMonitor } = (await import(pathToFileURL(join(checkout, 'core', 'abort.ts')).href)) as typeof import('../core/abort.js');
  const monitor = new AbortMonitor([{ metric: 'errorRate', above: 0.5, forS: 120, afterS: 30 }], [], full[0]!.startMs);
  collect();
  const before = process.memoryUsage();
  for (let i = 0; i < 720; i++) monitor.add([{ ...full[i % full.length]!, startMs: full[0]!.startMs + i * 10_000 }]);
  collect();
  const after = process.memoryUsage();
  const perWindowKiB = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1024 / 720;
  process.stdout.write(`${checkout}: ${perWindowKiB.toFixed(1)} KiB per window kept, ${((perWindowKiB * 720) / 1024).toFixed(0)} MiB for two hours\n`);
}
