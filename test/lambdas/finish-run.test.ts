/**
 * The finish-run Lambda handler end to end, with every AWS client mocked and a Slack
 * stand-in on 127.0.0.1. S3 is an in-memory bucket, and the test sets the responses of
 * ECS, CloudWatch, SNS and Secrets Manager. The handler reads its configuration and the webhook
 * secret once per module instance, so every test shares one environment and one server.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ECSClient, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { startedByForRun } from '../../adapters/aws/ecs-launcher.js';
import { S3ResultStore } from '../../adapters/aws/s3-result-store.js';
import { parseEnvConfig } from '../../core/config.js';
import { acquireLock } from '../../core/lock.js';
import { buildManifest } from '../../core/plan.js';
import { keys } from '../../core/ports.js';
import type { RunManifest } from '../../core/schemas.js';
import { handler, segmentStopFromEvent } from '../../lambdas/finish-run/handler.js';
import { StderrCapture } from '../support/capture-stderr.js';
import { MemoryBucket } from '../support/memory-s3.js';
import { writeSegmentData } from '../support/run-data.js';

const BUCKET = 'soak-results-staging';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:111111111111:soak-staging-alerts';
const SECRET_NAME = 'soak/staging/slack-webhook';
const WEBHOOK_TOKEN = 'x9Q4soakWebhookToken7Kp2';
const WEBHOOK_PATH = `/services/T0SOAKTEST/B0SOAKTEST/${WEBHOOK_TOKEN}`;
const REPORT_BASE_URL = 'https://soak-reports.staging.example.com';
const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';

const runConfigInput = {
  defaults: { target: 'https://api.staging.example.com', scenario: 'sigil', rate: 4, durationS: 60, segments: 2 },
  targetAllowlist: ['api.staging.example.com'],
  notify: { mode: 'always', reportBaseUrl: REPORT_BASE_URL },
};

Object.assign(process.env, {
  SOAK_ENV: 'staging',
  SOAK_STORE: `s3://${BUCKET}`,
  SOAK_ENV_CONFIG_JSON: JSON.stringify(runConfigInput),
  SOAK_CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:111111111111:cluster/soak-staging',
  SOAK_TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:111111111111:task-definition/soak-runner-staging:7',
  SOAK_CONTAINER_NAME: 'k6-runner',
  SOAK_SUBNETS: 'subnet-0a1b2c3d4e5f60718',
  SOAK_SECURITY_GROUPS: 'sg-0a1b2c3d4e5f60718',
  SOAK_TOPIC_ARN: TOPIC_ARN,
  SOAK_SLACK_WEBHOOK_SECRET: SECRET_NAME,
  SOAK_METRICS_NAMESPACE: 'SoakRunner',
  SOAK_LOG_LEVEL: 'info',
});

const fixture = JSON.parse(readFileSync(new URL('../fixtures/ecs/task-stopped-oom.json', import.meta.url), 'utf8'));

/** EventBridge's event for the periodic sweep rule. */
const sweepEvent = {
  version: '0',
  id: '8d3a1f0e-2c4b-4e7a-9f61-5b0d2e8c7a34',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '111111111111',
  time: '2026-12-05T05:20:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:111111111111:rule/SoakRunner-staging-RunLifecycleSweep4C1B0E2D-1A2B3C4D5E6F'],
  detail: {},
};

let runCount = 0;

/** Returns a new ad-hoc run id per test, so log lines of earlier tests never match. */
function nextRunId(): string {
  runCount += 1;
  return `run-20261205T100000Z-${String(runCount).padStart(6, '0')}`;
}

function taskArn(runId: string, segment: number): string {
  return `arn:aws:ecs:eu-west-1:111111111111:task/soak-staging/${Buffer.from(`${runId}-${segment}`).toString('hex').slice(-32)}`;
}

interface StopFacts {
  exitCode?: number;
  containerReason?: string;
  stopCode?: string;
  stoppedReason?: string;
  lastStatus?: string;
}

/** The fixture event, re-aimed at one segment of one run; by default a clean exit. */
function taskEvent(runId: string, segment: number, facts: StopFacts = {}): Record<string, any> {
  const event = structuredClone(fixture);
  const arn = taskArn(runId, segment);
  event.resources = [arn];
  event.detail.taskArn = arn;
  event.detail.startedBy = startedByForRun(runId);
  event.detail.lastStatus = facts.lastStatus ?? 'STOPPED';
  event.detail.stopCode = facts.stopCode ?? 'EssentialContainerExited';
  event.detail.stoppedReason = facts.stoppedReason ?? 'Essential container in task exited';
  event.detail.overrides.containerOverrides[0].environment = [
    { name: 'SOAK_RUN_ID', value: runId },
    { name: 'SOAK_ENV', value: 'staging' },
    { name: 'SOAK_SEGMENT', value: String(segment) },
  ];
  const container = event.detail.containers[0];
  container.taskArn = arn;
  container.exitCode = facts.exitCode ?? 0;
  if (facts.containerReason === undefined) delete container.reason;
  else container.reason = facts.containerReason;
  return event;
}

type Reply = (request: IncomingMessage, response: ServerResponse) => void;

/** Slack's incoming webhook on 127.0.0.1: scripted replies, then 200 "ok". */
class SlackStandIn {
  readonly bodies: string[] = [];
  readonly arrivalsMs: number[] = [];
  replies: Reply[] = [];
  readonly #server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.bodies.push(Buffer.concat(chunks).toString('utf8'));
      this.arrivalsMs.push(Date.now());
      const reply = this.replies.shift() ?? ((_request: IncomingMessage, ok: ServerResponse) => ok.writeHead(200).end('ok'));
      reply(request, response);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${WEBHOOK_PATH}`;
  }

  clear(): void {
    this.bodies.length = 0;
    this.arrivalsMs.length = 0;
    this.replies = [];
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('finish-run handler', () => {
  const slack = new SlackStandIn();
  const stderr = new StderrCapture();
  let webhookUrl = '';
  let s3: AwsClientStub<S3Client>;
  let ecs: AwsClientStub<ECSClient>;
  let cloudwatch: AwsClientStub<CloudWatchClient>;
  let sns: AwsClientStub<SNSClient>;
  let secrets: AwsClientStub<SecretsManagerClient>;
  let bucket: MemoryBucket;
  /** Writes through the same mocked S3 client type the handler uses. */
  const store = new S3ResultStore(new S3Client({ region: 'eu-west-1' }), { bucket: BUCKET });
  const config = parseEnvConfig(runConfigInput, null);

  /**
   * Stores a started run the way start-run leaves it (lock, manifest with its tasks),
   * created `ageMs` ago, with a full minute of windows and a result for `completed` segments.
   */
  async function seedRun(runId: string, options: { ageMs: number; completed: number[]; labels?: Record<string, string> }): Promise<RunManifest> {
    const createdMs = Date.now() - options.ageMs;
    const planned = buildManifest({
      runId,
      request: { schemaVersion: 1, env: 'staging', target: 'https://api.staging.example.com', scenario: 'sigil', rate: 4, durationS: 60, segments: 2, thresholds: {}, labels: options.labels ?? {}, dryRun: false },
      config,
      scenario: { name: 'sigil', path: 'sigil', hash: null, bundled: true, thresholds: {} },
      nowMs: createdMs,
    });
    const manifest: RunManifest = {
      ...planned,
      state: 'running',
      launched: planned.segments.map((segment) => ({ segment: segment.index, taskId: taskArn(runId, segment.index), launchedAtMs: createdMs })),
    };
    await acquireLock(store, 'staging', runId, manifest.deadlineMs, createdMs);
    await store.put(keys.manifest('staging', runId), JSON.stringify(manifest, null, 2));
    for (const segment of options.completed) await writeSegmentData(store, manifest, segment, { startMs: createdMs + 60_000 });
    return manifest;
  }

  function logRecords(message: string, runId: string): Array<Record<string, unknown>> {
    return stderr.records.filter((record) => record.msg === message && record.runId === runId);
  }

  before(async () => {
    webhookUrl = await slack.start();
    s3 = mockClient(S3Client);
    ecs = mockClient(ECSClient);
    cloudwatch = mockClient(CloudWatchClient);
    sns = mockClient(SNSClient);
    secrets = mockClient(SecretsManagerClient);
    stderr.start();
  });
  beforeEach(() => {
    for (const stub of [s3, ecs, cloudwatch, sns, secrets]) stub.reset();
    bucket = new MemoryBucket(BUCKET, 3);
    bucket.install(s3);
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(StopTaskCommand).resolves({});
    cloudwatch.on(PutMetricDataCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: '5e1d9c4a-8b2f-4a7e-9c03-6f1e2d7b8a90' });
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).resolves({ Name: SECRET_NAME, SecretString: webhookUrl });
    slack.clear();
  });
  after(async () => {
    stderr.stop();
    for (const stub of [s3, ecs, cloudwatch, sns, secrets]) stub.restore();
    await slack.stop();
  });

  test('fixture event is recorded for its segment', async () => {
    await seedRun('nightly-20261205T000000Z', { ageMs: 10 * 60_000, completed: [0] });
    const response = await handler(fixture);
    assert.deepEqual(response, { status: 'recorded', runId: 'nightly-20261205T000000Z' });
  });

  test('OOM stop keeps the ECS facts', async () => {
    await seedRun('nightly-20261205T000000Z', { ageMs: 10 * 60_000, completed: [0] });
    await handler(fixture);
    assert.deepEqual(bucket.json(keys.segmentStop('staging', 'nightly-20261205T000000Z', 1)), {
      env: 'staging',
      runId: 'nightly-20261205T000000Z',
      segment: 1,
      taskId: fixture.detail.taskArn,
      exitCode: 137,
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containerReason: OOM_REASON,
      stoppedAtMs: Date.parse('2026-12-05T02:41:04.815Z'),
    });
  });

  test('last stop finalizes the run', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    await handler(taskEvent(runId, 0));
    const response = await handler(taskEvent(runId, 1));
    assert.deepEqual(response, { status: 'finalized', runId, verdict: 'PASS' });
  });

  test('finalized run has its report files in S3', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    const expected = [keys.report, keys.reportHtml, keys.message, keys.finalized].map((key) => key('staging', runId));
    expected.push(keys.history('staging', 'sigil', runId));
    assert.deepEqual(expected.filter((key) => bucket.text(key) === undefined), []);
  });

  test('finalize releases the lock', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    assert.equal(bucket.text(keys.lock('staging')), undefined);
  });

  test('duplicate and out-of-order events post to Slack once', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    for (const segment of [1, 1, 0, 1, 0]) await handler(taskEvent(runId, segment));
    assert.equal(slack.bodies.length, 1);
  });

  test('duplicate and out-of-order events publish to SNS once', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    for (const segment of [1, 0, 0, 1]) await handler(taskEvent(runId, segment));
    assert.equal(sns.commandCalls(PublishCommand).length, 1);
  });

  test('SNS message goes to the topic with the verdict', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    assert.equal(input?.TopicArn, TOPIC_ARN);
    assert.match(input?.Subject ?? '', /^\[soak staging\] .*PASS/);
  });

  test('scheduled run publishes its metrics', async () => {
    const runId = 'nightly-20261205T000000Z';
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1], labels: { trigger: 'schedule', scheduledTime: '2026-12-05T00:00:00Z' } });
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    const input = cloudwatch.commandCalls(PutMetricDataCommand)[0]?.args[0].input;
    assert.equal(input?.Namespace, 'SoakRunner');
    assert.deepEqual(
      input?.MetricData?.filter((datum) => datum.MetricName === 'ScheduledRunsFinalized').map((datum) => [datum.Value, datum.Dimensions]),
      [[1, [{ Name: 'Env', Value: 'staging' }]]],
    );
  });

  test('Slack message links the report page', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    const message = JSON.parse(slack.bodies[0] ?? '{}');
    const button = message.blocks?.find((block: { type: string }) => block.type === 'actions')?.elements?.[0];
    assert.equal(button?.url, `${REPORT_BASE_URL}/runs/staging/${runId}/report.html`);
  });

  test('Slack 429 is retried after Retry-After', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    slack.replies = [(_request, response) => response.writeHead(429, { 'retry-after': '1' }).end('rate_limited')];
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    assert.equal(slack.bodies.length, 2);
    const waitedMs = (slack.arrivalsMs[1] ?? 0) - (slack.arrivalsMs[0] ?? 0);
    assert.ok(waitedMs >= 950, `second attempt after ${waitedMs} ms`);
  });

  test('Slack retry is logged as sent on attempt 2', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    slack.replies = [(_request, response) => response.writeHead(429, { 'retry-after': '1' }).end('rate_limited')];
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    const [line] = logRecords('slack notification', runId);
    assert.deepEqual([line?.event, line?.attempts], ['NOTIFICATION_SENT', 2]);
  });

  test('Slack rejection is logged as failed', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [0, 1] });
    // Slack's response to a revoked webhook. The path in the body is the secret itself.
    slack.replies = [(_request, response) => response.writeHead(404).end(`no_service ${WEBHOOK_PATH}`)];
    await handler(taskEvent(runId, 0));
    await handler(taskEvent(runId, 1));
    const [line] = logRecords('slack notification', runId);
    assert.equal(line?.event, 'NOTIFICATION_FAILED');
  });

  test('running task event is ignored', async () => {
    const runId = nextRunId();
    await seedRun(runId, { ageMs: 10 * 60_000, completed: [] });
    const response = await handler(taskEvent(runId, 0, { lastStatus: 'RUNNING' }));
    assert.deepEqual(response, { status: 'ignored' });
  });

  test('task without run overrides is ignored', async () => {
    const event = structuredClone(fixture);
    delete event.detail.overrides;
    assert.deepEqual(await handler(event), { status: 'ignored' });
  });

  test('event of another shape is ignored', async () => {
    assert.deepEqual(await handler({ 'detail-type': 'ECS Container Instance State Change', detail: {} }), { status: 'ignored' });
  });

  test('sweep with no run past its deadline does nothing', async () => {
    await seedRun(nextRunId(), { ageMs: 10 * 60_000, completed: [0] });
    assert.deepEqual(await handler(sweepEvent), { status: 'nothing-to-sweep' });
  });

  describe('run past its deadline', () => {
    const runId = 'nightly-20261205T000000Z';

    /**
     * Segment 1 was killed for memory, and finish-run recorded its stop while the run was
     * live. Segment 0 stored windows, then hung, so its task is still running.
     */
    async function stragglerRun(): Promise<void> {
      const manifest = await seedRun(runId, { ageMs: 3 * 3_600_000, completed: [] });
      await writeSegmentData(store, manifest, 0, { startMs: manifest.createdAtMs + 60_000, writeResult: false });
      const event = taskEvent(runId, 1, { exitCode: 137, containerReason: OOM_REASON }) as Parameters<typeof segmentStopFromEvent>[0];
      const stop = segmentStopFromEvent(event, 'k6-runner', manifest.createdAtMs + 30 * 60_000);
      await store.put(keys.segmentStop('staging', runId, 1), JSON.stringify(stop, null, 2));
      ecs.on(ListTasksCommand, { startedBy: startedByForRun(runId) }).resolves({ taskArns: [taskArn(runId, 0)] });
    }

    test('sweep finalizes the run as INCOMPLETE', async () => {
      await stragglerRun();
      const response = await handler(sweepEvent);
      assert.deepEqual(response, { status: 'swept', runId, verdict: 'INCOMPLETE' });
    });

    test('sweep stops the straggler task', async () => {
      await stragglerRun();
      await handler(sweepEvent);
      assert.deepEqual(
        ecs.commandCalls(StopTaskCommand).map((call) => [call.args[0].input.task, call.args[0].input.reason]),
        [[taskArn(runId, 0), 'deadline passed']],
      );
    });

    test('report names the OOM-killed segment', async () => {
      await stragglerRun();
      await handler(sweepEvent);
      const report = bucket.json(keys.report('staging', runId));
      const reason = report.reasons.find((entry: { code: string; message: string }) => entry.code === 'SEGMENT_MISSING' && entry.message.startsWith('Segment 1 '));
      assert.match(reason?.message ?? '', /exit code 137, EssentialContainerExited, Essential container in task exited, OutOfMemoryError: Container killed due to memory usage/);
    });

    test('sweep and the late stop notify once', async () => {
      await stragglerRun();
      await handler(sweepEvent);
      await handler(sweepEvent);
      await handler(taskEvent(runId, 0, { exitCode: 3, stopCode: 'UserInitiated', stoppedReason: 'deadline passed' }));
      assert.equal(slack.bodies.length, 1);
    });
  });

  test('no log line contains the webhook URL or its token', () => {
    // Runs last: the tests above sent, retried and failed Slack deliveries.
    assert.ok(stderr.lines.length > 20, `only ${stderr.lines.length} lines were captured`);
    const leaking = stderr.lines.filter((line) => line.includes(WEBHOOK_TOKEN) || line.includes(WEBHOOK_PATH) || line.includes(webhookUrl));
    assert.deepEqual(leaking, []);
  });
});
