/**
 * The CLI against a deployed environment (`soak start`, `--wait`, `soak stop`), from
 * openCloudEnvironment down to the real start-run handler, with every AWS client
 * mocked: CloudFormation returns the stack outputs, Lambda Invoke calls the handler in
 * this process, S3 is an in-memory bucket, and the test returns the ECS responses.
 * The environment is "example", from config/deploy/example.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { ECSClient, ListTasksCommand, RunTaskCommand, StopTaskCommand, type RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { openCloudEnvironment, type CloudEnvironment } from '../../bin/cloud.js';
import { startCloudRun, stopCloudRun, waitForReport, type StartOptions } from '../../bin/commands/start.js';
import { ExitCode, UsageError, type Io } from '../../bin/io.js';
import { finalizeRun, readManifest } from '../../core/finalize.js';
import { silentLog } from '../../core/log.js';
import { keys } from '../../core/ports.js';
import { handler } from '../../lambdas/start-run/handler.js';
import { StderrCapture } from '../support/capture-stderr.js';
import { MemoryBucket } from '../support/memory-s3.js';
import { writeSegmentData } from '../support/run-data.js';

const ENV = 'example';
const DEPLOY_DIR = 'config/deploy';
const BUCKET = 'soakrunner-example-resultsbucket1a2b3c4d-0f9e8d7c6b5a';
const FUNCTION_NAME = 'SoakRunner-example-RunLifecycleStartRun5E6F7A8B-9c0d1e2f3a4b';

const { deploy: _deploy, ...runConfig } = JSON.parse(readFileSync(`${DEPLOY_DIR}/${ENV}.json`, 'utf8')) as Record<string, unknown>;

Object.assign(process.env, {
  SOAK_ENV: ENV,
  SOAK_STORE: `s3://${BUCKET}`,
  SOAK_ENV_CONFIG_JSON: JSON.stringify(runConfig),
  SOAK_CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:111111111111:cluster/soak-example',
  SOAK_TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:111111111111:task-definition/soak-runner-example:3',
  SOAK_CONTAINER_NAME: 'k6-runner',
  SOAK_SUBNETS: 'subnet-0a1b2c3d4e5f60718,subnet-0b1c2d3e4f5061728',
  SOAK_SECURITY_GROUPS: 'sg-0a1b2c3d4e5f60718',
  SOAK_BUNDLED_SCENARIOS: 'sigil',
  SOAK_LOG_LEVEL: 'warn',
});

const STACK_OUTPUTS: Output[] = [
  { OutputKey: 'ResultsBucketName', OutputValue: BUCKET },
  { OutputKey: 'StartRunFunctionName', OutputValue: FUNCTION_NAME },
  { OutputKey: 'FinishRunFunctionName', OutputValue: 'SoakRunner-example-RunLifecycleFinishRun1C2D3E4F-5a6b7c8d9e0f' },
];

/** An output stream that keeps what was written. */
class TextSink extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

function capturedIo(): Io & { out: TextSink; err: TextSink } {
  return { out: new TextSink(), err: new TextSink() };
}

function startOptions(options: Partial<StartOptions> = {}): StartOptions {
  return { env: ENV, rate: '4', duration: '1m', segments: '2', threshold: [], label: [], pollMs: 20, ...options };
}

function segmentOf(input: RunTaskCommandInput): number {
  return Number(input.overrides?.containerOverrides?.[0]?.environment?.find((entry) => entry.name === 'SOAK_SEGMENT')?.value);
}

function runIdOf(input: RunTaskCommandInput): string {
  return input.overrides?.containerOverrides?.[0]?.environment?.find((entry) => entry.name === 'SOAK_RUN_ID')?.value ?? '';
}

describe('cloud CLI', () => {
  let cloudFormation: AwsClientStub<CloudFormationClient>;
  let lambda: AwsClientStub<LambdaClient>;
  let s3: AwsClientStub<S3Client>;
  let ecs: AwsClientStub<ECSClient>;
  let bucket: MemoryBucket;
  const stderr = new StderrCapture();
  /** Payloads sent to the start-run function, in order. */
  const invoked: Array<Record<string, unknown>> = [];

  async function cloud(): Promise<CloudEnvironment> {
    return openCloudEnvironment(ENV, DEPLOY_DIR);
  }

  /**
   * Plays the tasks of the run that the CLI started: each segment stores a minute of
   * windows and its result, then finalize writes report.json, as finish-run would.
   */
  async function finishRunWhenStarted(env: CloudEnvironment, latencyMs = 40): Promise<void> {
    const manifestKey = () => bucket.keys(`runs/${ENV}/`).find((key) => key.endsWith('/manifest.json'));
    while (manifestKey() === undefined || !bucket.text(manifestKey()!)?.includes('"state": "running"')) await new Promise((resolve) => setTimeout(resolve, 5));
    const runId = manifestKey()!.split('/')[2]!;
    const manifest = await readManifest(env.store, ENV, runId);
    for (const segment of manifest.segments) await writeSegmentData(env.store, manifest, segment.index, { startMs: manifest.createdAtMs + 60_000, latencyMs });
    await finalizeRun({ store: env.store, log: silentLog }, ENV, runId);
  }

  before(() => {
    cloudFormation = mockClient(CloudFormationClient);
    lambda = mockClient(LambdaClient);
    s3 = mockClient(S3Client);
    ecs = mockClient(ECSClient);
    stderr.start();
  });
  beforeEach(() => {
    for (const stub of [cloudFormation, lambda, s3, ecs]) stub.reset();
    invoked.length = 0;
    bucket = new MemoryBucket(BUCKET);
    bucket.install(s3);
    cloudFormation.on(DescribeStacksCommand, { StackName: `SoakRunner-${ENV}` }).resolves({
      Stacks: [{ StackName: `SoakRunner-${ENV}`, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date('2026-11-20T09:12:44Z'), Outputs: STACK_OUTPUTS }],
    });
    // Lambda passes JSON in and out, so the payload goes through a JSON round trip as it would.
    lambda.on(InvokeCommand, { FunctionName: FUNCTION_NAME }).callsFake(async (input) => {
      const payload = JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8')) as Record<string, unknown>;
      invoked.push(payload);
      const response = await handler(payload);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: new Uint8Array(Buffer.from(JSON.stringify(response))) };
    });
    ecs.on(RunTaskCommand).callsFake(async (input: RunTaskCommandInput) => ({
      tasks: [{ taskArn: `arn:aws:ecs:eu-west-1:111111111111:task/soak-example/${Buffer.from(`${runIdOf(input)}/${segmentOf(input)}`).toString('hex').slice(-32)}` }],
      failures: [],
    }));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(StopTaskCommand).resolves({});
  });
  after(() => {
    stderr.stop();
    for (const stub of [cloudFormation, lambda, s3, ecs]) stub.restore();
  });

  describe('openCloudEnvironment', () => {
    test('stack outputs name the bucket', async () => {
      const env = await cloud();
      assert.equal(env.store.location, `s3://${BUCKET}/`);
    });

    test('stack is read in the configured region', async () => {
      const env = await cloud();
      assert.deepEqual([env.stackName, env.region], ['SoakRunner-example', 'eu-west-1']);
    });

    test('invoke sends the payload to the start-run function', async () => {
      const env = await cloud();
      await env.invokeStartRun({ dryRun: true });
      const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
      assert.equal(input?.FunctionName, FUNCTION_NAME);
      assert.deepEqual(JSON.parse(Buffer.from(input?.Payload as Uint8Array).toString('utf8')), { dryRun: true });
    });

    test('missing outputs raise a UsageError', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: `SoakRunner-${ENV}`, StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [STACK_OUTPUTS[0]!] }] });
      await assert.rejects(cloud(), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^Stack SoakRunner-example has no ResultsBucketName or StartRunFunctionName output; deploy the current version of soak-runner\.$/);
        return true;
      });
    });

    test('missing stack raises a UsageError with the fix', async () => {
      cloudFormation
        .on(DescribeStacksCommand)
        .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Stack with id SoakRunner-example does not exist' }));
      await assert.rejects(cloud(), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^Could not read stack SoakRunner-example in eu-west-1: Stack with id SoakRunner-example does not exist\. .*npx cdk deploy -c env=example/);
        return true;
      });
    });

    test('env without a deploy file raises a UsageError', async () => {
      await assert.rejects(openCloudEnvironment('qa', DEPLOY_DIR), (error: unknown) => error instanceof UsageError && /config\/deploy\/qa\.json not found/.test(error.message));
    });

    test('function error raises with its message', async () => {
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        // The SDK wraps the payload in a Uint8Array subclass; invokeStartRun reads only the bytes.
        Payload: new Uint8Array(Buffer.from(JSON.stringify({ errorType: 'LambdaConfigError', errorMessage: 'Environment variable SOAK_STORE is missing' }))) as InvokeCommandOutput['Payload'],
      });
      const env = await cloud();
      await assert.rejects(env.invokeStartRun({}), /^Error: start-run failed \(Unhandled\): .*SOAK_STORE is missing/);
    });
  });

  describe('startCloudRun', () => {
    test('plan and cost are printed before the start', async () => {
      const io = capturedIo();
      await startCloudRun(await cloud(), startOptions(), io);
      const lines = io.out.text.split('\n');
      assert.match(lines[0] ?? '', /^plan for example: sigil against https:\/\/sigil-api\.staging\.example\.com, 4 iterations\/s for 60 s in 2 segment\(s\); deadline 20\d\d-/);
      assert.match(lines[1] ?? '', /^estimated Fargate cost: USD \d+\.\d+$/);
      assert.match(lines[2] ?? '', /^started run-\d{8}T\d{6}Z-[0-9a-f]{6} in example$/);
    });

    test('dry run comes first and alone asks for the plan', async () => {
      await startCloudRun(await cloud(), startOptions(), capturedIo());
      assert.deepEqual(
        invoked.map((payload) => payload.dryRun),
        [true, undefined],
      );
    });

    test('dry run option starts nothing', async () => {
      const code = await startCloudRun(await cloud(), startOptions({ dryRun: true }), capturedIo());
      assert.equal(code, ExitCode.Pass);
      assert.equal(ecs.commandCalls(RunTaskCommand).length, 0);
    });

    test('rejected request raises a UsageError with the problems', async () => {
      await assert.rejects(startCloudRun(await cloud(), startOptions({ rate: '5000' }), capturedIo()), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^the run request was rejected:\n {2}rate: 5000 is above the limit of env "example"; allowed 1\.\.2000$/);
        return true;
      });
    });

    test('rejected request starts nothing', async () => {
      await assert.rejects(startCloudRun(await cloud(), startOptions({ target: 'https://api.example.org' }), capturedIo()), UsageError);
      assert.deepEqual(invoked.map((payload) => payload.dryRun), [true]);
    });

    test('invalid --rate raises a UsageError before any invoke', async () => {
      await assert.rejects(startCloudRun(await cloud(), startOptions({ rate: '4/s' }), capturedIo()), /--rate: "4\/s" is not a whole number/);
      assert.equal(invoked.length, 0);
    });

    test('locked environment raises a UsageError naming the active run', async () => {
      const env = await cloud();
      const first = capturedIo();
      await startCloudRun(env, startOptions(), first);
      const activeRunId = /started (\S+) in/.exec(first.out.text)?.[1] ?? 'none';
      await assert.rejects(startCloudRun(env, startOptions(), capturedIo()), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, new RegExp(`^the run was not started: Env "example" already has an active run: ${activeRunId} `));
        return true;
      });
    });

    test('launch failure exits with 3 and says why', async () => {
      ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ reason: 'MISSING', arn: process.env.SOAK_TASK_DEFINITION_ARN }] });
      const io = capturedIo();
      const code = await startCloudRun(await cloud(), startOptions(), io);
      assert.equal(code, ExitCode.NotJudged);
      assert.match(io.err.text, /^soak: the run did not start: 2 of 2 segments could not be launched \(segment 0: MISSING; segment 1: MISSING\)/);
    });

    test('--wait returns 0 once a PASS report appears', { timeout: 20_000 }, async () => {
      const env = await cloud();
      const [code] = await Promise.all([startCloudRun(env, startOptions({ wait: true }), capturedIo()), finishRunWhenStarted(env)]);
      assert.equal(code, ExitCode.Pass);
    });

    test('--wait returns 1 for a failing verdict', { timeout: 20_000 }, async () => {
      const env = await cloud();
      // 3 s per request breaks the environment's p99 SLO of 1500 ms.
      const [code] = await Promise.all([startCloudRun(env, startOptions({ wait: true }), capturedIo()), finishRunWhenStarted(env, 3000)]);
      assert.equal(code, ExitCode.FailingVerdict);
    });

    test('--wait prints the summary with the verdict first', { timeout: 20_000 }, async () => {
      const env = await cloud();
      const io = capturedIo();
      await Promise.all([startCloudRun(env, startOptions({ wait: true }), io), finishRunWhenStarted(env)]);
      assert.match(io.out.text, /\n\nPASS {2}example \/ sigil {2}run run-\S+\n/);
    });

    test('--json prints one object per line', { timeout: 20_000 }, async () => {
      const env = await cloud();
      const io = capturedIo();
      await Promise.all([startCloudRun(env, startOptions({ wait: true, json: true }), io), finishRunWhenStarted(env)]);
      const types = io.out.text
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { type: string }).type);
      assert.deepEqual([types[0], types[1], types[types.length - 1]], ['plan', 'started', 'report']);
    });
  });

  describe('waitForReport', () => {
    test('prints progress until the report appears', { timeout: 20_000 }, async () => {
      const env = await cloud();
      const started = capturedIo();
      await startCloudRun(env, startOptions(), started);
      const runId = /started (\S+) in/.exec(started.out.text)?.[1] ?? 'none';
      const io = capturedIo();
      await Promise.all([waitForReport(env, runId, { pollMs: 20 }, io), finishRunWhenStarted(env)]);
      assert.match(io.out.text, new RegExp(`^\\S+Z {2}${runId}: 0 checkpoints stored, waiting for the verdict…$`, 'm'));
    });

    test('unchanged progress is printed once', { timeout: 20_000 }, async () => {
      const env = await cloud();
      const started = capturedIo();
      await startCloudRun(env, startOptions(), started);
      const runId = /started (\S+) in/.exec(started.out.text)?.[1] ?? 'none';
      const io = capturedIo();
      const waiting = waitForReport(env, runId, { pollMs: 5 }, io);
      // About 20 polls pass before the segments store anything.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await Promise.all([waiting, finishRunWhenStarted(env)]);
      assert.equal(io.out.text.split('\n').filter((line) => line.includes(': 0 checkpoints stored')).length, 1);
    });

    test('summary names the report page in the bucket', { timeout: 20_000 }, async () => {
      const env = await cloud();
      const started = capturedIo();
      await startCloudRun(env, startOptions(), started);
      await finishRunWhenStarted(env);
      const runId = /started (\S+) in/.exec(started.out.text)?.[1] ?? 'none';
      const io = capturedIo();
      await waitForReport(env, runId, { pollMs: 20 }, io);
      assert.match(io.out.text, new RegExp(`\nreport: s3://${BUCKET}/runs/example/${runId}/report\.html\n`));
    });

    test('stored report returns its exit code at once', async () => {
      const env = await cloud();
      const started = capturedIo();
      await startCloudRun(env, startOptions(), started);
      await finishRunWhenStarted(env);
      const runId = /started (\S+) in/.exec(started.out.text)?.[1] ?? 'none';
      assert.equal(await waitForReport(env, runId, { pollMs: 60_000 }, capturedIo()), ExitCode.Pass);
    });
  });

  describe('stopCloudRun', () => {
    test('stop prints the start-run message', async () => {
      const env = await cloud();
      const started = capturedIo();
      await startCloudRun(env, startOptions(), started);
      const runId = /started (\S+) in/.exec(started.out.text)?.[1] ?? 'none';
      const io = capturedIo();
      const code = await stopCloudRun(env, runId, 'target redeploy', io);
      assert.equal(code, ExitCode.Pass);
      assert.equal(io.out.text, `Stopping every task of ${runId}.\n`);
    });

    test('stop records the reason in the run', async () => {
      const env = await cloud();
      const started = capturedIo();
      await startCloudRun(env, startOptions(), started);
      const runId = /started (\S+) in/.exec(started.out.text)?.[1] ?? 'none';
      await stopCloudRun(env, runId, 'target redeploy', capturedIo());
      assert.equal(bucket.json(keys.stopRequest(ENV, runId))?.reason, 'target redeploy');
    });

    test('stop of an unknown run raises a UsageError', async () => {
      await assert.rejects(stopCloudRun(await cloud(), 'run-20261204T010000Z-abcdef', 'typo', capturedIo()), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^No run "run-20261204T010000Z-abcdef" in env "example"/);
        return true;
      });
    });
  });
});
