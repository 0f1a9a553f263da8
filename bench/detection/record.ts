/**
 * Records real soak runs for the detection benchmark. For each case it starts the
 * example API with the case's fault switches and runs `soak run --local` against it
 * (real k6 from K6_BIN) for 5 minutes at 100 iterations/s. It stores the run's series
 * at 10-second and 60-second resolution with the runner's own verdict.
 *
 *   K6_BIN=/path/to/k6 npx tsx bench/detection/record.ts [--cases ID,ID] [--repeat N] [--out DIR] [--duration-s S]
 *
 * Every run starts the API with BASE_API_ARGS (a base latency, see cases.ts) before the
 * case's own switches. `--duration-s` shortens the runs for a quick check of the setup;
 * recordings for the benchmark use the default of 300 s. Record into an empty folder: the
 * latency strengths come from the clean recordings already in it.
 *
 * All load goes to 127.0.0.1, and each run stops by itself after its duration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { parseArgsOrExit } from '../lib/cli.js';
import { decodeWindows } from '../../core/checkpoint.js';
import { parseEnvConfig } from '../../core/config.js';
import { WindowMerger, rollup } from '../../core/merge.js';
import { keys } from '../../core/ports.js';
import { buildSeries } from '../../core/report-build.js';
import { RunReportSchema } from '../../core/report-schema.js';
import { RunManifestSchema } from '../../core/schemas.js';
import { BASE_API_ARGS, DETECTION_CASES, RUN_DURATION_S, RUN_RATE, type DetectionCase } from './cases.js';
import { type Recording, RecordingSchema } from './recording.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_RECORDINGS_DIR = join(ROOT, 'bench', 'detection', 'recordings');
const ENV = 'local';

function startApi(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/sigil-api/server.ts'), '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error('the example API did not print its URL within 30 s')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const match = /sigil-api listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, url: match[1]! });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example API exited with code ${code} before it listened`));
    });
  });
}

function runSoak(target: string, results: string, runId: string, durationS: number): Promise<number> {
  const args = [
    '--import', 'tsx', join(ROOT, 'bin/soak.ts'), 'run', '--local', '--env', ENV, '--target', target,
    '--scenario', 'sigil', '--rate', String(RUN_RATE), '--duration', `${durationS}s`, '--segments', '1',
    '--results', results, '--run-id', runId, '--json',
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_AUTO_EXTENSION_RESOLUTION: 'false' },
  });
  return new Promise((resolvePromise) => child.on('exit', (code) => resolvePromise(code ?? -1)));
}

/** Reads the run's stored windows back and builds its series at both resolutions. */
async function readRun(
  results: string,
  runId: string,
  testCase: DetectionCase,
  runCases: string[],
  repeat: number,
  apiArgs: string[],
  loadAverage: { start: number; end: number },
): Promise<Recording> {
  const store = new FolderResultStore(results);
  const manifest = RunManifestSchema.parse(JSON.parse(Buffer.from((await store.get(keys.manifest(ENV, runId)))!).toString('utf8')));
  const config = parseEnvConfig(manifest.config, 'manifest');
  const merger = new WindowMerger();
  for (const plan of manifest.segments) {
    for (const key of await store.list(keys.windowsPrefix(ENV, runId, plan.index))) {
      if (!key.endsWith('.ndjson.gz')) continue;
      for (const record of decodeWindows((await store.get(key))!, key)) merger.add(record);
    }
  }
  const windows = merger.windows();
  const report = RunReportSchema.parse(JSON.parse(Buffer.from((await store.get(keys.report(ENV, runId)))!).toString('utf8')));
  return RecordingSchema.parse({
    caseId: testCase.id,
    repeat,
    runCases,
    apiArgs,
    recordedAt: new Date().toISOString(),
    runId,
    durationS: manifest.request.durationS,
    rate: manifest.request.rate,
    k6Version: report.k6Version,
    runStartMs: windows[0]?.startMs ?? manifest.createdAtMs,
    verdict: report.verdict,
    reasons: report.reasons.map((reason) => reason.code),
    loadAverage1m: loadAverage,
    series10s: buildSeries(windows, config),
    series60s: buildSeries(rollup(windows), config),
  });
}

/** Returns whether a recording's switches start with `base`, the switches every run of the current setup gets. */
export function sameSetup(apiArgs: readonly string[], base: readonly string[] = BASE_API_ARGS): boolean {
  return base.every((arg, index) => apiArgs[index] === arg);
}

/**
 * Reference p99 of the latency strengths: the median p99 of 10-second points after the
 * first minute, per clean recording of the current setup, and the lowest of these. Other
 * processes on the machine only ever add latency, so the quietest clean run is the best
 * estimate of the API's own p99. Clean recordings of another setup (another base latency)
 * are skipped.
 */
export function cleanP99Ms(dir: string): number | null {
  const medians: number[] = [];
  for (const file of safeList(dir)) {
    if (!file.startsWith('clean-')) continue;
    const recording = RecordingSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    if (!sameSetup(recording.apiArgs)) continue;
    const values = recording.series10s
      .filter((point) => point.t >= recording.runStartMs + 60_000 && point.p99 !== null)
      .map((point) => point.p99!)
      .sort((a, b) => a - b);
    if (values.length > 0) medians.push(values[Math.floor(values.length / 2)]!);
  }
  return medians.length === 0 ? null : Math.min(...medians);
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Returns the switches of a case, with the drift rate set for a p99 rise of 20 % or 100 % of the clean p99 over the 4 minutes after warm-up. */
function driftArgs(testCase: DetectionCase, dir: string): string[] {
  if (testCase.fault !== 'latency drift') return testCase.apiArgs;
  const p99 = cleanP99Ms(dir);
  if (p99 === null) throw new Error('latency-drift cases need a clean recording first: record the case "clean" before them.');
  const share = testCase.strength === 'weak' ? 0.2 : 1.0;
  return ['--drift-ms-per-min', String(Number(((share * p99) / 4).toFixed(3)))];
}

export function fileNameOf(caseId: string, repeat: number): string {
  return `${caseId.replaceAll('/', '-')}-${repeat}.json`;
}

/**
 * Records real runs. Each item of `groups` is one run: a single case, or several cases
 * joined with `+` whose faults are injected together (their switches concatenated), which
 * is possible when the analyses read different series (heap and descriptors, latency and
 * errors). A joined run is stored once for each of its cases. Returns the runs that
 * failed; the others are recorded all the same.
 */
export async function recordRuns(
  groups: readonly string[],
  repeats: number,
  out: string,
  log: (line: string) => void,
  durationS: number = RUN_DURATION_S,
): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const failed: string[] = [];
  for (const group of groups) {
    const cases = group.split('+').map((id) => DETECTION_CASES.find((candidate) => candidate.id === id)!);
    for (let repeat = 0; repeat < repeats; repeat++) {
      let index = 0;
      while (cases.some((testCase) => safeList(out).includes(fileNameOf(testCase.id, index)))) index++;
      const apiArgs = [...BASE_API_ARGS, ...cases.flatMap((testCase) => driftArgs(testCase, out))];
      const results = mkdtempSync(join(tmpdir(), 'soak-detection-'));
      const runId = `det-${group.replaceAll('/', '-').replaceAll('+', '_')}-${index}-${Date.now()}`.slice(0, 80);
      const started = Date.now();
      log(`record: ${group} #${index} (${apiArgs.join(' ') || 'no fault'}) started`);
      const loadAtStart = loadavg()[0]!;
      try {
        const api = await startApi(apiArgs);
        let exitCode: number;
        try {
          exitCode = await runSoak(api.url, results, runId, durationS);
        } finally {
          api.child.kill('SIGTERM');
        }
        const loadAverage = { start: loadAtStart, end: loadavg()[0]! };
        for (const testCase of cases) {
          const recording = await readRun(results, runId, testCase, cases.map((item) => item.id), index, apiArgs, loadAverage);
          writeFileSync(join(out, fileNameOf(testCase.id, index)), `${JSON.stringify(recording)}\n`);
          if (testCase === cases[0]) {
            const load = `load average ${loadAverage.start.toFixed(1)} at start, ${loadAverage.end.toFixed(1)} at end`;
            log(`record: ${group} #${index} done in ${Math.round((Date.now() - started) / 1000)} s, exit ${exitCode}, verdict ${recording.verdict} (${recording.reasons.join(', ') || 'no reasons'}), ${load}`);
          }
        }
        rmSync(results, { recursive: true, force: true });
      } catch (error) {
        // A failed run must not stop the runs after it. Its results stay in place for a look.
        failed.push(`${group} #${index}`);
        log(`record: ${group} #${index} failed after ${Math.round((Date.now() - started) / 1000)} s: ${error instanceof Error ? error.message : String(error)}. Its results stay in ${results}.`);
      }
    }
  }
  return failed;
}

/** Returns the case ids of a `--cases` value that no case has, `+` joins included. */
export function unknownCases(groups: readonly string[]): string[] {
  return groups.flatMap((group) => group.split('+')).filter((id) => !DETECTION_CASES.some((testCase) => testCase.id === id));
}

const USAGE =
  'Usage: K6_BIN=/path/to/k6 npx tsx bench/detection/record.ts [--cases ID,ID] [--repeat N] [--out DIR] [--duration-s S] [--help]\n\n' +
  '  --cases ID,ID   runs to record, each a case id or ids joined with + (default: every case)\n' +
  '  --repeat N      runs of each, 1 to 10 (default 1)\n' +
  '  --out DIR       folder for the recordings (default bench/detection/recordings)\n' +
  `  --duration-s S  length of each run, 90 to 3600 (default ${RUN_DURATION_S})\n` +
  '  --help          this text\n\n' +
  `Case ids: ${DETECTION_CASES.map((testCase) => testCase.id).join(', ')}\n`;

async function main(): Promise<number> {
  const parsed = parseArgsOrExit(
    {
      options: {
        cases: { type: 'string' },
        repeat: { type: 'string', default: '1' },
        out: { type: 'string', default: DEFAULT_RECORDINGS_DIR },
        'duration-s': { type: 'string', default: String(RUN_DURATION_S) },
        help: { type: 'boolean', default: false },
      },
    },
    'record',
    USAGE,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const durationS = Number(values['duration-s']);
  if (!Number.isInteger(durationS) || durationS < 90 || durationS > 3600) {
    process.stderr.write(`record: invalid --duration-s "${values['duration-s']}": use a whole number of seconds from 90 to 3600.\n`);
    return 2;
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) {
    process.stderr.write(`record: invalid --repeat "${values.repeat}": use a whole number from 1 to 10.\n`);
    return 2;
  }
  const groups = values.cases ? values.cases.split(',') : DETECTION_CASES.map((testCase) => testCase.id);
  const unknown = unknownCases(groups);
  if (unknown.length > 0) {
    process.stderr.write(`record: unknown case ${unknown.join(', ')}; known cases: ${DETECTION_CASES.map((c) => c.id).join(', ')}.\n`);
    return 2;
  }
  if (!process.env.K6_BIN) {
    process.stderr.write('record: K6_BIN is not set. Set it to a k6 binary (tested with k6 v1.3.0).\n');
    return 2;
  }
  const failed = await recordRuns(groups, repeat, resolve(values.out), (line) => process.stderr.write(`${line}\n`), durationS);
  if (failed.length > 0) {
    process.stderr.write(`record: ${failed.length} run(s) failed: ${failed.join(', ')}.\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
