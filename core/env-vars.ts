/**
 * Environment variable names shared by the code that sets them (the CDK constructs,
 * the local launcher) and the code that reads them (the task, the Lambdas, the CLI).
 */
export const EnvVar = {
  /** Run id of the segment the task runs. */
  RunId: 'SOAK_RUN_ID',
  /** Environment name, such as `staging`. */
  Env: 'SOAK_ENV',
  /** Zero-based segment index. */
  Segment: 'SOAK_SEGMENT',
  /** Result store location: `file:///abs/folder` or `s3://bucket[/prefix]`. */
  Store: 'SOAK_STORE',
  /** Bearer token for the target, injected by ECS from Secrets Manager or by the CLI. */
  TargetToken: 'SOAK_TARGET_TOKEN',
  /** Client secret for scenarios that fetch their own tokens (`CLIENT_SECRET` in k6). */
  TargetClientSecret: 'SOAK_TARGET_CLIENT_SECRET',
  /** Descriptor on which run-segment writes closed windows as JSON lines, for live progress. */
  ProgressFd: 'SOAK_PROGRESS_FD',
  /** Folder that contains the bundled scenarios (`scenarios/<name>/script.js`). */
  ScenariosDir: 'SOAK_SCENARIOS_DIR',
  /** Path to the k6 binary; PATH is searched when unset. */
  K6Bin: 'K6_BIN',
  LogLevel: 'SOAK_LOG_LEVEL',
  /**
   * Comma-separated names of host variables that k6 also gets, such as HTTPS_PROXY;
   * k6's environment is otherwise built from scratch.
   */
  K6PassEnv: 'SOAK_K6_PASS_ENV',
  /** Slack incoming-webhook URL for the local mode (a secret: never logged). */
  SlackWebhookUrl: 'SOAK_SLACK_WEBHOOK_URL',
  /** Name of the results bucket, for the Lambdas. */
  ResultsBucket: 'SOAK_RESULTS_BUCKET',
  /** ECS cluster ARN, task definition ARN and container name, for the start-run Lambda. */
  ClusterArn: 'SOAK_CLUSTER_ARN',
  TaskDefinitionArn: 'SOAK_TASK_DEFINITION_ARN',
  ContainerName: 'SOAK_CONTAINER_NAME',
  Subnets: 'SOAK_SUBNETS',
  SecurityGroups: 'SOAK_SECURITY_GROUPS',
  AssignPublicIp: 'SOAK_ASSIGN_PUBLIC_IP',
  /** Task size of the load generator (CPU units, memory in MiB), for start-run's cost estimate. */
  TaskCpu: 'SOAK_TASK_CPU',
  TaskMemoryMiB: 'SOAK_TASK_MEMORY_MIB',
  /** JSON of the environment configuration, validated at cold start. */
  EnvConfigJson: 'SOAK_ENV_CONFIG_JSON',
  SlackWebhookSecretName: 'SOAK_SLACK_WEBHOOK_SECRET',
  /** Comma-separated names of the scenarios in the load-generator image, for start-run's check. */
  BundledScenarios: 'SOAK_BUNDLED_SCENARIOS',
  TopicArn: 'SOAK_TOPIC_ARN',
  MetricsNamespace: 'SOAK_METRICS_NAMESPACE',
  /**
   * OTLP transport of k6's OpenTelemetry output, `grpc` or `http`. When set, run-segment
   * adds that output to k6 and passes k6 every `K6_OTEL_*` variable of its own environment.
   */
  K6Otel: 'SOAK_K6_OTEL',
} as const;

/**
 * Variables that k6 v1.3.0 reads for its OpenTelemetry output
 * (internal/output/opentelemetry/config.go), plus the OpenTelemetry SDK's resource
 * variable, which k6's Go SDK (v1.37.0) reads from the process environment.
 */
export const K6OtelEnvVar = {
  /** `grpc` (k6's default) or `http`. */
  ExporterType: 'K6_OTEL_EXPORTER_TYPE',
  /** Collector address as host:port, without a scheme; k6's default is localhost:4317. */
  GrpcEndpoint: 'K6_OTEL_GRPC_EXPORTER_ENDPOINT',
  /** `true` sends plain gRPC without TLS; k6's default is false. */
  GrpcInsecure: 'K6_OTEL_GRPC_EXPORTER_INSECURE',
  /** The `service.name` resource attribute; k6's default is `k6`. */
  ServiceName: 'K6_OTEL_SERVICE_NAME',
  /** Go duration such as `10s`; k6's default is 10s. */
  ExportInterval: 'K6_OTEL_EXPORT_INTERVAL',
  /** Comma-separated key=value pairs with percent-encoded values. */
  ResourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
} as const;

/** Prefix of every variable that k6 v1.3.0's OpenTelemetry output reads. */
export const K6_OTEL_PREFIX = 'K6_OTEL_';

/** Exit codes of the `run-segment` entrypoint, read by the launchers and finish-run. */
export const SegmentExitCode = {
  /** k6 ran to the end of its planned time and every window was stored. */
  Completed: 0,
  /** Invalid input: a missing variable, an unreadable manifest, an unknown segment. */
  InvalidInput: 2,
  /** Stopped before the planned end: SIGTERM, a stop request, an abort rule or threshold. */
  Stopped: 3,
  /** The script broke: an init exception, invalid options, `exec.test.abort()`. */
  ScriptError: 4,
  /** k6 died or could not be started, or it covered too little of the planned time. */
  K6Failed: 5,
  /** Windows or the result could not be stored after retries. */
  StoreFailed: 6,
} as const;
