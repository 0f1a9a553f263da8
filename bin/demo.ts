/**
 * `npm run demo`: starts the bundled example API on a free loopback port, soaks it
 * with the bundled sigil scenario (2 minutes, 50 iterations/s, 2 segments by
 * default) through the same pipeline as `soak run --local`, and prints the report
 * path. Extra options:
 *   --duration 10m --rate 100 --segments 2 --results DIR
 *   --api "--leak-heap-mb-per-min 5"   switches passed to the example API
 *
 * Without a k6 binary (K6_BIN or PATH), the demo replays recorded output of a real
 * k6 v1.3.0 run through the k6 test double instead, says so, and labels the report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.js';
import { createLogger } from '../core/log.js';
import { findK6, K6NotFoundError, K6_INSTALL_HINT } from '../task/k6.js';
import { runLocal } from './commands/run-local.js';
import { ExitCode, UsageError, type Io } from './io.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const io: Io = { out: process.stdout, err: process.stderr };

function startExampleApi(extraArgs: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'examples/sigil-api/server.ts'), '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the example API did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ child, url: match[1]! });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example API exited with code ${code} before it was ready:\n${output}`));
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2m' },
      rate: { type: 'string', default: '50' },
      segments: { type: 'string', default: '2' },
      results: { type: 'string', default: './soak-results' },
      api: { type: 'string', default: '' },
      json: { type: 'boolean', default: false },
    },
  });

  const labels = ['source=demo'];
  try {
    await findK6();
  } catch (error) {
    if (!(error instanceof K6NotFoundError)) throw error;
    io.err.write(
      `demo: no k6 binary found. ${K6_INSTALL_HINT}\n` +
        'demo: continuing with the k6 test double, which replays recorded output of a real k6 v1.3.0 run;\n' +
        'demo: the API below gets no load from it, and the report is labelled k6=recorded-replay.\n',
    );
    process.env.K6_BIN = join(ROOT, 'test/support/fake-k6.mjs');
    // The recording ran at 100 iterations/s: loop it for the planned time.
    process.env.FAKE_K6_LOOP_S = String(parseDuration(values.duration) ?? 120);
    // The clean recording (no failures), split between the segments by the double.
    process.env.FAKE_K6_CASE = 'pass';
    // run-segment builds k6's environment from scratch: let the double's settings through.
    process.env.SOAK_K6_PASS_ENV = 'FAKE_K6_CASE,FAKE_K6_LOOP_S';
    values.rate = '100';
    values.segments = '2';
    labels.push('k6=recorded-replay');
  }

  const api = await startExampleApi(values.api.split(' ').filter((part) => part.length > 0));
  io.err.write(`demo: example API at ${api.url}\n`);
  try {
    const log = createLogger({ base: { component: 'soak-demo' }, level: process.env.SOAK_LOG_LEVEL ?? 'warn' });
    return await runLocal(
      {
        env: 'local',
        results: values.results,
        target: api.url,
        scenario: 'sigil',
        rate: values.rate,
        duration: values.duration,
        segments: values.segments,
        threshold: [],
        label: labels,
        json: values.json,
      },
      io,
      log,
    );
  } finally {
    api.child.kill('SIGTERM');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      io.err.write(`demo: ${error.message}\n`);
      process.exitCode = ExitCode.InvalidInput;
      return;
    }
    io.err.write(`demo: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.NotJudged;
  },
);
