/**
 * Replay of recorded k6 v1.3.0 `--out json` streams (test/fixtures/k6/) into the
 * runner's stream path: LineSplitter, WindowAggregator, window close and checkpoint
 * encoding, as task/segment-runner.ts wires them.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as checkpoint from '../../core/checkpoint.js';
import { parseEnvConfig } from '../../core/config.js';
import * as k6Stream from '../../core/k6-stream.js';
import type { WindowRecord } from '../../core/schemas.js';
import * as windows from '../../core/windows.js';
import { openSampleFifo } from '../../task/segment-runner.js';
import { waitForExit } from './k6.js';

/** Recordings of 10 s at 100 iterations/s with the sigil scenario (see test/fixtures/k6/README.md). */
export const RECORDINGS = ['ok', 'pass', 'thresholds-fail', 'timeouts', 'soak-mode'] as const;
const FIXTURES = new URL('../../test/fixtures/k6/', import.meta.url);

/** Each copy of a recording starts this long after the previous one, so its windows never overlap. */
const COPY_SPACING_S = 20;
const TIME_KEY = '"time":"';

function loadRecording(name: string): string[] {
  const text = gunzipSync(readFileSync(fileURLToPath(new URL(`${name}.ndjson.gz`, FIXTURES)))).toString('utf8');
  return text.split('\n').filter((line) => line.length > 0);
}

/** Shifts the `YYYY-MM-DDTHH:MM:SS` part of a k6 time by whole seconds. The caller keeps the fraction and the zone. */
function shiftSeconds(secondsText: string, shiftS: number, cache: Map<string, string>): string {
  let shifted = cache.get(secondsText);
  if (shifted === undefined) {
    shifted = new Date(Date.parse(`${secondsText}Z`) + shiftS * 1000).toISOString().slice(0, 19);
    cache.set(secondsText, shifted);
  }
  return shifted;
}

/**
 * Builds a stream of at least `minLines` lines from copies of the recordings. Copy k
 * is shifted so that its first point lands k * 20 s after the first copy's, so the
 * copies follow each other like one long run. Recorded times are in UTC (`Z`), which
 * the shift relies on.
 */
export function buildReplayStream(minLines: number): { bytes: Buffer; lines: number; spanS: number } {
  const recordings = RECORDINGS.map(loadRecording);
  // One Buffer per copy: a few million lines are more text than one V8 string can hold.
  const copies: Buffer[] = [];
  let lines = 0;
  let copy = 0;
  let originS: number | null = null;
  while (lines < minLines) {
    const recording = recordings[copy % recordings.length]!;
    const firstTimed = recording.find((line) => line.includes(TIME_KEY))!;
    const firstStart = firstTimed.indexOf(TIME_KEY) + TIME_KEY.length;
    const baseS = Date.parse(`${firstTimed.slice(firstStart, firstStart + 19)}Z`) / 1000;
    originS ??= baseS;
    const shiftS = originS + copy * COPY_SPACING_S - baseS;
    const cache = new Map<string, string>();
    const parts: string[] = [];
    for (const line of recording) {
      const at = line.indexOf(TIME_KEY);
      if (at < 0) {
        parts.push(line);
        continue;
      }
      const start = at + TIME_KEY.length;
      parts.push(line.slice(0, start) + shiftSeconds(line.slice(start, start + 19), shiftS, cache) + line.slice(start + 19));
    }
    copies.push(Buffer.from(`${parts.join('\n')}\n`));
    lines += recording.length;
    copy += 1;
  }
  return { bytes: Buffer.concat(copies), lines, spanS: copy * COPY_SPACING_S };
}

export interface ReplayResult {
  lines: number;
  seconds: number;
  linesPerS: number;
  points: number;
  windowsClosed: number;
  checkpointBytes: number;
}

/** The metrics the runner drops by default, as run-segment passes them (windows.skipMetrics). */
const DEFAULT_SKIP_METRICS = parseEnvConfig({}, null).windows.skipMetrics;

/** The classes of the stream path, from this checkout or from another one being compared. */
export interface StreamModules {
  LineSplitter: typeof k6Stream.LineSplitter;
  WindowAggregator: typeof windows.WindowAggregator;
  encodeWindows: typeof checkpoint.encodeWindows;
}

export const OWN_STREAM_MODULES: StreamModules = {
  LineSplitter: k6Stream.LineSplitter,
  WindowAggregator: windows.WindowAggregator,
  encodeWindows: checkpoint.encodeWindows,
};

/** Loads the stream path of another checkout of this repository (run under tsx). */
export async function loadStreamModules(repositoryRoot: string): Promise<StreamModules> {
  const load = (path: string) => import(pathToFileURL(join(repositoryRoot, path)).href);
  const [stream, aggregation, encoding] = await Promise.all([load('core/k6-stream.ts'), load('core/windows.ts'), load('core/checkpoint.ts')]);
  return {
    LineSplitter: (stream as typeof k6Stream).LineSplitter,
    WindowAggregator: (aggregation as typeof windows).WindowAggregator,
    encodeWindows: (encoding as typeof checkpoint).encodeWindows,
  };
}

/** The runner's consumer: the same objects and calls as SegmentRunner's stream handling. */
class ReplayConsumer {
  readonly aggregator: windows.WindowAggregator;
  readonly splitter: { push(chunk: Uint8Array): void; end(): string | null };
  #pending: WindowRecord[] = [];
  #chunks = 0;
  windowsClosed = 0;
  checkpointBytes = 0;

  constructor(private readonly modules: StreamModules) {
    const aggregator = new modules.WindowAggregator({
      runId: 'bench-replay',
      segment: 0,
      filters: ['http_req_duration{expected_response:true}', 'http_req_duration{name:verify}'],
      skipMetrics: DEFAULT_SKIP_METRICS,
    });
    this.aggregator = aggregator;
    // A checkout from before lineSplitter() wires the splitter itself, as run-segment did then.
    this.splitter =
      typeof aggregator.lineSplitter === 'function'
        ? aggregator.lineSplitter()
        : new modules.LineSplitter(
            (line) => aggregator.addLine(line),
            () => aggregator.noteUnparsable(),
          );
  }

  push(chunk: Uint8Array): void {
    this.splitter.push(chunk);
    this.aggregator.noteStreamLag();
    // The runner closes windows once a second and checkpoints every minute; here the
    // data's own clock drives both, every 32 chunks (2 MiB) of stream.
    this.#chunks += 1;
    if (this.#chunks % 32 === 0 && this.aggregator.lastPointMs !== null) this.#close(this.aggregator.closeUpTo(this.aggregator.lastPointMs));
  }

  end(): void {
    this.splitter.end();
    this.#close(this.aggregator.closeAll());
    this.#flush();
  }

  #close(records: WindowRecord[]): void {
    this.windowsClosed += records.length;
    this.#pending.push(...records);
    if (this.#pending.length >= 6) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.checkpointBytes += this.modules.encodeWindows(this.#pending).length;
    this.#pending = [];
  }
}

/** Feeds the stream to the consumer in 64 KiB chunks, in this process: the parsing ceiling. */
export function replayInProcess(bytes: Buffer, lines: number, modules = OWN_STREAM_MODULES): ReplayResult {
  const consumer = new ReplayConsumer(modules);
  const started = process.hrtime.bigint();
  const chunk = 64 * 1024;
  for (let offset = 0; offset < bytes.length; offset += chunk) consumer.push(bytes.subarray(offset, offset + chunk));
  consumer.end();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return result(consumer, lines, seconds);
}

/**
 * Sends the stream from a file through a named pipe with `cat`, read by the runner's
 * own openSampleFifo socket, as k6's output would arrive.
 */
export async function replayThroughFifo(path: string, lines: number, modules = OWN_STREAM_MODULES): Promise<ReplayResult> {
  const consumer = new ReplayConsumer(modules);
  const fifo = openSampleFifo((chunk) => consumer.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    fifo.reader.on('end', () => resolve());
    fifo.reader.on('error', reject);
  });
  // A reader is open, so this blocking open for writing returns at once.
  const writeFd = openSync(fifo.path, constants.O_WRONLY);
  const started = process.hrtime.bigint();
  const cat = spawn('cat', [path], { stdio: ['ignore', writeFd, 'inherit'] });
  closeSync(writeFd);
  const exit = await waitForExit(cat, 300_000, 'cat');
  if (exit.code !== 0) throw new Error(`cat ${path} exited with code ${exit.code}`);
  fifo.releaseWriter();
  await ended;
  consumer.end();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fifo.remove();
  return result(consumer, lines, seconds);
}

function result(consumer: ReplayConsumer, lines: number, seconds: number): ReplayResult {
  return {
    lines,
    seconds,
    linesPerS: lines / seconds,
    points: consumer.aggregator.points,
    windowsClosed: consumer.windowsClosed,
    checkpointBytes: consumer.checkpointBytes,
  };
}

export function writeReplayFile(path: string, bytes: Buffer): void {
  writeFileSync(path, bytes);
}
