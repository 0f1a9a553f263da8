import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { ConfigError } from '../../core/config.js';
import { ampRemoteWriteUrl, DEFAULT_COLLECTOR_IMAGE, parseDeployConfig } from '../../core/deploy-config.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { exampleConfig, removeSynthOutputs, synthApp } from './synth.js';

type Mutable = Record<string, any>;
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
type Variable = { Name: string; Value: unknown };
type ContainerDefinition = {
  Name: string;
  Essential?: boolean;
  User?: string;
  Image: unknown;
  PortMappings?: unknown[];
  DependsOn?: { ContainerName: string; Condition: string }[];
  Environment?: Variable[];
  LogConfiguration?: { LogDriver: string };
  ReadonlyRootFilesystem?: boolean;
  Cpu?: number;
  Memory?: number;
  MemoryReservation?: number;
};

const WORKSPACE_ARN = 'arn:aws:aps:eu-west-1:111111111111:workspace/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
const REMOTE_WRITE_URL = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9/api/v1/remote_write';

after(removeSynthOutputs);

const disabled = synthApp('example');
const enabled = synthApp('example-amp');
const disabledTemplate = Template.fromStack(disabled.stack);
const enabledTemplate = Template.fromStack(enabled.stack);

/** Returns the example configuration with `amp` as its `deploy.amp` block. */
function configWithAmp(amp: Mutable): Mutable {
  const config = exampleConfig() as Mutable;
  config.deploy.amp = amp;
  return config;
}

function containers(template: Template): ContainerDefinition[] {
  const definitions = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as { Properties: { ContainerDefinitions: ContainerDefinition[] } }[];
  assert.equal(definitions.length, 1);
  return definitions[0]?.Properties.ContainerDefinitions ?? [];
}

function container(template: Template, name: string): ContainerDefinition {
  const found = containers(template).find((definition) => definition.Name === name);
  assert.ok(found, `no container named ${name}`);
  return found;
}

function environmentOf(definition: ContainerDefinition): Record<string, unknown> {
  return Object.fromEntries((definition.Environment ?? []).map((variable) => [variable.Name, variable.Value]));
}

function collectorConfigOf(template: Template): Mutable {
  const content = environmentOf(container(template, 'otel-collector')).AOT_CONFIG_CONTENT;
  assert.equal(typeof content, 'string');
  return JSON.parse(content as string) as Mutable;
}

function statements(template: Template): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
}

function statementsWith(template: Template, action: string): Statement[] {
  return statements(template).filter((statement) => [statement.Action].flat().includes(action));
}

function apsActions(template: Template): string[] {
  return statements(template)
    .flatMap((statement) => [statement.Action].flat())
    .filter((action) => action.startsWith('aps:'));
}

describe('collector sidecar', () => {
  test('absent when amp is not configured', () => {
    assert.deepEqual(
      containers(disabledTemplate).map((definition) => definition.Name),
      ['k6-runner'],
    );
  });

  test('absent when amp is disabled', () => {
    const config = configWithAmp({ enabled: false, workspaceArn: WORKSPACE_ARN });
    const template = Template.fromStack(synthApp('amp-off', config).stack);
    assert.deepEqual(
      containers(template).map((definition) => definition.Name),
      ['k6-runner'],
    );
    assert.deepEqual(apsActions(template), []);
  });

  test('present when amp is enabled', () => {
    assert.deepEqual(
      containers(enabledTemplate).map((definition) => definition.Name),
      ['k6-runner', 'otel-collector'],
    );
  });

  test('is not essential', () => {
    assert.equal(container(enabledTemplate, 'otel-collector').Essential, false);
  });

  test('runs as the image non-root user', () => {
    assert.equal(container(enabledTemplate, 'otel-collector').User, '4317:4317');
  });

  test('uses the pinned default image', () => {
    assert.equal(container(enabledTemplate, 'otel-collector').Image, DEFAULT_COLLECTOR_IMAGE);
    assert.match(DEFAULT_COLLECTOR_IMAGE, /:v0\.\d+\.\d+$/);
  });

  test('publishes no port', () => {
    assert.equal(container(enabledTemplate, 'otel-collector').PortMappings, undefined);
  });

  test('logs through awslogs', () => {
    assert.equal(container(enabledTemplate, 'otel-collector').LogConfiguration?.LogDriver, 'awslogs');
  });

  test('reserves a small share of the task', () => {
    const collector = container(enabledTemplate, 'otel-collector');
    assert.equal(collector.Cpu, 128);
    assert.equal(collector.MemoryReservation, 128);
    assert.equal(collector.Memory, undefined);
  });

  test('has a read-only root file system', () => {
    assert.equal(container(enabledTemplate, 'otel-collector').ReadonlyRootFilesystem, true);
  });

  test('k6 container waits for its start', () => {
    assert.deepEqual(container(enabledTemplate, 'k6-runner').DependsOn, [{ ContainerName: 'otel-collector', Condition: 'START' }]);
    assert.equal(container(disabledTemplate, 'k6-runner').DependsOn, undefined);
  });
});

describe('collector configuration', () => {
  test('receives OTLP gRPC on loopback only', () => {
    const config = collectorConfigOf(enabledTemplate);
    assert.deepEqual(config.receivers, { otlp: { protocols: { grpc: { endpoint: '127.0.0.1:4317' } } } });
  });

  test('writes to the workspace URL', () => {
    const config = collectorConfigOf(enabledTemplate);
    assert.equal(config.exporters.prometheusremotewrite.endpoint, REMOTE_WRITE_URL);
  });

  test('signs with sigv4 for aps in the workspace region', () => {
    const config = collectorConfigOf(enabledTemplate);
    assert.deepEqual(config.extensions.sigv4auth, { region: 'eu-west-1', service: 'aps' });
    assert.deepEqual(config.exporters.prometheusremotewrite.auth, { authenticator: 'sigv4auth' });
    assert.deepEqual(config.service.extensions, ['sigv4auth']);
  });

  test('turns resource attributes into labels', () => {
    const exporter = collectorConfigOf(enabledTemplate).exporters.prometheusremotewrite;
    assert.deepEqual(exporter.resource_to_telemetry_conversion, { enabled: true, exclude_service_attributes: true });
    assert.equal(exporter.translation_strategy, 'UnderscoreEscapingWithoutSuffixes');
  });

  test('pipeline uses every configured processor', () => {
    const config = collectorConfigOf(enabledTemplate);
    const pipeline = config.service.pipelines.metrics;
    assert.deepEqual(pipeline.receivers, ['otlp']);
    assert.deepEqual(pipeline.exporters, ['prometheusremotewrite']);
    assert.deepEqual([...pipeline.processors].sort(), Object.keys(config.processors).sort());
    assert.equal(pipeline.processors[0], 'memory_limiter');
  });

  test('follows a workspace in another region', () => {
    const arn = 'arn:aws:aps:us-east-1:111111111111:workspace/ws-11111111-2222-3333-4444-555555555555';
    const template = Template.fromStack(synthApp('amp-us', configWithAmp({ workspaceArn: arn })).stack);
    const config = collectorConfigOf(template);
    assert.equal(config.extensions.sigv4auth.region, 'us-east-1');
    assert.equal(
      config.exporters.prometheusremotewrite.endpoint,
      'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-11111111-2222-3333-4444-555555555555/api/v1/remote_write',
    );
  });

  test('keeps a configured remote write URL', () => {
    const url = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9/api/v1/remote_write';
    const { config } = parseDeployConfig(configWithAmp({ workspaceArn: WORKSPACE_ARN, remoteWriteUrl: url }), 'config/deploy/test.json');
    assert.ok(config.deploy.amp);
    assert.equal(ampRemoteWriteUrl(config.deploy.amp), url);
  });
});

describe('k6 container environment', () => {
  test('requests the OpenTelemetry output on loopback', () => {
    const environment = environmentOf(container(enabledTemplate, 'k6-runner'));
    assert.equal(environment.SOAK_K6_OTEL, 'grpc');
    assert.equal(environment.K6_OTEL_GRPC_EXPORTER_ENDPOINT, '127.0.0.1:4317');
    assert.equal(environment.K6_OTEL_GRPC_EXPORTER_INSECURE, 'true');
    assert.equal(environment.K6_OTEL_SERVICE_NAME, 'soak-runner');
    assert.equal(environment.K6_OTEL_EXPORT_INTERVAL, '10s');
  });

  test('has no OpenTelemetry variable when disabled', () => {
    const names = Object.keys(environmentOf(container(disabledTemplate, 'k6-runner')));
    assert.deepEqual(
      names.filter((name) => name === 'SOAK_K6_OTEL' || name.startsWith('K6_OTEL_')),
      [],
    );
  });

  test('carries the configured export interval', () => {
    const template = Template.fromStack(synthApp('amp-slow', configWithAmp({ workspaceArn: WORKSPACE_ARN, exportIntervalS: 30 })).stack);
    assert.equal(environmentOf(container(template, 'k6-runner')).K6_OTEL_EXPORT_INTERVAL, '30s');
  });
});

describe('AMP permissions', () => {
  test('RemoteWrite names the workspace ARN only', () => {
    const found = statementsWith(enabledTemplate, 'aps:RemoteWrite');
    assert.equal(found.length, 1);
    assert.deepEqual([found[0]?.Resource].flat(), [WORKSPACE_ARN]);
    assert.equal(found[0]?.Effect, 'Allow');
  });

  test('grants no other aps action', () => {
    assert.deepEqual(apsActions(enabledTemplate), ['aps:RemoteWrite']);
  });

  test('no aps statement has a wildcard', () => {
    for (const statement of statements(enabledTemplate).filter((item) => [item.Action].flat().some((action) => action.startsWith('aps:')))) {
      assert.ok(!JSON.stringify(statement).includes('*'), JSON.stringify(statement));
    }
  });

  test('absent when disabled', () => {
    assert.deepEqual(apsActions(disabledTemplate), []);
  });

  test('private ECR image gets pull rights on its repository', () => {
    const image = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/mirror/aws-otel-collector:v0.49.0';
    const template = Template.fromStack(synthApp('amp-ecr', configWithAmp({ workspaceArn: WORKSPACE_ARN, collectorImage: image })).stack);
    const resources = statementsWith(template, 'ecr:BatchGetImage').flatMap((statement) => [statement.Resource].flat());
    assert.ok(resources.includes('arn:aws:ecr:eu-west-1:111111111111:repository/mirror/aws-otel-collector'), JSON.stringify(resources));
  });

  test('public image gets no extra pull rights', () => {
    const resources = statementsWith(enabledTemplate, 'ecr:BatchGetImage').flatMap((statement) => [statement.Resource].flat());
    assert.ok(resources.every((resource) => JSON.stringify(resource).includes('container-assets')), JSON.stringify(resources));
  });
});

describe('cdk-nag with amp', () => {
  type PluginReport = {
    pluginName: string;
    violations: { ruleName: string }[];
    suppressedViolations: { ruleName: string; reason: string }[];
  };

  const awsSolutionsReport = (): PluginReport | undefined => {
    enabled.app.synth();
    const report = JSON.parse(readFileSync(join(enabled.app.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: PluginReport[] };
    return report.pluginReports.find((plugin) => plugin.pluginName === 'AwsSolutions');
  };

  test('reports no unacknowledged finding', () => {
    assert.deepEqual(awsSolutionsReport()?.violations, []);
  });

  test('ECS2 reason covers the collector', () => {
    const ecs2 = awsSolutionsReport()?.suppressedViolations.filter((finding) => finding.ruleName === 'AwsSolutions-ECS2') ?? [];
    assert.ok(ecs2.length > 0);
    for (const finding of ecs2) assert.match(finding.reason, /collector gets its configuration/);
  });
});

describe('amp configuration', () => {
  /** Returns the issues of the example configuration with `amp`, or [] when it is valid. */
  function issuesWith(amp: Mutable): string[] {
    try {
      parseDeployConfig(configWithAmp(amp), 'config/deploy/test.json');
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.issues;
    }
  }

  test('defaults to disabled', () => {
    const { config } = parseDeployConfig(exampleConfig(), 'config/deploy/example.json');
    assert.equal(config.deploy.amp, null);
  });

  test('fills in image and interval', () => {
    const { config } = parseDeployConfig(configWithAmp({ workspaceArn: WORKSPACE_ARN }), 'config/deploy/test.json');
    assert.equal(config.deploy.amp?.collectorImage, DEFAULT_COLLECTOR_IMAGE);
    assert.equal(config.deploy.amp?.exportIntervalS, 10);
    assert.equal(config.deploy.amp?.enabled, true);
  });

  test('rejects a bad ARN naming the field', () => {
    const issues = issuesWith({ workspaceArn: 'arn:aws:aps:eu-west-1:111111111111:ws-1234' });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.workspaceArn: use the ARN of an Amazon Managed Service for Prometheus workspace.*\(got "arn:aws:aps:eu-west-1:111111111111:ws-1234"\)$/);
  });

  test('message names the file and the fix', () => {
    assert.throws(
      () => parseDeployConfig(configWithAmp({ workspaceArn: 'ws-1234' }), 'config/deploy/test.json'),
      /^ConfigError: Invalid deployment configuration in config\/deploy\/test\.json:\n {2}deploy\.amp\.workspaceArn: .*\(got "ws-1234"\)\nFix the fields above/,
    );
  });

  test('rejects a workspace of another account', () => {
    const issues = issuesWith({ workspaceArn: 'arn:aws:aps:eu-west-1:222222222222:workspace/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9' });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.workspaceArn: the workspace must be in deploy\.account \(111111111111\)/);
  });

  test('rejects a workspace of another partition', () => {
    const issues = issuesWith({ workspaceArn: 'arn:aws-cn:aps:cn-north-1:111111111111:workspace/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9' });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.workspaceArn: the ARN is in partition aws-cn, but deploy\.region eu-west-1 is in aws/);
  });

  test('rejects a URL of another workspace', () => {
    const issues = issuesWith({
      workspaceArn: WORKSPACE_ARN,
      remoteWriteUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-99999999-9999-9999-9999-999999999999/api/v1/remote_write',
    });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.remoteWriteUrl: the path must be \/workspaces\/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9\/api\/v1\/remote_write/);
  });

  test('rejects a plain HTTP URL', () => {
    const issues = issuesWith({ workspaceArn: WORKSPACE_ARN, remoteWriteUrl: REMOTE_WRITE_URL.replace('https:', 'http:') });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.remoteWriteUrl: /);
  });

  test('rejects an image without a tag', () => {
    const issues = issuesWith({ workspaceArn: WORKSPACE_ARN, collectorImage: 'public.ecr.aws/aws-observability/aws-otel-collector' });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.collectorImage: pin the image with a tag or digest/);
  });

  test('rejects the latest tag', () => {
    const issues = issuesWith({ workspaceArn: WORKSPACE_ARN, collectorImage: 'public.ecr.aws/aws-observability/aws-otel-collector:latest' });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.collectorImage: the "latest" tag changes/);
  });

  test('accepts a digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(issuesWith({ workspaceArn: WORKSPACE_ARN, collectorImage: `public.ecr.aws/aws-observability/aws-otel-collector@${digest}` }), []);
  });

  test('rejects a zero export interval', () => {
    const issues = issuesWith({ workspaceArn: WORKSPACE_ARN, exportIntervalS: 0 });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^deploy\.amp\.exportIntervalS: .*\(got 0\)$/);
  });

  test('rejects an unknown field', () => {
    const issues = issuesWith({ workspaceArn: WORKSPACE_ARN, workspaceId: 'ws-1' });
    assert.match(issues[0] ?? '', /^deploy\.amp\.workspaceId: unknown field; the fields here are .*workspaceArn.* \(got "ws-1"\)$/);
  });

  test('skips checks of a disabled block', () => {
    assert.deepEqual(issuesWith({ enabled: false, workspaceArn: 'arn:aws:aps:eu-west-1:222222222222:workspace/ws-1' }), []);
  });

  test('derives a China remote write URL', () => {
    const config = configWithAmp({ workspaceArn: 'arn:aws-cn:aps:cn-north-1:111111111111:workspace/ws-1' });
    Object.assign(config.deploy, { region: 'cn-north-1' });
    const { config: parsed } = parseDeployConfig(config, 'config/deploy/test.json');
    assert.ok(parsed.deploy.amp);
    assert.equal(ampRemoteWriteUrl(parsed.deploy.amp), 'https://aps-workspaces.cn-north-1.amazonaws.com.cn/workspaces/ws-1/api/v1/remote_write');
  });
});

describe('Grafana dashboard', () => {
  type Target = { expr: string; datasource: { uid: string } };
  type Dashboard = {
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: { title: string; datasource: { uid: string }; targets: Target[] }[];
  };
  const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'grafana', 'soak-runner-amp.json'), 'utf8')) as Dashboard;
  const targets = dashboard.panels.flatMap((panel) => panel.targets);

  test('has datasource, env and run id variables', () => {
    assert.deepEqual(
      dashboard.templating.list.map((variable) => [variable.name, variable.type]),
      [
        ['datasource', 'datasource'],
        ['env', 'query'],
        ['run_id', 'query'],
      ],
    );
    assert.equal(dashboard.templating.list[0]?.query, 'prometheus');
  });

  test('every query uses the datasource variable', () => {
    assert.ok(targets.length >= 5);
    for (const panel of dashboard.panels) assert.equal(panel.datasource.uid, '${datasource}', panel.title);
    for (const target of targets) assert.equal(target.datasource.uid, '${datasource}', target.expr);
  });

  test('every query filters on env, run id and job', () => {
    for (const target of targets) {
      assert.match(target.expr, /soak_env="\$env"/);
      assert.match(target.expr, /soak_run_id=~"\$run_id"/);
      assert.match(target.expr, /job="soak-runner"/);
    }
  });

  test('queries the exported k6 metric names', () => {
    const expressions = targets.map((target) => target.expr).join('\n');
    for (const name of ['http_reqs{', 'http_req_failed_occurred{', 'http_req_failed_total{', 'http_req_duration_bucket{', 'vus{', 'dropped_iterations{']) {
      assert.ok(expressions.includes(name), name);
    }
  });

  test('latency panel shows p95 and p99', () => {
    const expressions = targets.map((target) => target.expr);
    assert.ok(expressions.some((expr) => expr.startsWith('histogram_quantile(0.95,')));
    assert.ok(expressions.some((expr) => expr.startsWith('histogram_quantile(0.99,')));
  });
});
