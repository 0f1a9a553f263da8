/**
 * How finalize judges runs that faults left behind, from stored windows alone: a
 * task that never started, a Spot interruption, a target that went down or slowed
 * down, a saturated load generator, probe gaps and a damaged checkpoint. The windows
 * come from synthetic k6 lines aggregated by the real WindowAggregator, stored in a
 * results folder as the runner would store them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { finalizeRun } from '../../core/finalize.js';
import { silentLog } from '../../core/log.js';
import { keys } from '../../core/ports.js';
import type { Reason, RunReport } from '../../core/report-schema.js';
import type { WindowRecord } from '../../core/schemas.js';
import { aggregateLines, seedManifest, segmentResult, storeResult, storeWindows, trafficLines, type SeedOptions, type TrafficSpec } from '../support/fault-kit.js';

const START_MS = Date.UTC(2026, 0, 1, 2, 0, 0);

function folder(): FolderResultStore {
  return new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-finalize-faults-')));
}

interface SegmentSpec {
  traffic?: Omit<TrafficSpec, 'startMs'>;
  /** Generator fields set on every window, such as a saturated runner's CPU. */
  generator?: Partial<WindowRecord['generator']>;
  /** `null` leaves the segment without result.json, as a task that died or never started. */
  result?: Parameters<typeof segmentResult>[3] | null;
  stop?: Record<string, unknown>;
}

/** Stores a run whose segments are described by `segments` and finalizes it. */
async function finalizeSynthetic(runId: string, segments: SegmentSpec[], seed: Partial<SeedOptions> = {}): Promise<{ report: RunReport; store: FolderResultStore }> {
  const store = folder();
  const manifest = await seedManifest(store, { runId, rate: 10, durationS: 60, segments: segments.length, createdAtMs: START_MS, ...seed });
  for (const [index, spec] of segments.entries()) {
    const records = spec.traffic ? aggregateLines(trafficLines({ startMs: START_MS, ...spec.traffic }), { runId, segment: index }) : [];
    for (const record of records) Object.assign(record.generator, spec.generator);
    await storeWindows(store, manifest, index, records, 2);
    if (spec.result !== null) await storeResult(store, segmentResult(manifest, index, records, spec.result));
    if (spec.stop) await store.put(keys.segmentStop('local', runId, index), JSON.stringify(spec.stop));
  }
  const { report } = await finalizeRun({ store, log: silentLog }, 'local', runId);
  return { report, store };
}

const codes = (report: RunReport) => report.reasons.map((reason) => reason.code);
const reasonOf = (report: RunReport, code: string): Reason => {
  const reason = report.reasons.find((candidate) => candidate.code === code);
  assert.ok(reason, `no ${code} reason in ${JSON.stringify(report.reasons)}`);
  return reason;
};

describe('segments that did not finish', () => {
  test('task that never started is named', async () => {
    const { report } = await finalizeSynthetic('never-started', [{ traffic: { seconds: 60, perSecond: 5 } }, { result: null }]);
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.match(reasonOf(report, 'SEGMENT_MISSING').message, /^Segment 1 \(1\/2:1\) never reported a result \(no task stop was recorded\); its windows cover 0 % of the planned time\.$/);
    assert.equal(report.segments[1]!.status, 'never reported');
    assert.equal(report.segments[0]!.status, 'completed');
  });

  test('Spot interruption without result is named', async () => {
    const stop = { taskId: 'arn:task/1', exitCode: 143, stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.', containerReason: null };
    const { report } = await finalizeSynthetic('spot-no-result', [{ traffic: { seconds: 24, perSecond: 10 }, result: null, stop }]);
    assert.equal(report.verdict, 'INCOMPLETE');
    const missing = reasonOf(report, 'SEGMENT_MISSING').message;
    assert.match(missing, /its task stopped: exit code 143, SpotInterruption, Your Spot Task was interrupted\./);
    assert.match(missing, /its windows cover 50 % of the planned time/);
  });

  test('Spot interruption with result is named', async () => {
    const stop = { taskId: 'arn:task/1', exitCode: 0, stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.', containerReason: null };
    const { report } = await finalizeSynthetic('spot-with-result', [
      { traffic: { seconds: 24, perSecond: 10 }, result: { stopReason: 'stopped', detail: 'run-segment received SIGTERM', k6ExitCode: 105 }, stop },
    ]);
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.match(reasonOf(report, 'SEGMENT_STOPPED').message, /SpotInterruption/);
  });

  test('killed segment says how much ran', async () => {
    const { report } = await finalizeSynthetic('killed-half', [
      { traffic: { seconds: 30, perSecond: 10 }, result: { stopReason: 'killed', detail: 'k6 was killed (exit code 137, SIGKILL or out of memory)', k6ExitCode: 137 } },
    ]);
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.match(reasonOf(report, 'SEGMENT_DIED').message, /^Segment 0 \(0:1\) stopped early: k6 was killed \(exit code 137, SIGKILL or out of memory\); exit code 137, coverage 50 %\.$/);
    assert.match(reasonOf(report, 'LOAD_SHORT').message, /achieved 300 of 600 planned iterations \(50\.0 % short/);
  });
});

describe('target or load generator', () => {
  test('target down mid-run fails the target', async () => {
    const { report } = await finalizeSynthetic('target-down-mid-run', [
      { traffic: { seconds: 60, perSecond: 10, failure: { fromS: 20, toS: 35, status: '0', errorCode: '1212' } } },
    ]);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(codes(report).includes('SLO_FAILED'), JSON.stringify(report.reasons));
    assert.equal(report.requests.failures.connection, 150);
    assert.equal(report.load.cause, 'none');
    assert.deepEqual(report.reasons.filter((reason) => reason.verdict === 'INCOMPLETE' || reason.verdict === 'ERROR'), []);
  });

  test('target that never answers is an ERROR', async () => {
    const { report } = await finalizeSynthetic('target-never-answers', [
      { traffic: { seconds: 60, perSecond: 10, failure: { fromS: 0, toS: 60, status: '0', errorCode: '1212' } } },
    ]);
    assert.equal(report.verdict, 'ERROR');
    assert.match(reasonOf(report, 'NO_RESPONSE').message, /all 600 requests failed \(connection 600\)\. The target never answered\./);
  });

  test('slow target blames the target', async () => {
    const { report } = await finalizeSynthetic('slow-target', [{ traffic: { seconds: 60, perSecond: 7, droppedPerSecond: 3, latencyMs: 900 } }]);
    assert.equal(report.verdict, 'INCOMPLETE');
    assert.equal(report.load.cause, 'target');
    assert.match(reasonOf(report, 'LOAD_SHORT').message, /the target slowed down until every VU was busy, so k6 dropped 180 iterations/);
  });

  test('saturated runner blames the generator', async () => {
    const { report } = await finalizeSynthetic('saturated-runner', [
      { traffic: { seconds: 60, perSecond: 7, droppedPerSecond: 3 }, generator: { runnerCpuS: 9.8 } },
    ]);
    assert.equal(report.load.cause, 'generator');
    assert.ok(Math.abs((report.load.generator.runnerCpuMax ?? 0) - 0.98) < 1e-9, `runner CPU ${report.load.generator.runnerCpuMax}`);
    assert.match(reasonOf(report, 'LOAD_SHORT').message, /the load generator was saturated \(.*runner CPU up to 98 % of a core/);
  });

  test('CPU-bound generator machine blames the generator', async () => {
    // Every 10 s window had 10 saturated seconds: the machine, k6 included, had no CPU left.
    const { report } = await finalizeSynthetic('cpu-bound-k6', [
      { traffic: { seconds: 60, perSecond: 7, droppedPerSecond: 3 }, generator: { cpuSaturatedS: 10, runnerCpuS: 2 } },
    ]);
    assert.equal(report.load.cause, 'generator');
    assert.ok((report.load.generator.cpuSaturatedShare ?? 0) > 0.9, `saturated share ${report.load.generator.cpuSaturatedShare}`);
    assert.match(reasonOf(report, 'LOAD_SHORT').message, /its machine out of CPU \d+ % of the time/);
  });

  test('stream lag blames the generator', async () => {
    const { report } = await finalizeSynthetic('lagging-stream', [
      { traffic: { seconds: 60, perSecond: 7, droppedPerSecond: 3 }, generator: { streamLagMsMax: 8000 } },
    ]);
    assert.equal(report.load.cause, 'generator');
    assert.match(reasonOf(report, 'LOAD_SHORT').message, /stream lag up to 8000 ms/);
  });

  test('probe gaps are noted, not blamed', async () => {
    const { report } = await finalizeSynthetic('probe-gaps', [{ traffic: { seconds: 60, perSecond: 10 }, generator: { probeFailures: 2 } }]);
    assert.equal(report.verdict, 'PASS', JSON.stringify(report.reasons));
    assert.equal(report.load.generator.probeFailures, 12);
    assert.ok(report.notes.includes('12 target probes failed; they are gaps in the probe series.'), JSON.stringify(report.notes));
  });
});

describe('windows missing from the store', () => {
  test('damaged checkpoint never passes', async () => {
    const store = folder();
    const runId = 'damaged-checkpoint';
    const manifest = await seedManifest(store, { runId, rate: 10, durationS: 60, createdAtMs: START_MS, bundled: false });
    const records = aggregateLines(trafficLines({ startMs: START_MS, seconds: 60, perSecond: 10 }), { runId, segment: 0 });
    await storeWindows(store, manifest, 0, records, 2);
    await storeResult(store, segmentResult(manifest, 0, records));
    writeFileSync(join(store.root, keys.windows('local', runId, 0, 1)), 'not gzip');

    const { report } = await finalizeRun({ store, log: silentLog }, 'local', runId);
    assert.ok(report.notes.some((note) => note.includes('could not be read and was skipped')));
    assert.notEqual(report.verdict, 'PASS');
  });

  test('undamaged synthetic run passes', async () => {
    const { report } = await finalizeSynthetic('clean-synthetic', [{ traffic: { seconds: 60, perSecond: 10 } }], { bundled: false });
    assert.equal(report.verdict, 'PASS', JSON.stringify(report.reasons));
  });
});
