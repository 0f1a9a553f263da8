/**
 * Guards: one active run per environment, for local runs and for the nightly and
 * ad-hoc starts of the cloud alike, and `soak stop` stopping every segment of a run.
 * The local runs use the k6 double and the example API on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { parseEnvConfig } from '../../core/config.js';
import { SCHEDULED_TIME_LABEL, startRun } from '../../core/lifecycle.js';
import { silentLog } from '../../core/log.js';
import type { Launcher, SegmentLaunch } from '../../core/ports.js';
import { startExampleApi, type ExampleApi } from '../../examples/sigil-api/index.js';
import { processesWithEnv, waitFor } from '../support/fault-kit.js';
import { readJsonFile, runSoak, startSoak, tempResults } from '../support/soak-cli.js';

describe('one active run per environment', () => {
  let api: ExampleApi;

  before(async () => {
    api = await startExampleApi({ port: 0 });
  });

  after(async () => {
    await api.close();
  });

  test('second run is rejected, soak stop stops all', async () => {
    const results = tempResults();
    const args = (runId: string) => ['run', '--local', '--target', api.url, '--rate', '100', '--duration', '60s', '--segments', '2', '--run-id', runId, '--results', results];
    const first = startSoak(args('guard-first'), { fake: { loopS: 60 } });
    await waitFor('both `k6 run` processes of the first run', () =>
      processesWithEnv('SOAK_RUN_ID', 'guard-first').filter((proc) => proc.cmdline.some((arg) => arg.endsWith('fake-k6.mjs')) && proc.cmdline.includes('run')).length === 2 ? true : undefined,
    );
    assert.deepEqual(readdirSync(join(results, 'locks')), ['local.json']);

    const second = await runSoak(args('guard-second'));
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /Env "local" already has an active run: guard-first .*stop it with `soak stop --env local guard-first`/);
    assert.deepEqual(readdirSync(join(results, 'runs', 'local')), ['guard-first']);

    const stop = await runSoak(['stop', '--results', results, 'guard-first']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /Stop requested for guard-first/);
    const stopped = await first.result;
    assert.equal(stopped.code, 3, stopped.stderr);

    const report = readJsonFile(join(results, 'runs', 'local', 'guard-first', 'report.json'));
    assert.equal(report.verdict, 'STOPPED');
    assert.deepEqual(
      report.segments.map((segment: { status: string }) => segment.status),
      ['stopped', 'stopped'],
    );
    assert.equal(report.reasons[0].message, 'Stopped by a person: stopped with soak stop.');
    assert.equal(readdirSync(join(results, 'locks')).length, 0, 'the lock is released');
  });

  test('nightly start is locked out by an ad-hoc run', async () => {
    const store = new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-guards-')));
    const launched: SegmentLaunch[] = [];
    const launcher: Launcher = {
      launch: async (launches) => {
        launched.push(...launches);
        return { launched: launches.map((launch) => ({ segment: launch.segment.index, taskId: `task-${launch.segment.index}` })), failed: [] };
      },
      stop: async () => undefined,
    };
    const deps = { store, launcher, log: silentLog, nowMs: () => Date.UTC(2026, 0, 1, 22, 0, 0), bundledScenarios: ['sigil'] };
    const config = parseEnvConfig({}, null);
    const request = { env: 'staging', target: 'http://127.0.0.1:9', scenario: 'sigil', rate: 10, durationS: 600, segments: 1 };

    const adHoc = await startRun(deps, { ...request, runId: 'ad-hoc-1' }, config);
    assert.equal(adHoc.status, 'started');
    const nightly = await startRun(deps, { ...request, labels: { [SCHEDULED_TIME_LABEL]: '2026-01-01T22:00:00Z' } }, config);
    assert.equal(nightly.status, 'locked');
    assert.equal(nightly.status === 'locked' ? nightly.activeRunId : null, 'ad-hoc-1');
    assert.match(nightly.status === 'locked' ? nightly.message : '', /Env "staging" already has an active run: ad-hoc-1/);
    assert.equal(launched.length, 1, 'nothing was launched for the nightly run');
    assert.deepEqual((await store.list('runs/staging/')).filter((key) => key.endsWith('manifest.json')), ['runs/staging/ad-hoc-1/manifest.json']);
  });
});
