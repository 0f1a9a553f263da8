/**
 * The AWS Distro for OpenTelemetry (ADOT) collector sidecar of a load-generator task.
 * Its configuration receives k6's OpenTelemetry metrics on loopback and writes them to an
 * Amazon Managed Service for Prometheus (AMP) workspace. The k6 container's variables make
 * run-segment add k6's OpenTelemetry output.
 *
 * Component and option names were checked against the source of aws-otel-collector
 * v0.49.0, which builds on opentelemetry-collector-contrib v0.156.0.
 * NOTE: no collector has loaded this configuration yet, because no image could be pulled.
 */
import { EnvVar, K6OtelEnvVar } from '../core/env-vars.js';
import { partitionOfRegion } from '../core/deploy-config.js';

export const COLLECTOR_CONTAINER_NAME = 'otel-collector';

/**
 * The variable from which the ADOT collector reads its whole configuration as YAML
 * (pkg/config/config_factory.go). JSON is valid YAML, so the configuration is written as JSON.
 */
export const COLLECTOR_CONFIG_VARIABLE = 'AOT_CONFIG_CONTENT';

/** uid:gid of the `aoc` user that the ADOT collector image runs as (cmd/awscollector/Dockerfile, v0.49.0). */
export const COLLECTOR_USER = '4317:4317';

/**
 * Listening address of the collector's OTLP gRPC receiver. Containers of a Fargate task
 * share one network namespace, so k6 reaches it on loopback and nothing outside the task can.
 */
export const OTLP_GRPC_ENDPOINT = '127.0.0.1:4317';

/** The `service.name` resource attribute of k6's metrics; the exporter turns it into the `job` label. */
export const OTEL_SERVICE_NAME = 'soak-runner';

/** Memory the collector may hold before it refuses data, in MiB; its container reserves 128 MiB. */
const COLLECTOR_MEMORY_LIMIT_MIB = 256;

export interface CollectorConfigInput {
  remoteWriteUrl: string;
  /** Region of the workspace, for SigV4 signing. */
  region: string;
}

/**
 * Builds the collector configuration. Resource attributes become labels (`soak.env` as
 * `soak_env`, `soak.run_id` as `soak_run_id`, `soak.segment` as `soak_segment`), and
 * metric names keep k6's names with dots turned into underscores and no unit or type
 * suffix, so `http_req_duration` becomes `http_req_duration_bucket`, `_sum` and `_count`.
 */
export function collectorConfig(input: CollectorConfigInput): Record<string, unknown> {
  return {
    extensions: {
      // Signs with the task role's credentials, which ECS provides to every container of the task.
      sigv4auth: { region: input.region, service: 'aps' },
    },
    receivers: {
      otlp: { protocols: { grpc: { endpoint: OTLP_GRPC_ENDPOINT } } },
    },
    processors: {
      memory_limiter: { check_interval: '1s', limit_mib: COLLECTOR_MEMORY_LIMIT_MIB, spike_limit_mib: 64 },
      // The OpenTelemetry SDK's own attributes would only add constant labels to every series.
      'resource/soak': {
        attributes: ['telemetry.sdk.language', 'telemetry.sdk.name', 'telemetry.sdk.version'].map((key) => ({ key, action: 'delete' })),
      },
      // k6 tags every HTTP sample with the full URL, which may contain ids, so each id would
      // start new series. The `name` tag stays: it is the URL unless the script groups requests.
      'attributes/soak': { actions: [{ key: 'url', action: 'delete' }] },
      batch: {},
    },
    exporters: {
      prometheusremotewrite: {
        endpoint: input.remoteWriteUrl,
        auth: { authenticator: 'sigv4auth' },
        translation_strategy: 'UnderscoreEscapingWithoutSuffixes',
        resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true },
        // With every resource attribute on every series, target_info would repeat them.
        target_info: { enabled: false },
      },
    },
    service: {
      extensions: ['sigv4auth'],
      pipelines: {
        metrics: {
          receivers: ['otlp'],
          processors: ['memory_limiter', 'resource/soak', 'attributes/soak', 'batch'],
          exporters: ['prometheusremotewrite'],
        },
      },
    },
  };
}

/** Serializes the collector configuration for COLLECTOR_CONFIG_VARIABLE. */
export function collectorConfigContent(input: CollectorConfigInput): string {
  return JSON.stringify(collectorConfig(input));
}

/**
 * Variables of the k6-runner container that make run-segment add k6's OpenTelemetry
 * output and send it to the sidecar. Plain gRPC is safe here because the traffic stays on loopback.
 */
export function k6OtelContainerEnvironment(exportIntervalS: number): Record<string, string> {
  return {
    [EnvVar.K6Otel]: 'grpc',
    [K6OtelEnvVar.GrpcEndpoint]: OTLP_GRPC_ENDPOINT,
    [K6OtelEnvVar.GrpcInsecure]: 'true',
    [K6OtelEnvVar.ServiceName]: OTEL_SERVICE_NAME,
    [K6OtelEnvVar.ExportInterval]: `${exportIntervalS}s`,
  };
}

const PRIVATE_ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/;

/**
 * Returns the repository ARN of an image in a private ECR registry, whose pull the task's
 * execution role needs permission for, or undefined for any other registry.
 */
export function privateEcrRepositoryArn(image: string): string | undefined {
  const match = PRIVATE_ECR_IMAGE.exec(image);
  if (!match) return undefined;
  const [, account, region, repository] = match as unknown as [string, string, string, string];
  return `arn:${partitionOfRegion(region)}:ecr:${region}:${account}:repository/${repository}`;
}
