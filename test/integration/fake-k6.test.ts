/**
 * Checks the k6 test double against the facts recorded from the real k6 v1.3.0 in
 * test/fixtures/k6/manifest.json: exit codes, line counts, pace, timestamps, stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStreamPipe, FAKE_K6_PATH, fakeK6Env, K6_FIXTURES_DIR } from '../support/fake-k6.js';

interface ManifestCase {
  case: string;
  command: string;
  exitCode: number;
  summaryExportWritten: boolean;
  stream: null | {
    metricLines: number;
    pointLines: number;
    firstPointTime: string;
    lastPointTime: string;
    pointsByMetric: Record<string, number>;
  };
}

const manifest = JSON.parse(readFileSync(join(K6_FIXTURES_DIR, 'manifest.json'), 'utf8')) as {
  k6Version: string;
  cases: ManifestCase[];
};

const SPEED = 25;
const SAFE_ENV = { K6_NO_USAGE_REPORT: 'true', K6_AUTO_EXTENSION_RESOLUTION: 'false' };
/** Go's RFC3339Nano: 1-9 fraction digits without trailing zeros, or none. */
const K6_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?(Z|[+-]\d\d:\d\d)$/;

interface FakeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stream: string;
  startedAtMs: number;
  durationMs: number;
}

interface RunRequest {
  args: string[];
  env: NodeJS.ProcessEnv;
  /** How fd 3 is set up: a FIFO (works with k6), a Node socket pipe (fails with k6), or none. */
  fd3?: 'fifo' | 'node-pipe' | 'none';
  signalAfterMs?: { signal: NodeJS.Signals; ms: number };
  /** Close the stream reader after its first chunk, to make the writer see EPIPE. */
  closeReaderEarly?: boolean;
}

async function runFake(request: RunRequest): Promise<FakeRun> {
  const fd3 = request.fd3 ?? 'fifo';
  const pipe = fd3 === 'fifo' ? await createStreamPipe() : null;
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
  if (pipe !== null) stdio.push(pipe.writeFd);
  if (fd3 === 'node-pipe') stdio.push('pipe');

  const startedAtMs = Date.now();
  const child = spawn(FAKE_K6_PATH, request.args, { cwd: K6_FIXTURES_DIR, env: request.env, stdio });
  pipe?.releaseWriteFd();

  let stdout = '';
  let stderr = '';
  const streamChunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const streamEnded = new Promise<void>((resolve) => {
    if (pipe === null) return resolve();
    pipe.reader.on('data', (chunk: Buffer) => {
      streamChunks.push(chunk);
      if (request.closeReaderEarly) {
        pipe.reader.destroy();
        resolve();
      }
    });
    pipe.reader.on('end', resolve);
    pipe.reader.on('close', resolve);
  });
  if (request.signalAfterMs !== undefined) {
    const { signal, ms } = request.signalAfterMs;
    setTimeout(() => child.kill(signal), ms);
  }

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  const durationMs = Date.now() - startedAtMs;
  await streamEnded;
  await pipe?.dispose();
  return { code, signal, stdout, stderr, stream: Buffer.concat(streamChunks).toString('utf8'), startedAtMs, durationMs };
}

/** Returns the k6 arguments of a recorded command, with the stream sent to fd 3. */
function recordedArgs(command: string, exportDir: string): string[] {
  const words = command.split('#')[0]!.trim().split(/\s+/);
  const args = words.slice(words.indexOf('k6') + 1);
  return args.map((word, index) => {
    if (args[index - 1] === '--out') return 'json=/dev/fd/3';
    if (word.startsWith('--summary-export=')) return `--summary-export=${join(exportDir, word.slice('--summary-export='.length))}`;
    return word;
  });
}

/** Parses a k6 time into epoch milliseconds with a fractional part. */
function parseTimeMs(text: string): number {
  const match = /^(.{19})(?:\.(\d+))?(.*)$/.exec(text);
  assert.ok(match, `unparsable time ${text}`);
  return Date.parse(match[1]! + match[3]!) + Number(`0.${match[2] ?? '0'}`) * 1000;
}

interface StreamFacts {
  metricLines: number;
  pointLines: number;
  pointsByMetric: Record<string, number>;
  times: string[];
  firstMs: number;
  lastMs: number;
}

function streamFacts(stream: string): StreamFacts {
  const lines = stream.split('\n').filter((line) => line !== '');
  const facts: StreamFacts = { metricLines: 0, pointLines: 0, pointsByMetric: {}, times: [], firstMs: Infinity, lastMs: -Infinity };
  for (const line of lines) {
    const record = JSON.parse(line) as { type: string; metric: string; data: { time?: string } };
    if (record.type === 'Metric') {
      facts.metricLines += 1;
      continue;
    }
    facts.pointLines += 1;
    facts.pointsByMetric[record.metric] = (facts.pointsByMetric[record.metric] ?? 0) + 1;
    const time = record.data.time!;
    facts.times.push(time);
    const ms = parseTimeMs(time);
    facts.firstMs = Math.min(facts.firstMs, ms);
    facts.lastMs = Math.max(facts.lastMs, ms);
  }
  return facts;
}

/** Returns the last `level=error` line of a recorded log, without its time and script folder. */
function recordedErrorLine(caseName: string): string | null {
  const log = readFileSync(join(K6_FIXTURES_DIR, `${caseName}.log`), 'utf8');
  const errors = log.split('\n').filter((line) => line.startsWith('time="') && line.includes(' level=error '));
  return errors.length === 0 ? null : normalizeLogLine(errors[errors.length - 1]!);
}

function normalizeLogLine(line: string): string {
  return line.replace(/^time="[^"]*" /, '').replace(/file:\/\/\/\S*?\/(scenario[\w-]*\.js)/g, '$1');
}

/** Stdout lines of a recorded log, with the output name replaced by a placeholder. */
function normalizeStdout(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('time="'))
    .map((line) => (line.startsWith('        output: ') ? '        output: <output>' : line));
}

function observedExitCode(run: FakeRun): number | null {
  // A shell reports death by signal N as exit code 128 + N, as the recordings do.
  return run.code ?? (run.signal === null ? null : 128 + osConstants.signals[run.signal]);
}

function runEnv(settings: Parameters<typeof fakeK6Env>[0]): NodeJS.ProcessEnv {
  return { ...fakeK6Env(settings), ...SAFE_ENV };
}

const replayable = manifest.cases.filter((entry) => entry.stream !== null);

describe('fake k6 replay of each recording', () => {
  for (const recorded of replayable) {
    const expected = recorded.stream!;
    describe(recorded.case, () => {
      let run: FakeRun;
      let facts: StreamFacts;
      let exportDir: string;

      before(async () => {
        exportDir = await mkdtemp(join(tmpdir(), 'fake-k6-export-'));
        run = await runFake({ args: recordedArgs(recorded.command, exportDir), env: runEnv({ case: recorded.case, speed: SPEED }) });
        facts = streamFacts(run.stream);
      });
      after(() => rm(exportDir, { recursive: true, force: true }));

      it('exits with the recorded code', () => {
        assert.equal(observedExitCode(run), recorded.exitCode);
      });

      it('writes the recorded Metric lines', () => {
        assert.equal(facts.metricLines, expected.metricLines);
      });

      it('writes the recorded Point lines', () => {
        assert.equal(facts.pointLines, expected.pointLines);
      });

      it('writes the recorded points per metric', () => {
        assert.deepEqual(facts.pointsByMetric, expected.pointsByMetric);
      });

      it('ends the stream on a complete line', () => {
        assert.ok(run.stream.endsWith('\n'));
      });

      it('stamps the first point with the current time', () => {
        assert.ok(Math.abs(facts.firstMs - run.startedAtMs) < 1000, `first point ${facts.firstMs - run.startedAtMs} ms after the start`);
      });

      it('compresses the time span by the speed factor', () => {
        const recordedSpanMs = Date.parse(expected.lastPointTime) - Date.parse(expected.firstPointTime);
        assert.ok(Math.abs(facts.lastMs - facts.firstMs - recordedSpanMs / SPEED) < 1, `span ${facts.lastMs - facts.firstMs} ms`);
      });

      it('paces the stream in real time', () => {
        const recordedSpanMs = Date.parse(expected.lastPointTime) - Date.parse(expected.firstPointTime);
        assert.ok(run.durationMs >= recordedSpanMs / SPEED - 5, `run took ${run.durationMs} ms`);
      });

      it('writes times in k6 format', () => {
        const invalid = facts.times.filter((time) => !K6_TIME.test(time));
        assert.deepEqual(invalid.slice(0, 3), []);
      });

      it('prints the recorded stdout', () => {
        const log = readFileSync(join(K6_FIXTURES_DIR, `${recorded.case}.log`), 'utf8');
        assert.deepEqual(normalizeStdout(run.stdout), normalizeStdout(log));
      });

      const errorLine = recordedErrorLine(recorded.case);
      if (errorLine !== null) {
        it('prints the recorded error line', () => {
          assert.ok(run.stderr.split('\n').map(normalizeLogLine).includes(errorLine), run.stderr.slice(-500));
        });
      }

      it('writes the summary export as k6 did', () => {
        assert.equal(existsSync(join(exportDir, `${recorded.case}.summary.json`)), recorded.summaryExportWritten);
      });
    });
  }
});

describe('fake k6 signals and failures', () => {
  const soakArgs = ['run', '--address', '127.0.0.1:0', '--no-thresholds', '--summary-mode=disabled', '--quiet', '--out', 'json=/dev/fd/3', 'scenario.js'];

  it('stops on SIGTERM with exit 105', async () => {
    const run = await runFake({ args: soakArgs, env: runEnv({ speed: 10 }), signalAfterMs: { signal: 'SIGTERM', ms: 400 } });
    assert.equal(run.code, 105);
    assert.ok(run.stream.endsWith('\n'));
    assert.doesNotThrow(() => streamFacts(run.stream));
    assert.ok(streamFacts(run.stream).pointLines < 15_889);
    assert.match(run.stderr, /level=error msg="test run was aborted because k6 received a 'terminated' signal"/);
  });

  it('names SIGINT interrupt', async () => {
    const run = await runFake({ args: soakArgs, env: runEnv({ speed: 10 }), signalAfterMs: { signal: 'SIGINT', ms: 300 } });
    assert.equal(run.code, 105);
    assert.match(run.stderr, /k6 received a 'interrupt' signal/);
  });

  it('sigkill case dies by SIGKILL', async () => {
    const run = await runFake({ args: soakArgs, env: runEnv({ case: 'sigkill', speed: SPEED }) });
    assert.equal(run.signal, 'SIGKILL');
    assert.equal(run.code, null);
  });

  it('sigkill case can cut the last line', async () => {
    const run = await runFake({ args: soakArgs, env: runEnv({ case: 'sigkill', speed: SPEED, cutLastLine: true }) });
    const lastLine = run.stream.slice(run.stream.lastIndexOf('\n') + 1);
    assert.notEqual(lastLine, '');
    assert.throws(() => JSON.parse(lastLine));
  });

  it('init exception exits 107 without a stream', async () => {
    const args = ['run', '-a', '127.0.0.1:0', '--out', 'json=/dev/fd/3', 'scenario-throw-init.js'];
    const run = await runFake({ args, env: runEnv({ case: 'script-exception-init' }) });
    assert.equal(run.code, 107);
    assert.equal(run.stream, '');
    assert.ok(run.durationMs < 1000, `took ${run.durationMs} ms`);
    assert.match(run.stderr, /level=error msg="Error: fixture: init failure/);
  });

  it('keeps running when the reader goes away', async () => {
    const run = await runFake({ args: soakArgs, env: runEnv({ case: 'pass', speed: SPEED }), closeReaderEarly: true });
    assert.equal(run.code, 0);
    assert.equal(run.stderr, '');
  });

  it('fails like k6 on a socket fd 3', async () => {
    const run = await runFake({ args: soakArgs, env: runEnv({ speed: SPEED }), fd3: 'node-pipe' });
    assert.equal(run.code, 255);
    assert.match(run.stderr, /level=error msg="open \/dev\/fd\/3: no such device or address"/);
  });
});

describe('fake k6 guards', () => {
  const args = ['run', '-a', '127.0.0.1:0', '--quiet', 'scenario.js'];

  for (const variable of ['K6_NO_USAGE_REPORT', 'K6_AUTO_EXTENSION_RESOLUTION']) {
    it(`rejects a missing ${variable}`, async () => {
      const env = runEnv({});
      delete env[variable];
      const run = await runFake({ args, env, fd3: 'none' });
      assert.equal(run.code, 2);
      assert.match(run.stderr, new RegExp(`${variable} is missing`));
    });
  }

  it('rejects K6_NO_USAGE_REPORT=false', async () => {
    const run = await runFake({ args, env: { ...runEnv({}), K6_NO_USAGE_REPORT: 'false' }, fd3: 'none' });
    assert.equal(run.code, 2);
  });

  it('rejects a missing address', async () => {
    const run = await runFake({ args: ['run', '--quiet', 'scenario.js'], env: runEnv({}), fd3: 'none' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--address is missing/);
  });

  it('rejects another address', async () => {
    const run = await runFake({ args: ['run', '-a', 'localhost:6565', 'scenario.js'], env: runEnv({}), fd3: 'none' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /expected 127\.0\.0\.1:0/);
  });

  it('lists the cases for an unknown case', async () => {
    const run = await runFake({ args, env: runEnv({ case: 'no-such-case' }), fd3: 'none' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /valid cases: ok, pass, segments-0/);
  });

  it('rejects an unknown flag like k6', async () => {
    const run = await runFake({ args: ['run', '-a', '127.0.0.1:0', '--no-such-flag', 'scenario.js'], env: runEnv({}), fd3: 'none' });
    assert.equal(run.code, 255);
    assert.match(run.stderr, /unknown flag: --no-such-flag/);
  });
});

describe('fake k6 version and inspect', () => {
  it('prints the recorded version', async () => {
    const run = await runFake({ args: ['version'], env: runEnv({}), fd3: 'none' });
    assert.equal(run.stdout, `${manifest.k6Version}\n`);
  });

  it('inspect prints the recorded JSON', async () => {
    const run = await runFake({ args: ['inspect', '-a', '127.0.0.1:0', 'scenario.js'], env: runEnv({}), fd3: 'none' });
    assert.equal(run.stdout, readFileSync(join(K6_FIXTURES_DIR, 'inspect.json'), 'utf8'));
  });

  it('inspect prints execution requirements', async () => {
    const args = ['inspect', '--address', '127.0.0.1:0', '--execution-requirements', 'scenario.js'];
    const run = await runFake({ args, env: runEnv({}), fd3: 'none' });
    assert.equal(run.stdout, readFileSync(join(K6_FIXTURES_DIR, 'inspect-execution-requirements.json'), 'utf8'));
  });

  it('inspect applies -e DURATION and RATE', async () => {
    const args = ['inspect', '-a', '127.0.0.1:0', '--execution-requirements', '-e', 'DURATION=2h', '-e', 'RATE=50', 'scenario.js'];
    const options = JSON.parse((await runFake({ args, env: runEnv({}), fd3: 'none' })).stdout);
    assert.equal(options.scenarios.sigil.duration, '2h0m0s');
    assert.equal(options.scenarios.sigil.rate, 50);
    assert.equal(options.totalDuration, '2h0m30s');
  });

  it('inspect ignores system variables', async () => {
    const args = ['inspect', '-a', '127.0.0.1:0', 'scenario.js'];
    const options = JSON.parse((await runFake({ args, env: { ...runEnv({}), DURATION: '3m' }, fd3: 'none' })).stdout);
    assert.equal(options.scenarios.sigil.duration, '10s');
  });

  it('inspect fails on an init exception', async () => {
    const args = ['inspect', '-a', '127.0.0.1:0', 'scenario-throw-init.js'];
    const run = await runFake({ args, env: runEnv({ case: 'script-exception-init' }), fd3: 'none' });
    assert.equal(run.code, 107);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /level=error msg="Error: fixture: init failure/);
  });
});

describe('fake k6 segments, loops and records', () => {
  const segmentArgs = (segment: string) => [
    'run', '-a', '127.0.0.1:0', '--quiet', '--no-thresholds', '--summary-mode=disabled',
    '--execution-segment', segment, '--execution-segment-sequence', '0,1/3,2/3,1', '--out', 'json=/dev/fd/3', 'scenario.js',
  ];

  it('first half replays segments-0', async () => {
    const run = await runFake({ args: segmentArgs('0:1/2'), env: runEnv({ speed: SPEED }) });
    const segments0 = manifest.cases.find((entry) => entry.case === 'segments-0')!;
    assert.equal(streamFacts(run.stream).pointLines, segments0.stream!.pointLines);
  });

  it('thirds share out every iteration', async () => {
    const iterations = [];
    for (const segment of ['0:1/3', '1/3:2/3', '2/3:1']) {
      const run = await runFake({ args: segmentArgs(segment), env: runEnv({ speed: 40 }) });
      iterations.push(streamFacts(run.stream).pointsByMetric.iterations ?? 0);
    }
    assert.deepEqual(iterations, [333, 334, 334]);
  });

  it('loop extends the stream', async () => {
    const args = ['run', '-a', '127.0.0.1:0', '--quiet', '--summary-mode=disabled', '--out', 'json=/dev/fd/3', 'scenario.js'];
    const run = await runFake({ args, env: runEnv({ case: 'soak-mode', speed: 30, loopS: 30 }) });
    const facts = streamFacts(run.stream);
    assert.equal(run.code, 0);
    assert.equal(facts.metricLines, 18);
    assert.ok(Math.abs(facts.lastMs - facts.firstMs - 1000) < 20, `span ${facts.lastMs - facts.firstMs} ms`);
    assert.ok(run.durationMs >= 990, `run took ${run.durationMs} ms`);
  });

  it('uses the local time zone', async () => {
    const args = ['run', '-a', '127.0.0.1:0', '--quiet', '--out', 'json=/dev/fd/3', 'scenario.js'];
    const run = await runFake({ args, env: { ...runEnv({ case: 'abort', speed: SPEED }), TZ: 'Asia/Kolkata' } });
    assert.match(streamFacts(run.stream).times[0]!, /\+05:30$/);
  });

  it('records the command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fake-k6-args-'));
    const argsFile = join(dir, 'args.ndjson');
    const args = ['inspect', '-a', '127.0.0.1:0', '-e', 'TOKEN=secret-token-value', '-e', 'RATE=5', 'scenario.js'];
    await runFake({ args, env: { ...runEnv({ argsFile }), TOKEN: 'secret-env-value', BASE_URL: 'http://127.0.0.1:1' }, fd3: 'none' });
    const text = await readFile(argsFile, 'utf8');
    await rm(dir, { recursive: true, force: true });
    const record = JSON.parse(text) as { argv: string[]; env: Record<string, unknown> };
    assert.deepEqual(record.argv, ['inspect', '-a', '127.0.0.1:0', '-e', 'TOKEN=<redacted>', '-e', 'RATE=5', 'scenario.js']);
    assert.equal(record.env.TOKEN, true);
    assert.equal(record.env.BASE_URL, 'http://127.0.0.1:1');
    assert.equal(record.env.K6_NO_USAGE_REPORT, 'true');
    assert.doesNotMatch(text, /secret-(token|env)-value/);
  });
});
