import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowAggregator, classifyFailure, parseMetricKey } from '../../core/windows.js';

const BASE = Date.parse('2026-12-04T10:00:00Z');

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function metricLine(name: string, type: string): string {
  return JSON.stringify({ type: 'Metric', data: { name, type, contains: 'default', thresholds: [], submetrics: null }, metric: name });
}

function pointLine(metric: string, ms: number, value: number, tags: Record<string, string> = {}): string {
  return JSON.stringify({ metric, type: 'Point', data: { time: iso(ms), value, tags } });
}

function requestLines(ms: number, durationMs: number, tags: Record<string, string>): string[] {
  return [pointLine('http_reqs', ms, 1, tags), pointLine('http_req_duration', ms, durationMs, tags), pointLine('http_req_failed', ms, tags.expected_response === 'false' ? 1 : 0, tags)];
}

function aggregator(filters: string[] = []) {
  const windows = new WindowAggregator({ runId: 'r', segment: 0, filters });
  for (const [name, type] of [
    ['http_reqs', 'counter'],
    ['http_req_duration', 'trend'],
    ['http_req_failed', 'rate'],
    ['iterations', 'counter'],
    ['checks', 'rate'],
    ['vus', 'gauge'],
  ] as const) {
    windows.addLine(metricLine(name, type));
  }
  return windows;
}

const OK = { expected_response: 'true', status: '200', name: 'create', scenario: 's' };
const FAILED_500 = { expected_response: 'false', status: '500', name: 'create', scenario: 's', error_code: '1500' };
const TIMEOUT = { expected_response: 'false', status: '0', name: 'verify', scenario: 's', error_code: '1050', error: 'request timeout' };

test('windows align to UTC multiples of ten seconds', () => {
  const windows = aggregator();
  windows.addLine(pointLine('iterations', BASE + 12_345, 1));
  windows.addLine(pointLine('iterations', BASE + 19_999, 1));
  windows.addLine(pointLine('iterations', BASE + 20_000, 1));
  const closed = windows.closeAll();
  assert.deepEqual(
    closed.map((record) => [record.startMs - BASE, record.iterations]),
    [
      [10_000, 2],
      [20_000, 1],
    ],
  );
});

test('successful and failed requests are kept apart', () => {
  const windows = aggregator();
  for (const line of [...requestLines(BASE + 1000, 5, OK), ...requestLines(BASE + 1001, 0, FAILED_500), ...requestLines(BASE + 1002, 1000, TIMEOUT)]) {
    windows.addLine(line);
  }
  const [record] = windows.closeAll();
  assert.equal(record!.requests.ok, 1);
  assert.equal(record!.requests.failed, 2);
  assert.equal(record!.requests.okLatency.max, 5);
  assert.equal(record!.failures.status5xx, 1);
  assert.equal(record!.failures.timeout, 1);
  assert.equal(record!.statuses['0'], 1);
});

test('windows close after the grace period only', () => {
  const windows = new WindowAggregator({ runId: 'r', segment: 0, graceMs: 3000 });
  windows.addLine(metricLine('iterations', 'counter'));
  windows.addLine(pointLine('iterations', BASE + 5000, 1));
  assert.equal(windows.closeUpTo(BASE + 12_000).length, 0);
  assert.equal(windows.closeUpTo(BASE + 13_000).length, 1);
});

test('points for a closed window count as late', () => {
  const windows = aggregator();
  windows.addLine(pointLine('iterations', BASE + 1000, 1));
  const first = windows.closeUpTo(BASE + 20_000);
  assert.equal(first.length, 1);
  windows.addLine(pointLine('iterations', BASE + 2000, 1));
  windows.addLine(pointLine('iterations', BASE + 21_000, 1));
  const rest = windows.closeAll();
  assert.equal(rest.reduce((sum, record) => sum + record.generator.latePoints, 0), 1);
  assert.equal(rest.reduce((sum, record) => sum + record.iterations, 0), 1);
});

test('threshold tag filters get their own aggregate', () => {
  const windows = aggregator(['http_req_duration{name:verify}']);
  for (const line of [...requestLines(BASE, 5, OK), ...requestLines(BASE, 1000, TIMEOUT)]) windows.addLine(line);
  const [record] = windows.closeAll();
  const verify = record!.metrics['http_req_duration{name:verify}'];
  assert.equal(verify?.type, 'trend');
  if (verify?.type === 'trend') assert.equal(verify.histogram.count, 1);
  const all = record!.metrics.http_req_duration;
  if (all?.type === 'trend') assert.equal(all.histogram.count, 2);
});

test('request names past the cap fold into other', () => {
  const windows = new WindowAggregator({ runId: 'r', segment: 0, maxRequestNames: 2 });
  windows.addLine(metricLine('http_req_duration', 'trend'));
  for (const name of ['a', 'b', 'c', 'd']) windows.addLine(pointLine('http_req_duration', BASE, 1, { ...OK, name }));
  const [record] = windows.closeAll();
  assert.deepEqual(Object.keys(record!.requestsByName).sort(), ['a', 'b', 'other']);
  assert.equal(record!.requestsByName.other?.ok, 2);
});

test('points of undeclared metrics and garbage lines are counted', () => {
  const windows = aggregator();
  windows.addLine(pointLine('mystery_metric', BASE, 1));
  windows.addLine('{"broken":');
  windows.addLine(pointLine('iterations', BASE, 1));
  const records = windows.closeAll();
  const generator = records.map((record) => record.generator);
  assert.equal(generator.reduce((sum, g) => sum + g.unknownMetricPoints, 0), 1);
  assert.equal(generator.reduce((sum, g) => sum + g.unparsableLines, 0), 1);
});

test('probe values land in their window with min, max and last', () => {
  const windows = aggregator();
  windows.addProbe('heap', 10, BASE + 1000);
  windows.addProbe('heap', 7, BASE + 5000);
  windows.addProbe('heap', 9, BASE + 9000);
  const [record] = windows.closeAll();
  assert.deepEqual(record!.probes.heap, { samples: 3, min: 7, max: 10, last: 9 });
});

test('metric keys split into metric and tags', () => {
  assert.deepEqual(parseMetricKey('http_req_duration{name:verify,method:GET}').tags, { name: 'verify', method: 'GET' });
  assert.equal(parseMetricKey('checks').metric, 'checks');
});

test('failures classify by status and k6 error code', () => {
  assert.equal(classifyFailure('404', '1404'), 'status4xx');
  assert.equal(classifyFailure('503', '1503'), 'status5xx');
  assert.equal(classifyFailure('0', '1050'), 'timeout');
  assert.equal(classifyFailure('0', '1212'), 'connection');
  assert.equal(classifyFailure('0', '1101'), 'connection');
  assert.equal(classifyFailure('0', '1301'), 'otherTransport');
});

test('skipped metrics are counted, not aggregated, unless a threshold names them', () => {
  const windows = new WindowAggregator({
    runId: 'r',
    segment: 0,
    filters: ['http_req_blocked', 'http_req_duration{name:create}'],
    skipMetrics: ['http_req_waiting', 'http_req_blocked', 'iteration_duration'],
  });
  for (const name of ['http_req_duration', 'http_req_waiting', 'http_req_blocked', 'iteration_duration']) windows.addLine(metricLine(name, 'trend'));
  windows.addLine(pointLine('http_req_duration', BASE + 1000, 12, OK));
  windows.addLine(pointLine('http_req_waiting', BASE + 1000, 11, OK));
  windows.addLine(pointLine('http_req_blocked', BASE + 1000, 0.5, OK));
  windows.addLine(pointLine('iteration_duration', BASE + 1000, 20, {}));
  const [record] = windows.closeAll();
  assert.equal(windows.skippedPoints, 2);
  // http_reqs and http_req_failed come from the duration point (test/unit/derived-points.test.ts).
  assert.deepEqual(Object.keys(record!.metrics).sort(), [
    'http_req_blocked',
    'http_req_duration',
    'http_req_duration{name:create}',
    'http_req_failed',
    'http_reqs',
  ]);
  assert.equal(record!.requests.ok, 1);
});
