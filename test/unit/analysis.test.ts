import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysisPointSeconds, analyzeDrift, analyzeLeaks, trailingFloor, warmupSeconds, type DriftOptions, type LeakOptions } from '../../core/analysis.js';
import { EnvConfigSchema, type ProbeSeries } from '../../core/config.js';
import type { SeriesAnalysis, SeriesPoint } from '../../core/report-schema.js';

const CONFIG = EnvConfigSchema.parse({});
const RUN_START_MS = Date.UTC(2026, 0, 1, 22, 0, 0);
const MINUTE_MS = 60_000;
const MIB = 1024 * 1024;
const SIX_HOURS_MIN = 360;
/** Warm-up of a 6-hour run with the default configuration: 10 % = 36 minutes. */
const WARMUP_S = warmupSeconds(SIX_HOURS_MIN * 60, CONFIG.warmup);

/** Mulberry32: a small seeded generator, so every synthetic series is reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal values by the Box–Muller transform. */
function seededNormal(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Builds one point per minute; `fill` gets the minute index and the hours since the run start. */
function makeSeries(minutes: number, fill: (minute: number, hours: number) => Partial<SeriesPoint>): SeriesPoint[] {
  return Array.from({ length: minutes }, (_, minute) => ({
    t: RUN_START_MS + minute * MINUTE_MS,
    requests: 3000,
    failed: 0,
    errorRate: 0,
    rate: 50,
    p50: null,
    p95: null,
    p99: null,
    droppedIterations: 0,
    vus: 10,
    probes: {},
    ...fill(minute, minute / 60),
  }));
}

function driftOf(series: SeriesPoint[], name: string, options: Partial<DriftOptions> = {}): SeriesAnalysis {
  const analyses = analyzeDrift(series, { runStartMs: RUN_START_MS, warmupS: WARMUP_S, drift: CONFIG.drift, ...options });
  const analysis = analyses.find((entry) => entry.series === name);
  assert.ok(analysis, `no analysis for ${name}`);
  return analysis;
}

const HEAP: ProbeSeries = {
  name: 'heapUsedBytes',
  metric: 'nodejs_heap_size_used_bytes',
  labels: {},
  unit: 'bytes',
  perMinute: 'min',
  leakTolerancePerHour: 16 * MIB,
};

/**
 * Analyses a 5-minute run of 10-second points with the default heap probe. In a run this
 * short, its `leakMinGrowth` of 12 MiB decides. `heapMib` maps a point index to the heap.
 */
function shortHeapLeak(heapMib: (index: number) => number, leak: Partial<LeakOptions['leak']> = {}): SeriesAnalysis {
  const points = Array.from({ length: 31 }, (_, index) => ({
    ...makeSeries(1, () => ({}))[0]!,
    t: RUN_START_MS + index * 10_000,
    probes: { heapUsedBytes: heapMib(index) * MIB },
  }));
  const probe = CONFIG.probe.series.find((series) => series.name === 'heapUsedBytes')!;
  return leakOf(points, { warmupS: 60, probes: [probe], leak: { ...CONFIG.leak, ...leak } });
}

function heapSeries(minutes: number, heap: (minute: number, hours: number) => number | null): SeriesPoint[] {
  return makeSeries(minutes, (minute, hours) => ({ probes: { heapUsedBytes: heap(minute, hours) } }));
}

function leakOf(series: SeriesPoint[], options: Partial<LeakOptions> = {}): SeriesAnalysis {
  const analyses = analyzeLeaks(series, {
    runStartMs: RUN_START_MS,
    warmupS: WARMUP_S,
    probes: [HEAP],
    leak: CONFIG.leak,
    ...options,
  });
  assert.equal(analyses.length, 1);
  return analyses[0]!;
}

function assertWithin(actual: number | null | undefined, expected: number, relative: number, label: string): void {
  assert.ok(typeof actual === 'number', `${label}: got ${actual}`);
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= relative, `${label}: got ${actual}, expected ${expected} ± ${relative * 100} %`);
}

describe('warmupSeconds', () => {
  const cases: Array<[number, number]> = [
    [21_600, 2160],
    [3600, 360],
    [300, 60],
    [100, 50],
    [0, 0],
  ];
  for (const [durationS, expected] of cases) {
    it(`gives ${expected} s for a ${durationS} s run`, () => {
      assert.equal(warmupSeconds(durationS, { fraction: 0.1, minS: 60 }), expected);
    });
  }

  it('rejects a negative duration', () => {
    assert.throws(() => warmupSeconds(-1, { fraction: 0.1, minS: 60 }), RangeError);
  });
});

describe('analyzeDrift', () => {
  it('analyses p50, p95, p99 and the error rate', () => {
    const analyses = analyzeDrift(makeSeries(60, () => ({ p50: 40, p95: 100, p99: 150 })), {
      runStartMs: RUN_START_MS,
      warmupS: 60,
      drift: CONFIG.drift,
    });
    assert.deepEqual(
      analyses.map((analysis) => [analysis.series, analysis.unit]),
      [
        ['p50', 'ms'],
        ['p95', 'ms'],
        ['p99', 'ms'],
        ['errorRate', 'ratio'],
      ],
    );
  });

  it('flags a linear rise in noise', () => {
    const noise = seededNormal(1);
    const analysis = driftOf(
      makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p95: 100 + 20 * hours + 5 * noise() })),
      'p95',
    );
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.fit?.slopePerHour, 20, 0.1, 'slope');
  });

  it('fits an exact line in hours since the run start', () => {
    const analysis = driftOf(makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p99: 50 + 10 * hours })), 'p99');
    assert.equal(analysis.fit?.slopePerHour, 10);
    assertWithin(analysis.fit?.intercept, 50, 1e-9, 'intercept');
  });

  it('leaves flat noise alone across 200 seeds', () => {
    let flagged = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const noise = seededNormal(seed);
      const series = makeSeries(SIX_HOURS_MIN, () => ({ p95: 100 + 10 * noise() }));
      if (driftOf(series, 'p95').status === 'flagged') flagged++;
    }
    assert.ok(flagged <= 2, `${flagged} of 200 flat series flagged`);
  });

  it('ignores a stall in the middle', () => {
    const noise = seededNormal(2);
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({
      p95: minute >= 180 && minute < 185 ? 2000 : 100 + 5 * noise(),
    }));
    const analysis = driftOf(series, 'p95');
    assert.equal(analysis.status, 'ok');
  });

  it('ignores a stall in the last quarter', () => {
    const noise = seededNormal(3);
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({
      p99: minute >= 330 && minute < 334 ? 3000 : 150 + 5 * noise(),
    }));
    const analysis = driftOf(series, 'p99');
    assert.equal(analysis.status, 'ok');
    assertWithin(analysis.lastQuarter, 150, 0.05, 'last quarter median');
  });

  it('flags a lasting step up', () => {
    const noise = seededNormal(4);
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ p99: (minute < 200 ? 100 : 160) + 5 * noise() }));
    assert.equal(driftOf(series, 'p99').status, 'flagged');
  });

  it('leaves a step down alone', () => {
    const noise = seededNormal(5);
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ p99: (minute < 200 ? 160 : 100) + 5 * noise() }));
    const analysis = driftOf(series, 'p99');
    assert.equal(analysis.status, 'ok');
    assert.match(analysis.message, /trends down/);
  });

  it('reports quarter medians and their relative change', () => {
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ p99: minute < 200 ? 100 : 160 }));
    const analysis = driftOf(series, 'p99');
    assert.equal(analysis.firstQuarter, 100);
    assert.equal(analysis.lastQuarter, 160);
    assertWithin(analysis.relativeChange, 0.6, 1e-12, 'relative change');
  });

  it('flags a rising error rate', () => {
    const series = makeSeries(SIX_HOURS_MIN, (_, hours) => ({ errorRate: Math.floor(hours) * 0.01 }));
    assert.equal(driftOf(series, 'errorRate').status, 'flagged');
  });

  it('flags errors appearing late despite a zero slope', () => {
    // Three quarters of zeros make most pairwise slopes 0, so the Theil–Sen slope is 0
    // while Kendall's S is positive.
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ errorRate: minute < 280 ? 0 : 0.05 }));
    const analysis = driftOf(series, 'errorRate');
    assert.equal(analysis.fit?.slopePerHour, 0);
    assert.equal(analysis.status, 'flagged');
  });

  it('leaves an error rise within tolerance alone', () => {
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ errorRate: minute < 200 ? 0 : 0.005 }));
    const analysis = driftOf(series, 'errorRate');
    assert.equal(analysis.fit?.significant, true);
    assert.equal(analysis.status, 'ok');
  });

  it('leaves a rise under the absolute floor alone', () => {
    const noise = seededNormal(6);
    // 1 ms to 2 ms is +100 %, but only 1 ms, under the 5 ms floor.
    const series = makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p95: 1 + hours / 6 + 0.01 * noise() }));
    const analysis = driftOf(series, 'p95');
    assert.equal(analysis.fit?.significant, true);
    assert.equal(analysis.status, 'ok');
  });

  it('leaves a rise under the relative tolerance alone', () => {
    const noise = seededNormal(7);
    // 1000 ms to 1100 ms is 100 ms, above the floor, but only +10 %.
    const series = makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p95: 1000 + (100 * hours) / 6 + noise() }));
    const analysis = driftOf(series, 'p95');
    assert.equal(analysis.fit?.significant, true);
    assert.equal(analysis.status, 'ok');
  });

  it('uses only points after the warm-up', () => {
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ p95: minute < 36 ? 5000 : 100 }));
    const analysis = driftOf(series, 'p95');
    assert.equal(analysis.fit?.points, SIX_HOURS_MIN - 36);
    assert.equal(analysis.firstQuarter, 100);
  });

  it('skips minutes without a value', () => {
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ p95: minute % 10 === 0 ? null : 100 }));
    assert.equal(driftOf(series, 'p95').fit?.points, 324 - 32);
  });

  it('reports too few points after the warm-up', () => {
    const series = makeSeries(6, () => ({ p95: 100 }));
    const analysis = driftOf(series, 'p95', { warmupS: 120 });
    assert.equal(analysis.status, 'insufficient-data');
    assert.match(analysis.message, /^not enough data \(4 of 6 points\)/);
    assert.equal(analysis.fit, null);
  });

  it('reports a series without values', () => {
    const analysis = driftOf(makeSeries(60, () => ({ p95: null, errorRate: 0 })), 'p95');
    assert.equal(analysis.status, 'no-data');
  });

  it('flags a 20 % rise on a quiet series', () => {
    const noise = seededNormal(11);
    // +20 % over the run puts the quarter medians about 14 % apart: above 10 %, under 25 %.
    const series = makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p95: 100 + (20 * hours) / 6 + 0.5 * noise() }));
    const analysis = driftOf(series, 'p95');
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.relativeChange, 0.14, 0.1, 'relative change');

    const withOldTolerance = driftOf(series, 'p95', { drift: { ...CONFIG.drift, latencyRelativeTolerance: 0.25 } });
    assert.equal(withOldTolerance.status, 'ok');
  });

  it('leaves a rise within twice the spread alone', () => {
    const noise = seededNormal(12);
    // 1000 ms rising by 200 ms: quarter medians about 150 ms apart, above 10 % and 5 ms,
    // but under 2 × the noise of 100 ms.
    const series = makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p95: 1000 + (200 * hours) / 6 + 100 * noise() }));
    const analysis = driftOf(series, 'p95');
    assert.equal(analysis.fit?.significant, true);
    assert.ok(analysis.lastQuarter! - analysis.firstQuarter! > 100, `quarter medians ${analysis.firstQuarter} and ${analysis.lastQuarter}`);
    assert.equal(analysis.status, 'ok');
    assert.match(analysis.message, /rises within tolerance/);

    const withoutSpreadBound = driftOf(series, 'p95', { drift: { ...CONFIG.drift, latencySpreadMultiple: 0 } });
    assert.equal(withoutSpreadBound.status, 'flagged');
  });

  it('measures the spread around the trend, not around the mean', () => {
    // An exact line has no spread around its fit, however steep it is.
    const analysis = driftOf(makeSeries(SIX_HOURS_MIN, (_, hours) => ({ p95: 100 + 40 * hours })), 'p95');
    assert.equal(analysis.status, 'flagged');
    assert.match(analysis.tolerance, /2 × the spread around the trend \(0 ms\)$/);
  });

  it('states its tolerance', () => {
    const noise = seededNormal(13);
    // 324 points of noise with a standard deviation of 3 ms: the scaled MAD is close to 3.
    const analysis = driftOf(makeSeries(SIX_HOURS_MIN, () => ({ p95: 100 + 3 * noise() })), 'p95');
    assert.match(analysis.tolerance, /by more than 10 %, 5 ms and 2 × the spread around the trend \((2\.[6-9]|3\.[0-4])\d* ms\)$/);
    const errors = driftOf(makeSeries(60, () => ({ p95: 100 })), 'errorRate');
    assert.match(errors.tolerance, /by more than 0\.005$/);
  });
});

describe('analyzeLeaks', () => {
  it('flags a linear leak in noise', () => {
    const noise = seededNormal(10);
    const analysis = leakOf(heapSeries(SIX_HOURS_MIN, (_, hours) => 100 * MIB + 40 * MIB * hours + 2 * MIB * noise()));
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.growthPerHour, 40 * MIB, 0.05, 'growth per hour');
  });

  it('projects 24 hours at the fitted slope', () => {
    const analysis = leakOf(heapSeries(SIX_HOURS_MIN, (_, hours) => 100 * MIB + 40 * MIB * hours));
    assert.equal(analysis.projected24h, 24 * analysis.growthPerHour!);
  });

  it('fits an exact line in hours since the run start', () => {
    const series = heapSeries(SIX_HOURS_MIN, (_, hours) => 50 * MIB + 20 * MIB * hours);
    const analysis = leakOf(series, { leak: { ...CONFIG.leak, floorPoints: 1 } });
    assertWithin(analysis.fit?.slopePerHour, 20 * MIB, 1e-12, 'slope');
    assertWithin(analysis.fit?.intercept, 50 * MIB, 1e-9, 'intercept');
  });

  it('lags a rising line by two points', () => {
    // Each point becomes the lowest of itself and the two before it, which on a rising
    // line is the value two minutes earlier: the same slope, 2/60 h × 20 MiB/h lower.
    const analysis = leakOf(heapSeries(SIX_HOURS_MIN, (_, hours) => 50 * MIB + 20 * MIB * hours));
    assert.equal(CONFIG.leak.floorPoints, 3);
    assertWithin(analysis.fit?.slopePerHour, 20 * MIB, 1e-12, 'slope');
    assertWithin(analysis.fit?.intercept, 50 * MIB - (2 / 60) * 20 * MIB, 1e-9, 'intercept');
  });

  it('ignores late garbage in short runs', () => {
    // As in the benchmark's warm-up plateau run, the heap reaches 72 MiB 40 s after the
    // warm-up and stays there. A collector leaves every other point 6 MiB higher, and
    // garbage piles up over the last 40 s to 16 MiB above the floor.
    const heap = (index: number) => Math.min(72, 40 + index * 3.2) + (index % 2 === 1 ? 6 : 0) + Math.max(0, index - 26) * 4;
    const single = shortHeapLeak(heap, { floorPoints: 1 });
    const floors = shortHeapLeak(heap);
    assert.equal(single.status, 'flagged', single.message);
    assert.equal(floors.status, 'ok', floors.message);
  });

  it('flags a rising floor under noise', () => {
    // 5 MiB a minute: +20 MiB over the 4 minutes after warm-up, the weak leak of the benchmark.
    const analysis = shortHeapLeak((index) => 20 + (index * 5) / 6 + (index % 2 === 1 ? 6 : 0));
    assert.equal(analysis.status, 'flagged', analysis.message);
  });

  it('takes floors within the pieces between drops', () => {
    const samples = [10, 12, 14, 3, 5, 7, 9].map((y, i) => ({ t: i, x: i, y }));
    const floors = trailingFloor(samples, 3, new Set([3]));
    assert.deepEqual(
      floors.map((sample) => sample.y),
      [10, 10, 10, 3, 3, 3, 5],
    );
    assert.deepEqual(
      trailingFloor(samples, 1, new Set()).map((sample) => sample.y),
      samples.map((sample) => sample.y),
    );
  });

  it('leaves flat noise alone across 200 seeds', () => {
    let flagged = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const noise = seededNormal(1000 + seed);
      if (leakOf(heapSeries(SIX_HOURS_MIN, () => 200 * MIB + 4 * MIB * noise())).status === 'flagged') flagged++;
    }
    assert.ok(flagged <= 2, `${flagged} of 200 flat series flagged`);
  });

  it('flags a leak that restarts', () => {
    const noise = seededNormal(11);
    const restartHours = 3.5;
    const series = heapSeries(SIX_HOURS_MIN, (_, hours) => {
      const since = hours < restartHours ? hours : hours - restartHours;
      return 80 * MIB + 40 * MIB * since + MIB * noise();
    });
    const analysis = leakOf(series);
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.growthPerHour, 40 * MIB, 0.05, 'growth per hour');
    assert.match(analysis.message, /drops once, at 3:30:00 into the run/);
  });

  it('ignores a small dip of a count', () => {
    // Descriptors at 30 with two points at 28: no noise by the median, a range of 2.
    const fds: ProbeSeries = { ...HEAP, name: 'openFds', unit: 'count', perMinute: 'max', leakTolerancePerHour: 30 };
    const series = makeSeries(SIX_HOURS_MIN, (minute) => ({ probes: { openFds: minute === 100 || minute === 250 ? 28 : 30 } }));
    const analysis = leakOf(series, { probes: [fds] });
    assert.equal(analysis.status, 'ok');
    assert.doesNotMatch(analysis.message, /drop/);
  });

  it('draws the restart fit through the last piece', () => {
    const series = heapSeries(SIX_HOURS_MIN, (_, hours) => 80 * MIB + 40 * MIB * (hours < 3.5 ? hours : hours - 3.5));
    const analysis = leakOf(series, { leak: { ...CONFIG.leak, floorPoints: 1 } });
    // The last piece is 80 MiB + 40 MiB/h · (hours − 3.5), so the line crosses x = 0 at −60 MiB.
    assertWithin(analysis.fit?.intercept, -60 * MIB, 1e-9, 'intercept');
  });

  it('flags a leak with two restarts', () => {
    const noise = seededNormal(12);
    const series = heapSeries(SIX_HOURS_MIN, (_, hours) => 80 * MIB + 60 * MIB * (hours % 2.2) + MIB * noise());
    assert.equal(leakOf(series).status, 'flagged');
  });

  it('leaves a flat series with one drop alone', () => {
    const noise = seededNormal(13);
    const series = heapSeries(SIX_HOURS_MIN, (minute) => (minute < 200 ? 200 : 120) * MIB + MIB * noise());
    assert.equal(leakOf(series).status, 'ok');
  });

  it('leaves a restart that warms up again alone', () => {
    const noise = seededNormal(14);
    const series = heapSeries(SIX_HOURS_MIN, (minute) => {
      const level = minute < 200 ? 200 : Math.min(200, 100 + 20 * (minute - 200));
      return level * MIB + MIB * noise();
    });
    assert.equal(leakOf(series).status, 'ok');
  });

  for (const plateauShare of [0.2, 0.25]) {
    it(`leaves a plateau at ${plateauShare * 100} % of the run alone`, () => {
      const noise = seededNormal(15);
      const plateauMinute = plateauShare * SIX_HOURS_MIN;
      const series = heapSeries(SIX_HOURS_MIN, (minute) => {
        const level = 50 + (150 * Math.min(minute, plateauMinute)) / plateauMinute;
        return level * MIB + MIB * noise();
      });
      assert.equal(leakOf(series).status, 'ok');
    });
  }

  it('requires growth in the last two thirds', () => {
    const noise = seededNormal(16);
    // 60 MiB/h until minute 190, then flat. The last two thirds after the 36-minute
    // warm-up start at minute 144 and are mostly flat, while the whole-run slope is
    // above the tolerance of 16 MiB/h.
    const series = heapSeries(SIX_HOURS_MIN, (minute) => 100 * MIB + (60 * MIB * Math.min(minute, 190)) / 60 + MIB * noise());
    const analysis = leakOf(series);
    assert.equal(analysis.fit?.significant, true);
    assert.ok(analysis.fit!.slopePerHour! > 16 * MIB, `slope ${analysis.fit!.slopePerHour! / MIB} MiB/h`);
    assert.equal(analysis.status, 'ok');
    assert.match(analysis.message, /did not persist/);
    // The growth that lasted is the flat end, and the 24-hour projection follows it.
    assert.ok(analysis.growthPerHour! < 16 * MIB, `growth ${analysis.growthPerHour! / MIB} MiB/h`);
    assert.equal(analysis.projected24h, analysis.growthPerHour! * 24);
  });

  it('flags a sawtooth with a rising floor', () => {
    const noise = seededNormal(17);
    const series = heapSeries(SIX_HOURS_MIN, (minute, hours) => {
      const tooth = ((minute % 10) / 10) * 60 * MIB;
      return 100 * MIB + 30 * MIB * hours + tooth + MIB * noise();
    });
    const analysis = leakOf(series);
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.growthPerHour, 30 * MIB, 0.2, 'growth per hour');
  });

  it('flags a tall sawtooth with a rising floor', () => {
    const noise = seededNormal(18);
    const series = heapSeries(SIX_HOURS_MIN, (minute, hours) => {
      const tooth = ((minute % 10) / 10) * 200 * MIB;
      return 100 * MIB + 30 * MIB * hours + tooth + MIB * noise();
    });
    const analysis = leakOf(series);
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.growthPerHour, 30 * MIB, 0.2, 'growth per hour');
    assert.match(analysis.message, /sawtooth/);
  });

  it('leaves a sawtooth with a flat floor alone', () => {
    const noise = seededNormal(19);
    const series = heapSeries(SIX_HOURS_MIN, (minute) => 100 * MIB + ((minute % 8) / 8) * 100 * MIB + MIB * noise());
    assert.equal(leakOf(series).status, 'ok');
  });

  it('needs enough floors in a sawtooth', () => {
    // Drops at minutes 20, 30, …, 80 after a 10-minute warm-up: 7 floors, fewer than 10.
    const series = heapSeries(90, (minute) => 100 * MIB + ((minute % 10) / 10) * 100 * MIB);
    const analysis = leakOf(series, { warmupS: 600, leak: { ...CONFIG.leak, minPoints: 10 } });
    assert.equal(analysis.status, 'insufficient-data');
    assert.match(analysis.message, /^not enough data \(7 of 10 points\): the series is a sawtooth/);
  });

  it('skips gaps in the probe series', () => {
    const series = heapSeries(SIX_HOURS_MIN, (minute, hours) => (minute % 7 === 0 ? null : 100 * MIB + 40 * MIB * hours));
    const analysis = leakOf(series);
    assert.equal(analysis.fit?.points, 324 - 46);
    assert.equal(analysis.status, 'flagged');
  });

  it('flags a descriptor leak in whole counts', () => {
    const fds: ProbeSeries = { ...HEAP, name: 'openFds', unit: 'count', perMinute: 'max', leakTolerancePerHour: 30 };
    const random = seededRandom(20);
    const series = makeSeries(SIX_HOURS_MIN, (_, hours) => ({ probes: { openFds: Math.round(20 + 60 * hours + 3 * random()) } }));
    const analysis = leakOf(series, { probes: [fds] });
    assert.equal(analysis.status, 'flagged');
    assertWithin(analysis.growthPerHour, 60, 0.05, 'growth per hour');
  });

  it('leaves a constant series alone', () => {
    assert.equal(leakOf(heapSeries(SIX_HOURS_MIN, () => 64 * MIB)).status, 'ok');
  });

  it('skips probes without a tolerance', () => {
    const analyses = analyzeLeaks(heapSeries(60, () => MIB), {
      runStartMs: RUN_START_MS,
      warmupS: 60,
      probes: CONFIG.probe.series,
      leak: CONFIG.leak,
    });
    assert.deepEqual(
      analyses.map((analysis) => analysis.series),
      ['heapUsedBytes', 'residentMemoryBytes', 'openFds'],
    );
  });

  it('reports a probe without values', () => {
    const analysis = leakOf(makeSeries(60, () => ({ probes: {} })));
    assert.equal(analysis.status, 'no-data');
  });

  it('reports too few points after the warm-up', () => {
    const analysis = leakOf(heapSeries(SIX_HOURS_MIN, (minute) => (minute < 355 ? null : MIB)));
    assert.equal(analysis.status, 'insufficient-data');
    assert.match(analysis.message, /^not enough data \(5 of 6 points\)/);
  });

  it('states its tolerance in binary units', () => {
    const analysis = leakOf(heapSeries(SIX_HOURS_MIN, () => 64 * MIB));
    assert.match(analysis.tolerance, /16 MiB\/h/);
  });
});

describe('analysisPointSeconds', () => {
  const cases: Array<[durationS: number, expected: number]> = [
    [300, 10],
    [600, 20],
    [1800, 60],
    [6 * 3600, 60],
    [20, 10],
  ];
  for (const [durationS, expected] of cases) {
    it(`gives ${expected} s points for a ${durationS} s run`, () => {
      const warmupS = warmupSeconds(durationS, CONFIG.warmup);
      assert.equal(analysisPointSeconds(durationS, warmupS, 24), expected);
    });
  }
});

describe('leakMinGrowth', () => {
  /** 24 ten-second points after a 60 s warm-up, as in a 5-minute run. */
  function shortRun(growthMib: number): SeriesPoint[] {
    const noise = seededNormal(21);
    return Array.from({ length: 30 }, (_, index) => ({
      ...makeSeries(1, () => ({}))[0]!,
      t: RUN_START_MS + index * 10_000,
      probes: { heapUsedBytes: 100 * MIB + (growthMib * MIB * index) / 30 + 0.2 * MIB * noise() },
    }));
  }
  const withFloor = { ...HEAP, leakMinGrowth: 8 * MIB };

  it('leaves growth under the floor alone', () => {
    // 4 MiB in 5 minutes is 48 MiB/h, above the 16 MiB/h tolerance.
    const analysis = leakOf(shortRun(4), { warmupS: 60, probes: [withFloor] });
    assert.equal(analysis.status, 'ok');
    assert.match(analysis.message, /the least growth of 8 MiB over the 3\.83 minutes after the warm-up/);
  });

  it('flags growth over the floor', () => {
    const analysis = leakOf(shortRun(20), { warmupS: 60, probes: [withFloor] });
    assert.equal(analysis.status, 'flagged');
  });

  it('flags under the floor without one', () => {
    const analysis = leakOf(shortRun(4), { warmupS: 60 });
    assert.equal(analysis.status, 'flagged');
  });
});
