import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortMonitor } from '../../core/abort.js';
import { normalizeThresholds } from '../../core/thresholds.js';
import { WindowAggregator } from '../../core/windows.js';
import type { WindowRecord } from '../../core/schemas.js';

const BASE = Date.parse('2026-12-04T10:00:00Z');

function windows(seconds: number, failedShare: number, segment = 0): WindowRecord[] {
  const aggregator = new WindowAggregator({ runId: 'r', segment });
  aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name: 'http_req_duration', type: 'trend', contains: 'time', thresholds: [] }, metric: 'http_req_duration' }));
  aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name: 'http_req_failed', type: 'rate', contains: 'default', thresholds: [] }, metric: 'http_req_failed' }));
  for (let i = 0; i < seconds * 10; i++) {
    const failed = i % 100 < failedShare * 100;
    const tags = JSON.stringify({ expected_response: failed ? 'false' : 'true', status: failed ? '503' : '200' });
    aggregator.addPoint('http_req_duration', BASE + i * 100, 2, tags);
    aggregator.addPoint('http_req_failed', BASE + i * 100, failed ? 1 : 0, tags);
  }
  return aggregator.closeAll();
}

const abortingThreshold = normalizeThresholds({ http_req_failed: [{ threshold: 'rate<0.1', abortOnFail: true, delayAbortEval: '30s' }] }, 'script');

test('abortOnFail threshold stops a failing run after its delay', () => {
  const monitor = new AbortMonitor([], abortingThreshold, BASE);
  monitor.add(windows(20, 0.5));
  assert.equal(monitor.evaluate(), null, 'within delayAbortEval nothing happens');
  monitor.add(windows(60, 0.5).filter((record) => record.startMs >= BASE + 20_000));
  const decision = monitor.evaluate();
  assert.equal(decision?.kind, 'abort-threshold');
  assert.match(decision!.reason, /http_req_failed rate<0\.1 \(abortOnFail\) failed/);
});

test('abortOnFail threshold leaves a healthy run alone', () => {
  const monitor = new AbortMonitor([], abortingThreshold, BASE);
  monitor.add(windows(60, 0.02));
  assert.equal(monitor.evaluate(), null);
});

test('abort rule sees windows of all segments merged', () => {
  const monitor = new AbortMonitor([{ metric: 'errorRate', above: 0.5, forS: 30, afterS: 0 }], [], BASE);
  // Each segment alone fails 40 %, which is under the rule; both together fail 70 %.
  monitor.add(windows(60, 0.4, 0));
  assert.equal(monitor.evaluate(), null);
  monitor.add(windows(60, 1, 1));
  assert.equal(monitor.evaluate()?.kind, 'abort-rule');
});

test('monitor without rules or abortOnFail thresholds is inactive', () => {
  assert.equal(new AbortMonitor([], normalizeThresholds({ checks: ['rate>0.9'] }, 'script').filter((t) => t.abortOnFail), BASE).isActive, false);
});
