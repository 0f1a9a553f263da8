/**
 * `soak run --local` with the real k6 binary against the example API. Runs only
 * when K6_BIN points to k6; every request goes to 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExampleApi, type ExampleApi } from '../../examples/sigil-api/index.js';
import { onlyRun, readJsonFile, ROOT, tempResults, type CliResult } from '../support/soak-cli.js';

const K6_BIN = process.env.K6_BIN;
const skip = K6_BIN ? false : 'K6_BIN not set: point it to a k6 binary to run the real-k6 end-to-end tests';

function soak(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'bin/soak.ts'), ...args], {
    env: { ...process.env, K6_BIN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return new Promise((resolve) => child.on('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr }))));
}

describe('real k6 end to end', { skip, concurrency: 1 }, () => {
  let healthy: ExampleApi;
  let failing: ExampleApi;

  before(async () => {
    healthy = await startExampleApi({ port: 0 });
    failing = await startExampleApi({ port: 0, errorRate: 0.9 });
  });

  after(async () => {
    await healthy?.close();
    await failing?.close();
  });

  test('two segments against a healthy API pass', async () => {
    const results = tempResults();
    const run = await soak(['run', '--local', '--target', healthy.url, '--scenario', 'sigil', '--rate', '40', '--duration', '20s', '--segments', '2', '--results', results]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = readJsonFile(join(onlyRun(results).dir, 'report.json'));
    assert.equal(report.verdict, 'PASS');
    assert.match(report.k6Version, /^k6 v\d+\.\d+\.\d+/);
    assert.ok(report.requests.total >= 760 && report.requests.total <= 840, `requests ${report.requests.total}`);
    assert.deepEqual(report.segments.map((segment: { status: string }) => segment.status), ['completed', 'completed']);
    const names = report.byName.map((entry: { name: string }) => entry.name);
    for (const name of ['create', 'verify', 'list', 'create-invalid']) assert.ok(names.includes(name), `no ${name} requests`);
    assert.ok(report.series.some((point: { probes: Record<string, number | null> }) => (point.probes.heapUsedBytes ?? 0) > 0), 'probe values recorded');
  });

  test('an abort rule stops a failing target early with FAIL', async () => {
    const results = tempResults();
    const config = join(results, 'abort.json');
    writeFileSync(config, JSON.stringify({ abort: [{ metric: 'errorRate', above: 0.5, forS: 10, afterS: 0 }], windows: { checkpointEveryS: 10 } }));
    const started = Date.now();
    const run = await soak(['run', '--local', '--target', failing.url, '--rate', '20', '--duration', '2m', '--config', config, '--results', results]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.ok(Date.now() - started < 90_000, 'the run stopped well before its 2 minutes');
    const report = readJsonFile(join(onlyRun(results).dir, 'report.json'));
    assert.equal(report.verdict, 'FAIL');
    assert.ok(report.reasons.some((reason: { code: string; message: string }) => reason.code === 'ABORTED' && /error rate above 50\.0 %/.test(reason.message)));
  });
});
