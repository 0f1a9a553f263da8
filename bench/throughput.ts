/**
 * Stream aggregation throughput: recorded k6 output replayed into the runner's
 * stream path as fast as it can read, in lines per second. The reference is the line
 * rate that k6's `--out json` would produce at bare k6's maximum request rate, which
 * the same invocation measures.
 *
 * Each repetition runs bare k6 against the local target, then the replay through a
 * named pipe (the runner's path, fed by `cat`), then the replay in process.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6RunArgs, requireK6Bin, spawnK6, waitForExit } from './lib/k6.js';
import type { BenchOptions, BenchOutcome, TargetCheck } from './lib/outcome.js';
import { buildReplayStream, loadStreamModules, replayInProcess, replayThroughFifo, writeReplayFile, type StreamModules } from './lib/replay.js';
import { formatCount, formatSpread, spread } from './lib/stats.js';
import { startTarget, type RunningTarget } from './lib/target.js';
import { SCRIPT, VUS } from './overhead.js';

export const TARGET_FACTOR = 3;

async function bareRequestsPerS(k6Bin: string, target: RunningTarget, durationS: number): Promise<number> {
  const before = await target.requests();
  const { child, stderr } = spawnK6(
    k6Bin,
    k6RunArgs({ script: SCRIPT, outputs: [], variables: { BASE_URL: target.url, DURATION: `${durationS}s`, VUS: String(VUS) } }),
  );
  const exit = await waitForExit(child, (durationS + 90) * 1000, 'k6 (bare)');
  if (exit.code !== 0) throw new Error(`k6 (bare) exited with code ${exit.code}: ${stderr().trim().split('\n').slice(-4).join(' | ')}`);
  return ((await target.requests()) - before) / durationS;
}

/** Lines k6 writes per request of bench/k6/constant-vus.js: `--out json` to a pipe whose newlines are counted. */
async function linesPerRequest(k6Bin: string, target: RunningTarget, workDir: string): Promise<number> {
  const fifo = join(workDir, 'count.fifo');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  let lines = 0;
  const counted = new Promise<void>((resolve, reject) => {
    const stream = createReadStream(fifo);
    stream.on('data', (chunk) => {
      const bytes = chunk as Buffer;
      for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) lines += 1;
    });
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const before = await target.requests();
  const { child, stderr } = spawnK6(
    k6Bin,
    k6RunArgs({ script: SCRIPT, outputs: [`json=${fifo}`], variables: { BASE_URL: target.url, DURATION: '5s', VUS: String(VUS) } }),
  );
  const exit = await waitForExit(child, 120_000, 'k6 (line count)');
  if (exit.code !== 0) throw new Error(`k6 (line count) exited with code ${exit.code}: ${stderr().trim().split('\n').slice(-4).join(' | ')}`);
  await counted;
  const requests = (await target.requests()) - before;
  return lines / requests;
}

export async function runThroughputBench(options: BenchOptions): Promise<BenchOutcome> {
  const k6Bin = requireK6Bin();
  const repetitions = options.quick ? 2 : 3;
  const bareS = options.quick ? 5 : 10;
  const minLines = options.quick ? 1_000_000 : 3_000_000;

  const workDir = mkdtempSync(join(tmpdir(), 'soak-bench-throughput-'));
  const stream = buildReplayStream(minLines);
  const replayPath = join(workDir, 'replay.ndjson');
  writeReplayFile(replayPath, stream.bytes);
  const bytes = stream.bytes;
  options.log(`  replay stream: ${formatCount(stream.lines)} lines, ${(bytes.length / 1024 ** 2).toFixed(0)} MiB, ${stream.spanS} s of k6 time`);

  const alternative: StreamModules | undefined = options.compareRoot === undefined ? undefined : await loadStreamModules(options.compareRoot);
  const target = await startTarget(3600);
  const bare: number[] = [];
  const pipe: number[] = [];
  const inProcess: number[] = [];
  const altPipe: number[] = [];
  const altInProcess: number[] = [];
  let perRequest: number;
  let windowsClosed = 0;
  try {
    perRequest = await linesPerRequest(k6Bin, target, workDir);
    options.log(`  k6 writes ${perRequest.toFixed(2)} lines per request of ${SCRIPT.split('/').pop()}`);
    for (let repetition = 0; repetition < repetitions; repetition++) {
      bare.push(await bareRequestsPerS(k6Bin, target, bareS));
      const throughPipe = await replayThroughFifo(replayPath, stream.lines);
      pipe.push(throughPipe.linesPerS);
      windowsClosed = throughPipe.windowsClosed;
      inProcess.push(replayInProcess(bytes, stream.lines).linesPerS);
      let line = `  throughput rep ${repetition + 1}/${repetitions}: bare k6 ${Math.round(bare.at(-1)!)} req/s, replay ${formatCount(pipe.at(-1)!)} lines/s (pipe), ${formatCount(inProcess.at(-1)!)} lines/s (in process)`;
      if (alternative !== undefined) {
        altPipe.push((await replayThroughFifo(replayPath, stream.lines, alternative)).linesPerS);
        altInProcess.push(replayInProcess(bytes, stream.lines, alternative).linesPerS);
        line += `; compared checkout ${formatCount(altPipe.at(-1)!)} (pipe), ${formatCount(altInProcess.at(-1)!)} (in process)`;
      }
      options.log(line);
    }
  } finally {
    await target.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const k6LineRates = bare.map((rate) => rate * perRequest);
  const pipeFactor = spread(pipe.map((rate, i) => rate / k6LineRates[i]!));
  const inProcessFactor = spread(inProcess.map((rate, i) => rate / k6LineRates[i]!));
  const details: Record<string, unknown> = {
    repetitions,
    replayLines: stream.lines,
    replayBytes: bytes.length,
    replaySpanS: stream.spanS,
    windowsClosed,
    linesPerRequest: perRequest,
    bareRequestsPerS: spread(bare),
    k6LinesPerS: spread(k6LineRates),
    replayPipeLinesPerS: spread(pipe),
    replayInProcessLinesPerS: spread(inProcess),
    pipeFactor,
    inProcessFactor,
  };
  const checks: TargetCheck[] = [
    {
      bench: 'throughput',
      name: 'replay (pipe) / k6 line rate',
      value: `${formatSpread(pipeFactor)}; ${formatCount(spread(pipe).median)} vs ${formatCount(spread(k6LineRates).median)} lines/s`,
      target: `>= ${TARGET_FACTOR}`,
      holds: pipeFactor.median >= TARGET_FACTOR,
    },
    {
      bench: 'throughput',
      name: 'replay (in process) / k6 line rate',
      value: `${formatSpread(inProcessFactor)}; ${formatCount(spread(inProcess).median)} lines/s`,
      target: 'report',
      holds: null,
    },
  ];

  if (alternative !== undefined) {
    const altFactor = spread(altPipe.map((rate, i) => rate / k6LineRates[i]!));
    Object.assign(details, { compareRoot: options.compareRoot, altPipeLinesPerS: spread(altPipe), altInProcessLinesPerS: spread(altInProcess), altPipeFactor: altFactor });
    checks.push(
      {
        bench: 'throughput',
        name: 'compared: replay (pipe) / k6 line rate',
        value: `${formatSpread(altFactor)}; ${formatCount(spread(altPipe).median)} lines/s`,
        target: `>= ${TARGET_FACTOR}`,
        holds: altFactor.median >= TARGET_FACTOR,
      },
      {
        bench: 'throughput',
        name: 'compared/own replay (in process)',
        value: formatSpread(spread(altInProcess.map((rate, i) => rate / inProcess[i]!))),
        target: 'report',
        holds: null,
      },
    );
  }
  return { checks, details };
}
