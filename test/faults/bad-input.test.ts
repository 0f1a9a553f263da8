/**
 * Bad input at every entry point: CLI options, environment configuration files,
 * ad-hoc run requests to start-run's core, results folders and S3 prefixes that
 * hold no run, run-segment's environment, and scripts that k6 inspect rejects.
 * Each is rejected with a message that names the field, the value and the fix, and
 * changes nothing: no results folder, no lock, no manifest, no launch, no load.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { S3ResultStore } from '../../adapters/aws/s3-result-store.js';
import { parseEnvConfig } from '../../core/config.js';
import { finalizeRun, InvalidRunDataError, RunNotFoundError } from '../../core/finalize.js';
import { startRun } from '../../core/lifecycle.js';
import { silentLog } from '../../core/log.js';
import type { Launcher } from '../../core/ports.js';
import { mockBucket } from '../support/fault-kit.js';
import { ROOT, runSoak, tempResults } from '../support/soak-cli.js';

const TARGET = ['--target', 'http://127.0.0.1:3000'];

/** A folder with environment configurations for the CLI cases below. */
const configs = mkdtempSync(join(tmpdir(), 'soak-bad-config-'));
writeFileSync(join(configs, 'limits.json'), JSON.stringify({ limits: { maxRate: 50, maxDurationS: 600, maxSegments: 2 }, targetAllowlist: ['127.0.0.1'] }));
writeFileSync(join(configs, 'broken.json'), '{"windows":');
writeFileSync(join(configs, 'unknown-field.json'), JSON.stringify({ windws: {} }));
writeFileSync(join(configs, 'wrong-type.json'), JSON.stringify({ windows: { checkpointEveryS: 5 } }));
const config = (name: string) => ['--config', join(configs, name)];

const CLI_CASES: { name: string; args: string[]; message: RegExp }[] = [
  { name: 'negative rate', args: [...TARGET, '--rate', '-5'], message: /--rate: -5 is invalid; allowed 1\.\.100000 iterations per second/ },
  { name: 'huge rate', args: [...TARGET, '--rate', '1000000000'], message: /--rate: 1000000000 is invalid; allowed 1\.\.100000/ },
  { name: 'fractional rate', args: [...TARGET, '--rate', '2.5'], message: /--rate: "2\.5" is not a whole number\./ },
  { name: 'too many segments', args: [...TARGET, '--segments', '65'], message: /--segments: 65 is invalid; allowed 1\.\.64/ },
  { name: 'target not http', args: ['--target', 'ftp://127.0.0.1/x'], message: /--target: "ftp:\/\/127\.0\.0\.1\/x" is invalid; use an http:\/\/ or https:\/\/ URL/ },
  { name: 'bad threshold', args: [...TARGET, '--threshold', 'http_req_duration=p(99)<<5'], message: /--threshold: Invalid threshold "p\(99\)<<5" on http_req_duration: .*A valid example: p\(99\)<1500/ },
  { name: 'bad label', args: [...TARGET, '--label', 'novalue'], message: /--label: "novalue" must look like KEY=VALUE\./ },
  { name: 'bad run id', args: [...TARGET, '--run-id', '../x'], message: /--run-id: "\.\.\/x" is invalid; use letters, digits, dot, dash or underscore/ },
  { name: 'health path without slash', args: [...TARGET, '--health-path', 'healthz'], message: /--health-path: "healthz" must start with "\/"/ },
  { name: 'env without configuration', args: [...TARGET, '--env', 'staging'], message: /No configuration for env "staging": .*staging\.json does not exist\. Create it/ },
  { name: 'rate over env maximum', args: [...TARGET, ...config('limits.json'), '--rate', '100'], message: /--rate: 100 is above the limit of env "local"; allowed 1\.\.50/ },
  { name: 'duration over env maximum', args: [...TARGET, ...config('limits.json'), '--rate', '10', '--duration', '20m'], message: /--duration: 20m0s is above the limit of env "local"; allowed up to 10m0s/ },
  { name: 'segments over env maximum', args: [...TARGET, ...config('limits.json'), '--rate', '10', '--segments', '4'], message: /--segments: 4 is above the limit of env "local"; allowed 1\.\.2/ },
  { name: 'host outside allowlist', args: ['--target', 'http://localhost:3000', ...config('limits.json'), '--rate', '10'], message: /--target: host "localhost" is not in the allowlist of env "local" \(127\.0\.0\.1\); add it to targetAllowlist/ },
  { name: 'config not JSON', args: [...TARGET, ...config('broken.json')], message: /broken\.json is not valid JSON: .*Fix the syntax/ },
  { name: 'config unknown field', args: [...TARGET, ...config('unknown-field.json')], message: /windws: unknown field; did you mean "windows"\? \(got \{\}\)/ },
  { name: 'config value out of range', args: [...TARGET, ...config('wrong-type.json')], message: /windows\.checkpointEveryS: Too small: expected number to be >=10 \(got 5\)/ },
  { name: 'config file missing', args: [...TARGET, ...config('missing.json')], message: /The configuration file given with --config, .*missing\.json, does not exist\. Check the path/ },
];

describe('soak run --local rejects', { concurrency: 4 }, () => {
  for (const { name, args, message } of CLI_CASES) {
    test(name, async () => {
      const results = join(tempResults(), 'not-created');
      const run = await runSoak(['run', '--local', ...args, '--results', results]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(existsSync(results), false, 'the results folder was created');
    });
  }
});

describe('results that are not runs', { concurrency: 4 }, () => {
  test('finalize of a missing run', async () => {
    const results = tempResults();
    const run = await runSoak(['finalize', '--results', results, 'run-nope']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /No run "run-nope" in env "local" at .*: runs\/local\/run-nope\/manifest\.json does not exist\. List runs with `soak list --env local`\./);
    assert.deepEqual(readdirSync(results), []);
  });

  test('finalize of a foreign manifest', async () => {
    const results = tempResults();
    const dir = join(results, 'runs', 'local', 'run-foreign');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ hello: 'world' }));
    const run = await runSoak(['finalize', '--results', results, 'run-foreign']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /runs\/local\/run-foreign\/manifest\.json in .* is not a soak-runner manifest \(schemaVersion: /);
    assert.deepEqual(readdirSync(dir), ['manifest.json']);
  });

  test('finalize of a damaged manifest', async () => {
    const results = tempResults();
    const dir = join(results, 'runs', 'local', 'run-damaged');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), '{"schemaVersion": 1, "runId": ');
    const run = await runSoak(['finalize', '--results', results, 'run-damaged']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /manifest\.json in .* is not valid JSON\. The file is damaged; restore it/);
    assert.deepEqual(readdirSync(dir), ['manifest.json']);
  });

  test('status of a missing run', async () => {
    const run = await runSoak(['status', '--results', tempResults(), 'run-nope']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /No run "run-nope" in env "local"/);
  });

  test('S3 prefix without the run', async () => {
    const client = new S3Client({ region: 'eu-west-1' });
    const bucket = mockBucket(client);
    try {
      const store = new S3ResultStore(client, { bucket: 'soak-results', prefix: 'elsewhere' });
      await assert.rejects(finalizeRun({ store, log: silentLog }, 'staging', 'run-nope'), (error: unknown) => {
        assert.ok(error instanceof RunNotFoundError);
        assert.match(error.message, /No run "run-nope" in env "staging" at s3:\/\/soak-results\/elsewhere\/: runs\/staging\/run-nope\/manifest\.json does not exist/);
        return true;
      });
      assert.equal(bucket.objects.size, 0, 'nothing was written');
    } finally {
      bucket.restore();
    }
  });

  test('S3 prefix with a foreign manifest', async () => {
    const client = new S3Client({ region: 'eu-west-1' });
    const bucket = mockBucket(client);
    try {
      const store = new S3ResultStore(client, { bucket: 'soak-results' });
      await store.put('runs/staging/run-foreign/manifest.json', '{"kind":"something else"}');
      await assert.rejects(finalizeRun({ store, log: silentLog }, 'staging', 'run-foreign'), InvalidRunDataError);
      assert.deepEqual([...bucket.objects.keys()], ['runs/staging/run-foreign/manifest.json']);
    } finally {
      bucket.restore();
    }
  });
});

/** Runs task/run-segment.ts with `env` and returns its exit code and stderr. */
function runSegment(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'task/run-segment.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: 'true', SOAK_LOG_LEVEL: 'fatal', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('run-segment rejects', { concurrency: 4 }, () => {
  const folder = mkdtempSync(join(tmpdir(), 'soak-bad-segment-'));
  const base = { SOAK_RUN_ID: 'run-1', SOAK_ENV: 'local', SOAK_SEGMENT: '0', SOAK_STORE: `file://${folder}` };
  const cases: { name: string; env: NodeJS.ProcessEnv; message: RegExp }[] = [
    { name: 'missing run id', env: { ...base, SOAK_RUN_ID: '' }, message: /Environment variable SOAK_RUN_ID is missing/ },
    { name: 'store scheme unknown', env: { ...base, SOAK_STORE: 'ftp://results' }, message: /SOAK_STORE is invalid: Unsupported result store "ftp:\/\/results": use file:\/\/\/absolute\/folder/ },
    { name: 'S3 bucket name invalid', env: { ...base, SOAK_STORE: 's3://Bad_Bucket' }, message: /SOAK_STORE is invalid: Invalid S3 store location "s3:\/\/Bad_Bucket"/ },
    { name: 'folder without the run', env: base, message: /No manifest for run run-1 in env local at .*: check SOAK_RUN_ID, SOAK_ENV and SOAK_STORE\./ },
  ];
  for (const { name, env, message } of cases) {
    test(name, async () => {
      const run = await runSegment(env);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.deepEqual(readdirSync(folder), []);
    });
  }
});

describe('start-run requests rejected', () => {
  const config = parseEnvConfig({ limits: { maxRate: 200, maxDurationS: 3600, maxSegments: 4 }, targetAllowlist: ['127.0.0.1'] }, null);
  const valid = { env: 'staging', target: 'http://127.0.0.1:8080', scenario: 'sigil', rate: 50, durationS: 600, segments: 2 };
  const cases: { name: string; input: Record<string, unknown>; problem: RegExp }[] = [
    { name: 'rate of wrong type', input: { ...valid, rate: 'fast' }, problem: /^rate: "fast" is invalid; allowed 1\.\.100000 iterations per second$/ },
    { name: 'unknown field', input: { ...valid, colour: 'blue' }, problem: /^colour: unknown field; remove it \(known fields: / },
    { name: 'negative rate', input: { ...valid, rate: -1 }, problem: /^rate: -1 is invalid; allowed 1\.\.100000/ },
    { name: 'huge rate', input: { ...valid, rate: 1e9 }, problem: /^rate: 1000000000 is invalid; allowed 1\.\.100000/ },
    { name: 'rate over env maximum', input: { ...valid, rate: 500 }, problem: /^rate: 500 is above the limit of env "staging"; allowed 1\.\.200$/ },
    { name: 'duration over env maximum', input: { ...valid, durationS: 7200 }, problem: /^durationS: 2h0m0s is above the limit of env "staging"; allowed up to 1h0m0s$/ },
    { name: 'segments over env maximum', input: { ...valid, segments: 8 }, problem: /^segments: 8 is above the limit of env "staging"; allowed 1\.\.4$/ },
    { name: 'host outside allowlist', input: { ...valid, target: 'http://api.example.invalid' }, problem: /^target: host "api\.example\.invalid" is not in the allowlist of env "staging" \(127\.0\.0\.1\); add it to targetAllowlist/ },
    { name: 'scenario not in the image', input: { ...valid, scenario: 'checkout' }, problem: /^scenario: "checkout" is not a scenario of the load-generator image; available: sigil$/ },
  ];
  for (const { name, input, problem } of cases) {
    test(name, async () => {
      const store = new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-bad-start-')));
      let launches = 0;
      const launcher: Launcher = { launch: async () => ((launches += 1), { launched: [], failed: [] }), stop: async () => undefined };
      const outcome = await startRun({ store, launcher, log: silentLog, nowMs: () => Date.now(), bundledScenarios: ['sigil'] }, input, config);
      assert.equal(outcome.status, 'rejected');
      assert.match(outcome.status === 'rejected' ? (outcome.problems[0] ?? '') : '', problem);
      assert.equal(launches, 0);
      assert.deepEqual(await store.list(''), []);
    });
  }
});

describe('script that k6 inspect rejects', () => {
  let requests = 0;
  const target = createServer((_request, response) => {
    requests += 1;
    response.writeHead(200).end('ok');
  });
  let url = '';

  before(async () => {
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  });

  after(async () => {
    target.closeAllConnections();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  test('no request reaches the target', async () => {
    const results = join(tempResults(), 'not-created');
    const run = await runSoak(['run', '--local', '--target', url, '--duration', '10s', '--results', results], { fake: { case: 'script-exception-init' } });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /k6 inspect rejected .*script\.js \(exit code 107\):.*Fix the script so that `k6 inspect/s);
    assert.equal(requests, 0);
    assert.equal(existsSync(results), false);
  });
});
