/**
 * MetricsSink on CloudWatch PutMetricData. One call takes at most 1000 datums and
 * 1 MB of request body, so `publish` splits larger batches.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum as CloudWatchDatum } from '@aws-sdk/client-cloudwatch';
import { silentLog } from '../../core/log.js';
import type { Log, MetricDatum, MetricsSink } from '../../core/ports.js';
import { describeAwsError } from './aws-errors.js';

export const DEFAULT_METRICS_NAMESPACE = 'SoakRunner';

/** Limits of one PutMetricData call. */
export const PUT_METRIC_DATA_LIMITS = { datums: 1000, bytes: 1_000_000 } as const;

/** Room left in each call for the action name, namespace and version parameters. */
const ENVELOPE_BYTES = 1024;

/**
 * Estimates a datum's share of the request body in the query protocol's form encoding
 * (`MetricData.member.12.Dimensions.member.3.Value=...&`), which is larger than the
 * CBOR encoding newer SDK releases use, so batches cut by it fit under either.
 */
export function estimateDatumBytes(datum: MetricDatum): number {
  const field = (name: string, value: string) => `MetricData.member.1000.${name}=`.length + encodeURIComponent(value).length + 1;
  let bytes = field('MetricName', datum.name) + field('Value', String(datum.value)) + field('Unit', datum.unit);
  datum.values?.forEach((value, index) => {
    bytes += field('Values.member.150', String(value)) + field('Counts.member.150', String(datum.counts?.[index] ?? 1));
  });
  if (datum.timestampMs !== undefined) bytes += field('Timestamp', new Date(datum.timestampMs).toISOString());
  for (const [name, value] of Object.entries(datum.dimensions ?? {})) {
    bytes += field('Dimensions.member.30.Name', name) + field('Dimensions.member.30.Value', value);
  }
  return bytes;
}

/** Splits datums into batches that each fit one PutMetricData call. */
export function batchMetricData(data: MetricDatum[], limits: { datums: number; bytes: number } = PUT_METRIC_DATA_LIMITS): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let currentBytes = ENVELOPE_BYTES;

  for (const datum of data) {
    const bytes = estimateDatumBytes(datum);
    if (current.length > 0 && (current.length >= limits.datums || currentBytes + bytes > limits.bytes)) {
      batches.push(current);
      current = [];
      currentBytes = ENVELOPE_BYTES;
    }
    current.push(datum);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function toCloudWatch(datum: MetricDatum): CloudWatchDatum {
  return {
    MetricName: datum.name,
    // A distribution replaces Value: CloudWatch takes one or the other.
    ...(datum.values === undefined ? { Value: datum.value } : { Values: datum.values, Counts: datum.counts }),
    Unit: datum.unit,
    Timestamp: datum.timestampMs === undefined ? undefined : new Date(datum.timestampMs),
    Dimensions: Object.entries(datum.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
  };
}

export interface CloudWatchMetricsSinkOptions {
  /** @default 'SoakRunner' */
  namespace?: string;
  log?: Log;
}

export class CloudWatchMetricsSink implements MetricsSink {
  readonly namespace: string;
  readonly #client: CloudWatchClient;
  readonly #log: Log;

  constructor(client: CloudWatchClient, options: CloudWatchMetricsSinkOptions = {}) {
    this.#client = client;
    this.namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
    this.#log = options.log ?? silentLog;
  }

  async publish(data: MetricDatum[]): Promise<void> {
    // CloudWatch rejects the whole call for one NaN or Infinity.
    const finite = data.filter((datum) => Number.isFinite(datum.value));
    if (finite.length < data.length) {
      this.#log.warn('non-finite metric values dropped', {
        dropped: data.length - finite.length,
        names: [...new Set(data.filter((datum) => !Number.isFinite(datum.value)).map((datum) => datum.name))],
      });
    }

    const batches = batchMetricData(finite);
    for (const [index, batch] of batches.entries()) {
      try {
        await this.#client.send(new PutMetricDataCommand({ Namespace: this.namespace, MetricData: batch.map(toCloudWatch) }));
      } catch (error) {
        throw new Error(
          `Could not publish ${batch.length} metrics to CloudWatch namespace ${this.namespace} (batch ${index + 1} of ${batches.length}): ${describeAwsError(error)}. Check cloudwatch:PutMetricData permission for this namespace.`,
          { cause: error },
        );
      }
    }
  }
}
