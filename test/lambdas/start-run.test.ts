/**
 * The start-run Lambda handler end to end, with every AWS client mocked. S3 is an
 * in-memory bucket, and the test sets the ECS responses to RunTask, ListTasks and StopTask.
 * The handler reads its configuration once per module instance, so this file uses
 * one environment ("staging") for every test.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test';
import { ECSClient, ListTasksCommand, RunTaskCommand, StopTaskCommand, type RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { startedByForRun } from '../../adapters/aws/ecs-launcher.js';
import { estimateRunCost } from '../../core/cost.js';
import { keys } from '../../core/ports.js';
import { handler } from '../../lambdas/start-run/handler.js';
import { StderrCapture } from '../support/capture-stderr.js';
import { MemoryBucket } from '../support/memory-s3.js';

const BUCKET = 'soak-results-staging';
const CLUSTER = 'arn:aws:ecs:eu-west-1:111111111111:cluster/soak-staging';
const TASK_DEFINITION = 'arn:aws:ecs:eu-west-1:111111111111:task-definition/soak-runner-staging:7';
const SCHEDULED_TIME = '2026-12-05T00:00:00Z';
const CAPACITY_FAILURE = 'Capacity is unavailable at this time. Please try again later or in a different availability zone';

Object.assign(process.env, {
  SOAK_ENV: 'staging',
  SOAK_STORE: `s3://${BUCKET}`,
  SOAK_ENV_CONFIG_JSON: JSON.stringify({
    defaults: { target: 'https://api.staging.example.com', scenario: 'sigil', rate: 20, durationS: 1800, segments: 2 },
    targetAllowlist: ['api.staging.example.com'],
    limits: { maxRate: 2000, maxDurationS: 43200, maxSegments: 16 },
  }),
  SOAK_CLUSTER_ARN: CLUSTER,
  SOAK_TASK_DEFINITION_ARN: TASK_DEFINITION,
  SOAK_CONTAINER_NAME: 'k6-runner',
  SOAK_SUBNETS: 'subnet-0a1b2c3d4e5f60718,subnet-0b1c2d3e4f5061728',
  SOAK_SECURITY_GROUPS: 'sg-0a1b2c3d4e5f60718',
  SOAK_ASSIGN_PUBLIC_IP: 'false',
  SOAK_TASK_CPU: '2048',
  SOAK_TASK_MEMORY_MIB: '4096',
  SOAK_BUNDLED_SCENARIOS: 'sigil',
  SOAK_LOG_LEVEL: 'info',
});

/** The request EventBridge Scheduler sends for the nightly run (infra/nightly-schedule.ts). */
const scheduledEvent = {
  env: 'staging',
  target: 'https://api.staging.example.com',
  scenario: 'sigil',
  rate: 100,
  durationS: 14400,
  segments: 4,
  labels: { trigger: 'schedule', scheduledTime: SCHEDULED_TIME },
};

function segmentOf(input: RunTaskCommandInput): number {
  const variable = input.overrides?.containerOverrides?.[0]?.environment?.find((entry) => entry.name === 'SOAK_SEGMENT');
  return Number(variable?.value);
}

function runIdOf(input: RunTaskCommandInput): string {
  return input.overrides?.containerOverrides?.[0]?.environment?.find((entry) => entry.name === 'SOAK_RUN_ID')?.value ?? '';
}

function taskArn(runId: string, segment: number): string {
  return `arn:aws:ecs:eu-west-1:111111111111:task/soak-staging/${Buffer.from(`${runId}-${segment}`).toString('hex').slice(-32)}`;
}

describe('start-run handler', () => {
  let s3: AwsClientStub<S3Client>;
  let ecs: AwsClientStub<ECSClient>;
  let bucket: MemoryBucket;
  const stderr = new StderrCapture();
  /** Task ARNs RunTask returned, by startedBy, for ListTasks. */
  const running = new Map<string, string[]>();
  let inFlight = 0;
  let maxInFlight = 0;

  function answerRunTask(fail: (input: RunTaskCommandInput, attempt: number) => { reason: string; detail?: string } | undefined = () => undefined): void {
    const attempts = new Map<number, number>();
    ecs.on(RunTaskCommand).callsFake(async (input: RunTaskCommandInput) => {
      const segment = segmentOf(input);
      const attempt = (attempts.get(segment) ?? 0) + 1;
      attempts.set(segment, attempt);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      const failure = fail(input, attempt);
      if (failure !== undefined) return { tasks: [], failures: [{ arn: TASK_DEFINITION, ...failure }] };
      const arn = taskArn(runIdOf(input), segment);
      running.set(String(input.startedBy), [...(running.get(String(input.startedBy)) ?? []), arn]);
      return { tasks: [{ taskArn: arn, lastStatus: 'PROVISIONING' }], failures: [] };
    });
  }

  before(() => {
    s3 = mockClient(S3Client);
    ecs = mockClient(ECSClient);
    stderr.start();
  });
  beforeEach(() => {
    s3.reset();
    ecs.reset();
    bucket = new MemoryBucket(BUCKET, 2);
    bucket.install(s3);
    running.clear();
    inFlight = 0;
    maxInFlight = 0;
    answerRunTask();
    ecs.on(ListTasksCommand).callsFake(async (input) => ({ taskArns: running.get(String(input.startedBy)) ?? [] }));
    ecs.on(StopTaskCommand).resolves({});
  });
  afterEach(() => mock.restoreAll());
  after(() => {
    stderr.stop();
    s3.restore();
    ecs.restore();
  });

  test('run request starts one task per segment', async () => {
    const response = await handler({ rate: 20, durationS: 1800, segments: 2 });
    assert.equal(response.status, 'started');
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 2);
  });

  test('empty request takes the environment defaults', async () => {
    const response = await handler({});
    assert.ok(response.status === 'started');
    assert.deepEqual(response.plan, {
      segments: (response.plan as { segments: unknown[] }).segments,
      deadline: (response.plan as { deadline: string }).deadline,
      request: {
        schemaVersion: 1,
        env: 'staging',
        target: 'https://api.staging.example.com',
        scenario: 'sigil',
        rate: 20,
        durationS: 1800,
        segments: 2,
        thresholds: {},
        labels: {},
        dryRun: false,
        runId: response.runId,
      },
    });
  });

  test('started response has a cost estimate and no manifest', async () => {
    const response = (await handler({})) as Record<string, unknown>;
    assert.equal(typeof response.costEstimateUsd, 'number');
    assert.ok((response.costEstimateUsd as number) > 0, String(response.costEstimateUsd));
    // Priced at the deployed task size (2 vCPU, 4 GB), not the default 1 vCPU, 2 GB.
    assert.equal(response.costEstimateUsd, estimateRunCost({ segments: 2, durationS: 1800, cpu: 2048, memoryMiB: 4096 }).totalUsd);
    assert.notEqual(response.costEstimateUsd, estimateRunCost({ segments: 2, durationS: 1800 }).totalUsd);
    assert.equal('manifest' in response, false);
  });

  test('started run has its manifest and lock in S3', async () => {
    const response = await handler({});
    assert.ok(response.status === 'started');
    assert.equal(bucket.json(keys.manifest('staging', response.runId)).state, 'running');
    assert.equal(bucket.json(keys.lock('staging')).runId, response.runId);
  });

  test('twelve segments launch at most ten at once', async () => {
    const response = await handler({ rate: 120, segments: 12 });
    assert.equal(response.status, 'started');
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 12);
    assert.equal(maxInFlight, 10);
  });

  test('twelve segments get one override each', async () => {
    await handler({ rate: 120, segments: 12 });
    const segments = ecs.commandCalls(RunTaskCommand).map((call) => segmentOf(call.args[0].input));
    assert.deepEqual(segments.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  test('tasks run on Fargate in the configured network', async () => {
    await handler({});
    const input = ecs.commandCalls(RunTaskCommand)[0]?.args[0].input;
    assert.deepEqual(
      { cluster: input?.cluster, taskDefinition: input?.taskDefinition, launchType: input?.launchType, count: input?.count, network: input?.networkConfiguration },
      {
        cluster: CLUSTER,
        taskDefinition: TASK_DEFINITION,
        launchType: 'FARGATE',
        count: 1,
        network: {
          awsvpcConfiguration: {
            subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b1c2d3e4f5061728'],
            securityGroups: ['sg-0a1b2c3d4e5f60718'],
            assignPublicIp: 'DISABLED',
          },
        },
      },
    );
  });

  test('capacity failure is retried', async () => {
    // The backoff delay is Math.random() times the ceiling; zero keeps the test fast.
    mock.method(Math, 'random', () => 0);
    answerRunTask((input, attempt) => (segmentOf(input) === 0 && attempt === 1 ? { reason: CAPACITY_FAILURE } : undefined));
    const response = await handler({});
    assert.equal(response.status, 'started');
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 3);
  });

  test('permanent failure ends as launch-failed', async () => {
    answerRunTask((input) => (segmentOf(input) === 1 ? { reason: 'MISSING' } : undefined));
    const response = await handler({});
    assert.ok(response.status === 'launch-failed');
    assert.match(response.message, /^1 of 2 segments could not be launched \(segment 1: MISSING\)/);
  });

  test('permanent failure is not retried', async () => {
    answerRunTask((input) => (segmentOf(input) === 1 ? { reason: 'MISSING' } : undefined));
    await handler({});
    assert.equal(ecs.commandCalls(RunTaskCommand).filter((call) => segmentOf(call.args[0].input) === 1).length, 1);
  });

  test('launch failure stops the launched task', async () => {
    answerRunTask((input) => (segmentOf(input) === 1 ? { reason: 'MISSING' } : undefined));
    const response = await handler({});
    assert.ok(response.status === 'launch-failed');
    assert.deepEqual(
      ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input.task),
      [taskArn(response.runId, 0)],
    );
  });

  test('launch failure writes run-error.json', async () => {
    answerRunTask((input) => (segmentOf(input) === 1 ? { reason: 'MISSING' } : undefined));
    const response = await handler({});
    assert.ok(response.status === 'launch-failed');
    assert.equal(bucket.json(keys.runError('staging', response.runId)).code, 'LAUNCH_FAILED');
  });

  test('launch failure is logged with the segment', async () => {
    answerRunTask((input) => (segmentOf(input) === 1 ? { reason: 'MISSING' } : undefined));
    const response = await handler({});
    assert.ok(response.status === 'launch-failed');
    const line = stderr.records.find((record) => record.msg === 'launch failed' && record.runId === response.runId);
    assert.deepEqual(line?.failed, [{ segment: 1, reason: 'MISSING' }]);
  });

  test('scheduled event delivered twice starts one run', async () => {
    const first = await handler(scheduledEvent);
    const second = await handler(scheduledEvent);
    assert.deepEqual([first.status, second.status], ['started', 'duplicate']);
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 4);
  });

  test('scheduled run id comes from the scheduled time', async () => {
    const response = await handler(scheduledEvent);
    assert.ok(response.status === 'started');
    assert.equal(response.runId, 'nightly-20261205T000000Z');
  });

  test('concurrent scheduled deliveries start one run', async () => {
    const responses = await Promise.all([handler(scheduledEvent), handler(scheduledEvent)]);
    assert.deepEqual(responses.map((response) => response.status).sort(), ['duplicate', 'started']);
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 4);
  });

  test('concurrent scheduled deliveries keep the lock', async () => {
    await Promise.all([handler(scheduledEvent), handler(scheduledEvent)]);
    assert.equal(bucket.json(keys.lock('staging'))?.runId, 'nightly-20261205T000000Z');
  });

  test('second run while one is active is locked', async () => {
    const first = await handler({});
    const second = await handler({});
    assert.ok(second.status === 'locked');
    assert.equal(second.activeRunId, (first as { runId: string }).runId);
  });

  test('locked scheduled start is logged with the active run', async () => {
    // EventBridge Scheduler drops the response, so the log is the only trace of a lost night.
    const first = await handler({});
    assert.ok(first.status === 'started');
    await handler(scheduledEvent);
    const line = stderr.records.find((record) => record.msg === 'run not started' && record.status === 'locked' && record.activeRunId === first.runId);
    assert.equal(line?.level, 'warn');
  });

  test('rejected request is logged with its problems', async () => {
    await handler({ rate: 4999 });
    const line = stderr.records.find((record) => record.msg === 'run not started' && record.status === 'rejected');
    assert.match(String((line?.problems as string[] | undefined)?.[0]), /^rate: 4999 is above the limit/);
  });

  test('duplicate delivery is logged', async () => {
    await handler(scheduledEvent);
    await handler(scheduledEvent);
    const line = stderr.records.find((record) => record.msg === 'run not started' && record.status === 'duplicate');
    assert.equal(line?.runId, 'nightly-20261205T000000Z');
  });

  test('dry run writes nothing to S3', async () => {
    const response = await handler({ dryRun: true });
    assert.equal(response.status, 'planned');
    assert.equal(s3.commandCalls(PutObjectCommand).length, 0);
  });

  test('dry run launches nothing', async () => {
    await handler({ dryRun: true });
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 0);
  });

  test('request for another env is rejected', async () => {
    const response = await handler({ env: 'production' });
    assert.ok(response.status === 'rejected');
    assert.match(response.problems[0] ?? '', /^env: "production" does not match this stack's environment "staging"/);
  });

  test('rate over the limit is rejected with the field', async () => {
    const response = await handler({ rate: 5000 });
    assert.ok(response.status === 'rejected');
    assert.match(response.problems.join('\n'), /^rate: 5000 is above the limit of env "staging"; allowed 1\.\.2000$/m);
  });

  test('target outside the allowlist is rejected', async () => {
    const response = await handler({ target: 'https://api.production.example.com' });
    assert.ok(response.status === 'rejected');
    assert.match(response.problems.join('\n'), /^target: host "api\.production\.example\.com" is not in the allowlist/m);
  });

  test('unknown scenario is rejected', async () => {
    const response = await handler({ scenario: 'checkout' });
    assert.ok(response.status === 'rejected');
    assert.match(response.problems.join('\n'), /^scenario: "checkout" is not a scenario of the load-generator image; available: sigil$/m);
  });

  test('array event is rejected', async () => {
    const response = await handler([{ rate: 10 }]);
    assert.equal(response.status, 'rejected');
  });

  test('stop action stops every task of the run', async () => {
    const started = await handler({});
    assert.ok(started.status === 'started');
    const response = await handler({ action: 'stop', runId: started.runId, reason: 'target redeploy' });
    assert.equal(response.status, 'stopping');
    assert.deepEqual(
      ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input.task).sort(),
      [taskArn(started.runId, 0), taskArn(started.runId, 1)].sort(),
    );
  });

  test('stop action lists the run by its startedBy', async () => {
    const started = await handler({});
    assert.ok(started.status === 'started');
    await handler({ action: 'stop', runId: started.runId, reason: 'target redeploy' });
    assert.equal(ecs.commandCalls(ListTasksCommand)[0]?.args[0].input.startedBy, startedByForRun(started.runId));
  });

  test('stop action writes the stop request', async () => {
    const started = await handler({});
    assert.ok(started.status === 'started');
    await handler({ action: 'stop', runId: started.runId, reason: 'target redeploy' });
    const stop = bucket.json(keys.stopRequest('staging', started.runId));
    assert.deepEqual([stop.kind, stop.reason], ['person', 'target redeploy']);
  });

  test('stop of an unknown run is not-found', async () => {
    const response = await handler({ action: 'stop', runId: 'run-20261204T010000Z-abcdef' });
    assert.equal(response.status, 'not-found');
  });

  test('stop without a run id is rejected', async () => {
    const response = await handler({ action: 'stop' });
    assert.ok(response.status === 'rejected');
    assert.match(response.problems[0] ?? '', /^runId: /);
  });
});
