/**
 * finish-run's notifications when the Slack webhook secret cannot be used. The handler
 * caches its runtime and a fetched secret for the life of the module, so these cases
 * live apart from finish-run.test.ts and run in order: a failed fetch is not cached,
 * a fetched value is.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { S3ResultStore } from '../../adapters/aws/s3-result-store.js';
import { parseEnvConfig } from '../../core/config.js';
import { finalizeRun } from '../../core/finalize.js';
import { acquireLock } from '../../core/lock.js';
import { silentLog } from '../../core/log.js';
import { buildManifest } from '../../core/plan.js';
import { keys } from '../../core/ports.js';
import { handler } from '../../lambdas/finish-run/handler.js';
import { StderrCapture } from '../support/capture-stderr.js';
import { MemoryBucket } from '../support/memory-s3.js';
import { writeSegmentData } from '../support/run-data.js';

const BUCKET = 'soak-results-staging';
const SECRET_NAME = 'soak/staging/slack-webhook';
const runConfigInput = { targetAllowlist: ['api.staging.example.com'] };

Object.assign(process.env, {
  SOAK_ENV: 'staging',
  SOAK_STORE: `s3://${BUCKET}`,
  SOAK_ENV_CONFIG_JSON: JSON.stringify(runConfigInput),
  SOAK_CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:111111111111:cluster/soak-staging',
  SOAK_TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:111111111111:task-definition/soak-runner-staging:7',
  SOAK_CONTAINER_NAME: 'k6-runner',
  SOAK_SUBNETS: 'subnet-0a1b2c3d4e5f60718',
  SOAK_SECURITY_GROUPS: 'sg-0a1b2c3d4e5f60718',
  SOAK_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:soak-staging-alerts',
  SOAK_SLACK_WEBHOOK_SECRET: SECRET_NAME,
  SOAK_LOG_LEVEL: 'info',
});

/** EventBridge's event for the periodic sweep rule. */
const sweepEvent = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '111111111111', region: 'eu-west-1', detail: {} };

describe('finish-run notifications without a usable webhook', () => {
  let s3: AwsClientStub<S3Client>;
  let ecs: AwsClientStub<ECSClient>;
  let cloudwatch: AwsClientStub<CloudWatchClient>;
  let sns: AwsClientStub<SNSClient>;
  let secrets: AwsClientStub<SecretsManagerClient>;
  const stderr = new StderrCapture();
  const store = new S3ResultStore(new S3Client({ region: 'eu-west-1' }), { bucket: BUCKET });
  let runCount = 0;

  /**
   * Stores a run past its deadline whose segments all finished but whose stop events
   * were lost, so the next sweep finalizes and notifies.
   */
  async function runForTheSweep(): Promise<string> {
    runCount += 1;
    const runId = `run-20261205T010000Z-${String(runCount).padStart(6, '0')}`;
    const createdMs = Date.now() - 3 * 3_600_000;
    const manifest = buildManifest({
      runId,
      request: { schemaVersion: 1, env: 'staging', target: 'https://api.staging.example.com', scenario: 'sigil', rate: 4, durationS: 60, segments: 1, thresholds: {}, labels: {}, dryRun: false },
      config: parseEnvConfig(runConfigInput, null),
      scenario: { name: 'sigil', path: 'sigil', hash: null, bundled: true, thresholds: {} },
      nowMs: createdMs,
    });
    await acquireLock(store, 'staging', runId, manifest.deadlineMs, createdMs);
    await store.put(keys.manifest('staging', runId), JSON.stringify({ ...manifest, state: 'running' }));
    await writeSegmentData(store, manifest, 0, { startMs: createdMs + 60_000 });
    return runId;
  }

  before(() => {
    s3 = mockClient(S3Client);
    ecs = mockClient(ECSClient);
    cloudwatch = mockClient(CloudWatchClient);
    sns = mockClient(SNSClient);
    secrets = mockClient(SecretsManagerClient);
    stderr.start();
  });
  beforeEach(() => {
    for (const stub of [s3, ecs, cloudwatch, sns, secrets]) stub.reset();
    new MemoryBucket(BUCKET).install(s3);
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    cloudwatch.on(PutMetricDataCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: '0b7c2e1f-4d6a-4f3e-8a21-9c5d0e7f1b34' });
  });
  after(() => {
    stderr.stop();
    for (const stub of [s3, ecs, cloudwatch, sns, secrets]) stub.restore();
  });

  test('unreadable secret still publishes to SNS', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized to perform: secretsmanager:GetSecretValue' }));
    await runForTheSweep();
    await handler(sweepEvent);
    assert.equal(sns.commandCalls(PublishCommand).length, 1);
  });

  test('unreadable secret is logged as a failed notification', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized to perform: secretsmanager:GetSecretValue' }));
    const runId = await runForTheSweep();
    await handler(sweepEvent);
    const line = stderr.records.find((record) => record.runId === runId && record.event === 'NOTIFICATION_FAILED');
    assert.match((line?.error as { message?: string } | undefined)?.message ?? '', /^Could not read secret "soak\/staging\/slack-webhook" from Secrets Manager: AccessDeniedException/);
  });

  test('secret that is not a URL still publishes to SNS', async () => {
    // A common mistake: the secret stored as JSON key/value pairs instead of the plain URL.
    secrets.on(GetSecretValueCommand).resolves({ Name: SECRET_NAME, SecretString: '{"url":"https://hooks.slack.com/services/T0SOAK/B0SOAK/notAUrlToken"}' });
    await runForTheSweep();
    await handler(sweepEvent);
    assert.equal(sns.commandCalls(PublishCommand).length, 1);
  });

  test('secret that is not a URL is not logged', () => {
    assert.deepEqual(
      stderr.lines.filter((line) => line.includes('notAUrlToken')),
      [],
    );
  });

  test('notification failure leaves the run finalized once', async () => {
    const runId = await runForTheSweep();
    await handler(sweepEvent);
    const again = await finalizeRun({ store, log: silentLog }, 'staging', runId);
    assert.equal(again.first, false);
  });
});
