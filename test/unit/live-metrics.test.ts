import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram } from '../../core/histogram.js';
import { liveMetricData, MAX_DISTRIBUTION_PAIRS, toDistribution } from '../../core/live-metrics.js';
import { WindowAggregator } from '../../core/windows.js';

function spreadHistogram(): Histogram {
  const histogram = new Histogram();
  // Latencies from 0.1 ms to 60 s: far more than 150 one-percent buckets.
  for (let value = 0.1; value < 60_000; value *= 1.005) histogram.record(value);
  histogram.record(0);
  return histogram;
}

test('distribution fits the 150 pair limit', () => {
  const distribution = toDistribution(spreadHistogram().toJSON());
  assert.ok(distribution.values.length <= MAX_DISTRIBUTION_PAIRS, `${distribution.values.length} pairs`);
  assert.equal(distribution.values.length, distribution.counts.length);
});

test('distribution keeps every sample', () => {
  const histogram = spreadHistogram();
  const distribution = toDistribution(histogram.toJSON());
  assert.equal(
    distribution.counts.reduce((sum, count) => sum + count, 0),
    histogram.count,
  );
});

test('collapsed quantiles stay within the stated error', () => {
  const histogram = spreadHistogram();
  const distribution = toDistribution(histogram.toJSON());
  const expanded: number[] = [];
  distribution.values.forEach((value, i) => {
    for (let n = 0; n < distribution.counts[i]!; n++) expanded.push(value);
  });
  const p99 = expanded[Math.round(0.99 * (expanded.length - 1))]!;
  const exact = histogram.quantile(0.99)!;
  assert.ok(Math.abs(p99 - exact) / exact <= distribution.relativeError + 0.011, `p99 ${p99} vs ${exact}, bound ${distribution.relativeError}`);
});

test('narrow histogram keeps its buckets', () => {
  const histogram = new Histogram();
  for (let i = 1; i <= 100; i++) histogram.record(1 + i / 100);
  const distribution = toDistribution(histogram.toJSON());
  assert.equal(distribution.values.length, histogram.bucketCount);
  assert.ok(distribution.relativeError <= 0.0101);
});

test('live metrics carry counts and the latency distribution per window', () => {
  const aggregator = new WindowAggregator({ runId: 'r', segment: 0 });
  aggregator.addLine(JSON.stringify({ type: 'Metric', data: { name: 'http_req_duration', type: 'trend', contains: 'time', thresholds: [] }, metric: 'http_req_duration' }));
  const start = Date.parse('2026-12-04T10:00:00Z');
  aggregator.addPoint('http_req_duration', start + 1, 5, JSON.stringify({ expected_response: 'true', status: '200' }));
  aggregator.addPoint('http_req_duration', start + 2, 0, JSON.stringify({ expected_response: 'false', status: '0', error_code: '1212' }));
  const data = liveMetricData(aggregator.closeAll(), 'staging');
  const byName = Object.fromEntries(data.map((datum) => [datum.name, datum]));
  assert.equal(byName.LiveRequests?.value, 2);
  assert.equal(byName.LiveFailedRequests?.value, 1);
  assert.deepEqual(byName.LiveLatencyMs?.counts, [1]);
  assert.deepEqual(byName.LiveRequests?.dimensions, { Env: 'staging' });
  assert.equal(byName.LiveRequests?.timestampMs, start);
});

test('CloudWatch sink sends a distribution as Values and Counts', async () => {
  const { mockClient } = await import('aws-sdk-client-mock');
  const { CloudWatchClient, PutMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
  const { CloudWatchMetricsSink } = await import('../../adapters/aws/cloudwatch-metrics-sink.js');
  const cloudWatch = mockClient(CloudWatchClient);
  cloudWatch.on(PutMetricDataCommand).resolves({});
  try {
    await new CloudWatchMetricsSink(new CloudWatchClient({ region: 'eu-west-1' })).publish([
      { name: 'LiveLatencyMs', value: 3, values: [1, 2], counts: [2, 1], unit: 'Milliseconds' },
    ]);
    const datum = cloudWatch.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData![0]!;
    assert.deepEqual(datum.Values, [1, 2]);
    assert.deepEqual(datum.Counts, [2, 1]);
    assert.equal(datum.Value, undefined);
  } finally {
    cloudWatch.restore();
  }
});
