/**
 * The runner drops k6's http_reqs and http_req_failed lines and adds both points from
 * each http_req_duration point (DERIVED_FROM_DURATION in core/windows.ts). These tests
 * replay k6 v1.3.0 recordings through the stream path and compare the windows with
 * the lines themselves and with k6's own end-of-test summary.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseEnvConfig } from '../../core/config.js';
import type { MetricAggregate, WindowRecord } from '../../core/schemas.js';
import { WindowAggregator } from '../../core/windows.js';

const FIXTURES = new URL('../fixtures/k6/', import.meta.url);
const DEFAULT_SKIP = parseEnvConfig({}, null).windows.skipMetrics;
const RECORDINGS = ['ok', 'pass', 'thresholds-fail', 'timeouts', 'abort', 'sigterm', 'soak-mode', 'script-exception-iter', 'target-down'];

function recording(name: string): Buffer {
  return gunzipSync(readFileSync(new URL(`${name}.ndjson.gz`, FIXTURES)));
}

/** Feeds the stream in 64 KiB chunks, as the runner's socket delivers it. */
function streamThrough(bytes: Buffer, filters: string[], skipMetrics = DEFAULT_SKIP): { windows: WindowRecord[]; aggregator: WindowAggregator } {
  const aggregator = new WindowAggregator({ runId: 'r', segment: 0, filters, skipMetrics });
  const splitter = aggregator.lineSplitter();
  for (let offset = 0; offset < bytes.length; offset += 65_536) splitter.push(bytes.subarray(offset, offset + 65_536));
  assert.equal(splitter.end(), null);
  return { windows: aggregator.closeAll(), aggregator };
}

interface Totals {
  count: number;
  passes: number;
}

/** Sums a counter's samples or a rate's passes and total over all windows. */
function totals(windows: WindowRecord[], key: string): Totals {
  const result = { count: 0, passes: 0 };
  for (const window of windows) {
    const aggregate: MetricAggregate | undefined = window.metrics[key];
    if (aggregate === undefined) continue;
    if (aggregate.type === 'counter') result.count += aggregate.samples;
    else if (aggregate.type === 'rate') {
      result.count += aggregate.total;
      result.passes += aggregate.passes;
    } else assert.fail(`${key} is a ${aggregate.type}`);
  }
  return result;
}

/** Counts the Point lines of `metric` whose tags include `tags`, by JSON.parse. */
function lineTotals(bytes: Buffer, metric: string, tags: Record<string, string> = {}): Totals {
  const result = { count: 0, passes: 0 };
  for (const line of bytes.toString('utf8').split('\n')) {
    if (line.length === 0) continue;
    let parsed: { type?: string; metric?: string; data?: { value?: number; tags?: Record<string, string> } };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue; // a cut last line after SIGKILL
    }
    if (parsed.type !== 'Point' || parsed.metric !== metric) continue;
    if (!Object.entries(tags).every(([key, value]) => parsed.data?.tags?.[key] === value)) continue;
    result.count += 1;
    if (parsed.data?.value !== 0) result.passes += 1;
  }
  return result;
}

function firstRequestName(bytes: Buffer): string {
  const match = /"metric":"http_req_duration","type":"Point".*?"name":"([^"]+)"/.exec(bytes.toString('utf8'));
  assert.ok(match, 'the recording has a named request');
  return match[1]!;
}

for (const name of RECORDINGS) {
  test(`${name}: derived points equal k6 lines`, () => {
    const bytes = recording(name);
    const requestName = firstRequestName(bytes);
    const failedByName = `http_req_failed{name:${requestName}}`;
    const requestsByName = `http_reqs{name:${requestName}}`;
    const { windows, aggregator } = streamThrough(bytes, [failedByName, requestsByName]);

    const requests = lineTotals(bytes, 'http_reqs');
    const failed = lineTotals(bytes, 'http_req_failed');
    assert.ok(requests.count > 0, 'the recording has requests');
    assert.equal(totals(windows, 'http_reqs').count, requests.count);
    assert.deepEqual(totals(windows, 'http_req_failed'), failed);
    assert.deepEqual(totals(windows, failedByName), lineTotals(bytes, 'http_req_failed', { name: requestName }));
    assert.equal(totals(windows, requestsByName).count, lineTotals(bytes, 'http_reqs', { name: requestName }).count);
    assert.equal(aggregator.derivedPoints, requests.count + failed.count);
    assert.equal(windows.reduce((sum, window) => sum + window.requests.ok + window.requests.failed, 0), requests.count);
  });
}

for (const name of ['ok', 'timeouts', 'thresholds-fail']) {
  test(`${name}: derived points match k6 summary`, () => {
    const summary = JSON.parse(readFileSync(new URL(`${name}.summary.json`, FIXTURES), 'utf8')) as {
      metrics: { http_reqs: { count: number }; http_req_failed: { passes: number; fails: number } };
    };
    const { windows } = streamThrough(recording(name), []);
    assert.equal(totals(windows, 'http_reqs').count, summary.metrics.http_reqs.count);
    assert.deepEqual(totals(windows, 'http_req_failed'), {
      count: summary.metrics.http_req_failed.passes + summary.metrics.http_req_failed.fails,
      passes: summary.metrics.http_req_failed.passes,
    });
  });
}

function point(metric: string, value: number, tags: Record<string, string>): string {
  return JSON.stringify({ metric, type: 'Point', data: { time: '2026-12-04T10:00:01.5Z', value, tags } });
}

/** Adds the three lines of one successful request, as k6 writes them, and closes the window. */
function oneRequest(aggregator: WindowAggregator): WindowRecord {
  const tags = { name: 'a', status: '200', expected_response: 'true' };
  aggregator.addLine(point('http_reqs', 1, tags));
  aggregator.addLine(point('http_req_duration', 4, tags));
  aggregator.addLine(point('http_req_failed', 0, tags));
  const [window] = aggregator.closeAll();
  assert.ok(window);
  return window;
}

test('no response callback, no failed point', () => {
  const aggregator = new WindowAggregator({ runId: 'r', segment: 0 });
  const tags = { name: 'a', status: '200' };
  aggregator.addLine(point('http_reqs', 1, tags));
  aggregator.addLine(point('http_req_duration', 4, tags));
  const [window] = aggregator.closeAll();
  assert.deepEqual(window!.metrics.http_reqs, { type: 'counter', samples: 1, sum: 1 });
  assert.equal(window!.metrics.http_req_failed, undefined);
});

test('skipped duration keeps request lines', () => {
  const aggregator = new WindowAggregator({ runId: 'r', segment: 0, skipMetrics: ['http_req_duration'] });
  for (const [name, type] of [
    ['http_reqs', 'counter'],
    ['http_req_failed', 'rate'],
  ]) {
    aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name, type, contains: 'default', thresholds: [] }, metric: name }));
  }
  const window = oneRequest(aggregator);
  assert.deepEqual(window.metrics.http_reqs, { type: 'counter', samples: 1, sum: 1 });
  assert.deepEqual(window.metrics.http_req_failed, { type: 'rate', passes: 0, total: 1 });
  assert.equal(aggregator.derivedPoints, 0);
  assert.equal(aggregator.skippedPoints, 1);
});

test('reordered derived lines count once', () => {
  const aggregator = new WindowAggregator({ runId: 'r', segment: 0 });
  const tags = { name: 'a', status: '500', expected_response: 'false' };
  const data = { time: '2026-12-04T10:00:01.5Z', value: 1, tags };
  aggregator.addLine(JSON.stringify({ type: 'Point', metric: 'http_reqs', data }));
  aggregator.addLine(point('http_req_duration', 4, tags));
  aggregator.addLine(JSON.stringify({ type: 'Point', data, metric: 'http_req_failed' }));
  const [window] = aggregator.closeAll();
  assert.deepEqual(window!.metrics.http_reqs, { type: 'counter', samples: 1, sum: 1 });
  assert.deepEqual(window!.metrics.http_req_failed, { type: 'rate', passes: 1, total: 1 });
  assert.equal(aggregator.derivedPoints, 2);
});

test('skipped derived metric stays skipped', () => {
  const aggregator = new WindowAggregator({ runId: 'r', segment: 0, skipMetrics: ['http_req_failed'] });
  const window = oneRequest(aggregator);
  assert.deepEqual(window.metrics.http_reqs, { type: 'counter', samples: 1, sum: 1 });
  assert.equal(window.metrics.http_req_failed, undefined);
  assert.equal(aggregator.skippedPoints, 1);
  assert.equal(aggregator.derivedPoints, 1);
});
