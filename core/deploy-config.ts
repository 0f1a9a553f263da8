/**
 * Deployment configuration of one AWS environment: the run configuration that the
 * local mode also reads (EnvConfigSchema), plus a `deploy` block with what only the
 * CDK stack needs. `npx cdk synth -c env=NAME` reads `config/deploy/NAME.json`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { ConfigError, describeIssues, EnvConfigSchema } from './config.js';
import { DURATION_RANGE_S, RATE_RANGE, RunRequestSchema, SEGMENTS_RANGE, type RunRequestInput } from './schemas.js';

/**
 * Memory sizes in MiB that Fargate accepts for each task CPU value (1024 units = 1 vCPU),
 * from the "Task CPU and memory" table of the Amazon ECS Developer Guide. The 8 and
 * 16 vCPU sizes need Linux platform version 1.4.0 or later, which RunTask uses by default.
 */
export const FARGATE_MEMORY_MIB_BY_CPU: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

/** Retention periods in days that CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Longest scheduled run. A nightly run must end, and be reported, before the next one
 * starts, and the "no report" alarm looks back 26 hours by default.
 */
export const MAX_SCHEDULED_DURATION_S = 22 * 3600;

function steps(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** EventBridge Scheduler cron: six fields, and one of day-of-month and day-of-week is `?`. */
function cronProblem(expression: string): string | undefined {
  const match = /^cron\((.*)\)$/.exec(expression.trim());
  if (!match?.[1]) return 'use cron(minutes hours day-of-month month day-of-week year), for example "cron(0 2 * * ? *)"';

  const fields = match[1].trim().split(/\s+/);
  if (fields.length !== 6) return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has ${fields.length}`;

  const dayOfMonth = fields[2];
  const dayOfWeek = fields[4];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) return 'exactly one of day-of-month and day-of-week must be "?", for example "cron(0 2 * * ? *)"';
  return undefined;
}

const SecretNameSchema = z
  .string()
  .regex(/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/, 'use a Secrets Manager secret name such as "soak/staging/target-token", or its full ARN');

const NetworkSchema = z
  .object({
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'use a VPC id such as "vpc-0123456789abcdef0"'),
    /** Availability zones of `subnetIds`; the subnet count must be a multiple of this count. */
    availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/, 'use a zone name such as "eu-west-1a"')).min(1),
    /** Subnets the load-generator tasks run in; they need a route to the target and to S3, ECR and CloudWatch. */
    subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'use a subnet id such as "subnet-0123456789abcdef0"')).min(1).max(16),
    /** Route table of each subnet, in the same order. */
    routeTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'use a route table id such as "rtb-0123456789abcdef0"')),
    /** Security groups of the tasks; when empty, the stack creates one that allows all outbound traffic and no inbound. */
    securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'use a security group id such as "sg-0123456789abcdef0"')).max(5).default([]),
    /** Give each task a public IP address; needed in public subnets without a NAT gateway. */
    assignPublicIp: z.boolean().default(false),
  })
  .strict();

const TaskSchema = z
  .object({
    /** Task CPU units, 1024 per vCPU. */
    cpu: z.union([256, 512, 1024, 2048, 4096, 8192, 16384].map((value) => z.literal(value)) as [z.ZodLiteral<256>, ...z.ZodLiteral<number>[]]),
    memoryMiB: z.number().int(),
    cpuArchitecture: z.enum(['X86_64', 'ARM64']).default('X86_64'),
  })
  .strict();

const ScheduleSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** EventBridge Scheduler cron expression, read in `timeZone`. */
    cron: z.string(),
    /** IANA time zone such as "Europe/Berlin"; daylight saving time is followed. */
    timeZone: z.string().refine(isTimeZone, 'use an IANA time zone name such as "Europe/Berlin" or "UTC"'),
    /** The nightly run request; each field defaults to the same field of `defaults`. */
    target: z.url({ protocol: /^https?$/ }).optional(),
    scenario: z.string().min(1).optional(),
    rate: z.number().int().min(RATE_RANGE.min).max(RATE_RANGE.max).optional(),
    durationS: z.number().int().min(DURATION_RANGE_S.min).max(MAX_SCHEDULED_DURATION_S).optional(),
    segments: z.number().int().min(SEGMENTS_RANGE.min).max(SEGMENTS_RANGE.max).optional(),
  })
  .strict();

const SecretsSchema = z
  .object({
    /** Bearer token of the target, given to the task as SOAK_TARGET_TOKEN. */
    targetToken: SecretNameSchema.nullable().default(null),
    /** Client secret for scenarios that fetch their own tokens, given to the task as SOAK_TARGET_CLIENT_SECRET. */
    targetClientSecret: SecretNameSchema.nullable().default(null),
    /** Slack incoming-webhook URL, stored as the plain secret string; null sends no Slack message. */
    slackWebhook: SecretNameSchema.nullable().default(null),
  })
  .strict()
  .prefault({});

const ResultsSchema = z
  .object({
    /** Days after which the 10-second windows expire; they are the bulk of the bucket. */
    windowsDays: z.number().int().min(1).max(3650).default(30),
    /** Days after which everything else under `runs/` expires: manifests, segment results, reports. */
    reportsDays: z.number().int().min(1).max(3650).default(400),
    /** Days after which the run summaries under `history/` expire; null keeps them, so baselines stay available. */
    historyDays: z.number().int().min(1).max(3650).nullable().default(null),
    /** Days to keep S3 server access logs of the results bucket; null turns access logging off. */
    accessLogDays: z.number().int().min(1).max(3650).nullable().default(90),
  })
  .strict()
  .prefault({});

const AlarmsSchema = z
  .object({
    /** Addresses subscribed to the alarm topic; each must confirm the subscription e-mail. */
    emails: z.array(z.email()).default([]),
    /** The "no report" alarm fires when no run was finalized for this many hours. */
    noReportHours: z.number().int().min(25).max(168).default(26),
  })
  .strict()
  .prefault({});

/**
 * ADOT collector image used when `deploy.amp.collectorImage` is not set. v0.49.0 is a release
 * tag of aws-otel-collector, whose release workflow pushes it to public.ecr.aws under that name.
 */
export const DEFAULT_COLLECTOR_IMAGE = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0';

/** Seconds between k6's OpenTelemetry exports when `deploy.amp.exportIntervalS` is not set; k6's own default. */
export const DEFAULT_OTEL_EXPORT_INTERVAL_S = 10;

const AMP_WORKSPACE_ARN = /^arn:(aws|aws-cn|aws-us-gov):aps:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):workspace\/(ws-[0-9A-Za-z-]{1,61})$/;

/** Docker image reference: repository with optional registry host and port, then an optional tag and digest. */
const IMAGE_REFERENCE =
  /^(?<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(?<tag>\w[\w.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/;

/** The parts of an Amazon Managed Service for Prometheus workspace ARN. */
export interface AmpWorkspace {
  partition: string;
  region: string;
  account: string;
  workspaceId: string;
}

/** Parses a workspace ARN, or returns undefined when it is not one. */
export function parseAmpWorkspaceArn(arn: string): AmpWorkspace | undefined {
  const match = AMP_WORKSPACE_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition, region, account, workspaceId] = match as unknown as [string, string, string, string, string];
  return { partition, region, account, workspaceId };
}

/** Returns the AWS partition of a region code. */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Returns the remote write URL of the workspace that `workspace` names, in its own region. */
export function ampRemoteWriteUrlOf(workspace: AmpWorkspace): string {
  const domain = workspace.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://aps-workspaces.${workspace.region}.${domain}/workspaces/${workspace.workspaceId}/api/v1/remote_write`;
}

/** Returns why an image reference is not pinned, or undefined when it has a tag other than `latest` or a digest. */
export function imagePinProblem(image: string): string | undefined {
  const match = IMAGE_REFERENCE.exec(image);
  if (!match?.groups) return `use an image reference such as "${DEFAULT_COLLECTOR_IMAGE}"`;
  const { tag, digest } = match.groups;
  if (tag === undefined && digest === undefined) {
    return `pin the image with a tag or digest, such as "${image}:v0.49.0"; without one, ECS pulls "latest", which changes from one run to the next`;
  }
  if (tag === 'latest' && digest === undefined) return 'the "latest" tag changes from one run to the next; pin a release tag such as "v0.49.0"';
  return undefined;
}

const AmpSchema = z
  .object({
    /** `false` keeps the block but deploys no collector and sends no metrics. */
    enabled: z.boolean().default(true),
    workspaceArn: z
      .string()
      .regex(AMP_WORKSPACE_ARN, 'use the ARN of an Amazon Managed Service for Prometheus workspace, such as "arn:aws:aps:eu-west-1:111111111111:workspace/ws-0123abcd-4567-89ef-0123-456789abcdef"'),
    /** Remote write URL; derived from `workspaceArn` when absent. */
    remoteWriteUrl: z.url({ protocol: /^https$/ }).optional(),
    /** ADOT collector image, pinned by tag or digest. */
    collectorImage: z
      .string()
      .superRefine((image, context) => {
        const problem = imagePinProblem(image);
        if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
      })
      .default(DEFAULT_COLLECTOR_IMAGE),
    /** Seconds between two exports of k6's metrics to the collector. */
    exportIntervalS: z.number().int().min(1).max(300).default(DEFAULT_OTEL_EXPORT_INTERVAL_S),
  })
  .strict();

export const DeployBlockSchema = z
  .object({
    account: z.string().regex(/^\d{12}$/, 'use the 12-digit AWS account id as a string, such as "111111111111"'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'use a region code such as "eu-west-1"'),
    network: NetworkSchema,
    task: TaskSchema,
    /** Nightly run; null (or `enabled: false`) leaves only ad-hoc runs. */
    schedule: ScheduleSchema.nullable().default(null),
    secrets: SecretsSchema,
    alarms: AlarmsSchema,
    results: ResultsSchema,
    logRetentionDays: z.union(LOG_RETENTION_DAYS.map((days) => z.literal(days)) as [z.ZodLiteral<1>, ...z.ZodLiteral<number>[]]).default(30),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** How often finish-run looks for runs past their deadline whose stop events were lost. */
    sweepEveryMinutes: z.number().int().min(1).max(60).default(5),
    /** Export of k6's metrics to Amazon Managed Service for Prometheus; null sends none. */
    amp: AmpSchema.nullable().default(null),
  })
  .strict();

export const DeployConfigSchema = EnvConfigSchema.extend({ deploy: DeployBlockSchema }).superRefine((config, context) => {
  const { deploy } = config;
  const issue = (path: (string | number)[], message: string) => context.addIssue({ code: 'custom', path, message });

  const memoryChoices = FARGATE_MEMORY_MIB_BY_CPU[deploy.task.cpu] ?? [];
  if (!memoryChoices.includes(deploy.task.memoryMiB)) {
    issue(['deploy', 'task', 'memoryMiB'], `Fargate does not accept this memory with cpu ${deploy.task.cpu}; use one of ${memoryChoices.join(', ')}`);
  }

  const { network } = deploy;
  if (network.routeTableIds.length !== network.subnetIds.length) {
    issue(['deploy', 'network', 'routeTableIds'], `list one route table per subnet, in the order of subnetIds (${network.subnetIds.length} subnets)`);
  }
  if (network.subnetIds.length % network.availabilityZones.length !== 0) {
    issue(['deploy', 'network', 'subnetIds'], `the subnet count must be a multiple of the availability zone count (${network.availabilityZones.length})`);
  }

  if (config.targetAllowlist.length === 0) {
    issue(['targetAllowlist'], 'list the target hosts that runs may send load to; an empty list allows any host and is accepted only in local mode');
  }
  if (config.defaults.target !== undefined && !isHostAllowed(config.defaults.target, config.targetAllowlist)) {
    issue(['defaults', 'target'], `the host is not in targetAllowlist (${config.targetAllowlist.join(', ') || 'empty'}); add it there`);
  }

  if (deploy.results.windowsDays > deploy.results.reportsDays) {
    issue(['deploy', 'results', 'windowsDays'], `windows cannot outlive the reports that link them; use at most reportsDays (${deploy.results.reportsDays})`);
  }

  for (const [path, message] of ampProblems(deploy)) issue(path, message);

  const schedule = deploy.schedule;
  if (schedule === null || !schedule.enabled) return;

  const cron = cronProblem(schedule.cron);
  if (cron !== undefined) issue(['deploy', 'schedule', 'cron'], cron);

  const target = schedule.target ?? config.defaults.target;
  if (target === undefined) {
    issue(['deploy', 'schedule', 'target'], 'the nightly run needs a target: set deploy.schedule.target or defaults.target');
  } else if (schedule.target !== undefined && !isHostAllowed(schedule.target, config.targetAllowlist)) {
    issue(['deploy', 'schedule', 'target'], `the host is not in targetAllowlist (${config.targetAllowlist.join(', ') || 'empty'}); add it there`);
  }

  const rate = schedule.rate ?? config.defaults.rate;
  if (rate > config.limits.maxRate) issue(['deploy', 'schedule', 'rate'], `exceeds limits.maxRate (${config.limits.maxRate})`);
  const durationS = schedule.durationS ?? config.defaults.durationS;
  if (durationS > config.limits.maxDurationS) issue(['deploy', 'schedule', 'durationS'], `exceeds limits.maxDurationS (${config.limits.maxDurationS})`);
  if (durationS > MAX_SCHEDULED_DURATION_S) {
    issue(['deploy', 'schedule', 'durationS'], `a nightly run may last at most ${MAX_SCHEDULED_DURATION_S} s (22 h) so that it ends before the next one; set deploy.schedule.durationS`);
  }
  const segments = schedule.segments ?? config.defaults.segments;
  if (segments > config.limits.maxSegments) issue(['deploy', 'schedule', 'segments'], `exceeds limits.maxSegments (${config.limits.maxSegments})`);
});

export type DeployConfig = z.infer<typeof DeployConfigSchema>;
export type DeployConfigInput = z.input<typeof DeployConfigSchema>;
export type DeployBlock = DeployConfig['deploy'];
export type AmpBlock = NonNullable<DeployBlock['amp']>;

/** Checks of the `amp` block that span fields: the workspace's account and partition, and the URL's workspace. */
function ampProblems(deploy: z.infer<typeof DeployBlockSchema>): [(string | number)[], string][] {
  const amp = deploy.amp;
  if (amp === null || !amp.enabled) return [];
  const workspace = parseAmpWorkspaceArn(amp.workspaceArn);
  if (workspace === undefined) return [];

  const problems: [(string | number)[], string][] = [];
  if (workspace.account !== deploy.account) {
    problems.push([
      ['deploy', 'amp', 'workspaceArn'],
      `the workspace must be in deploy.account (${deploy.account}); remote write to another account needs a role to assume there, which this stack does not set up`,
    ]);
  }
  const partition = partitionOfRegion(deploy.region);
  if (workspace.partition !== partition) {
    problems.push([['deploy', 'amp', 'workspaceArn'], `the ARN is in partition ${workspace.partition}, but deploy.region ${deploy.region} is in ${partition}; use a workspace of ${partition}`]);
  }
  if (amp.remoteWriteUrl !== undefined) {
    const expectedPath = `/workspaces/${workspace.workspaceId}/api/v1/remote_write`;
    if (new URL(amp.remoteWriteUrl).pathname !== expectedPath) {
      problems.push([
        ['deploy', 'amp', 'remoteWriteUrl'],
        `the path must be ${expectedPath}, the workspace of workspaceArn, because the task may write to that workspace only; or remove remoteWriteUrl to derive it from the ARN`,
      ]);
    }
  }
  return problems;
}

/** Returns the `amp` block when it is present and enabled. */
export function enabledAmp(deploy: DeployBlock): AmpBlock | undefined {
  return deploy.amp !== null && deploy.amp.enabled ? deploy.amp : undefined;
}

/** Returns the remote write URL of an `amp` block: the configured one, or the one derived from the workspace ARN. */
export function ampRemoteWriteUrl(amp: AmpBlock): string {
  if (amp.remoteWriteUrl !== undefined) return amp.remoteWriteUrl;
  const workspace = parseAmpWorkspaceArn(amp.workspaceArn);
  if (workspace === undefined) throw new Error(`Invalid workspace ARN "${amp.workspaceArn}"; parse the configuration with DeployConfigSchema first.`);
  return ampRemoteWriteUrlOf(workspace);
}

/** Returns whether the URL's host (with or without its port) is in the allowlist. */
export function isHostAllowed(url: string, allowlist: readonly string[]): boolean {
  const parsed = new URL(url);
  return allowlist.includes(parsed.hostname) || allowlist.includes(parsed.host);
}

/** A deployment configuration with the document it came from, whose run part the Lambdas read. */
export interface LoadedDeployConfig {
  config: DeployConfig;
  /**
   * The run configuration as written in the file, without the `deploy` block and `$schema`.
   * The Lambdas parse it again with EnvConfigSchema, so defaults stay out of the
   * 4 KB that Lambda allows for all environment variables together.
   */
  runConfigInput: Record<string, unknown>;
  file: string;
}

/** Validates a parsed deployment configuration; `file` names it in the error. */
export function parseDeployConfig(input: unknown, file: string): LoadedDeployConfig {
  const result = DeployConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = describeIssues(result.error, input, DeployConfigSchema);
    throw new ConfigError(
      `Invalid deployment configuration in ${file}:\n  ${issues.join('\n  ')}\nFix the fields above; docs/deploy.md describes every field of the deploy block.`,
      file,
      issues,
    );
  }

  const { deploy: _deploy, $schema: _schema, ...runConfigInput } = input as Record<string, unknown>;
  return { config: result.data, runConfigInput, file };
}

/** Lists the environment names that have a file in `dir`. */
export function listDeployEnvs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

/** Reads and validates `<dir>/<env>.json`. */
export function loadDeployConfig(env: string, dir: string): LoadedDeployConfig {
  const file = relative(process.cwd(), join(dir, `${env}.json`)) || join(dir, `${env}.json`);
  const known = listDeployEnvs(dir);
  const knownFiles = known.map((name) => `${name}.json`).join(', ') || 'none';

  const name = RunRequestSchema.shape.env.safeParse(env);
  if (!name.success) {
    const message = `Invalid environment name "${env}": use 1-32 lowercase letters, digits or dashes. Files in ${dir}: ${knownFiles}.`;
    throw new ConfigError(message, null, [message]);
  }
  if (!known.includes(env)) {
    const message = `Deployment configuration ${file} not found. Files in ${dir}: ${knownFiles}. Copy example.json to ${env}.json and fill it in, or pass -c env=NAME with one of the names above.`;
    throw new ConfigError(message, file, [message]);
  }

  let input: unknown;
  try {
    input = JSON.parse(readFileSync(join(dir, `${env}.json`), 'utf8'));
  } catch (error) {
    const message = `${file} is not valid JSON (${(error as Error).message}). Fix the syntax and run the command again.`;
    throw new ConfigError(message, file, [message]);
  }
  return parseDeployConfig(input, file);
}

/** Returns the nightly run request without its labels, or undefined when no schedule is enabled. */
export function scheduledRunRequest(config: DeployConfig, env: string): RunRequestInput | undefined {
  const schedule = config.deploy.schedule;
  if (schedule === null || !schedule.enabled) return undefined;

  const target = schedule.target ?? config.defaults.target;
  if (target === undefined) return undefined;
  return {
    env,
    target,
    scenario: schedule.scenario ?? config.defaults.scenario,
    rate: schedule.rate ?? config.defaults.rate,
    durationS: schedule.durationS ?? config.defaults.durationS,
    segments: schedule.segments ?? config.defaults.segments,
  };
}
