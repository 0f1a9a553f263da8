import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ECSClient, ECSServiceException, ListTasksCommand, RunTaskCommand, StopTaskCommand, type RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { parseEnvConfig } from '../../../core/config.js';
import { buildManifest } from '../../../core/plan.js';
import type { SegmentLaunch } from '../../../core/ports.js';
import { EcsLauncher, LauncherError, startedByForRun } from '../../../adapters/aws/ecs-launcher.js';

const CLUSTER = 'arn:aws:ecs:eu-west-1:111111111111:cluster/soak';
const TASK_DEFINITION = 'arn:aws:ecs:eu-west-1:111111111111:task-definition/soak-runner-test:3';

function launchesFor(runId: string, segments: number): SegmentLaunch[] {
  const manifest = buildManifest({
    runId,
    request: { schemaVersion: 1, env: 'test', target: 'https://api.example.com', scenario: 'sigil', rate: 100, durationS: 600, segments, thresholds: {}, labels: {}, dryRun: false },
    config: parseEnvConfig({}, null),
    scenario: { name: 'sigil', path: 'scenarios/sigil/script.js', hash: null, bundled: true, thresholds: {} },
    nowMs: Date.UTC(2026, 11, 5),
  });
  return manifest.segments.map((segment) => ({ manifest, segment }));
}

function taskArn(n: number): string {
  return `arn:aws:ecs:eu-west-1:111111111111:task/soak/${String(n).padStart(32, '0')}`;
}

function throttling(): ECSServiceException {
  return new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
}

function segmentOf(input: RunTaskCommandInput): number {
  const variable = input.overrides?.containerOverrides?.[0]?.environment?.find((entry) => entry.name === 'SOAK_SEGMENT');
  return Number(variable?.value);
}

describe('EcsLauncher', () => {
  let ecs: AwsClientStub<ECSClient>;
  const sleeps: number[] = [];
  const launcher = (options: { attempts?: number } = {}) =>
    new EcsLauncher(new ECSClient({ region: 'eu-west-1' }), {
      clusterArn: CLUSTER,
      taskDefinitionArn: TASK_DEFINITION,
      containerName: 'k6-runner',
      subnets: ['subnet-a', 'subnet-b'],
      securityGroups: ['sg-a'],
      assignPublicIp: false,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options,
    });

  before(() => {
    ecs = mockClient(ECSClient);
  });
  beforeEach(() => {
    ecs.reset();
    sleeps.length = 0;
  });
  after(() => ecs.restore());

  test('launches one task per segment', async () => {
    let next = 0;
    ecs.on(RunTaskCommand).callsFake(async () => ({ tasks: [{ taskArn: taskArn(next++) }], failures: [] }));
    const result = await launcher().launch(launchesFor('r-one-per-segment', 3));
    assert.equal(result.launched.length, 3);
    assert.deepEqual(result.failed, []);
  });

  test('sends count 1 with the segment override', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: taskArn(1) }] });
    await launcher().launch(launchesFor('r-overrides', 2));
    const inputs = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input);
    assert.deepEqual(inputs.map((input) => input.count), [1, 1]);
    assert.deepEqual(inputs.map(segmentOf).sort(), [0, 1]);
    assert.deepEqual(inputs[0]?.overrides?.containerOverrides?.[0]?.environment?.find((entry) => entry.name === 'SOAK_RUN_ID'), { name: 'SOAK_RUN_ID', value: 'r-overrides' });
  });

  test('overrides run, environment and segment', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: taskArn(1) }] });
    await launcher().launch(launchesFor('r-event-fields', 1));
    const override = ecs.commandCalls(RunTaskCommand)[0]?.args[0].input.overrides?.containerOverrides?.[0];
    assert.deepEqual(override, {
      name: 'k6-runner',
      environment: [
        { name: 'SOAK_RUN_ID', value: 'r-event-fields' },
        { name: 'SOAK_ENV', value: 'test' },
        { name: 'SOAK_SEGMENT', value: '0' },
      ],
    });
  });

  test('tags tasks with the run id', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: taskArn(1) }] });
    await launcher().launch(launchesFor('r-tags', 1));
    const input = ecs.commandCalls(RunTaskCommand)[0]?.args[0].input;
    assert.deepEqual(input?.tags?.find((tag) => tag.key === 'soak:runId'), { key: 'soak:runId', value: 'r-tags' });
    assert.equal(input?.startedBy, startedByForRun('r-tags'));
  });

  test('starts at most 10 calls at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    ecs.on(RunTaskCommand).callsFake(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return { tasks: [{ taskArn: taskArn(1) }] };
    });
    const result = await launcher().launch(launchesFor('r-waves', 23));
    assert.equal(result.launched.length, 23);
    assert.equal(maxInFlight, 10);
  });

  test('retries a capacity failure', async () => {
    ecs
      .on(RunTaskCommand)
      .resolvesOnce({ tasks: [], failures: [{ reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone' }] })
      .resolves({ tasks: [{ taskArn: taskArn(7) }] });
    const result = await launcher().launch(launchesFor('r-capacity', 1));
    assert.deepEqual(result.launched, [{ segment: 0, taskId: taskArn(7) }]);
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 2);
  });

  test('retries RESOURCE:CPU', async () => {
    ecs.on(RunTaskCommand).resolvesOnce({ failures: [{ reason: 'RESOURCE:CPU' }] }).resolves({ tasks: [{ taskArn: taskArn(8) }] });
    const result = await launcher().launch(launchesFor('r-resource', 1));
    assert.equal(result.launched.length, 1);
  });

  test('retries throttling errors', async () => {
    ecs.on(RunTaskCommand).rejectsOnce(throttling()).resolves({ tasks: [{ taskArn: taskArn(9) }] });
    const result = await launcher().launch(launchesFor('r-throttled', 1));
    assert.equal(result.launched.length, 1);
  });

  test('backs off between attempts', async () => {
    ecs.on(RunTaskCommand).resolves({ failures: [{ reason: 'RESOURCE:MEMORY' }] });
    await launcher({ attempts: 4 }).launch(launchesFor('r-backoff', 1));
    assert.equal(sleeps.length, 3);
  });

  test('uses a new client token per attempt', async () => {
    ecs.on(RunTaskCommand).resolvesOnce({ failures: [{ reason: 'RESOURCE:CPU' }] }).resolves({ tasks: [{ taskArn: taskArn(1) }] });
    await launcher().launch(launchesFor('r-token', 1));
    const tokens = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.clientToken);
    assert.equal(new Set(tokens).size, 2);
  });

  test('reports a segment that never launched', async () => {
    ecs.on(RunTaskCommand).resolves({ failures: [{ reason: 'RESOURCE:ENI', detail: 'no free addresses' }] });
    const result = await launcher({ attempts: 3 }).launch(launchesFor('r-exhausted', 1));
    assert.deepEqual(result.failed, [{ segment: 0, reason: 'RESOURCE:ENI: no free addresses' }]);
  });

  test('reports partial failure per segment', async () => {
    ecs.on(RunTaskCommand).callsFake(async (input: RunTaskCommandInput) =>
      segmentOf(input) === 1 ? { failures: [{ reason: 'MISSING', arn: TASK_DEFINITION }] } : { tasks: [{ taskArn: taskArn(segmentOf(input)) }] },
    );
    const result = await launcher().launch(launchesFor('r-partial', 3));
    assert.deepEqual(result.launched.map((entry) => entry.segment).sort(), [0, 2]);
    assert.deepEqual(result.failed, [{ segment: 1, reason: 'MISSING' }]);
  });

  test('does not retry a permanent failure', async () => {
    ecs.on(RunTaskCommand).resolves({ failures: [{ reason: 'MISSING' }] });
    await launcher().launch(launchesFor('r-permanent', 1));
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 1);
  });

  test('does not retry access denied', async () => {
    ecs.on(RunTaskCommand).rejects(new ECSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized' }));
    const result = await launcher().launch(launchesFor('r-denied', 1));
    assert.equal(ecs.commandCalls(RunTaskCommand).length, 1);
    assert.match(result.failed[0]?.reason ?? '', /AccessDeniedException/);
  });

  test('stop stops every task of the run', async () => {
    ecs
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: [taskArn(1), taskArn(2)], nextToken: 'page-2' })
      .resolvesOnce({ taskArns: [taskArn(3)] });
    ecs.on(StopTaskCommand).resolves({});
    await launcher().stop('r-stop', 'stopped by soak stop');
    assert.deepEqual(
      ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input.task),
      [taskArn(1), taskArn(2), taskArn(3)],
    );
  });

  test('stop lists by the run startedBy', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    await launcher().stop('r-stop-filter', 'reason');
    assert.equal(ecs.commandCalls(ListTasksCommand)[0]?.args[0].input.startedBy, startedByForRun('r-stop-filter'));
  });

  test('stop reports tasks it could not stop', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn(1), taskArn(2)] });
    ecs.on(StopTaskCommand, { task: taskArn(1) }).rejects(throttling()).on(StopTaskCommand, { task: taskArn(2) }).resolves({});
    await assert.rejects(launcher().stop('r-stop-fail', 'reason'), (error: unknown) => {
      assert.ok(error instanceof LauncherError);
      assert.match(error.message, /1 of 2 tasks/);
      return true;
    });
    assert.equal(ecs.commandCalls(StopTaskCommand).length, 2);
  });
});

describe('startedByForRun', () => {
  test('fits the 36-character limit', () => {
    assert.equal(startedByForRun(`nightly-${'x'.repeat(72)}`).length, 36);
  });

  test('uses only allowed characters', () => {
    assert.match(startedByForRun('run.with.dots_and-dashes'), /^[A-Za-z0-9_/-]+$/);
  });

  test('differs between runs', () => {
    assert.notEqual(startedByForRun('run.a'), startedByForRun('run_a'));
  });
});
