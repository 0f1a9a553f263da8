import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { MetricDatum } from '../../../core/ports.js';
import { batchMetricData, CloudWatchMetricsSink, estimateDatumBytes } from '../../../adapters/aws/cloudwatch-metrics-sink.js';

function datums(count: number, dimensions: Record<string, string> = { Env: 'test' }): MetricDatum[] {
  return Array.from({ length: count }, (_, i) => ({ name: 'LiveRequests', value: i, unit: 'Count', dimensions }));
}

describe('CloudWatchMetricsSink', () => {
  let cloudwatch: AwsClientStub<CloudWatchClient>;
  const sink = () => new CloudWatchMetricsSink(new CloudWatchClient({ region: 'eu-west-1' }));

  before(() => {
    cloudwatch = mockClient(CloudWatchClient);
  });
  beforeEach(() => {
    cloudwatch.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
  });
  after(() => cloudwatch.restore());

  test('publishes to the SoakRunner namespace', async () => {
    await sink().publish(datums(1));
    assert.equal(cloudwatch.commandCalls(PutMetricDataCommand)[0]?.args[0].input.Namespace, 'SoakRunner');
  });

  test('splits 2500 datums into three calls', async () => {
    await sink().publish(datums(2500));
    const sizes = cloudwatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input.MetricData?.length);
    assert.deepEqual(sizes, [1000, 1000, 500]);
  });

  test('maps dimensions, unit and timestamp', async () => {
    await sink().publish([{ name: 'RunLatencyP99Ms', value: 812.5, unit: 'Milliseconds', dimensions: { Env: 'test' }, timestampMs: Date.UTC(2026, 11, 5) }]);
    assert.deepEqual(cloudwatch.commandCalls(PutMetricDataCommand)[0]?.args[0].input.MetricData, [
      { MetricName: 'RunLatencyP99Ms', Value: 812.5, Unit: 'Milliseconds', Timestamp: new Date(Date.UTC(2026, 11, 5)), Dimensions: [{ Name: 'Env', Value: 'test' }] },
    ]);
  });

  test('drops non-finite values', async () => {
    await sink().publish([
      { name: 'RunErrorRate', value: Number.NaN, unit: 'None' },
      { name: 'RunErrorRate', value: 0.01, unit: 'None' },
    ]);
    assert.deepEqual(
      cloudwatch.commandCalls(PutMetricDataCommand)[0]?.args[0].input.MetricData?.map((datum) => datum.Value),
      [0.01],
    );
  });

  test('makes no call for nothing', async () => {
    await sink().publish([]);
    assert.equal(cloudwatch.commandCalls(PutMetricDataCommand).length, 0);
  });

  test('names the namespace when a call fails', async () => {
    cloudwatch.on(PutMetricDataCommand).rejects(new Error('denied'));
    await assert.rejects(sink().publish(datums(1)), /namespace SoakRunner.*batch 1 of 1/);
  });
});

describe('batchMetricData', () => {
  test('keeps each batch under the byte limit', () => {
    const wide = datums(1000, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`Dimension${i}`, 'v'.repeat(200)])));
    const batches = batchMetricData(wide);
    const largest = Math.max(...batches.map((batch) => batch.reduce((sum, datum) => sum + estimateDatumBytes(datum), 0)));
    assert.ok(batches.length > 1);
    assert.ok(largest < 1_000_000, `largest batch ${largest} bytes`);
  });

  test('keeps every datum once', () => {
    const input = datums(2345);
    assert.equal(batchMetricData(input).flat().length, 2345);
  });
});
