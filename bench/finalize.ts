/**
 * Finalize at scale: synthetic 10-second windows of a large run (full mode: 64
 * segments x 8 h = 184,320 windows) in a folder store, with the rollups the runner
 * writes beside them, made by its own SegmentRollup; the full mode also finalizes
 * 64 segments x 72 h, the longest run allowed. Each run is finalized in a child process
 * with the HTML report and the Slack message. Measures wall time and peak RSS
 * (`/usr/bin/time -v`, and the child's own sampling), and the report sizes. It also
 * measures segment 0's stop-and-abort check over the same windows. It times a first
 * poll that reads every checkpoint, then the steady-state poll every 10 s, which lists
 * each segment's folder after its last checkpoint read. It also reads the memory that
 * the AbortMonitor keeps at the end of the run.
 *
 * The synthetic data (about 460 MB for the full shape) is generated once by two
 * child processes and kept under the system's temporary folder for later runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderResultStore } from '../adapters/local/folder-store.js';
import { keys } from '../core/ports.js';
import { waitForExit } from './lib/k6.js';
import type { BenchOptions, BenchOutcome, TargetCheck } from './lib/outcome.js';
import { formatBytes } from './lib/stats.js';
import { runIdOf, SYNTHETIC_ENV, windowsPerSegment, writeSyntheticManifest, type SyntheticShape } from './lib/synthetic.js';

const DATA_SCRIPT = fileURLToPath(new URL('./finalize-data.ts', import.meta.url));
const CHILD_SCRIPT = fileURLToPath(new URL('./finalize-child.ts', import.meta.url));
/** Bump when the synthetic records change, so cached datasets are rebuilt. */
const DATASET_VERSION = 2;

export const FULL_SHAPE: SyntheticShape = { segments: 64, hours: 8, rollups: true };
export const QUICK_SHAPE: SyntheticShape = { segments: 16, hours: 1, rollups: true };
/** The longest run allowed, with the most segments: 10-minute rollup periods (core/rollup.ts). */
export const LONGEST_SHAPE: SyntheticShape = { segments: 64, hours: 72, rollups: true };
export const TARGET_SECONDS = 60;
export const TARGET_RSS_BYTES = 1.5 * 1024 ** 3;
export const TARGET_OUTPUT_BYTES = 5 * 1024 ** 2;

export interface Dataset {
  root: string;
  runId: string;
  windows: number;
  checkpointBytes: number;
  generatedS: number | null;
}

function datasetRoot(shape: SyntheticShape): string {
  const record = (shape.recordS ?? 10) === 10 ? '' : `-${shape.recordS}s`;
  return join(tmpdir(), 'soak-bench-finalize', `${shape.segments}x${shape.hours}h${record}${shape.rollups ? '-rollups' : ''}-v${DATASET_VERSION}`);
}

function runTsx(script: string, args: string[], timeoutMs: number, label: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return waitForExit(child, timeoutMs, label).then((exit) => {
    if (exit.code !== 0) throw new Error(`${label} exited with code ${exit.code}`);
    return output;
  });
}

/** Returns the cached dataset of this shape, generating it first when missing. */
export async function ensureDataset(shape: SyntheticShape, log: (line: string) => void): Promise<Dataset> {
  const root = datasetRoot(shape);
  const marker = join(root, 'complete.json');
  const runId = runIdOf(shape);
  const windows = shape.segments * windowsPerSegment(shape);
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as { checkpointBytes: number };
    log(`  reusing synthetic data in ${root}`);
    return { root, runId, windows, checkpointBytes: saved.checkpointBytes, generatedS: null };
  }

  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  log(`  generating ${windows.toLocaleString('en-US')} synthetic ${shape.recordS ?? 10}-second records in ${root} (two processes)`);
  const started = Date.now();
  await writeSyntheticManifest(new FolderResultStore(root), shape);
  const half = Math.ceil(shape.segments / 2);
  const common = [root, String(shape.segments), String(shape.hours), String(shape.recordS ?? 10), shape.rollups ? 'rollups' : 'windows'];
  const parts = await Promise.all([
    runTsx(DATA_SCRIPT, [...common, '0', String(half)], 3600_000, 'the data generator'),
    runTsx(DATA_SCRIPT, [...common, String(half), String(shape.segments)], 3600_000, 'the data generator'),
  ]);
  const checkpointBytes = parts.reduce((sum, output) => sum + (JSON.parse(output) as { bytes: number }).bytes, 0);
  const generatedS = (Date.now() - started) / 1000;
  writeFileSync(marker, JSON.stringify({ checkpointBytes, generatedS }));
  return { root, runId, windows, checkpointBytes, generatedS };
}

/** Removes what an earlier finalize wrote, so each measurement starts from windows and results alone. */
export async function resetOutputs(dataset: Dataset): Promise<void> {
  const store = new FolderResultStore(dataset.root);
  for (const key of [
    keys.report(SYNTHETIC_ENV, dataset.runId),
    keys.reportHtml(SYNTHETIC_ENV, dataset.runId),
    keys.message(SYNTHETIC_ENV, dataset.runId),
    keys.finalized(SYNTHETIC_ENV, dataset.runId),
  ]) {
    await store.delete(key);
  }
  rmSync(join(dataset.root, 'history'), { recursive: true, force: true });
}

export interface ChildMeasurement {
  wallS: number;
  /** From `/usr/bin/time -v` when available, else the child's own sampling. */
  maxRssBytes: number;
  sampledPeakRssBytes: number;
  timeTool: boolean;
  result: Record<string, unknown>;
}

/** Runs the finalize child (or its abort-poll mode) under `/usr/bin/time -v` when that exists. */
export async function measureChild(dataset: Dataset, mode: 'finalize' | 'abort-poll', repositoryRoot?: string): Promise<ChildMeasurement> {
  const script = repositoryRoot === undefined ? CHILD_SCRIPT : join(repositoryRoot, 'bench', 'finalize-child.ts');
  const nodeArgs = ['--import', import.meta.resolve('tsx'), script, dataset.root, SYNTHETIC_ENV, dataset.runId];
  // The abort check reports the RSS after a full collection, so it needs the gc() hook.
  if (mode === 'abort-poll') nodeArgs.unshift('--expose-gc');
  if (mode === 'abort-poll') nodeArgs.push('--abort-poll');
  const timeTool = existsSync('/usr/bin/time');
  const child = timeTool
    ? spawn('/usr/bin/time', ['-v', process.execPath, ...nodeArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exit = await waitForExit(child, 1800_000, `finalize child (${mode})`);
  if (exit.code !== 0) throw new Error(`finalize child (${mode}) exited with code ${exit.code}:\n${errors.slice(-3000)}`);

  const result = JSON.parse(output.trim().split('\n').pop()!) as Record<string, unknown> & { wallS: number; peakRssBytes: number };
  const maxRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(errors);
  return {
    wallS: result.wallS,
    maxRssBytes: maxRss ? Number(maxRss[1]) * 1024 : result.peakRssBytes,
    sampledPeakRssBytes: result.peakRssBytes,
    timeTool: maxRss !== null,
    result,
  };
}

export async function runFinalizeBench(options: BenchOptions): Promise<BenchOutcome> {
  const shape = options.quick ? QUICK_SHAPE : FULL_SHAPE;
  const dataset = await ensureDataset(shape, options.log);
  const fullWindows = FULL_SHAPE.segments * windowsPerSegment(FULL_SHAPE);
  const scale = fullWindows / dataset.windows;

  await resetOutputs(dataset);
  const finalize = await measureChild(dataset, 'finalize');
  options.log(`  finalize: ${finalize.wallS.toFixed(1)} s, peak RSS ${formatBytes(finalize.maxRssBytes)}`);
  const abortPoll = await measureChild(dataset, 'abort-poll');
  const pollS = abortPoll.result.pollS as number;
  options.log(
    `  abort check: catch-up of ${abortPoll.result.checkpoints} checkpoints ${(abortPoll.result.catchUpS as number).toFixed(1)} s, ` +
      `then a poll ${pollS.toFixed(2)} s with ${abortPoll.result.listsPerPoll} list calls, RSS ${formatBytes(abortPoll.result.retainedRssBytes as number)} after all windows`,
  );

  let compared: { finalize: ChildMeasurement; abortPoll: ChildMeasurement } | undefined;
  if (options.compareRoot !== undefined) {
    await resetOutputs(dataset);
    compared = { finalize: await measureChild(dataset, 'finalize', options.compareRoot), abortPoll: await measureChild(dataset, 'abort-poll', options.compareRoot) };
    options.log(`  compared checkout: finalize ${compared.finalize.wallS.toFixed(1)} s, ${formatBytes(compared.finalize.maxRssBytes)}`);
  }

  const reportBytes = finalize.result.reportBytes as number;
  const htmlBytes = finalize.result.htmlBytes as number;
  const shapeText = `${shape.segments} segments x ${shape.hours} h, ${dataset.windows.toLocaleString('en-US')} windows`;
  const checks: TargetCheck[] = [];
  if (options.quick) {
    // Time grows with the stored windows; memory with the merged windows and is not extrapolated.
    const estimate = finalize.wallS * scale;
    checks.push(
      { bench: 'finalize', name: `time (${shapeText})`, value: `${finalize.wallS.toFixed(1)} s`, target: 'report', holds: null },
      {
        bench: 'finalize',
        name: 'time, estimate for 64 x 8 h',
        value: `${estimate.toFixed(0)} s (x${scale.toFixed(0)}, linear in windows)`,
        target: `< ${TARGET_SECONDS} s`,
        holds: estimate < TARGET_SECONDS,
      },
      { bench: 'finalize', name: `peak RSS (${shapeText})`, value: formatBytes(finalize.maxRssBytes), target: 'report', holds: null },
    );
  } else {
    checks.push(
      { bench: 'finalize', name: `time (${shapeText})`, value: `${finalize.wallS.toFixed(1)} s`, target: `< ${TARGET_SECONDS} s`, holds: finalize.wallS < TARGET_SECONDS },
      { bench: 'finalize', name: 'peak RSS', value: formatBytes(finalize.maxRssBytes), target: `< ${formatBytes(TARGET_RSS_BYTES)}`, holds: finalize.maxRssBytes < TARGET_RSS_BYTES },
    );
  }
  checks.push(
    { bench: 'finalize', name: 'report.json size', value: formatBytes(reportBytes), target: `< ${formatBytes(TARGET_OUTPUT_BYTES)}`, holds: reportBytes < TARGET_OUTPUT_BYTES },
    { bench: 'finalize', name: 'report.html size', value: formatBytes(htmlBytes), target: `< ${formatBytes(TARGET_OUTPUT_BYTES)}`, holds: htmlBytes < TARGET_OUTPUT_BYTES },
    {
      bench: 'finalize',
      name: 'segment 0 abort check, one poll',
      value: `${pollS.toFixed(2)} s and ${abortPoll.result.listsPerPoll} list calls (every 10 s); RSS ${formatBytes(abortPoll.result.retainedRssBytes as number)} at the end`,
      target: '< 10 s',
      holds: pollS < 10,
    },
  );
  let longest: ChildMeasurement | undefined;
  if (!options.quick) {
    const longestData = await ensureDataset(LONGEST_SHAPE, options.log);
    await resetOutputs(longestData);
    longest = await measureChild(longestData, 'finalize');
    options.log(`  finalize 64 x 72 h: ${longest.wallS.toFixed(1)} s, peak RSS ${formatBytes(longest.maxRssBytes)}`);
    checks.push({
      bench: 'finalize',
      name: `64 x 72 h (${longestData.windows.toLocaleString('en-US')} windows)`,
      value: `${longest.wallS.toFixed(1)} s, ${formatBytes(longest.maxRssBytes)}; report ${formatBytes(longest.result.reportBytes as number)}, html ${formatBytes(longest.result.htmlBytes as number)}`,
      target: `< ${TARGET_SECONDS} s, < ${formatBytes(TARGET_RSS_BYTES)}, < ${formatBytes(TARGET_OUTPUT_BYTES)}`,
      holds:
        longest.wallS < TARGET_SECONDS &&
        longest.maxRssBytes < TARGET_RSS_BYTES &&
        (longest.result.reportBytes as number) < TARGET_OUTPUT_BYTES &&
        (longest.result.htmlBytes as number) < TARGET_OUTPUT_BYTES,
    });
  }
  if (compared !== undefined) {
    checks.push(
      {
        bench: 'finalize',
        name: 'compared: time',
        value: `${compared.finalize.wallS.toFixed(1)} s, ${formatBytes(compared.finalize.maxRssBytes)} (${options.compareRoot})`,
        target: options.quick ? 'report' : `< ${TARGET_SECONDS} s, < ${formatBytes(TARGET_RSS_BYTES)}`,
        holds: options.quick ? null : compared.finalize.wallS < TARGET_SECONDS && compared.finalize.maxRssBytes < TARGET_RSS_BYTES,
      },
      {
        bench: 'finalize',
        name: 'compared: abort check, one poll',
        value: `${(compared.abortPoll.result.pollS as number).toFixed(2)} s; RSS ${formatBytes(compared.abortPoll.result.retainedRssBytes as number)}`,
        target: '< 10 s',
        holds: (compared.abortPoll.result.pollS as number) < 10,
      },
    );
  }
  return {
    checks,
    details: { shape, dataset, scaleToFull: scale, finalize, abortPoll, compared, longest },
  };
}
