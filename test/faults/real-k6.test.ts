/**
 * The local-mode faults again with the real k6 binary against the example API:
 * one segment's k6 killed, the runner killed and finalized from its checkpoints,
 * a slow target, a target that goes down mid-run, connection resets, a script
 * that k6 inspect rejects, and the secret scan. Runs only when K6_BIN points to
 * k6; every request goes to 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startExampleApi, type ExampleApi, type StartExampleApiOptions } from '../../examples/sigil-api/index.js';
import { processesWithEnv, readAllFiles, startSoakGroup, waitFor } from '../support/fault-kit.js';
import { existsSync, readJsonFile, runSoak, tempResults, type CliResult } from '../support/soak-cli.js';

const K6_BIN = process.env.K6_BIN;
const skip = K6_BIN ? false : 'K6_BIN not set: point it to a k6 binary to run the real-k6 fault tests';

interface Reason {
  code: string;
  verdict: string;
  message: string;
}

/** Runs `soak` with the real k6 (the k6 double's settings are ignored without FAKE_K6_CASE). */
function soak(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runSoak(args, { env: { K6_BIN, ...env }, timeoutMs: 180_000 });
}

async function withApi<T>(options: StartExampleApiOptions, body: (api: ExampleApi) => Promise<T>): Promise<T> {
  const api = await startExampleApi({ port: 0, ...options });
  try {
    return await body(api);
  } finally {
    await api.close();
  }
}

/** Creates a results folder with `config` as a configuration file in it. */
function resultsWith(config: Record<string, unknown>): { results: string; configArgs: string[] } {
  const results = tempResults();
  const file = join(results, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return { results, configArgs: ['--config', file] };
}

function k6Of(runId: string, segment: string): number | undefined {
  const k6 = processesWithEnv('SOAK_RUN_ID', runId).filter((proc) => proc.cmdline[0] === K6_BIN && proc.cmdline[1] === 'run');
  return k6.find((proc) => processesWithEnv('SOAK_SEGMENT', segment).some((other) => other.pid === proc.pid))?.pid;
}

function checkpoints(results: string, runId: string, segment: number): number {
  try {
    return readdirSync(join(results, 'runs', 'local', runId, 'segments', String(segment), 'windows')).length;
  } catch {
    return 0;
  }
}

describe('real k6 under faults', { skip, concurrency: 2 }, () => {
  test('k6 of one segment killed', () =>
    withApi({}, async (api) => {
      const { results, configArgs } = resultsWith({ windows: { checkpointEveryS: 10 } });
      const runId = 'real-k6-killed';
      const run = soak(['run', '--local', '--target', api.url, '--rate', '40', '--duration', '30s', '--segments', '2', '--run-id', runId, '--results', results, ...configArgs]);
      await waitFor('a checkpoint of segment 1', () => (checkpoints(results, runId, 1) >= 1 ? true : undefined), 60_000);
      const pid = await waitFor('k6 of segment 1', () => k6Of(runId, '1'));
      process.kill(pid, 'SIGKILL');
      const outcome = await run;
      assert.equal(outcome.code, 3, outcome.stderr);

      const report = readJsonFile(join(results, 'runs', 'local', runId, 'report.json'));
      assert.equal(report.verdict, 'INCOMPLETE');
      const died = report.reasons.find((reason: Reason) => reason.code === 'SEGMENT_DIED');
      assert.match(died.message, /^Segment 1 \(1\/2:1\) stopped early: k6 was killed by SIGKILL; exit code SIGKILL, coverage \d+ %\.$/);
      assert.equal(report.segments[0].status, 'completed');
      assert.ok(report.segments[1].windows >= 1, 'the killed segment kept its windows');
      assert.ok(report.segments[1].coverage > 0.2, `coverage ${report.segments[1].coverage}`);
      assert.ok(report.segments[1].coverage < 0.9, `coverage ${report.segments[1].coverage}`);
      assert.match(report.reasons.find((reason: Reason) => reason.code === 'LOAD_SHORT').message, /achieved \d+ of 1200 planned iterations/);
    }));

  test('runner killed then finalized', () =>
    withApi({}, async (api) => {
      const { results, configArgs } = resultsWith({ windows: { checkpointEveryS: 10 } });
      const runId = 'real-runner-killed';
      const group = startSoakGroup(['run', '--local', '--target', api.url, '--rate', '20', '--duration', '40s', '--run-id', runId, '--results', results, ...configArgs], { env: { K6_BIN } });
      await waitFor('a first checkpoint', () => (checkpoints(results, runId, 0) >= 1 ? true : undefined), 60_000);
      group.killGroup('SIGKILL');
      await group.result;
      await waitFor('every process of the run to end', () => (processesWithEnv('SOAK_RUN_ID', runId).length === 0 ? true : undefined), 10_000);

      const finalize = await soak(['finalize', '--results', results, runId]);
      assert.equal(finalize.code, 3, finalize.stderr);
      const report = readJsonFile(join(results, 'runs', 'local', runId, 'report.json'));
      assert.equal(report.verdict, 'INCOMPLETE');
      assert.match(report.reasons[0].message, /^Segment 0 \(0:1\) never reported a result .*its windows cover \d+ % of the planned time\.$/);
      assert.ok(report.requests.total > 0);
    }));

  test('slow target blames the target', () =>
    withApi({ slowRate: 1, slowMs: 2000 }, async (api) => {
      // 10 VUs at 2 s per request carry 5 iterations per second of the 20 planned.
      const { results, configArgs } = resultsWith({ scenarioEnv: { MAX_VUS: '10' } });
      const run = await soak(['run', '--local', '--target', api.url, '--rate', '20', '--duration', '20s', '--run-id', 'real-slow', '--results', results, ...configArgs]);
      assert.equal(run.code, 3, run.stderr);
      const report = readJsonFile(join(results, 'runs', 'local', 'real-slow', 'report.json'));
      assert.equal(report.verdict, 'INCOMPLETE');
      assert.equal(report.load.cause, 'target');
      assert.ok(report.load.dropped > 0, 'k6 dropped iterations');
      assert.match(report.reasons.find((reason: Reason) => reason.code === 'LOAD_SHORT').message, /the target slowed down until every VU was busy/);
      assert.equal(report.segments[0].status, 'completed');
    }));

  test('target down mid-run fails the target', () =>
    // The API goes down 9 s after it starts, a few seconds into the load, for 6 s.
    withApi({ downAtS: 9, downForS: 6 }, async (api) => {
      const { results } = resultsWith({});
      const run = await soak(['run', '--local', '--target', api.url, '--rate', '20', '--duration', '25s', '--run-id', 'real-down', '--results', results]);
      assert.equal(run.code, 1, run.stderr);
      const report = readJsonFile(join(results, 'runs', 'local', 'real-down', 'report.json'));
      assert.equal(report.verdict, 'FAIL');
      assert.ok(report.requests.failures.connection > 0, JSON.stringify(report.requests.failures));
      assert.equal(report.segments[0].status, 'completed');
      assert.deepEqual(report.reasons.filter((reason: Reason) => reason.verdict === 'INCOMPLETE' || reason.verdict === 'ERROR'), []);
      assert.ok(report.load.generator.probeFailures > 0, 'the probe saw the outage');
    }));

  test('connection resets fail the target', () =>
    withApi({ resetRate: 0.2 }, async (api) => {
      const { results } = resultsWith({});
      const run = await soak(['run', '--local', '--target', api.url, '--rate', '20', '--duration', '15s', '--run-id', 'real-resets', '--results', results]);
      assert.equal(run.code, 1, run.stderr);
      const report = readJsonFile(join(results, 'runs', 'local', 'real-resets', 'report.json'));
      assert.equal(report.verdict, 'FAIL');
      const transport = report.requests.failures.connection + report.requests.failures.otherTransport;
      assert.ok(transport > 0, JSON.stringify(report.requests.failures));
      assert.deepEqual(report.reasons.filter((reason: Reason) => reason.verdict === 'INCOMPLETE' || reason.verdict === 'ERROR'), []);
    }));

  test('k6 inspect rejects a broken script first', async () => {
    let requests = 0;
    const target = createServer((_request, response) => {
      requests += 1;
      response.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const scripts = tempResults();
      const script = join(scripts, 'broken.js');
      writeFileSync(script, 'export const options = { vus: 1, duration: "10s" };\nexport default function ( {\n');
      const results = join(tempResults(), 'not-created');
      const run = await soak(['run', '--local', '--target', `http://127.0.0.1:${(target.address() as AddressInfo).port}`, '--scenario', script, '--results', results]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /k6 inspect rejected .*broken\.js/);
      assert.equal(requests, 0);
      assert.equal(existsSync(results), false);
    } finally {
      target.closeAllConnections();
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });

  test('token never leaves the secret store', () => {
    const token = 'tok-SECRET-real-3b8e0f27';
    return withApi({ staticToken: token }, async (api) => {
      const { results } = resultsWith({});
      const run = await soak(['run', '--local', '--target', api.url, '--rate', '20', '--duration', '10s', '--results', results], { SOAK_TARGET_TOKEN: token, SOAK_LOG_LEVEL: 'debug' });
      assert.equal(run.code, 0, run.stderr);
      for (const file of readAllFiles(results)) assert.ok(!file.text.includes(token), `${file.path} contains the token`);
      assert.ok(!run.stdout.includes(token), 'the CLI printed the token on stdout');
      assert.ok(!run.stderr.includes(token), 'the CLI printed the token on stderr');
    });
  });
});
