import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Histogram, RELATIVE_ACCURACY } from '../../core/histogram.js';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.round(q * (sorted.length - 1))]!;
}

test('histogram quantiles stay within the relative error bound', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.01, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 500 }), fc.constantFrom(0.5, 0.9, 0.95, 0.99), (values, q) => {
      const histogram = new Histogram();
      for (const value of values) histogram.record(value);
      const sorted = [...values].sort((a, b) => a - b);
      const expected = exactQuantile(sorted, q);
      const actual = histogram.quantile(q)!;
      // The rank rule rounds to one sample; compare with the neighbours' band.
      const index = q * (sorted.length - 1);
      const low = sorted[Math.floor(index)]! * (1 - RELATIVE_ACCURACY);
      const high = sorted[Math.ceil(index)]! * (1 + RELATIVE_ACCURACY);
      assert.ok(actual >= low && actual <= high, `q=${q} expected about ${expected}, got ${actual}`);
    }),
    { numRuns: 300 },
  );
});

test('histogram merge equals the histogram of the union', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 10_000, noNaN: true })), fc.array(fc.double({ min: 0, max: 10_000, noNaN: true })), (a, b) => {
      const left = new Histogram();
      const right = new Histogram();
      const union = new Histogram();
      a.forEach((value) => (left.record(value), union.record(value)));
      b.forEach((value) => (right.record(value), union.record(value)));
      const merged = left.merge(right).toJSON();
      const expected = union.toJSON();
      assert.deepEqual(merged.indexes, expected.indexes);
      assert.deepEqual(merged.counts, expected.counts);
      assert.equal(merged.count, expected.count);
      assert.equal(merged.zeros, expected.zeros);
    }),
    { numRuns: 200 },
  );
});

test('histogram survives a JSON round trip', () => {
  const histogram = new Histogram();
  for (let i = 1; i <= 1000; i++) histogram.record(i / 7);
  const copy = Histogram.fromJSON(JSON.parse(JSON.stringify(histogram.toJSON())));
  assert.equal(copy.quantile(0.99), histogram.quantile(0.99));
  assert.equal(copy.count, 1000);
  assert.equal(copy.max, histogram.max);
});

test('empty histogram returns null quantiles', () => {
  const histogram = new Histogram();
  assert.equal(histogram.quantile(0.5), null);
  assert.equal(histogram.mean(), null);
  assert.equal(histogram.toJSON().min, null);
});

test('zero latencies count in the zero bucket', () => {
  const histogram = new Histogram();
  for (let i = 0; i < 10; i++) histogram.record(0);
  histogram.record(5);
  assert.equal(histogram.zeros, 10);
  assert.equal(histogram.quantile(0.5), 0);
  assert.ok(Math.abs(histogram.quantile(1)! - 5) < 1e-9);
});
