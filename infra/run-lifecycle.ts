/**
 * The run lifecycle. start-run plans a run, takes the lock, writes the manifest and calls
 * RunTask. finish-run records each segment's stop, finalizes the run once, writes the
 * report and notifies. An EventBridge rule sends it the STOPPED task events of this
 * cluster, and a periodic sweep finalizes runs past their deadline whose events were lost.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { STARTED_BY_PREFIX } from '../adapters/aws/ecs-launcher.js';
import { ConfigError } from '../core/config.js';
import type { DeployBlock } from '../core/deploy-config.js';
import { EnvVar } from '../core/env-vars.js';
import { importSecret, putMetricDataStatement, type LoadGenerator } from './load-generator.js';
import { METRICS_NAMESPACE } from '../core/metric-names.js';
import { acknowledgeWildcardActions, acknowledgeWildcardResources } from './nag.js';
import { storePrefixes, type ResultsBucket } from './results-bucket.js';

/**
 * Runtime of both Lambdas: the newest Node.js runtime that aws-cdk-lib 2.278 reports as
 * available in every region (its LATEST_NODE_RUNTIME region fact).
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Lambda allows 4 KB for the names and values of all environment variables together. */
const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** Length assumed for a value that CloudFormation fills in at deploy time, such as an ARN. */
const DEPLOY_TIME_VALUE_BYTES = 160;

export interface RunLifecycleProps {
  envName: string;
  deploy: DeployBlock;
  /** The run configuration as written in the deploy file, for SOAK_ENV_CONFIG_JSON. */
  runConfigInput: Record<string, unknown>;
  configFile: string;
  repoRoot: string;
  results: ResultsBucket;
  loadGenerator: LoadGenerator;
  topic: sns.ITopic;
}

export class RunLifecycle extends Construct {
  readonly startRun: nodejs.NodejsFunction;
  readonly finishRun: nodejs.NodejsFunction;
  readonly stoppedRule: events.Rule;
  readonly sweepRule: events.Rule;

  constructor(scope: Construct, id: string, props: RunLifecycleProps) {
    super(scope, id);
    const { envName, deploy, loadGenerator } = props;
    const prefixes = storePrefixes(envName);

    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: 'soak-runner',
      [EnvVar.Env]: envName,
      [EnvVar.Store]: `s3://${props.results.bucket.bucketName}`,
      [EnvVar.ResultsBucket]: props.results.bucket.bucketName,
      [EnvVar.LogLevel]: deploy.logLevel,
      [EnvVar.MetricsNamespace]: METRICS_NAMESPACE,
      [EnvVar.EnvConfigJson]: JSON.stringify(props.runConfigInput),
      [EnvVar.ClusterArn]: loadGenerator.cluster.clusterArn,
      [EnvVar.TaskDefinitionArn]: loadGenerator.taskDefinition.taskDefinitionArn,
      [EnvVar.ContainerName]: loadGenerator.container.containerName,
      [EnvVar.Subnets]: deploy.network.subnetIds.join(','),
      [EnvVar.SecurityGroups]: loadGenerator.securityGroupIds.join(','),
      [EnvVar.AssignPublicIp]: String(deploy.network.assignPublicIp),
      [EnvVar.TaskCpu]: String(deploy.task.cpu),
      [EnvVar.TaskMemoryMiB]: String(deploy.task.memoryMiB),
      [EnvVar.BundledScenarios]: bundledScenarioNames(props.repoRoot).join(','),
    };

    this.startRun = this.#createFunction('StartRun', {
      ...props,
      entry: 'lambdas/start-run/handler.ts',
      description: `soak-runner ${envName}: validate a run request, plan segments, write the manifest and launch the tasks`,
      memorySize: 512,
      // Launching retries capacity failures with backoff for up to a few minutes.
      timeout: Duration.minutes(5),
      environment,
    });

    const finishEnvironment: Record<string, string> = { ...environment, [EnvVar.TopicArn]: props.topic.topicArn };
    if (deploy.secrets.slackWebhook !== null) finishEnvironment[EnvVar.SlackWebhookSecretName] = deploy.secrets.slackWebhook;
    this.finishRun = this.#createFunction('FinishRun', {
      ...props,
      entry: 'lambdas/finish-run/handler.ts',
      description: `soak-runner ${envName}: record segment stops, finalize runs, write reports and notify`,
      // Finalizing merges every window of every segment in memory; Lambda's CPU share grows with memory.
      memorySize: 3008,
      timeout: Duration.minutes(15),
      // One invocation at a time, so the stop records and the finalize decision of a run
      // never race. Throttled events wait in Lambda's asynchronous queue.
      reservedConcurrentExecutions: 1,
      environment: finishEnvironment,
    });

    this.startRun.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1) });
    this.finishRun.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6) });

    const readable = [`${prefixes.runs}*`, `${prefixes.history}*`, prefixes.lock];
    props.results.grantStoreAccess(this.startRun, { read: readable, write: [`${prefixes.runs}*`, prefixes.lock], delete: [prefixes.lock] });
    props.results.grantStoreAccess(this.finishRun, { read: readable, write: [`${prefixes.runs}*`, `${prefixes.history}*`], delete: [prefixes.lock] });

    this.#grantRunTask(this.startRun, loadGenerator);
    for (const fn of [this.startRun, this.finishRun]) {
      this.#grantStopTasks(fn, loadGenerator);
      fn.addToRolePolicy(putMetricDataStatement());
    }
    props.topic.grantPublish(this.finishRun);
    if (deploy.secrets.slackWebhook !== null) {
      importSecret(this, 'SlackWebhook', deploy.secrets.slackWebhook).grantRead(this.finishRun);
    }

    this.#acknowledgeFindings(props);

    this.stoppedRule = new events.Rule(this, 'SegmentStopped', {
      description: `soak-runner ${envName}: a load-generator task of this cluster stopped`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [loadGenerator.cluster.clusterArn],
          lastStatus: ['STOPPED'],
          startedBy: events.Match.prefix(STARTED_BY_PREFIX),
        },
      },
    });
    this.stoppedRule.addTarget(new targets.LambdaFunction(this.finishRun, { retryAttempts: 8, maxEventAge: Duration.hours(6) }));

    // The sweep invokes finish-run with EventBridge's own event shape, whose
    // `detail-type: "Scheduled Event"` distinguishes it from a task event.
    this.sweepRule = new events.Rule(this, 'Sweep', {
      description: `soak-runner ${envName}: finalize runs past their deadline`,
      schedule: events.Schedule.rate(Duration.minutes(deploy.sweepEveryMinutes)),
    });
    this.sweepRule.addTarget(new targets.LambdaFunction(this.finishRun, { retryAttempts: 2, maxEventAge: Duration.minutes(30) }));
  }

  #acknowledgeFindings(props: RunLifecycleProps): void {
    const prefixes = storePrefixes(props.envName);
    for (const fn of [this.startRun, this.finishRun]) {
      const role = fn.role as iam.Role;
      acknowledgeWildcardResources(
        role,
        [props.results.bucket.arnForObjects(`${prefixes.runs}*`), props.results.bucket.arnForObjects(`${prefixes.history}*`)],
        'Run ids and scenario names are chosen at run time, so the keys of a run (runs/<env>/<runId>/...) and of its history summary (history/<env>/<scenario>/<runId>.json) are only known as a prefix. The prefixes are limited to this environment.',
      );
      acknowledgeWildcardResources(
        role,
        [this.#taskArnPattern(props.loadGenerator)],
        'Task ids are assigned by ECS at RunTask time; the ARN pattern covers only tasks of this environment\'s cluster, and the ecs:cluster condition repeats that limit.',
      );
      acknowledgeWildcardResources(
        role,
        ['*'],
        `Two statements name no resource: cloudwatch:PutMetricData, which supports no resource-level permissions and is limited to the ${METRICS_NAMESPACE} namespace by its condition, and ecs:ListTasks, which is limited to this cluster by the ecs:cluster condition.`,
      );
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions::AwsSolutions-L1',
        reason: `${LAMBDA_RUNTIME.name} is the newest Node.js runtime that aws-cdk-lib 2.278 lists as available in every region (its LATEST_NODE_RUNTIME region fact); nodejs26.x is in its runtime list but not yet in that fact.`,
      });
    }
    acknowledgeWildcardActions(
      this.finishRun.role as iam.Role,
      ['kms:GenerateDataKey*'],
      'Publishing to the KMS-encrypted alert topic needs kms:GenerateDataKey*, granted by topic.grantPublish on that one key only.',
    );
  }

  #createFunction(
    id: string,
    options: RunLifecycleProps & {
      entry: string;
      description: string;
      memorySize: number;
      timeout: Duration;
      reservedConcurrentExecutions?: number;
      environment: Record<string, string>;
    },
  ): nodejs.NodejsFunction {
    const entry = join(options.repoRoot, options.entry);
    if (!existsSync(entry)) {
      throw new Error(`Lambda entry ${options.entry} not found under ${options.repoRoot}. Create the handler there (it must export "handler") before running cdk synth.`);
    }
    checkEnvironmentSize(id, options.environment, options.configFile);

    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.deploy.logRetentionDays as logs.RetentionDays });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `soak-runner ${options.envName} ${options.entry}`,
    });
    // Write access to its own log group only, in place of the AWSLambdaBasicExecutionRole managed policy.
    logGroup.grantWrite(role);

    return new nodejs.NodejsFunction(this, id, {
      entry,
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: options.description,
      memorySize: options.memorySize,
      timeout: options.timeout,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      environment: options.environment,
      role,
      logGroup,
      projectRoot: options.repoRoot,
      depsLockFilePath: join(options.repoRoot, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies call require(); ESM output needs it defined.
        banner: "import { createRequire as soakCreateRequire } from 'node:module'; const require = soakCreateRequire(import.meta.url);",
        // Bundle the AWS SDK instead of using the runtime's copy, so the deployed code
        // runs the SDK version the tests ran (conditional writes need a recent one).
        bundleAwsSDK: true,
        sourceMap: true,
        minify: true,
        tsconfig: join(options.repoRoot, 'tsconfig.json'),
        // report.html inlines uPlot: copy its two files beside the bundle, where
        // loadReportAssets() looks when node_modules is not there (a local cp, no network).
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `cp "${inputDir}/node_modules/uplot/dist/uPlot.iife.min.js" "${inputDir}/node_modules/uplot/dist/uPlot.min.css" "${outputDir}/"`,
          ],
        },
      },
    });
  }

  #grantRunTask(fn: nodejs.NodejsFunction, loadGenerator: LoadGenerator): void {
    const { cluster, taskDefinition } = loadGenerator;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [taskDefinition.taskRole.roleArn, taskDefinition.obtainExecutionRole().roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    // RunTask with tags needs ecs:TagResource on the new task.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:TagResource'],
        resources: [this.#taskArnPattern(loadGenerator)],
        conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      }),
    );
  }

  #grantStopTasks(fn: nodejs.NodejsFunction, loadGenerator: LoadGenerator): void {
    const clusterCondition = { ArnEquals: { 'ecs:cluster': loadGenerator.cluster.clusterArn } };
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
        resources: [this.#taskArnPattern(loadGenerator)],
        conditions: clusterCondition,
      }),
    );
    // The Service Authorization Reference gives container-instance ARNs as the resource
    // of ListTasks, and a Fargate cluster has no container instances, so this statement
    // names no resource and is limited to the cluster by the ecs:cluster condition.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:ListTasks'], resources: ['*'], conditions: clusterCondition }));
  }

  #taskArnPattern(loadGenerator: LoadGenerator): string {
    return Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${loadGenerator.cluster.clusterName}/*` });
  }
}

/** Lists the scenarios that the load-generator image contains: folders of scenarios/ with a script.js. */
export function bundledScenarioNames(repoRoot: string): string[] {
  const folder = join(repoRoot, 'scenarios');
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(folder, entry.name, 'script.js')))
    .map((entry) => entry.name)
    .sort();
}

/** Fails synth when a Lambda's environment would exceed Lambda's 4 KB limit. */
function checkEnvironmentSize(functionId: string, environment: Record<string, string>, configFile: string): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(environment)) {
    bytes += Buffer.byteLength(name) + (Token.isUnresolved(value) ? DEPLOY_TIME_VALUE_BYTES : Buffer.byteLength(value));
  }
  if (bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;

  const configBytes = Buffer.byteLength(environment[EnvVar.EnvConfigJson] ?? '');
  const message =
    `The environment of the ${functionId} Lambda would take about ${bytes} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit. ` +
    `${EnvVar.EnvConfigJson}, the run configuration of ${configFile} without its deploy block, takes ${configBytes} bytes of it. ` +
    'Shorten the run configuration in that file: move threshold overrides into the scenario script and drop fields that repeat their defaults.';
  throw new ConfigError(message, configFile, [message]);
}
