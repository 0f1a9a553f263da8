/**
 * Helpers for tests that run the k6 test double (`fake-k6.mjs`) in place of k6.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_K6_PATH = fileURLToPath(new URL('./fake-k6.mjs', import.meta.url));
export const K6_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/k6/', import.meta.url));

/** The safety settings that every k6 process must get from the runner. */
const K6_SAFETY_VARIABLES = ['K6_NO_USAGE_REPORT', 'K6_AUTO_EXTENSION_RESOLUTION'] as const;

export interface FakeK6Settings {
  /** Recording to replay (`FAKE_K6_CASE`). The double defaults to `soak-mode`. */
  case?: string;
  /** Replay speed factor (`FAKE_K6_SPEED`): 20 replays 10 s of stream in 0.5 s. */
  speed?: number;
  /** Stream length in recorded seconds (`FAKE_K6_LOOP_S`). The recording repeats until then. */
  loopS?: number;
  /** File that receives one JSON line per invocation (`FAKE_K6_ARGS_FILE`). */
  argsFile?: string;
  /** For the `sigkill` case: leave half of the last stream line (`FAKE_K6_CUT_LAST_LINE`). */
  cutLastLine?: boolean;
}

/**
 * Returns an environment in which K6_BIN points at the double, configured by
 * `settings`. The k6 safety settings are removed from it, so only code under test
 * that sets them itself gets past the double's check (it exits 2 otherwise).
 */
export function fakeK6Env(settings: FakeK6Settings = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, K6_BIN: FAKE_K6_PATH };
  for (const name of K6_SAFETY_VARIABLES) delete env[name];
  for (const name of ['FAKE_K6_CASE', 'FAKE_K6_SPEED', 'FAKE_K6_LOOP_S', 'FAKE_K6_ARGS_FILE', 'FAKE_K6_CUT_LAST_LINE']) delete env[name];
  if (settings.case !== undefined) env.FAKE_K6_CASE = settings.case;
  if (settings.speed !== undefined) env.FAKE_K6_SPEED = String(settings.speed);
  if (settings.loopS !== undefined) env.FAKE_K6_LOOP_S = String(settings.loopS);
  if (settings.argsFile !== undefined) env.FAKE_K6_ARGS_FILE = settings.argsFile;
  if (settings.cutLastLine === true) env.FAKE_K6_CUT_LAST_LINE = '1';
  return env;
}

export interface StreamPipe {
  /** Write end to pass in a child's `stdio` array, e.g. as fd 3 for `--out json=/dev/fd/3`. */
  writeFd: number;
  /** Read end: the stream ends when every process holding the write end has closed it. */
  reader: Socket;
  /** Closes the parent's copy of the write end. Call it right after spawning the child. */
  releaseWriteFd(): void;
  /** Closes both ends and removes the FIFO. */
  dispose(): Promise<void>;
}

/**
 * Creates a FIFO to carry k6's `--out json` stream from a child process.
 *
 * k6 opens its output by path, and `/dev/fd/3` of a child whose fd 3 is a Node
 * `'pipe'` cannot be opened: Node passes a UNIX socket there and open(2) fails with
 * ENXIO (k6 v1.3.0 exits 255 with `open /dev/fd/3: no such device or address`). A
 * FIFO passed as fd 3 works, and so does passing the FIFO's own path to `--out json=`.
 * Needs the `mkfifo` program (coreutils).
 */
export async function createStreamPipe(): Promise<StreamPipe> {
  const directory = await mkdtemp(join(tmpdir(), 'fake-k6-'));
  const path = join(directory, 'stream.fifo');
  execFileSync('mkfifo', [path]);
  // Opening the read end first without blocking lets the write end open at once.
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  let writeFdOpen = true;
  const releaseWriteFd = () => {
    if (!writeFdOpen) return;
    writeFdOpen = false;
    closeSync(writeFd);
  };
  return {
    writeFd,
    reader,
    releaseWriteFd,
    async dispose() {
      releaseWriteFd();
      reader.destroy();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
