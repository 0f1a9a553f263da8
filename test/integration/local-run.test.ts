/**
 * The local pipeline end to end (`soak run --local`, run-segment children, windows,
 * finalize) with the k6 double replaying real k6 v1.3.0 recordings, against the
 * example API on 127.0.0.1 for health checks and probes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExampleApi, type ExampleApi } from '../../examples/sigil-api/index.js';
import { existsSync, onlyRun, readJsonFile, runSoak, startSoak, tempResults } from '../support/soak-cli.js';

let api: ExampleApi;

before(async () => {
  api = await startExampleApi({ port: 0 });
});

after(async () => {
  await api.close();
});

function runArgs(results: string, extra: string[] = []): string[] {
  return ['run', '--local', '--target', api.url, '--scenario', 'sigil', '--rate', '100', '--duration', '10s', '--results', results, ...extra];
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('soak run --local', { concurrency: 2 }, () => {
  test('clean recording ends in PASS with every artefact', async () => {
    const results = tempResults();
    const run = await runSoak(runArgs(results), { fake: { case: 'pass', loopS: 10 } });
    assert.equal(run.code, 0, run.stderr + run.stdout);

    const { dir, runId } = onlyRun(results);
    const report = readJsonFile(join(dir, 'report.json'));
    assert.equal(report.verdict, 'PASS');
    assert.ok(report.requests.total >= 950, `requests ${report.requests.total}`);
    assert.equal(report.requests.failed, 0);
    assert.equal(report.segments[0].status, 'completed');
    assert.ok(report.segments[0].coverage >= 0.95);
    assert.ok(existsSync(join(dir, 'report.html')));
    assert.equal(readJsonFile(join(dir, 'message.json')).blocks.length > 0, true);
    assert.ok(existsSync(join(results, 'history', 'local', 'sigil', `${runId}.json`)));
    assert.ok(readdirSync(join(dir, 'segments/0/windows')).length >= 1);
    assert.match(run.stdout, /PASS {2}local \/ sigil/);
    assert.match(run.stdout, /report: .*report\.html/);
  });

  test('two segments merge into one run', async () => {
    const results = tempResults();
    const run = await runSoak(runArgs(results, ['--segments', '2']), { fake: { loopS: 10 } });
    const { dir } = onlyRun(results);
    const report = readJsonFile(join(dir, 'report.json'));
    assert.equal(report.segments.length, 2, run.stderr);
    assert.deepEqual(
      report.segments.map((segment: { segment: string }) => segment.segment),
      ['0:1/2', '1/2:1'],
    );
    const perSegment = report.segments.map((segment: { requests: number }) => segment.requests);
    assert.equal(perSegment[0] + perSegment[1], report.requests.total);
    assert.ok(perSegment.every((count: number) => count > 400), `per segment ${perSegment}`);
  });

  test('k6 killed mid-run makes the run INCOMPLETE and names the segment', async () => {
    const results = tempResults();
    const run = await runSoak(runArgs(results), { fake: { case: 'sigkill', cutLastLine: true } });
    assert.equal(run.code, 3, run.stdout);
    const report = readJsonFile(join(onlyRun(results).dir, 'report.json'));
    assert.equal(report.verdict, 'INCOMPLETE');
    const died = report.reasons.find((reason: { code: string }) => reason.code === 'SEGMENT_DIED');
    assert.match(died.message, /Segment 0 .*killed by SIGKILL/);
    assert.ok(report.requests.total > 0, 'windows before the kill are kept');
  });

  test('failing thresholds give FAIL with exit code 1', async () => {
    const results = tempResults();
    const run = await runSoak(runArgs(results), { fake: { case: 'thresholds-fail', loopS: 10 } });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = readJsonFile(join(onlyRun(results).dir, 'report.json'));
    assert.equal(report.verdict, 'FAIL');
    const failed = report.thresholds.filter((threshold: { passed: boolean | null }) => threshold.passed === false).map((t: { metric: string }) => t.metric);
    assert.ok(failed.includes('http_req_failed'));
    assert.ok(failed.includes('checks'));
  });

  test('a target that never answers ends as ERROR without load', async () => {
    const results = tempResults();
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:9', '--duration', '10s', '--health-timeout', '2s', '--results', results], {
      fake: { case: 'pass' },
    });
    assert.equal(run.code, 3, run.stderr);
    const { dir } = onlyRun(results);
    const report = readJsonFile(join(dir, 'report.json'));
    assert.equal(report.verdict, 'ERROR');
    assert.match(report.reasons[0].message, /target unavailable/);
    assert.equal(existsSync(join(dir, 'segments')), false);
  });

  test('SIGINT stops every segment and finalizes as STOPPED', async () => {
    const results = tempResults();
    const run = startSoak(runArgs(results, ['--duration', '60s']), { fake: { loopS: 60 } });
    await new Promise((resolve) => setTimeout(resolve, 6000));
    run.kill('SIGINT');
    const outcome = await run.result;
    assert.equal(outcome.code, 3, outcome.stderr);
    const report = readJsonFile(join(onlyRun(results).dir, 'report.json'));
    assert.equal(report.verdict, 'STOPPED');
    assert.equal(report.segments[0].status, 'stopped');
  });

  test('finalize again from stored windows gives the same report', async () => {
    const results = tempResults();
    await runSoak(runArgs(results), { fake: { case: 'ok', loopS: 10 } });
    const { dir, runId } = onlyRun(results);
    const first = readJsonFile(join(dir, 'report.json'));
    const again = await runSoak(['finalize', '--results', results, runId]);
    assert.equal(again.code, first.verdict === 'PASS' ? 0 : 1, again.stderr);
    const second = readJsonFile(join(dir, 'report.json'));
    assert.deepEqual(second, first);
    assert.doesNotMatch(again.stdout, /--- notification/, 'a second finalize sends no notification');
  });
});

describe('soak run --local input checks', { concurrency: 4 }, () => {
  test('rate out of range exits 2 and creates nothing', async () => {
    const results = join(tempResults(), 'not-created');
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:3000', '--rate', '0', '--results', results]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--rate: 0 is invalid; allowed 1\.\.100000 iterations per second/);
    assert.equal(existsSync(results), false);
  });

  test('bad duration names the option and the fix', async () => {
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:3000', '--duration', 'forever', '--results', tempResults()]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--duration: "forever" is not a duration; use for example 90s/);
  });

  test('duration over 72 hours is rejected with the range', async () => {
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:3000', '--duration', '73h', '--results', tempResults()]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--duration: 262800 is invalid; allowed 10s\.\.72h0m0s/);
  });

  test('unknown scenario exits 2 naming it', async () => {
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:3000', '--scenario', 'nope', '--results', tempResults()]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /"nope" is not a bundled scenario/);
  });

  test('script that k6 inspect rejects exits 2 before any load', async () => {
    const results = join(tempResults(), 'not-created');
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:3000', '--results', results], { fake: { case: 'script-exception-init' } });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /k6 inspect rejected/);
    assert.equal(existsSync(results), false);
  });

  test('missing k6 says how to install it', async () => {
    const run = await runSoak(['run', '--local', '--target', 'http://127.0.0.1:3000', '--results', tempResults()], { env: { K6_BIN: '', PATH: '/nonexistent' } });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /k6 was not found.*Install k6/s);
  });

  test('run without --local explains the modes', async () => {
    const run = await runSoak(['run', '--target', 'http://127.0.0.1:3000']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /soak run needs --local/);
  });

  test('unknown option exits 2', async () => {
    const run = await runSoak(['run', '--local', '--colour', 'blue']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '--colour'/);
  });

  test('report of a missing run exits 2 naming it', async () => {
    const run = await runSoak(['report', '--results', tempResults(), 'run-nope']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /No run "run-nope" in env "local"/);
  });

  test('help lists the commands', async () => {
    const run = await runSoak(['--help']);
    assert.equal(run.code, 0);
    for (const command of ['run', 'finalize', 'report', 'status', 'list', 'stop', 'notify']) assert.match(run.stdout, new RegExp(`\\b${command}\\b`));
  });
});

describe('secrets', () => {
  test('token never reaches logs, reports or manifests', async () => {
    const results = tempResults();
    const secret = 'tok-SECRET-7c1f9e4b2a';
    await runSoak(runArgs(results), { fake: { case: 'pass', loopS: 10 }, env: { SOAK_TARGET_TOKEN: secret } });
    const files = allFiles(results);
    assert.ok(files.length > 5);
    for (const file of files) {
      const text = file.endsWith('.gz') ? '' : readFileSync(file, 'utf8');
      assert.ok(!text.includes(secret), `${file} contains the token`);
    }
  });
});
