import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateAbortRules } from '../../core/abort.js';
import { decodeWindows, encodeWindows, CheckpointFormatError } from '../../core/checkpoint.js';
import { Histogram } from '../../core/histogram.js';
import { rollup, totalOf, WindowMerger } from '../../core/merge.js';
import { WindowAggregator } from '../../core/windows.js';
import type { WindowRecord } from '../../core/schemas.js';

const BASE = Date.parse('2026-12-04T10:00:00Z');

function windowsOf(segment: number, latencies: Array<[number, number, boolean]>): WindowRecord[] {
  const aggregator = new WindowAggregator({ runId: 'r', segment });
  aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name: 'http_req_duration', type: 'trend', contains: 'time', thresholds: [] }, metric: 'http_req_duration' }));
  aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name: 'vus', type: 'gauge', contains: 'default', thresholds: [] }, metric: 'vus' }));
  for (const [offsetMs, value, failed] of latencies) {
    const tags = { expected_response: failed ? 'false' : 'true', status: failed ? '500' : '200', name: 'x' };
    aggregator.addPoint('http_req_duration', BASE + offsetMs, value, JSON.stringify(tags));
    aggregator.addPoint('vus', BASE + offsetMs, 5, '{}');
  }
  return aggregator.closeAll();
}

test('merged quantiles come from merged histograms, not averaged quantiles', () => {
  const fast = windowsOf(0, Array.from({ length: 90 }, (_, i) => [i * 10, 1, false] as [number, number, boolean]));
  const slow = windowsOf(1, Array.from({ length: 10 }, (_, i) => [i * 10, 1000, false] as [number, number, boolean]));
  const merger = new WindowMerger();
  [...fast, ...slow].forEach((record) => merger.add(record));
  const total = totalOf(merger.windows());
  const union = new Histogram();
  for (let i = 0; i < 90; i++) union.record(1);
  for (let i = 0; i < 10; i++) union.record(1000);
  assert.equal(total.requests.okLatency.quantile(0.95), union.quantile(0.95));
  assert.ok(total.requests.okLatency.quantile(0.95)! > 900);
});

test('segments of the same window add their VUs', () => {
  const merger = new WindowMerger();
  [...windowsOf(0, [[100, 1, false]]), ...windowsOf(1, [[200, 1, false]])].forEach((record) => merger.add(record));
  const [window] = merger.windows();
  assert.equal(window!.vus, 10);
  assert.equal(window!.segments.size, 2);
});

test('a window stored twice counts once', () => {
  const merger = new WindowMerger();
  const records = windowsOf(0, [[100, 1, false]]);
  records.forEach((record) => merger.add(record));
  records.forEach((record) => merger.add(record));
  assert.equal(merger.duplicates, 1);
  assert.equal(totalOf(merger.windows()).requests.ok, 1);
});

test('minute rollups align to the minute', () => {
  const merger = new WindowMerger();
  windowsOf(0, [
    [1000, 1, false],
    [59_000, 1, false],
    [61_000, 1, true],
  ]).forEach((record) => merger.add(record));
  const minutes = rollup(merger.windows());
  assert.deepEqual(
    minutes.map((minute) => [minute.startMs - BASE, minute.requests.ok, minute.requests.failed]),
    [
      [0, 2, 0],
      [60_000, 0, 1],
    ],
  );
});

test('checkpoint round trip keeps every field', () => {
  const records = windowsOf(0, [[100, 3, false]]);
  assert.deepEqual(decodeWindows(encodeWindows(records), 'k'), records);
});

test('damaged checkpoint raises a format error naming the key', () => {
  assert.throws(() => decodeWindows(Buffer.from('not gzip'), 'runs/x/1.ndjson.gz'), (error: unknown) => error instanceof CheckpointFormatError && error.message.includes('runs/x/1.ndjson.gz'));
});

test('abort rule fires after the error rate holds long enough', () => {
  const failing = Array.from({ length: 130 }, (_, i) => [i * 1000, 1, true] as [number, number, boolean]);
  const merger = new WindowMerger();
  windowsOf(0, failing).forEach((record) => merger.add(record));
  const rule = { metric: 'errorRate' as const, above: 0.5, forS: 120, afterS: 0 };
  assert.notEqual(evaluateAbortRules([rule], merger.windows(), BASE), null);
  assert.equal(evaluateAbortRules([{ ...rule, forS: 300 }], merger.windows(), BASE), null);
});

test('abort rule resets when a window recovers', () => {
  const samples: Array<[number, number, boolean]> = [];
  for (let i = 0; i < 130; i++) samples.push([i * 1000, 1, !(i >= 60 && i < 70)]);
  const merger = new WindowMerger();
  windowsOf(0, samples).forEach((record) => merger.add(record));
  assert.equal(evaluateAbortRules([{ metric: 'errorRate', above: 0.5, forS: 120, afterS: 0 }], merger.windows(), BASE), null);
});
