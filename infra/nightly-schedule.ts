/**
 * The nightly run: an EventBridge Scheduler schedule, read in the environment's time
 * zone, that invokes start-run with a run request.
 */
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { RunRequestInput } from '../core/schemas.js';
import { acknowledgeWildcardResources } from './nag.js';

/** Labels of a scheduled run request; start-run can derive a stable run id from `scheduledTime`. */
export const ScheduleLabel = {
  Trigger: 'trigger',
  ScheduledTime: 'scheduledTime',
} as const;

export interface NightlyScheduleProps {
  envName: string;
  startRun: lambda.IFunction;
  request: RunRequestInput;
  /** EventBridge Scheduler cron expression, such as `cron(0 1 * * ? *)`. */
  cron: string;
  /** IANA time zone name. */
  timeZone: string;
}

export class NightlySchedule extends Construct {
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: NightlyScheduleProps) {
    super(scope, id);

    // The input is a RunRequest. EventBridge Scheduler replaces the context attribute with
    // the invocation's scheduled time (such as 2026-12-05T01:00:00Z), which is the same
    // on every retry of one invocation, so start-run can use it to reject duplicates.
    const request: RunRequestInput = {
      ...props.request,
      labels: {
        ...props.request.labels,
        [ScheduleLabel.Trigger]: 'schedule',
        [ScheduleLabel.ScheduledTime]: scheduler.ContextAttribute.scheduledTime,
      },
    };

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `soak-runner ${props.envName}: lets EventBridge Scheduler invoke start-run`,
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `soak-runner ${props.envName}: nightly soak run`,
      schedule: scheduler.ScheduleExpression.expression(props.cron, TimeZone.of(props.timeZone)),
      target: new schedulerTargets.LambdaInvoke(props.startRun, {
        role,
        input: scheduler.ScheduleTargetInput.fromObject(request),
        // A nightly run that starts hours late would overlap the working day; drop it instead.
        maxEventAge: Duration.hours(1),
        retryAttempts: 3,
      }),
    });

    acknowledgeWildcardResources(
      role,
      [`${props.startRun.functionArn}:*`],
      'The scheduler target grants lambda:InvokeFunction on start-run and on its versions and aliases (<arn>:*); it is one function.',
    );
  }
}
