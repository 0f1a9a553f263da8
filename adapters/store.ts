/** Opens a result store from its location: `file:///folder`, a plain path, or `s3://bucket[/prefix]`. */
import { fileURLToPath } from 'node:url';
import type { Log, MetricsSink, ResultStore } from '../core/ports.js';
import { FolderResultStore } from './local/folder-store.js';

export async function openStore(location: string): Promise<ResultStore> {
  if (location.startsWith('s3://')) {
    const { openS3Store } = await import('./aws/open-s3-store.js');
    return openS3Store(location);
  }
  if (location.startsWith('file://')) return new FolderResultStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`Unsupported result store "${location}": use file:///absolute/folder, a folder path, or s3://bucket/prefix.`);
  }
  return new FolderResultStore(location);
}

/** Live metrics go to CloudWatch when results go to S3 (the task in AWS); the local mode has none. */
export async function openMetricsSink(storeLocation: string, log: Log): Promise<MetricsSink | undefined> {
  if (!storeLocation.startsWith('s3://')) return undefined;
  const [{ CloudWatchClient }, { CloudWatchMetricsSink }] = await Promise.all([
    import('@aws-sdk/client-cloudwatch'),
    import('./aws/cloudwatch-metrics-sink.js'),
  ]);
  return new CloudWatchMetricsSink(new CloudWatchClient({}), { namespace: process.env.SOAK_METRICS_NAMESPACE, log });
}
