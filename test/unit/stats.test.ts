import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  blockedMannKendall,
  blockedTheilSen,
  mad,
  mannKendall,
  mean,
  median,
  normalCdf,
  quantile,
  theilSen,
} from '../../core/stats.js';

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

function assertClose(actual: number, expected: number, relative: number, label: string): void {
  const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), Number.MIN_VALUE);
  assert.ok(error <= relative, `${label}: got ${actual}, expected ${expected} (relative error ${error})`);
}

describe('order statistics', () => {
  it('returns null for empty input', () => {
    assert.equal(mean([]), null);
    assert.equal(median([]), null);
    assert.equal(quantile([], 0.9), null);
    assert.equal(mad([]), null);
  });

  it('takes the middle value of an odd count', () => {
    assert.equal(median([5, 1, 3]), 3);
  });

  it('averages the middle values of an even count', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('interpolates quantiles between order statistics', () => {
    // Hyndman–Fan type 7: position q·(n−1) = 0.75 between 1 and 2.
    assert.equal(quantile([4, 3, 2, 1], 0.25), 1.75);
    assert.equal(quantile([4, 3, 2, 1], 0), 1);
    assert.equal(quantile([4, 3, 2, 1], 1), 4);
  });

  it('rejects a quantile level outside [0, 1]', () => {
    assert.throws(() => quantile([1, 2], 1.5), RangeError);
  });

  it('ignores one outlier in the MAD', () => {
    // Median 3, absolute deviations 2, 1, 0, 1, 97, whose median is 1.
    assert.equal(mad([1, 2, 3, 4, 100]), 1);
  });

  it('rejects non-finite values', () => {
    assert.throws(() => median([1, Number.NaN]), RangeError);
  });
});

describe('normalCdf', () => {
  // Reference values from Python 3: 0.5 * math.erfc(-z / math.sqrt(2)).
  const cases: Array<[number, number]> = [
    [0, 0.5],
    [1, 0.8413447460685429],
    [1.96, 0.9750021048517795],
    [-1.96, 0.024997895148220435],
    [-3, 0.0013498980316300957],
    [-5, 2.866515718791946e-7],
    [-8, 6.220960574271819e-16],
    [-10, 7.619853024160593e-24],
    [-20, 2.7536241186063314e-89],
    [2.5, 0.9937903346742238],
    [-1.7677669529663689, 0.038549935871770885],
  ];
  for (const [z, expected] of cases) {
    it(`matches Φ(${z})`, () => {
      assertClose(normalCdf(z), expected, 1e-11, `Φ(${z})`);
    });
  }

  it('is symmetric around zero', () => {
    for (const z of [0.1, 0.7, 1.5, 2.4, 2.6, 3.3, 6]) {
      assertClose(normalCdf(z) + normalCdf(-z), 1, 1e-14, `Φ(${z}) + Φ(−${z})`);
    }
  });

  it('is monotone across the series and fraction switch', () => {
    fc.assert(
      fc.property(fc.double({ min: -12, max: 12, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (z, step) => {
        return normalCdf(z) <= normalCdf(z + step);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it('returns the limits at infinity', () => {
    assert.equal(normalCdf(Infinity), 1);
    assert.equal(normalCdf(-Infinity), 0);
  });
});

describe('theilSen', () => {
  it('recovers an exact line', () => {
    const x = [0, 1, 2, 3, 4, 5];
    const fit = theilSen(x, x.map((v) => 1 + 2 * v));
    assert.ok(fit.ok);
    assert.equal(fit.value.slope, 2);
    assert.equal(fit.value.intercept, 1);
  });

  it('averages the two middle slopes of an even count', () => {
    // Slopes 2, 1.5, 7/3, 1, 2.5, 4: the middle two are 2 and 7/3.
    const fit = theilSen([0, 1, 2, 3], [0, 2, 3, 7]);
    assert.ok(fit.ok);
    assertClose(fit.value.slope, (2 + 7 / 3) / 2, 1e-15, 'slope');
    // Residuals 0, −1/6, −4/3, 1/2: the middle two are −1/6 and 0.
    assertClose(fit.value.intercept, -1 / 12, 1e-12, 'intercept');
  });

  it('ignores a quarter of wild outliers', () => {
    const x = Array.from({ length: 40 }, (_, i) => i);
    const y = x.map((v) => (v % 4 === 0 ? 1e6 : 3 * v));
    const fit = theilSen(x, y);
    assert.ok(fit.ok);
    assertClose(fit.value.slope, 3, 0.05, 'slope');
  });

  it('estimates a noisy slope', () => {
    const noise = seededNormal(11);
    const x = Array.from({ length: 300 }, (_, i) => i / 60);
    const y = x.map((hours) => 100 + 12 * hours + 5 * noise());
    const fit = theilSen(x, y);
    assert.ok(fit.ok);
    assertClose(fit.value.slope, 12, 0.1, 'slope');
  });

  it('skips pairs with equal x', () => {
    const fit = theilSen([0, 0, 1, 1], [0, 5, 1, 6]);
    assert.ok(fit.ok);
    // Remaining pairs: (0,0)-(1,1) 1, (0,0)-(1,6) 6, (0,5)-(1,1) −4, (0,5)-(1,6) 1.
    assert.equal(fit.value.pairs, 4);
    assert.equal(fit.value.slope, 1);
  });

  it('fails with a reason when every x is equal', () => {
    const fit = theilSen([3, 3, 3], [1, 2, 3]);
    assert.equal(fit.ok, false);
    assert.match(fit.ok ? '' : fit.reason, /different times/);
  });

  it('matches the sorted median of pairwise slopes', () => {
    const pointArrays = fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -1000, max: 1000 })), {
      minLength: 2,
      maxLength: 30,
    });
    fc.assert(
      fc.property(pointArrays, (points) => {
        const slopes: number[] = [];
        for (let i = 0; i < points.length; i++) {
          for (let j = i + 1; j < points.length; j++) {
            const dx = points[j]![0] - points[i]![0];
            if (dx !== 0) slopes.push((points[j]![1] - points[i]![1]) / dx);
          }
        }
        const fit = theilSen(
          points.map((p) => p[0]),
          points.map((p) => p[1]),
        );
        if (slopes.length === 0) return !fit.ok;
        slopes.sort((a, b) => a - b);
        const middle = Math.floor(slopes.length / 2);
        const expected = slopes.length % 2 === 1 ? slopes[middle]! : (slopes[middle - 1]! + slopes[middle]!) / 2;
        return fit.ok && fit.value.slope === expected;
      }),
      { seed: 42, numRuns: 400 },
    );
  });

  it('subsamples beyond the pair limit', () => {
    const x = Array.from({ length: 6000 }, (_, i) => i);
    const fit = theilSen(x, x.map((v) => 5 - 0.5 * v));
    assert.ok(fit.ok);
    assert.equal(fit.value.subsampled, true);
    assert.equal(fit.value.slope, -0.5);
  });
});

describe('blockedTheilSen', () => {
  it('ignores the drop between blocks', () => {
    const blocks = [
      { x: [0, 1, 2, 3], y: [10, 12, 14, 16] },
      { x: [4, 5, 6, 7], y: [0, 2, 4, 6] },
    ];
    const fit = blockedTheilSen(blocks);
    assert.ok(fit.ok);
    assert.equal(fit.value.slope, 2);
    assert.deepEqual(fit.value.intercepts, [10, -8]);
  });
});

describe('mannKendall', () => {
  it('matches a hand computation without ties', () => {
    // y = 1..5: all 10 pairs rise, S = 10; Var(S) = 5·4·15/18 = 16.667;
    // Z = (10 − 1)/√16.667 = 2.2045; p = 2·(1 − Φ(2.2045)) = 0.02749.
    const result = mannKendall([1, 2, 3, 4, 5]);
    assert.equal(result.s, 10);
    assertClose(result.varianceS, 50 / 3, 1e-15, 'Var(S)');
    assertClose(result.z, 2.2045407685048604, 1e-12, 'Z');
    assertClose(result.pValue, 0.027486336111510353, 1e-9, 'p');
  });

  it('matches a hand computation with ties', () => {
    // y = 1, 2, 2, 3, 1: S = 3 + 0 + 0 − 1 = 2. Two tie groups of size 2 remove
    // 2·(2·1·9) = 36, so Var(S) = (300 − 36)/18 = 14.667; Z = 1/√14.667 = 0.2611; p = 0.794.
    const result = mannKendall([1, 2, 2, 3, 1]);
    assert.equal(result.s, 2);
    assertClose(result.varianceS, 264 / 18, 1e-15, 'Var(S)');
    assertClose(result.z, 0.26111648393354675, 1e-12, 'Z');
    assertClose(result.pValue, 0.794002680192762, 1e-9, 'p');
  });

  it('applies the continuity correction to a falling series', () => {
    // y = 5, 3, 4, 1, 2, 0: S = −11, Var(S) = 6·5·17/18 = 28.333, Z = (−11 + 1)/√28.333 = −1.8787.
    const result = mannKendall([5, 3, 4, 1, 2, 0]);
    assert.equal(result.s, -11);
    assertClose(result.z, -1.8786728732554487, 1e-12, 'Z');
    assertClose(result.pValue, 0.06028917399060213, 1e-9, 'p');
  });

  it('returns p = 1 when every value is tied', () => {
    const result = mannKendall([4, 4, 4, 4, 4, 4]);
    assert.equal(result.varianceS, 0);
    assert.equal(result.pValue, 1);
  });

  it('negates S for a reversed series', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 2, maxLength: 40 }), (values) => {
        const forward = mannKendall(values);
        const backward = mannKendall([...values].reverse());
        return forward.s === -backward.s && forward.pValue === backward.pValue;
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it('keeps p-values within [0, 1]', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 }), (values) => {
        const { pValue } = mannKendall(values);
        return pValue >= 0 && pValue <= 1;
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('rarely flags pure noise at alpha 0.01', () => {
    let falseAlarms = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const noise = seededNormal(seed);
      const values = Array.from({ length: 120 }, () => noise());
      if (mannKendall(values).pValue < 0.01) falseAlarms++;
    }
    // Expected 2 of 200; more than 8 has a binomial probability below 1e-3.
    assert.ok(falseAlarms <= 8, `${falseAlarms} false alarms in 200 noise series`);
  });

  it('detects a weak trend in noise', () => {
    const noise = seededNormal(99);
    const values = Array.from({ length: 240 }, (_, i) => 0.01 * i + noise());
    assert.ok(mannKendall(values).pValue < 0.01);
  });
});

describe('blockedMannKendall', () => {
  it('sums S and variance over blocks', () => {
    const blocked = blockedMannKendall([
      [1, 2, 3, 4, 5],
      [1, 2, 2, 3, 1],
    ]);
    assert.equal(blocked.s, 12);
    assertClose(blocked.varianceS, 50 / 3 + 264 / 18, 1e-15, 'Var(S)');
  });

  it('adds nothing for the drop between blocks', () => {
    const blocked = blockedMannKendall([
      [10, 11, 12],
      [0, 1, 2],
    ]);
    assert.equal(blocked.s, 6);
  });
});
