/**
 * Configuration and clients of the Lambdas, read and validated once per cold start
 * so that a bad deploy fails at the first invocation with the variable's name.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { CloudWatchMetricsSink } from '../../adapters/aws/cloudwatch-metrics-sink.js';
import { EcsLauncher } from '../../adapters/aws/ecs-launcher.js';
import { createS3Client, S3ResultStore } from '../../adapters/aws/s3-result-store.js';
import { SecretsManagerSecrets } from '../../adapters/aws/secrets-manager-secrets.js';
import { SnsNotifier } from '../../adapters/aws/sns-notifier.js';
import { parseEnvConfig, type EnvConfig } from '../../core/config.js';
import { EnvVar } from '../../core/env-vars.js';
import { createLogger } from '../../core/log.js';
import { DEFAULT_TASK_SIZE } from '../../core/cost.js';
import type { Log } from '../../core/ports.js';

export class LambdaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LambdaConfigError';
  }
}

function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new LambdaConfigError(`Environment variable ${name} is missing; the stack sets it, so redeploy the SoakRunner stack.`);
  }
  return value;
}

export interface LambdaRuntime {
  env: string;
  config: EnvConfig;
  store: S3ResultStore;
  launcher: EcsLauncher;
  metrics: CloudWatchMetricsSink;
  secrets: SecretsManagerSecrets;
  sns: SnsNotifier | null;
  slackWebhookSecret: string | null;
  bundledScenarios: string[];
  /** The load generator's task size, which the cost estimate uses. */
  taskSize: { cpu: number; memoryMiB: number };
  log: Log;
}

/** Reads a whole number of at least 1 from the environment, or the fallback when the variable is unset. */
function positiveIntEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new LambdaConfigError(`Environment variable ${name} is invalid: "${raw}" is not a whole number of at least 1; the stack sets it from deploy.task, so redeploy the SoakRunner stack.`);
  }
  return value;
}

export function loadRuntime(env: NodeJS.ProcessEnv = process.env, component = 'lambda'): LambdaRuntime {
  const envName = requireEnv(env, EnvVar.Env);
  const log = createLogger({ base: { component, env: envName }, level: env[EnvVar.LogLevel] ?? 'info' });

  let configInput: unknown;
  try {
    configInput = JSON.parse(requireEnv(env, EnvVar.EnvConfigJson));
  } catch (error) {
    if (error instanceof LambdaConfigError) throw error;
    throw new LambdaConfigError(`${EnvVar.EnvConfigJson} is not valid JSON: ${(error as Error).message}. Redeploy the stack.`);
  }
  const config = parseEnvConfig(configInput, EnvVar.EnvConfigJson);

  const store = S3ResultStore.fromUrl(requireEnv(env, EnvVar.Store), createS3Client());
  const launcher = new EcsLauncher(new ECSClient({}), {
    clusterArn: requireEnv(env, EnvVar.ClusterArn),
    taskDefinitionArn: requireEnv(env, EnvVar.TaskDefinitionArn),
    containerName: requireEnv(env, EnvVar.ContainerName),
    subnets: requireEnv(env, EnvVar.Subnets).split(',').filter(Boolean),
    securityGroups: requireEnv(env, EnvVar.SecurityGroups).split(',').filter(Boolean),
    assignPublicIp: env[EnvVar.AssignPublicIp] === 'true',
    log,
  });
  const topicArn = env[EnvVar.TopicArn];
  return {
    env: envName,
    config,
    store,
    launcher,
    metrics: new CloudWatchMetricsSink(new CloudWatchClient({}), { namespace: env[EnvVar.MetricsNamespace], log }),
    secrets: new SecretsManagerSecrets(new SecretsManagerClient({})),
    sns: topicArn ? new SnsNotifier(new SNSClient({}), { topicArn, subjectPrefix: `[soak ${envName}] `, log }) : null,
    slackWebhookSecret: env[EnvVar.SlackWebhookSecretName] ?? null,
    bundledScenarios: (env[EnvVar.BundledScenarios] ?? 'sigil').split(',').filter(Boolean),
    taskSize: {
      cpu: positiveIntEnv(env, EnvVar.TaskCpu, DEFAULT_TASK_SIZE.cpu),
      memoryMiB: positiveIntEnv(env, EnvVar.TaskMemoryMiB, DEFAULT_TASK_SIZE.memoryMiB),
    },
    log,
  };
}
