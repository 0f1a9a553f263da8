/**
 * The load generators: an ECS cluster and the Fargate task definition whose container
 * runs `run-segment` (k6 plus the window aggregator) for one execution segment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, IgnoreMode, Size, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ampRemoteWriteUrl, enabledAmp, parseAmpWorkspaceArn, type AmpBlock, type DeployBlock } from '../core/deploy-config.js';
import { EnvVar } from '../core/env-vars.js';
import { METRICS_NAMESPACE } from '../core/metric-names.js';
import type { ResultsBucket } from './results-bucket.js';
import { storePrefixes } from './results-bucket.js';
import { acknowledgeWildcardResources } from './nag.js';
import {
  COLLECTOR_CONFIG_VARIABLE,
  COLLECTOR_CONTAINER_NAME,
  COLLECTOR_USER,
  collectorConfigContent,
  k6OtelContainerEnvironment,
  privateEcrRepositoryArn,
} from './otel-collector-config.js';

export const CONTAINER_NAME = 'k6-runner';

/** Open-file limit of the container, because each k6 VU keeps its own sockets open. */
export const NOFILE_LIMIT = 65536;

/**
 * Reads the image's exclude list from task/.dockerignore. The Docker build context is
 * the repository root (the bundle needs core/ and adapters/), and CDK stages only what
 * this list lets through, so the same file keeps node_modules and cdk.out out of the asset.
 */
export function readImageExcludes(repoRoot: string): string[] {
  return readFileSync(join(repoRoot, 'task', '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** Imports a secret by name or by full ARN. */
export function importSecret(scope: Construct, id: string, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
}

export interface LoadGeneratorProps {
  envName: string;
  deploy: DeployBlock;
  results: ResultsBucket;
  repoRoot: string;
}

export class LoadGenerator extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  /** The ADOT collector sidecar, present when `deploy.amp` is enabled. */
  readonly collector: ecs.ContainerDefinition | undefined;
  readonly securityGroupIds: string[];
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LoadGeneratorProps) {
    super(scope, id);
    const { deploy, envName } = props;
    const { network, task } = deploy;

    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: network.vpcId,
      availabilityZones: network.availabilityZones,
      privateSubnetIds: network.subnetIds,
      privateSubnetRouteTableIds: network.routeTableIds,
    });

    // Container Insights reports CPU and memory per task, which shows whether a load
    // generator, rather than the target, was the bottleneck of a run.
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    if (network.securityGroupIds.length > 0) {
      this.securityGroupIds = network.securityGroupIds;
    } else {
      const securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
        vpc,
        description: `soak-runner ${envName} load generators: outbound only`,
        allowAllOutbound: true,
      });
      this.securityGroupIds = [securityGroup.securityGroupId];
    }

    this.logGroup = new logs.LogGroup(this, 'TaskLogs', { retention: deploy.logRetentionDays as logs.RetentionDays });

    const arm = task.cpuArchitecture === 'ARM64';
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: `soak-runner-${envName}`,
      cpu: task.cpu,
      memoryLimitMiB: task.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: arm ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });

    const secrets: Record<string, ecs.Secret> = {};
    if (deploy.secrets.targetToken !== null) {
      secrets[EnvVar.TargetToken] = ecs.Secret.fromSecretsManager(importSecret(this, 'TargetToken', deploy.secrets.targetToken));
    }
    if (deploy.secrets.targetClientSecret !== null) {
      secrets[EnvVar.TargetClientSecret] = ecs.Secret.fromSecretsManager(importSecret(this, 'TargetClientSecret', deploy.secrets.targetClientSecret));
    }

    this.container = this.taskDefinition.addContainer(CONTAINER_NAME, {
      containerName: CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(props.repoRoot, {
        file: 'task/Dockerfile',
        exclude: readImageExcludes(props.repoRoot),
        ignoreMode: IgnoreMode.DOCKER,
        platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      }),
      essential: true,
      // uid and gid of the `node` user of the node:22 images; the Dockerfile switches to it too.
      user: '1000:1000',
      ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: NOFILE_LIMIT, hardLimit: NOFILE_LIMIT }],
      environment: {
        [EnvVar.Env]: envName,
        [EnvVar.Store]: `s3://${props.results.bucket.bucketName}`,
        [EnvVar.LogLevel]: deploy.logLevel,
        [EnvVar.MetricsNamespace]: METRICS_NAMESPACE,
        AWS_REGION: Stack.of(this).region,
      },
      secrets,
      // Fargate allows at most 120 s between SIGTERM and SIGKILL; run-segment uses it
      // to stop k6 and upload the windows it still holds.
      stopTimeout: Duration.seconds(120),
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'segment',
        // Non-blocking, so a CloudWatch Logs slowdown cannot stall the process that
        // reads k6's output; lines past the buffer are dropped instead.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });

    const amp = enabledAmp(deploy);
    this.collector = amp === undefined ? undefined : this.#addCollector(amp);

    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions::AwsSolutions-ECS2',
      reason:
        'The container environment holds only non-secret settings (environment name, bucket location, log level, metrics namespace, region). The target token and client secret come from Secrets Manager through container secrets.' +
        (amp === undefined
          ? ''
          : ' With deploy.amp, the k6-runner container also gets the loopback address and settings of the OpenTelemetry collector, and the collector gets its configuration, which contains the workspace URL and region but no credential, because the collector signs with the task role.'),
    });

    this.#grantTaskRole(props);
    this.#acknowledgeExecutionRole();
  }

  #grantTaskRole(props: LoadGeneratorProps): void {
    const prefixes = storePrefixes(props.envName);
    const taskRole = this.taskDefinition.taskRole;

    props.results.grantStoreAccess(taskRole, { read: [`${prefixes.runs}*`], write: [`${prefixes.runs}*`], tagOnWrite: true });
    taskRole.addToPrincipalPolicy(putMetricDataStatement());

    acknowledgeWildcardResources(
      taskRole,
      [props.results.bucket.arnForObjects(`${prefixes.runs}*`)],
      'A segment reads its run manifest and writes windows and its result under runs/<env>/<runId>/, and run ids are chosen at run time. The prefix is limited to this environment.',
    );
    acknowledgeWildcardResources(
      taskRole,
      ['*'],
      `cloudwatch:PutMetricData supports no resource-level permissions; the cloudwatch:namespace condition limits the statement to the ${METRICS_NAMESPACE} namespace.`,
    );
  }

  /**
   * Adds the ADOT collector sidecar, points k6's OpenTelemetry output at it and lets the
   * task role write to the workspace. The sidecar is not essential: when it stops, the
   * soak goes on without the AMP metrics.
   */
  #addCollector(amp: AmpBlock): ecs.ContainerDefinition {
    const workspace = parseAmpWorkspaceArn(amp.workspaceArn);
    if (workspace === undefined) throw new Error(`Invalid workspace ARN "${amp.workspaceArn}"; the deployment configuration should have rejected it.`);

    const collector = this.taskDefinition.addContainer(COLLECTOR_CONTAINER_NAME, {
      containerName: COLLECTOR_CONTAINER_NAME,
      image: ecs.ContainerImage.fromRegistry(amp.collectorImage),
      essential: false,
      user: COLLECTOR_USER,
      // This configuration writes nothing to disk: no file storage, no write-ahead log.
      readonlyRootFilesystem: true,
      cpu: 128,
      memoryReservationMiB: 128,
      environment: {
        [COLLECTOR_CONFIG_VARIABLE]: collectorConfigContent({ remoteWriteUrl: ampRemoteWriteUrl(amp), region: workspace.region }),
      },
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'otel-collector',
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(4),
      }),
    });

    // START, not HEALTHY: k6 exports cumulative values, so an export that fails while the
    // collector starts up loses nothing that the next export does not carry.
    this.container.addContainerDependencies({ container: collector, condition: ecs.ContainerDependencyCondition.START });
    for (const [name, value] of Object.entries(k6OtelContainerEnvironment(amp.exportIntervalS))) {
      this.container.addEnvironment(name, value);
    }

    this.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['aps:RemoteWrite'], resources: [amp.workspaceArn] }));

    const repositoryArn = privateEcrRepositoryArn(amp.collectorImage);
    if (repositoryArn !== undefined) {
      this.taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
          resources: [repositoryArn],
        }),
      );
    }
    return collector;
  }

  #acknowledgeExecutionRole(): void {
    const executionRole = this.taskDefinition.obtainExecutionRole();
    acknowledgeWildcardResources(
      executionRole,
      ['*'],
      'ecr:GetAuthorizationToken, which the execution role needs to pull the image from the CDK assets repository, supports no resource-level permissions.',
    );
  }
}

/** cloudwatch:PutMetricData limited to this project's namespace. */
export function putMetricDataStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
  });
}
