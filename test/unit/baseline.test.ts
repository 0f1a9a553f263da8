import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { createLogger } from '../../core/log.js';
import type { RunManifest } from '../../core/schemas.js';
import { buildSampleReport } from '../support/sample-report.js';
import {
  addRegressionAnalysis,
  BaselineSettingsSchema,
  formatBaselineDelta,
  compareWithBaseline,
  incomparabilityReasons,
  RegressionAnalysisSchema,
  regressionReasons,
  RegressionRulesSchema,
  type RegressionConfig,
} from '../../core/baseline.js';
import { ProbeSeriesSchema } from '../../core/config.js';
import {
  HistoryEntrySchema,
  historyKeys,
  writeHistoryEntry,
  type HistoryEntry,
  type HistoryEntryInput,
  type HistorySnapshot,
} from '../../core/history.js';

const MIB = 1024 * 1024;

const CONFIG: RegressionConfig = {
  baseline: BaselineSettingsSchema.parse({}),
  regression: RegressionRulesSchema.parse({}),
  probe: {
    series: [
      ProbeSeriesSchema.parse({ name: 'heapUsedBytes', metric: 'nodejs_heap_size_used_bytes', unit: 'bytes', perMinute: 'min', leakTolerancePerHour: 16 * MIB }),
      ProbeSeriesSchema.parse({ name: 'eventLoopLag', metric: 'lag', unit: 's', leakTolerancePerHour: null }),
    ],
  },
  warmup: { fraction: 0.1, minS: 60 },
};

/** Builds the passing run of night `index` (1-based) of December 2026 with the given overrides. */
function night(index: number, overrides: Partial<HistoryEntryInput> = {}): HistoryEntry {
  return HistoryEntrySchema.parse({
    schemaVersion: 1,
    runId: `n${String(index).padStart(2, '0')}`,
    env: 'staging',
    scenario: 'sigil',
    scenarioHash: 'hash-a',
    k6Version: 'v1.3.0',
    startedAt: `2026-12-${String(index).padStart(2, '0')}T01:00:00.000Z`,
    endedAt: `2026-12-${String(index).padStart(2, '0')}T07:00:00.000Z`,
    verdict: 'PASS',
    rate: 100,
    durationS: 21_600,
    p50: 40,
    p95: 80,
    p99: 100,
    errorRate: 0,
    achievedRate: 100,
    probeSlopes: { heapUsedBytes: 1 * MIB },
    ...overrides,
  });
}

function snapshot(entries: HistoryEntry[], extra: Partial<HistorySnapshot> = {}): HistorySnapshot {
  return { entries, pins: null, exclusions: [], invalid: [], ...extra };
}

/** Seven passing nights whose p99 values have median 100 ms and MAD 1 ms. */
function steadyNights(): HistoryEntry[] {
  return [100, 102, 98, 101, 99, 100, 100].map((p99, i) => night(i + 1, { p99 }));
}

function metric(analysis: ReturnType<typeof compareWithBaseline>, name: string) {
  const found = analysis.metrics.find((comparison) => comparison.metric === name);
  assert.ok(found, `metric ${name} missing`);
  return found;
}

describe('compareWithBaseline', () => {
  it('reports no baseline with two runs', () => {
    const analysis = compareWithBaseline({ history: snapshot([night(1), night(2)]), current: night(3), config: CONFIG });
    assert.equal(analysis.status, 'no-baseline');
    assert.match(analysis.message, /^no baseline yet \(2 of 3 runs\)/);
    assert.deepEqual(analysis.metrics, []);
  });

  it('compares from three runs on', () => {
    const analysis = compareWithBaseline({ history: snapshot([night(1), night(2), night(3)]), current: night(4), config: CONFIG });
    assert.equal(analysis.status, 'compared');
    assert.deepEqual(analysis.baselineRunIds, ['n01', 'n02', 'n03']);
  });

  it('uses the last seven passing runs', () => {
    const nights = [...Array.from({ length: 9 }, (_, i) => night(i + 1)), night(10, { verdict: 'DRIFT' })];
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(11), config: CONFIG });
    assert.deepEqual(analysis.baselineRunIds, ['n03', 'n04', 'n05', 'n06', 'n07', 'n08', 'n09']);
  });

  it('ignores runs after the current one', () => {
    const nights = steadyNights();
    const analysis = compareWithBaseline({ history: snapshot(nights), current: nights[3]!, config: CONFIG });
    assert.deepEqual(analysis.baselineRunIds, ['n01', 'n02', 'n03']);
  });

  it('skips runs with another k6 version', () => {
    const nights = [night(1, { k6Version: 'v1.2.0' }), night(2, { k6Version: 'v1.2.0' }), night(3), night(4)];
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(5), config: CONFIG });
    assert.equal(analysis.status, 'no-baseline');
    assert.match(analysis.message, /no baseline yet \(2 of 3 runs\)/);
    assert.match(analysis.message, /2 earlier runs differ in scenario hash, k6 version or load/);
    assert.deepEqual(
      analysis.incomparable.map((entry) => entry.runId),
      ['n02', 'n01'],
    );
    assert.deepEqual(analysis.incomparable[0]!.reasons, ['k6 v1.2.0 differs from v1.3.0']);
  });

  it('skips runs with another scenario hash', () => {
    const nights = [night(1), night(2), night(3)];
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(4, { scenarioHash: 'hash-b', p99: 500 }), config: CONFIG });
    assert.equal(analysis.status, 'no-baseline');
    assert.equal(analysis.available, 0);
    assert.deepEqual(analysis.incomparable[0]!.reasons, ['scenario hash hash-a differs from hash-b']);
    assert.deepEqual(regressionReasons(analysis), []);
  });

  it('skips the current run when it is incomplete', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { verdict: 'INCOMPLETE', p99: 900 }), config: CONFIG });
    assert.equal(analysis.status, 'skipped');
    assert.deepEqual(regressionReasons(analysis), []);
  });

  it('flags p99 above the relative tolerance', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 130 }), config: CONFIG });
    const p99 = metric(analysis, 'p99');
    assert.equal(p99.status, 'regressed');
    assert.equal(p99.baselineMedian, 100);
    assert.equal(p99.delta, 30);
    assert.equal(p99.allowedRise, 25);
  });

  it('passes p99 within the relative tolerance', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 120 }), config: CONFIG });
    assert.equal(metric(analysis, 'p99').status, 'ok');
  });

  it('passes a rise within three spreads', () => {
    const nights = [100, 80, 120, 90, 110, 100, 100].map((p99, i) => night(i + 1, { p99 }));
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(8, { p99: 140 }), config: CONFIG });
    const p99 = metric(analysis, 'p99');
    // MAD 10 ms, scaled 14.83 ms, times 3 is 44.5 ms: more than 25 % of 100 ms.
    assert.equal(p99.status, 'ok');
    assert.ok(Math.abs(p99.allowedRise! - 3 * 1.482602218505602 * 10) < 1e-9);
  });

  it('reports an improvement', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 50 }), config: CONFIG });
    assert.equal(metric(analysis, 'p99').status, 'improved');
  });

  it('keeps tiny errors over a zero baseline', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { errorRate: 0.001 }), config: CONFIG });
    assert.equal(metric(analysis, 'errorRate').status, 'ok');
  });

  it('flags errors over a zero baseline', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { errorRate: 0.01 }), config: CONFIG });
    assert.equal(metric(analysis, 'errorRate').status, 'regressed');
  });

  it('flags a heap slope above half the leak tolerance', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { probeSlopes: { heapUsedBytes: 10 * MIB } }), config: CONFIG });
    const slope = metric(analysis, 'slope:heapUsedBytes');
    assert.equal(slope.status, 'regressed');
    assert.equal(slope.allowedRise, 8 * MIB);
  });

  it('leaves probes without a leak tolerance out', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8), config: CONFIG });
    assert.deepEqual(
      analysis.metrics.map((comparison) => comparison.metric),
      ['p95', 'p99', 'errorRate', 'slope:heapUsedBytes'],
    );
  });

  it('reports a metric without value as no-data', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p95: null }), config: CONFIG });
    assert.equal(metric(analysis, 'p95').status, 'no-data');
  });

  it('turns regressions into reasons', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 130, errorRate: 0.05 }), config: CONFIG });
    const reasons = regressionReasons(analysis);
    assert.deepEqual(
      reasons.map((reason) => reason.code),
      ['REGRESSION_P99', 'REGRESSION_ERRORRATE'],
    );
    assert.ok(reasons.every((reason) => reason.verdict === 'REGRESSION'));
  });

  it('names the figures in the reason', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 130 }), config: CONFIG });
    assert.equal(
      regressionReasons(analysis)[0]!.message,
      'p99 is worse: 130 ms against a baseline of 100 ms (+30 ms, +30 %, median of 7 runs); the limit is a rise of 25 ms: ' +
        'the highest of 25 % of the median, 3 × the spread 1.48 ms and the floor 2 ms',
    );
  });

  it('keeps a creep from moving a pinned baseline', () => {
    // p99 creeps up 5 % a night: each night passes against the rolling baseline.
    const nights = Array.from({ length: 10 }, (_, i) => night(i + 1, { p99: 100 * 1.05 ** i }));
    const current = night(11, { p99: 100 * 1.05 ** 10 });
    const rolling = compareWithBaseline({ history: snapshot(nights), current, config: CONFIG });
    const pinned = compareWithBaseline({
      history: snapshot(nights, { pins: { runIds: ['n01', 'n02', 'n03'], pinnedAt: '2026-12-04T00:00:00.000Z', note: null } }),
      current,
      config: CONFIG,
    });
    assert.equal(metric(rolling, 'p99').status, 'ok');
    assert.equal(pinned.mode, 'pinned');
    assert.equal(metric(pinned, 'p99').status, 'regressed');
  });

  it('leaves excluded runs out', () => {
    const nights = steadyNights();
    const analysis = compareWithBaseline({
      history: snapshot(nights, { exclusions: [{ runId: 'n07', reason: 'outage', excludedAt: '2026-12-08T00:00:00.000Z' }] }),
      current: night(8),
      config: CONFIG,
    });
    assert.deepEqual(analysis.excludedRunIds, ['n07']);
    assert.ok(!analysis.baselineRunIds.includes('n07'));
  });

  it('compares with a named run', () => {
    const nights = steadyNights();
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(8, { p99: 130 }), config: CONFIG, against: ['n02'] });
    assert.equal(analysis.mode, 'named');
    assert.equal(analysis.required, 1);
    assert.deepEqual(analysis.baselineRunIds, ['n02']);
    assert.equal(metric(analysis, 'p99').baselineMedian, 102);
  });

  it('reports a named run of another load', () => {
    const nights = [...steadyNights(), night(9, { rate: 50 })];
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(8), config: CONFIG, against: ['n09'] });
    assert.equal(analysis.status, 'no-baseline');
    assert.equal(analysis.message, 'no baseline: none of the named runs can be compared with this run');
    assert.deepEqual(analysis.incomparable[0]!.reasons, ['rate 50/s differs from 100/s']);
  });

  it('returns the previous verdict', () => {
    const nights = [night(1), night(2, { verdict: 'LEAK_SUSPECTED' })];
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(3), config: CONFIG });
    assert.deepEqual(analysis.previous, { runId: 'n02', verdict: 'LEAK_SUSPECTED' });
  });

  it('charts the last thirty runs', () => {
    const nights = Array.from({ length: 28 }, (_, i) => night(i + 1));
    const analysis = compareWithBaseline({ history: snapshot(nights), current: night(29, { p99: 130 }), config: CONFIG });
    assert.equal(analysis.chart.length, 29);
    const last = analysis.chart[analysis.chart.length - 1]!;
    assert.equal(last.current, true);
    assert.equal(last.p99, 130);
    assert.equal(last.heapSlopePerHour, 1 * MIB);
  });

  it('cuts the chart at thirty runs', () => {
    const nights = Array.from({ length: 31 }, (_, i) => night(i + 1, { startedAt: new Date(Date.UTC(2026, 10, 1 + i)).toISOString() }));
    const current = night(32, { startedAt: new Date(Date.UTC(2026, 11, 5)).toISOString() });
    const analysis = compareWithBaseline({ history: snapshot(nights), current, config: CONFIG });
    assert.equal(analysis.chart.length, 30);
    assert.equal(analysis.chart[0]!.runId, 'n03');
  });

  it('marks baseline runs in the chart', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8), config: CONFIG });
    assert.equal(analysis.chart.filter((point) => point.inBaseline).length, 7);
  });

  it('matches its schema', () => {
    const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 130 }), config: CONFIG });
    assert.deepEqual(RegressionAnalysisSchema.parse(analysis), analysis);
  });
});

describe('incomparabilityReasons', () => {
  it('accepts a duration within a factor of two', () => {
    assert.deepEqual(incomparabilityReasons(night(1, { durationS: 10_800 }), night(2), 2), []);
  });

  it('rejects a duration beyond a factor of two', () => {
    assert.deepEqual(incomparabilityReasons(night(1, { durationS: 7200 }), night(2), 2), ['duration 7200 s is not within a factor of 2 of 21600 s']);
  });

  it('treats two unknown hashes as equal', () => {
    assert.deepEqual(incomparabilityReasons(night(1, { scenarioHash: null }), night(2, { scenarioHash: null }), 2), []);
  });

  it('rejects an unknown hash against a known one', () => {
    assert.deepEqual(incomparabilityReasons(night(1, { scenarioHash: null }), night(2), 2), ['scenario hash unknown differs from hash-a']);
  });
});

describe('BaselineSettingsSchema', () => {
  it('defaults to seven runs and three required', () => {
    const settings = BaselineSettingsSchema.parse({});
    assert.equal(settings.runs, 7);
    assert.equal(settings.minRuns, 3);
  });

  it('rejects minRuns above runs', () => {
    assert.throws(() => BaselineSettingsSchema.parse({ runs: 2, minRuns: 3 }), /minRuns must not exceed runs/);
  });
});

describe('addRegressionAnalysis', () => {
  const folders: string[] = [];
  after(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });
  const log = createLogger({ level: 'silent' });
  const manifest = { request: { rate: 50, durationS: 1800 } } as unknown as RunManifest;
  // A passing sample run: p95 122.7 ms, p99 268.1 ms, 30 minutes at 50/s.
  const report = buildSampleReport({ verdict: 'PASS', reasons: [] });

  async function storeWithNights(p99: number): Promise<FolderResultStore> {
    const folder = mkdtempSync(join(tmpdir(), 'soak-baseline-test-'));
    folders.push(folder);
    const store = new FolderResultStore(folder);
    for (let i = 1; i <= 3; i++) {
      await writeHistoryEntry(
        store,
        night(i, {
          startedAt: `2026-12-0${i}T00:00:00.000Z`,
          scenarioHash: report.scenarioHash,
          rate: 50,
          durationS: 1800,
          p95: 122.7,
          p99,
          errorRate: report.requests.errorRate,
          probeSlopes: {},
        }),
      );
    }
    return store;
  }

  it('turns a slower p99 into REGRESSION', async () => {
    const store = await storeWithNights(150);
    const { report: judged } = await addRegressionAnalysis(store, report, manifest, CONFIG, null, log);
    assert.equal(judged.verdict, 'REGRESSION');
    assert.deepEqual(
      judged.reasons.map((reason) => reason.code),
      ['REGRESSION_P99'],
    );
  });

  it('writes the final verdict into the entry', async () => {
    const store = await storeWithNights(150);
    const { entry } = await addRegressionAnalysis(store, report, manifest, CONFIG, '2.5.0', log);
    assert.equal(entry.verdict, 'REGRESSION');
    assert.equal(entry.targetVersion, '2.5.0');
  });

  it('keeps PASS against an equal baseline', async () => {
    const store = await storeWithNights(268.1);
    const { report: judged } = await addRegressionAnalysis(store, report, manifest, CONFIG, null, log);
    assert.equal(judged.verdict, 'PASS');
    assert.equal((judged.analyses.regression as { status: string }).status, 'compared');
  });

  it('notes a missing baseline', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'soak-baseline-test-'));
    folders.push(folder);
    const { report: judged } = await addRegressionAnalysis(new FolderResultStore(folder), report, manifest, CONFIG, null, log);
    assert.ok(judged.notes.some((note) => note.startsWith('Regression check: no baseline yet (0 of 3 runs)')));
  });

  it('notes a damaged pin file', async () => {
    const store = await storeWithNights(150);
    await store.put(historyKeys.pins('staging', 'sigil'), 'not json');
    const { report: judged } = await addRegressionAnalysis(store, report, manifest, CONFIG, null, log);
    assert.equal(judged.verdict, 'PASS');
    assert.ok(judged.notes.some((note) => note.startsWith('Not compared with earlier runs: history/staging/sigil/_baseline.json is damaged')));
  });
});

describe('formatBaselineDelta', () => {
  const analysis = compareWithBaseline({ history: snapshot(steadyNights()), current: night(8, { p99: 130, errorRate: 0.004 }), config: CONFIG });

  it('formats a latency change in percent', () => {
    assert.equal(formatBaselineDelta(analysis, 'p99'), ' (+30 % vs baseline, regressed)');
  });

  it('formats an error rate change in points', () => {
    assert.equal(formatBaselineDelta(analysis, 'errorRate'), ' (+0.4 pp vs baseline, regressed)');
  });

  it('returns nothing without a baseline', () => {
    const none = compareWithBaseline({ history: snapshot([night(1)]), current: night(2), config: CONFIG });
    assert.equal(formatBaselineDelta(none, 'p99'), '');
  });

  it('returns nothing without an analysis', () => {
    assert.equal(formatBaselineDelta(null, 'p99'), '');
  });
});
