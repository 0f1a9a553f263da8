import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildNoiseModel, withNoise } from '../../bench/detection/replay.js';
import type { Recording } from '../../bench/detection/recording.js';
import type { SeriesPoint } from '../../core/report-schema.js';

const RUN_START_MS = Date.UTC(2026, 11, 4, 23, 0, 0);
const MIB = 1024 * 1024;

function point(index: number, rssMib: number, p99: number): SeriesPoint {
  return {
    t: RUN_START_MS + index * 10_000,
    requests: 1000,
    failed: 0,
    errorRate: 0,
    rate: 100,
    p50: 100,
    p95: p99 - 2,
    p99,
    droppedIterations: 0,
    vus: 10,
    probes: { residentMemoryBytes: rssMib * MIB },
  };
}

function cleanRecording(series: SeriesPoint[]): Recording {
  return {
    caseId: 'clean',
    repeat: 0,
    runCases: ['clean'],
    apiArgs: ['--base-latency-ms', '100'],
    recordedAt: new Date(RUN_START_MS).toISOString(),
    runId: 'test-clean',
    durationS: 300,
    rate: 100,
    k6Version: 'v1.3.0',
    runStartMs: RUN_START_MS,
    verdict: 'PASS',
    reasons: [],
    series10s: series,
    series60s: [],
  };
}

function assertClose(actual: number, expected: number, tolerance: number): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `got ${actual}, expected ${expected}`);
}

describe('the detection replay noise model', () => {
  it('adds no noise for a steady climb', () => {
    // Resident memory that climbs 22 MiB over the 4 minutes after warm-up, as in a clean
    // run, with p99 alternating 1 ms around 104 ms.
    const series = Array.from({ length: 31 }, (_, index) => point(index, 89 + (22 * Math.max(0, index - 6)) / 24, index % 2 === 0 ? 105 : 103));
    const model = buildNoiseModel([cleanRecording(series)], '10s', 60);
    const rss = model.probes.residentMemoryBytes!;
    assert.equal(rss.length, 25);
    assert.ok(Math.max(...rss.map(Math.abs)) < 1, `largest resident memory residual ${Math.max(...rss.map(Math.abs))} bytes`);
    // The flat p99 keeps its own noise: two levels 2 ms apart, about 1.9 % of 105 ms.
    const p99 = model.latency.p99;
    assertClose(Math.max(...p99) - Math.min(...p99), 2 / 105, 1e-9);
  });

  it('repeats the noise of a seed', () => {
    const series = Array.from({ length: 31 }, (_, index) => point(index, 100 + (index % 3) * 4, 104 + (index % 2)));
    const model = buildNoiseModel([cleanRecording(series)], '10s', 60);
    assert.deepEqual(withNoise(series, model, 7), withNoise(series, model, 7));
    assert.notDeepEqual(withNoise(series, model, 7), withNoise(series, model, 8));
    assert.deepEqual(withNoise(series, model, 0), series);
  });
});
