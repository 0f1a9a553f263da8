/**
 * Launcher on ECS Fargate: one RunTask call with `count: 1` per segment, because each
 * segment needs its own SOAK_SEGMENT override and RunTask gives every task of one call
 * the same overrides. At most `maxConcurrentCalls` calls are in flight at once.
 */
import { createHash } from 'node:crypto';
import { ListTasksCommand, RunTaskCommand, StopTaskCommand, type ECSClient, type Failure } from '@aws-sdk/client-ecs';
import { EnvVar } from '../../core/env-vars.js';
import { silentLog } from '../../core/log.js';
import type { LaunchedSegment, Launcher, Log, SegmentLaunch } from '../../core/ports.js';
import { sleep as defaultSleep } from '../../core/retry.js';
import { describeAwsError, isRetryableAwsError } from './aws-errors.js';

/** Task tags that name the run and segment, for people browsing the ECS console and for cost reports. */
export const TaskTag = {
  RunId: 'soak:runId',
  Segment: 'soak:segment',
  Env: 'soak:env',
} as const;

/** Prefix of `startedBy` on every task this launcher starts; the STOPPED event rule matches on it. */
export const STARTED_BY_PREFIX = 'soak-';

/**
 * Returns the `startedBy` value of a run's tasks: ListTasks filters on it, which is how
 * `stop` finds them. ECS allows at most 36 characters from [A-Za-z0-9_/-] in
 * StartTask (RunTask documents 128), and run ids may be 80 characters with dots, so
 * the value is a hash of the run id.
 */
export function startedByForRun(runId: string): string {
  return STARTED_BY_PREFIX + createHash('sha256').update(runId).digest('hex').slice(0, 36 - STARTED_BY_PREFIX.length);
}

/**
 * Failure reasons after which the same RunTask call can succeed later: Fargate out of
 * capacity in the zone ("Capacity is unavailable at this time..."), or no resources
 * left for placement (RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:ENI, AGENT).
 */
const RETRYABLE_FAILURE = /capacity|^RESOURCE:|^AGENT|throttl|rate exceeded/i;

export function isRetryableRunTaskFailure(failure: Failure): boolean {
  return RETRYABLE_FAILURE.test(`${failure.reason ?? ''} ${failure.detail ?? ''}`.trim());
}

export interface EcsLauncherOptions {
  clusterArn: string;
  /** Full task definition ARN with its revision, as the stack passes it to start-run. */
  taskDefinitionArn: string;
  containerName: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
  /** Concurrent RunTask calls. @default 10 */
  maxConcurrentCalls?: number;
  /** Attempts per segment, the first one included, for capacity failures and throttling. @default 6 */
  attempts?: number;
  /** First backoff delay, doubled each attempt, with full jitter. @default 2000 */
  baseDelayMs?: number;
  /** @default 30000 */
  maxDelayMs?: number;
  log?: Log;
  sleep?: (ms: number) => Promise<void>;
}

export class LauncherError extends Error {
  constructor(
    message: string,
    readonly runId: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LauncherError';
  }
}

type Outcome = { launched: LaunchedSegment } | { failed: { segment: number; reason: string } };

export class EcsLauncher implements Launcher {
  readonly #client: ECSClient;
  readonly #options: Required<Omit<EcsLauncherOptions, 'log' | 'sleep'>>;
  readonly #log: Log;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(client: ECSClient, options: EcsLauncherOptions) {
    this.#client = client;
    this.#options = {
      maxConcurrentCalls: 10,
      attempts: 6,
      baseDelayMs: 2000,
      maxDelayMs: 30_000,
      ...options,
    };
    this.#log = options.log ?? silentLog;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  async launch(launches: SegmentLaunch[]): Promise<{ launched: LaunchedSegment[]; failed: { segment: number; reason: string }[] }> {
    const launched: LaunchedSegment[] = [];
    const failed: { segment: number; reason: string }[] = [];

    for (let start = 0; start < launches.length; start += this.#options.maxConcurrentCalls) {
      const wave = launches.slice(start, start + this.#options.maxConcurrentCalls);
      const outcomes = await Promise.all(wave.map((launch) => this.#launchSegment(launch)));
      for (const outcome of outcomes) {
        if ('launched' in outcome) launched.push(outcome.launched);
        else failed.push(outcome.failed);
      }
    }
    return { launched, failed };
  }

  async stop(runId: string, reason: string): Promise<void> {
    const taskArns = await this.#listRunTasks(runId);
    const log = this.#log.child({ runId });
    const failures: string[] = [];

    for (const taskArn of taskArns) {
      try {
        await this.#client.send(new StopTaskCommand({ cluster: this.#options.clusterArn, task: taskArn, reason: reason.slice(0, 255) }));
        log.info('task stop requested', { taskArn });
      } catch (error) {
        log.error('task stop failed', { taskArn, error });
        failures.push(`${taskArn}: ${describeAwsError(error)}`);
      }
    }

    if (failures.length > 0) {
      throw new LauncherError(
        `Could not stop ${failures.length} of ${taskArns.length} tasks of run ${runId} in ${this.#options.clusterArn}: ${failures.join('; ')}. Run the stop again; tasks past the run deadline are also stopped by the finish-run sweep.`,
        runId,
        true,
      );
    }
  }

  async #listRunTasks(runId: string): Promise<string[]> {
    const taskArns: string[] = [];
    let nextToken: string | undefined;
    do {
      try {
        const output = await this.#client.send(
          new ListTasksCommand({
            cluster: this.#options.clusterArn,
            startedBy: startedByForRun(runId),
            desiredStatus: 'RUNNING',
            nextToken,
          }),
        );
        taskArns.push(...(output.taskArns ?? []));
        nextToken = output.nextToken;
      } catch (error) {
        throw new LauncherError(
          `Could not list the tasks of run ${runId} in ${this.#options.clusterArn}: ${describeAwsError(error)}.`,
          runId,
          isRetryableAwsError(error),
          { cause: error },
        );
      }
    } while (nextToken !== undefined);
    return taskArns;
  }

  async #launchSegment({ manifest, segment }: SegmentLaunch): Promise<Outcome> {
    const log = this.#log.child({ runId: manifest.runId, env: manifest.env, segment: segment.index });
    let lastReason = 'not attempted';

    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      let retryable: boolean;
      try {
        const output = await this.#client.send(this.#runTaskCommand(manifest.runId, manifest.env, segment.index, attempt));
        const taskArn = output.tasks?.[0]?.taskArn;
        if (taskArn !== undefined) return { launched: { segment: segment.index, taskId: taskArn } };

        const failure = output.failures?.[0] ?? { reason: 'RunTask returned neither a task nor a failure' };
        lastReason = [failure.reason, failure.detail].filter(Boolean).join(': ');
        retryable = isRetryableRunTaskFailure(failure);
      } catch (error) {
        lastReason = `${describeAwsError(error)}: ${(error as Error).message}`;
        retryable = isRetryableAwsError(error);
      }

      if (!retryable || attempt === this.#options.attempts) break;
      const ceiling = Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(Math.random() * ceiling);
      log.warn('RunTask failed, retrying', { attempt, delayMs, reason: lastReason });
      await this.#sleep(delayMs);
    }

    log.error('segment launch failed', { reason: lastReason });
    return { failed: { segment: segment.index, reason: lastReason } };
  }

  #runTaskCommand(runId: string, env: string, segment: number, attempt: number): RunTaskCommand {
    return new RunTaskCommand({
      cluster: this.#options.clusterArn,
      taskDefinition: this.#options.taskDefinitionArn,
      launchType: 'FARGATE',
      count: 1,
      startedBy: startedByForRun(runId),
      // A new token per attempt: an attempt that returned a failure started nothing, and
      // reusing its token would return the same failure. The SDK's own retries of a lost
      // response resend the same request, token included, so they cannot start a second task.
      clientToken: createHash('sha256').update(`${runId}/${segment}/${attempt}`).digest('hex'),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: this.#options.subnets,
          securityGroups: this.#options.securityGroups,
          assignPublicIp: this.#options.assignPublicIp ? 'ENABLED' : 'DISABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: this.#options.containerName,
            // The "Task State Change" event carries the overrides but not the task
            // definition's environment, so finish-run reads run, environment and segment here.
            environment: [
              { name: EnvVar.RunId, value: runId },
              { name: EnvVar.Env, value: env },
              { name: EnvVar.Segment, value: String(segment) },
            ],
          },
        ],
      },
      enableECSManagedTags: true,
      tags: [
        { key: TaskTag.RunId, value: runId },
        { key: TaskTag.Segment, value: String(segment) },
        { key: TaskTag.Env, value: env },
      ],
    });
  }
}
