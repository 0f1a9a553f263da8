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
  /** JSON of the environment configuration, validated at cold start. */
  EnvConfigJson: 'SOAK_ENV_CONFIG_JSON',
  SlackWebhookSecretName: 'SOAK_SLACK_WEBHOOK_SECRET',
  /** Comma-separated names of the scenarios in the load-generator image, for start-run's check. */
  BundledScenarios: 'SOAK_BUNDLED_SCENARIOS',
  TopicArn: 'SOAK_TOPIC_ARN',
  MetricsNamespace: 'SOAK_METRICS_NAMESPACE',
} as const;

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
