/**
 * finish-run Lambda. Accepts:
 *   - ECS "Task State Change" events of this cluster's STOPPED tasks: records the
 *     segment's stop and finalizes the run when every segment has stopped;
 *   - EventBridge "Scheduled Event"s (the periodic sweep): finalizes a run that is
 *     past its deadline, stopping its stragglers first.
 * Finalizing is exactly-once through a create-only marker, so duplicate, late and
 * out-of-order events change nothing after the first finalize.
 */
import { z } from 'zod';
import { recordSegmentStop, SCHEDULED_TIME_LABEL, sweepEnvironment, type FinishDeps, type SegmentStop } from '../../core/lifecycle.js';
import { EnvVar } from '../../core/env-vars.js';
import { LogEvent, registerSecret } from '../../core/log.js';
import { keys } from '../../core/ports.js';
import { renderReportHtml } from '../../core/render-html.js';
import { buildSlackMessage } from '../../core/slack-message.js';
import { runMetrics } from '../../core/run-metrics.js';
import { shouldNotify } from '../../core/notify-policy.js';
import type { FinalizeOutcome } from '../../core/finalize.js';
import { SlackWebhookNotifier } from '../../adapters/slack.js';
import { loadReportAssets, type ReportAssets } from '../../core/report-assets.js';
import { loadRuntime, type LambdaRuntime } from '../shared/runtime.js';

let runtime: LambdaRuntime | undefined;
let assets: ReportAssets | undefined;

const EcsStoppedEventSchema = z.object({
  'detail-type': z.literal('ECS Task State Change'),
  time: z.string().optional(),
  detail: z.object({
    taskArn: z.string(),
    lastStatus: z.string(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    stoppedAt: z.string().optional(),
    containers: z
      .array(z.object({ name: z.string(), exitCode: z.number().int().optional(), reason: z.string().optional() }))
      .default([]),
    overrides: z
      .object({
        containerOverrides: z
          .array(z.object({ name: z.string().optional(), environment: z.array(z.object({ name: z.string(), value: z.string() })).default([]) }))
          .default([]),
      })
      .optional(),
  }),
});

const ScheduledEventSchema = z.object({ 'detail-type': z.literal('Scheduled Event') });

/** Extracts the run and segment from the container overrides start-run set at RunTask. */
export function segmentStopFromEvent(event: z.infer<typeof EcsStoppedEventSchema>, containerName: string, nowMs: number): SegmentStop | null {
  const { detail } = event;
  const variables = new Map<string, string>();
  for (const override of detail.overrides?.containerOverrides ?? []) {
    if (override.name !== undefined && override.name !== containerName) continue;
    for (const variable of override.environment) variables.set(variable.name, variable.value);
  }
  const runId = variables.get(EnvVar.RunId);
  const env = variables.get(EnvVar.Env);
  const segment = Number(variables.get(EnvVar.Segment));
  if (!runId || !env || !Number.isInteger(segment)) return null;

  const container = detail.containers.find((item) => item.name === containerName) ?? detail.containers[0];
  const stoppedAt = detail.stoppedAt ? Date.parse(detail.stoppedAt) : NaN;
  return {
    env,
    runId,
    segment,
    taskId: detail.taskArn,
    exitCode: container?.exitCode ?? null,
    stopCode: detail.stopCode ?? null,
    stoppedReason: detail.stoppedReason ?? null,
    containerReason: container?.reason ?? null,
    stoppedAtMs: Number.isNaN(stoppedAt) ? nowMs : stoppedAt,
  };
}

async function notify(rt: LambdaRuntime, outcome: FinalizeOutcome): Promise<void> {
  const { report } = outcome;
  const policy = await shouldNotify(rt.config.notify.mode, rt.store, report);
  if (!policy.notify) {
    rt.log.info('notification skipped', { runId: report.runId, why: policy.why });
    return;
  }
  const reportUrl = rt.config.notify.reportBaseUrl ? `${rt.config.notify.reportBaseUrl.replace(/\/$/, '')}/${keys.reportHtml(report.env, report.runId)}` : undefined;
  const message = buildSlackMessage(report, { reportUrl });

  if (rt.slackWebhookSecret) {
    // A Slack failure must not also cost the SNS e-mail below, so it is logged here.
    try {
      const webhook = await rt.secrets.get(rt.slackWebhookSecret);
      if (webhook) {
        registerSecret(webhook);
        const result = await new SlackWebhookNotifier(webhook, { log: rt.log }).send(message, message.text);
        rt.log.info('slack notification', {
          event: result.delivered ? LogEvent.NotificationSent : LogEvent.NotificationFailed,
          runId: report.runId,
          attempts: result.attempts,
          detail: result.detail,
        });
      } else {
        rt.log.warn('slack webhook secret not found, no Slack message sent', { event: LogEvent.NotificationFailed, runId: report.runId, secretName: rt.slackWebhookSecret });
      }
    } catch (error) {
      rt.log.error('slack notification failed', { event: LogEvent.NotificationFailed, runId: report.runId, error });
    }
  }
  if (rt.sns) {
    const result = await rt.sns.send(message, message.text);
    rt.log.info('sns notification', { event: result.delivered ? LogEvent.NotificationSent : LogEvent.NotificationFailed, runId: report.runId, detail: result.detail });
  }
}

function deps(rt: LambdaRuntime, reportAssets: ReportAssets): FinishDeps {
  return {
    store: rt.store,
    log: rt.log,
    launcher: rt.launcher,
    nowMs: () => Date.now(),
    renderHtml: (report) => renderReportHtml(report, reportAssets),
    buildMessage: (report) => buildSlackMessage(report, {}),
    notify: (outcome) => notify(rt, outcome),
    publishRunMetrics: (outcome) =>
      rt.metrics.publish(runMetrics(outcome.report, { scheduled: SCHEDULED_TIME_LABEL in outcome.report.labels, nowMs: Date.now() })),
  };
}

export async function handler(event: unknown): Promise<{ status: string; runId?: string; verdict?: string }> {
  runtime ??= loadRuntime(process.env, 'finish-run');
  assets ??= await loadReportAssets();
  const rt = runtime;
  const containerName = process.env[EnvVar.ContainerName] ?? '';

  const scheduled = ScheduledEventSchema.safeParse(event);
  if (scheduled.success) {
    const outcome = await sweepEnvironment(deps(rt, assets), rt.env);
    return outcome ? { status: 'swept', runId: outcome.report.runId, verdict: outcome.report.verdict } : { status: 'nothing-to-sweep' };
  }

  const parsed = EcsStoppedEventSchema.safeParse(event);
  if (!parsed.success) {
    rt.log.warn('event ignored: neither an ECS task state change nor a scheduled sweep', { issues: parsed.error.issues.slice(0, 3) });
    return { status: 'ignored' };
  }
  if (parsed.data.detail.lastStatus !== 'STOPPED') return { status: 'ignored' };

  const stop = segmentStopFromEvent(parsed.data, containerName, Date.now());
  if (stop === null) {
    rt.log.warn('stopped task without run overrides ignored', { taskArn: parsed.data.detail.taskArn });
    return { status: 'ignored' };
  }
  const result = await recordSegmentStop(deps(rt, assets), stop);
  return result.outcome
    ? { status: 'finalized', runId: stop.runId, verdict: result.outcome.report.verdict }
    : { status: 'recorded', runId: stop.runId };
}
