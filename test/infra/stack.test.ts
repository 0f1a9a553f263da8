import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ConfigError, EnvConfigSchema } from '../../core/config.js';
import { RunRequestSchema } from '../../core/schemas.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { exampleConfig, removeSynthOutputs, synthApp } from './synth.js';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown>; Effect: string };

const { app, stack } = synthApp('example');
const template = Template.fromStack(stack);

after(removeSynthOutputs);

function statementsWith(action: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement)
    .filter((statement) => [statement.Action].flat().includes(action));
}

function resourcesOf(statement: Statement): unknown[] {
  return [statement.Resource].flat();
}

function logicalIdOf(type: string): string {
  const ids = Object.keys(template.findResources(type));
  assert.equal(ids.length, 1, `expected one ${type}`);
  return ids[0] as string;
}

describe('results bucket', () => {
  test('encrypts with S3-managed keys', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: Match.anyValue(),
    });
  });

  test('blocks public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: Match.anyValue(),
    });
  });

  test('denies requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^ResultsBucket') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('expires tagged windows sooner than reports', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-windows', ExpirationInDays: 30, TagFilters: [{ Key: 'soak-retention', Value: 'windows' }] }),
          Match.objectLike({ Id: 'expire-runs', Prefix: 'runs/', ExpirationInDays: 400 }),
        ]),
      },
    });
  });

  test('synthesizes without access logging', () => {
    const config = exampleConfig();
    ((config.deploy as Record<string, unknown>).results as Record<string, unknown>).accessLogDays = null;
    const unlogged = synthApp('unlogged', config);
    unlogged.app.synth();
    Template.fromStack(unlogged.stack).resourceCountIs('AWS::S3::Bucket', 1);
  });

  test('logs access to a separate bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^ResultsAccessLogs') } },
    });
  });
});

describe('task definition', () => {
  test('runs as a non-root user', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { ContainerDefinitions: [Match.objectLike({ User: '1000:1000' })] });
  });

  test('raises the open-file limit', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Ulimits: [{ Name: 'nofile', SoftLimit: 65536, HardLimit: 65536 }] })],
    });
  });

  test('injects the target token from Secrets Manager', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ Secrets: [{ Name: 'SOAK_TARGET_TOKEN', ValueFrom: Match.stringLikeRegexp(':secret:soak/example/target-token$') }] }),
      ],
    });
  });

  test('keeps the token out of the environment', () => {
    const definition = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as {
      Properties: { ContainerDefinitions: { Environment: { Name: string }[] }[] };
    };
    const names = definition.Properties.ContainerDefinitions[0]?.Environment.map((variable) => variable.Name);
    assert.deepEqual(names, ['SOAK_ENV', 'SOAK_STORE', 'SOAK_LOG_LEVEL', 'SOAK_METRICS_NAMESPACE', 'AWS_REGION']);
  });

  test('uses the image asset built from task/Dockerfile', () => {
    const manifest = JSON.parse(readFileSync(join(app.outdir, `${stack.stackName}.assets.json`), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile?: string; platform?: string } }>;
    };
    const [hash, image] = Object.entries(manifest.dockerImages)[0] ?? [];
    assert.equal(image?.source.dockerFile, 'task/Dockerfile');
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Image: { 'Fn::Sub': Match.stringLikeRegexp(`container-assets.*:${hash}$`) } })],
    });
  });

  test('builds for the configured architecture', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' } });
  });

  test('sends logs through awslogs', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }) })],
    });
  });

  test('copies k6 1.3.0 from the official image', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'task', 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^COPY --from=grafana\/k6:1\.3\.0 \/usr\/bin\/k6 \/usr\/bin\/k6$/m);
  });

  test('image switches to a non-root user', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'task', 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^USER node$/m);
  });

  test('image turns off k6 usage reports', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'task', 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /K6_NO_USAGE_REPORT=true/);
  });
});

describe('nightly schedule', () => {
  test('reads the cron in the configured time zone', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 1 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
  });

  test('passes the scheduled time in the input', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ Input: Match.stringLikeRegexp('"scheduledTime":"<aws\\.scheduler\\.scheduled-time>"') }),
    });
  });

  test('input is a valid run request', () => {
    const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0] as { Properties: { Target: { Input: string } } };
    const input = schedule.Properties.Target.Input.replace('<aws.scheduler.scheduled-time>', '2026-12-05T00:00:00Z');
    const parsed = RunRequestSchema.safeParse(JSON.parse(input));
    assert.equal(parsed.success, true, parsed.error?.message);
  });

  test('is absent when the schedule is null', () => {
    const config = exampleConfig();
    (config.deploy as Record<string, unknown>).schedule = null;
    const unscheduled = Template.fromStack(synthApp('adhoc', config).stack);
    unscheduled.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });
});

describe('run lifecycle', () => {
  test('stopped rule matches only this cluster', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: { clusterArn: [{ 'Fn::GetAtt': [logicalIdOf('AWS::ECS::Cluster'), 'Arn'] }], lastStatus: ['STOPPED'], startedBy: [{ prefix: 'soak-' }] },
      },
    });
  });

  test('sweep runs on a rate schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  test('functions use the Node.js 24 runtime', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Runtime: string } }[];
    assert.deepEqual(
      functions.map((fn) => fn.Properties.Runtime),
      ['nodejs24.x', 'nodejs24.x'],
    );
  });

  test('finish-run has 3008 MB and one slot', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 3008,
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: Match.objectLike({ SOAK_TOPIC_ARN: Match.anyValue(), SOAK_SLACK_WEBHOOK_SECRET: 'soak/example/slack-webhook' }) },
    });
  });

  test('functions name their service', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
    assert.deepEqual(
      functions.map((fn) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME),
      ['soak-runner', 'soak-runner'],
    );
  });

  test('environment carries the task size', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SOAK_TASK_CPU: '1024', SOAK_TASK_MEMORY_MIB: '2048' }) },
    });
  });

  test('environment lists the bundled scenarios', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ SOAK_BUNDLED_SCENARIOS: 'sigil' }) } });
  });

  test('environment carries a valid run configuration', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    const json = functions[0]?.Properties.Environment.Variables.SOAK_ENV_CONFIG_JSON ?? '';
    const parsed = EnvConfigSchema.safeParse(JSON.parse(json));
    assert.equal(parsed.success, true, parsed.error?.message);
  });

  test('function logs expire', () => {
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 3);
  });
});

describe('IAM', () => {
  test('RunTask names the task definition', () => {
    const statements = statementsWith('ecs:RunTask');
    assert.deepEqual(statements.map(resourcesOf), [[{ Ref: logicalIdOf('AWS::ECS::TaskDefinition') }]]);
  });

  test('RunTask is conditioned on the cluster', () => {
    const [statement] = statementsWith('ecs:RunTask');
    assert.deepEqual(statement?.Condition, { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [logicalIdOf('AWS::ECS::Cluster'), 'Arn'] } } });
  });

  test('PassRole names the task roles only', () => {
    const statements = statementsWith('iam:PassRole');
    assert.equal(statements.length, 1);
    const resources = resourcesOf(statements[0] as Statement);
    assert.equal(resources.length, 2);
    assert.ok(resources.every((resource) => JSON.stringify(resource).includes('LoadGeneratorTaskDefinition')), JSON.stringify(resources));
  });

  test('PassRole is limited to ECS tasks', () => {
    const [statement] = statementsWith('iam:PassRole');
    assert.deepEqual(statement?.Condition, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
  });

  test('StopTask is conditioned on the cluster', () => {
    const statements = statementsWith('ecs:StopTask');
    assert.equal(statements.length, 2);
    for (const statement of statements) {
      assert.deepEqual(statement.Condition, { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [logicalIdOf('AWS::ECS::Cluster'), 'Arn'] } } });
    }
  });

  test('no S3 statement names every resource', () => {
    const s3Statements = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'].flatMap(statementsWith);
    assert.ok(s3Statements.length > 0);
    for (const statement of s3Statements) {
      assert.ok(resourcesOf(statement).every((resource) => JSON.stringify(resource).includes('ResultsBucket')), JSON.stringify(statement));
    }
  });

  test('secrets are readable only by name', () => {
    const resources = statementsWith('secretsmanager:GetSecretValue').flatMap(resourcesOf);
    assert.deepEqual(resources.sort(), [
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:soak/example/slack-webhook-??????',
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:soak/example/target-token-??????',
    ]);
  });

  test('PutMetricData is limited to the namespace', () => {
    const statements = statementsWith('cloudwatch:PutMetricData');
    assert.equal(statements.length, 3);
    for (const statement of statements) {
      assert.deepEqual(statement.Condition, { StringEquals: { 'cloudwatch:namespace': 'SoakRunner' } });
    }
  });
});

describe('monitoring', () => {
  test('no-report alarm treats missing data as breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ScheduledRunsFinalized',
      TreatMissingData: 'breaching',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      ComparisonOperator: 'LessThanThreshold',
    });
  });

  test('verdict alarm watches non-PASS runs', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunsNotPassed', Namespace: 'SoakRunner', Dimensions: [{ Name: 'Env', Value: 'example' }] });
  });

  test('each function has an error alarm', () => {
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors' }, 2);
  });

  test('topic is encrypted', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  test('topic has the e-mail subscription', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'soak-alerts@example.com' });
  });

  test('dashboard exists', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('cdk-nag', () => {
  type PluginReport = {
    pluginName: string;
    violations: { ruleName: string }[];
    suppressedViolations: { ruleName: string; reason: string }[];
  };
  const awsSolutionsReport = (): PluginReport | undefined => {
    app.synth();
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: PluginReport[] };
    return report.pluginReports.find((plugin) => plugin.pluginName === 'AwsSolutions');
  };

  test('reports no unacknowledged finding', () => {
    assert.deepEqual(awsSolutionsReport()?.violations, []);
  });

  test('every acknowledgement has a reason', () => {
    const suppressed = awsSolutionsReport()?.suppressedViolations ?? [];
    assert.ok(suppressed.length > 0);
    assert.deepEqual(
      suppressed.filter((finding) => finding.reason.trim().length < 40).map((finding) => finding.ruleName),
      [],
    );
  });

  test('annotations hold no AwsSolutions error', () => {
    assert.deepEqual(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), []);
  });
});

describe('deploy configuration', () => {
  test('invalid memory names the field', () => {
    const config = exampleConfig();
    ((config.deploy as Record<string, unknown>).task as Record<string, unknown>).memoryMiB = 3000;
    assert.throws(() => synthApp('bad', config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /deploy\.task\.memoryMiB: .*2048, 3072.*\(got 3000\)/);
      return true;
    });
  });

  test('unbundled nightly scenario fails synth', () => {
    const config = exampleConfig();
    ((config.deploy as Record<string, unknown>).schedule as Record<string, unknown>).scenario = 'checkout';
    assert.throws(() => synthApp('unbundled', config), /deploy\.schedule\.scenario is "checkout".*Use one of sigil/);
  });

  test('oversized run configuration fails synth', () => {
    const config = exampleConfig();
    config.thresholds = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`http_req_duration{name:endpoint${i}}`, ['p(99)<1500']]));
    assert.throws(() => synthApp('oversized', config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /over Lambda's 4096-byte limit.*SOAK_ENV_CONFIG_JSON/);
      return true;
    });
  });

  test('missing -c env lists the files', () => {
    const env = { ...process.env };
    delete env.CDK_CONTEXT_JSON;
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/cdk.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /Missing environment: pass -c env=NAME.*Files in config\/deploy: .*example\.json/s);
  });
});

describe('live alarms', () => {
  test('live p99 alarm reads the distribution metric every minute', () => {

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'LiveLatencyMs',
      ExtendedStatistic: 'p99',
      Period: 60,
      EvaluationPeriods: 3,
    });
  });

  test('live error rate alarm divides failed by all requests', () => {

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed / IF(requests > 0, requests, 1)' })]),
      EvaluationPeriods: 3,
    });
  });
});
