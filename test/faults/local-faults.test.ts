/**
 * Faults of a local run, through the CLI as a user starts it. The k6 double replays
 * real k6 v1.3.0 recordings, and the example API on 127.0.0.1 serves the health
 * checks and probes. The faults: k6 killed mid-run, the whole runner killed and
 * finalized again from its checkpoints, one segment stopped with SIGTERM, and a stop
 * right after the launch, while run-segment is still loading.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { acquireLock } from '../../core/lock.js';
import { keys } from '../../core/ports.js';
import { startExampleApi, type ExampleApi } from '../../examples/sigil-api/index.js';
import { processesWithEnv, startSoakGroup, waitFor } from '../support/fault-kit.js';
import { existsSync, onlyRun, readJsonFile, runSoak, startSoak, tempResults } from '../support/soak-cli.js';

let api: ExampleApi;

before(async () => {
  api = await startExampleApi({ port: 0 });
});

after(async () => {
  await api.close();
});

/** Creates a results folder with a configuration that checkpoints every 10 s, the minimum. */
function resultsWithConfig(): { results: string; config: string } {
  const results = tempResults();
  const config = join(results, 'config.json');
  writeFileSync(config, JSON.stringify({ windows: { checkpointEveryS: 10 } }));
  return { results, config };
}

function runArgs(results: string, config: string, extra: string[]): string[] {
  return ['run', '--local', '--target', api.url, '--scenario', 'sigil', '--rate', '100', '--results', results, '--config', config, ...extra];
}

function checkpointCount(dir: string, segment: number): number {
  try {
    return readdirSync(join(dir, 'segments', String(segment), 'windows')).filter((name) => name.endsWith('.ndjson.gz')).length;
  } catch {
    return 0;
  }
}

interface Reason {
  code: string;
  verdict: string;
  message: string;
}

describe('local run faults', { concurrency: 5 }, () => {
  test('k6 killed mid-run keeps its windows', async () => {
    const { results, config } = resultsWithConfig();
    // The sigkill recording, looped for 22 s of a planned 40 s, ends with k6 killed by SIGKILL.
    const run = await runSoak(runArgs(results, config, ['--duration', '40s']), { fake: { case: 'sigkill', loopS: 22, cutLastLine: true } });
    assert.equal(run.code, 3, run.stderr);

    const { dir } = onlyRun(results);
    const report = readJsonFile(join(dir, 'report.json'));
    assert.equal(report.verdict, 'INCOMPLETE');
    const died = report.reasons.find((reason: Reason) => reason.code === 'SEGMENT_DIED');
    assert.match(died.message, /Segment 0 \(0:1\) stopped early: k6 was killed by SIGKILL; exit code SIGKILL, coverage \d+ %/);
    assert.equal(report.segments[0].status, 'killed');
    assert.ok(report.segments[0].coverage > 0.4, `coverage ${report.segments[0].coverage}`);
    assert.ok(report.segments[0].coverage < 0.7, `coverage ${report.segments[0].coverage}`);
    assert.ok(checkpointCount(dir, 0) >= 2, 'a checkpoint during the run and the last one after the kill');
    assert.ok(report.segments[0].windows >= 2, `windows ${report.segments[0].windows}`);
    assert.equal(report.load.plannedIterations, 4000);
    assert.ok(report.load.iterations > 1600, `iterations ${report.load.iterations}`);
    assert.ok(report.load.iterations < 2800, `iterations ${report.load.iterations}`);
    const short = report.reasons.find((reason: Reason) => reason.code === 'LOAD_SHORT');
    assert.match(short.message, /achieved \d+ of 4000 planned iterations/);
    assert.ok(report.load.generator.unparsableLines >= 1, 'the cut last line is counted');
  });

  test('runner killed then finalized from checkpoints', async () => {
    const { results, config } = resultsWithConfig();
    const runId = 'runner-killed';
    const soak = startSoakGroup(runArgs(results, config, ['--duration', '40s', '--run-id', runId]), { fake: { case: 'pass', loopS: 40 } });
    const dir = join(results, 'runs', 'local', runId);
    await waitFor('a first checkpoint', () => (checkpointCount(dir, 0) >= 1 ? true : undefined), 40_000);
    soak.killGroup('SIGKILL');
    const killed = await soak.result;
    assert.equal(killed.signal, 'SIGKILL');
    await waitFor('every process of the run to end', () => (processesWithEnv('SOAK_RUN_ID', runId).length === 0 ? true : undefined), 10_000);
    assert.equal(readdirSync(dir).includes('report.json'), false, 'nothing finalized the run before the kill');

    const finalize = await runSoak(['finalize', '--results', results, runId]);
    assert.equal(finalize.code, 3, finalize.stderr);
    const report = readJsonFile(join(dir, 'report.json'));
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.equal(report.reasons[0].code, 'SEGMENT_MISSING');
    assert.match(report.reasons[0].message, /Segment 0 \(0:1\) never reported a result .*its windows cover \d+ % of the planned time/);
    assert.equal(report.segments[0].status, 'no result (died?)');
    assert.ok(report.requests.total > 0, 'requests counted from the checkpoints');
    assert.ok(report.segments[0].coverage > 0, `coverage ${report.segments[0].coverage}`);
    assert.ok(report.segments[0].coverage < 0.9, `coverage ${report.segments[0].coverage}`);
    assert.match(finalize.stdout, /INCOMPLETE {2}local \/ sigil/);
  });

  test('SIGTERM to one segment names it', async () => {
    const { results, config } = resultsWithConfig();
    const runId = 'segment-sigterm';
    const soak = startSoakGroup(runArgs(results, config, ['--duration', '20s', '--segments', '2', '--run-id', runId]), { fake: { loopS: 20 } });
    const segment1 = await waitFor('run-segment of segment 1', () =>
      processesWithEnv('SOAK_SEGMENT', '1').find((proc) => proc.cmdline.some((arg) => arg.endsWith('run-segment.ts')) && processesWithEnv('SOAK_RUN_ID', runId).some((other) => other.pid === proc.pid)),
    );
    await new Promise((resolve) => setTimeout(resolve, 6000));
    process.kill(segment1.pid, 'SIGTERM');
    const run = await soak.result;
    assert.equal(run.code, 3, run.stderr);

    const report = readJsonFile(join(results, 'runs', 'local', runId, 'report.json'));
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.deepEqual(
      report.segments.map((segment: { status: string }) => segment.status),
      ['completed', 'stopped'],
    );
    const stopped = report.reasons.find((reason: Reason) => reason.code === 'SEGMENT_STOPPED');
    assert.match(stopped.message, /Segment 1 \(1\/2:1\) was stopped from outside \(run-segment received SIGTERM\) after covering \d+ % of the planned time/);
    assert.equal(report.reasons.filter((reason: Reason) => reason.message.startsWith('Segment 0')).length, 0);
  });

  test('SIGINT right after launch ends STOPPED', async () => {
    const { results, config } = resultsWithConfig();
    const runId = 'early-sigint';
    const run = startSoak(runArgs(results, config, ['--duration', '30s', '--run-id', runId]), { fake: { loopS: 30 } });
    // The segment's log file exists once its run-segment is spawned, while it is still loading.
    await waitFor('run-segment to be spawned', () => (existsSync(join(results, 'runs', 'local', runId, 'logs', 'segment-0.ndjson')) ? true : undefined), 30_000);
    run.kill('SIGINT');
    const outcome = await run.result;
    assert.equal(outcome.code, 3, outcome.stderr);

    const report = readJsonFile(join(results, 'runs', 'local', runId, 'report.json'));
    assert.equal(report.verdict, 'STOPPED', JSON.stringify(report.reasons));
    assert.equal(report.segments[0].status, 'stopped');
    assert.deepEqual(report.reasons.map((reason: Reason) => reason.code), ['STOPPED']);
  });

  test('finalize frees a lock whose run has no manifest', async () => {
    // The state a run killed between taking the lock and writing its manifest leaves.
    const results = tempResults();
    const store = new FolderResultStore(results);
    await acquireLock(store, 'local', 'killed-at-start', Date.now() + 3_600_000, Date.now());

    const finalize = await runSoak(['finalize', '--results', results, 'killed-at-start']);
    assert.equal(finalize.code, 2, finalize.stderr);
    assert.match(finalize.stderr, /No run "killed-at-start" in env "local"/);
    assert.match(finalize.stderr, /released the run lock of env "local": run killed-at-start had taken it but has no manifest/);
    assert.equal(await store.get(keys.lock('local')), undefined);
  });

  test('finalize releases the run lock', async () => {
    const { results, config } = resultsWithConfig();
    const runId = 'lock-after-kill';
    const soak = startSoakGroup(runArgs(results, config, ['--duration', '30s', '--run-id', runId]), { fake: { case: 'pass', loopS: 30 } });
    await waitFor('the run lock', () => (readdirSync(results).includes('locks') ? true : undefined), 20_000);
    soak.killGroup('SIGKILL');
    await soak.result;
    await runSoak(['finalize', '--results', results, runId]);

    const next = await runSoak(runArgs(results, config, ['--duration', '10s']), { fake: { case: 'pass', loopS: 10 } });
    assert.doesNotMatch(next.stderr, /already has an active run/);
    assert.equal(next.code, 0, next.stderr);
  });
});
