/**
 * start-run Lambda. Accepts:
 *   - a RunRequest (from the nightly schedule, whose labels carry `scheduledTime`, or
 *     an ad-hoc `aws lambda invoke` / `soak start`), with `dryRun` for the plan only;
 *   - `{ "action": "stop", "runId": "...", "reason": "..." }`, the kill switch.
 * It answers with a JSON object whose `status` says what happened; invalid input is
 * answered, not thrown, so a caller sees the field, the value and the fix.
 */
import { z } from 'zod';
import { estimateRunCost } from '../../core/cost.js';
import { startRun, stopRun, type StartOutcome } from '../../core/lifecycle.js';
import { RunNotFoundError } from '../../core/finalize.js';
import { loadRuntime, type LambdaRuntime } from '../shared/runtime.js';

let runtime: LambdaRuntime | undefined;

const StopEventSchema = z
  .object({
    action: z.literal('stop'),
    runId: z.string().min(1),
    reason: z.string().max(500).default('stopped through the start-run Lambda'),
  })
  .strict();

type WithoutManifest<T> = T extends { manifest: unknown } ? Omit<T, 'manifest'> & { plan: unknown; costEstimateUsd: number } : T;

export type StartRunResponse = WithoutManifest<StartOutcome> | { status: 'stopping' | 'not-found'; runId: string; message: string };

export async function handler(event: unknown): Promise<StartRunResponse> {
  runtime ??= loadRuntime(process.env, 'start-run');
  const { log, store, launcher, config } = runtime;
  const nowMs = () => Date.now();

  if (event !== null && typeof event === 'object' && (event as { action?: unknown }).action === 'stop') {
    const parsed = StopEventSchema.safeParse(event);
    if (!parsed.success) {
      return { status: 'rejected', problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`) };
    }
    try {
      const result = await stopRun({ store, launcher, log, nowMs }, runtime.env, parsed.data.runId, parsed.data.reason);
      return { status: 'stopping', runId: parsed.data.runId, message: result.message };
    } catch (error) {
      if (error instanceof RunNotFoundError) return { status: 'not-found', runId: parsed.data.runId, message: error.message };
      throw error;
    }
  }

  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    return { status: 'rejected', problems: ['event: expected a JSON object with a run request or {"action":"stop","runId":"..."}'] };
  }
  // The environment is this stack's; a request for another one is a mistake worth naming.
  const input: Record<string, unknown> = { env: runtime.env, ...(event as Record<string, unknown>) };
  if (input.env !== runtime.env) {
    return { status: 'rejected', problems: [`env: "${String(input.env)}" does not match this stack's environment "${runtime.env}"; invoke the start-run Lambda of that environment`] };
  }
  for (const [field, fallback] of [
    ['target', config.defaults.target],
    ['scenario', config.defaults.scenario],
    ['rate', config.defaults.rate],
    ['durationS', config.defaults.durationS],
    ['segments', config.defaults.segments],
  ] as const) {
    if (input[field] === undefined && fallback !== undefined) input[field] = fallback;
  }

  const outcome = await startRun({ store, launcher, log, nowMs, bundledScenarios: runtime.bundledScenarios }, input, config);
  if (outcome.status === 'rejected' || outcome.status === 'locked' || outcome.status === 'duplicate') {
    // The nightly schedule invokes asynchronously and drops this response, so the log is
    // the only place a night that started nothing can be traced.
    log.warn('run not started', { ...outcome, trigger: (input.labels as Record<string, unknown> | undefined)?.trigger });
  }
  if (outcome.status === 'started' || outcome.status === 'planned') {
    const { manifest, ...rest } = outcome;
    return {
      ...rest,
      plan: { segments: manifest.segments, deadline: new Date(manifest.deadlineMs).toISOString(), request: manifest.request },
      costEstimateUsd: estimateRunCost({ segments: manifest.request.segments, durationS: manifest.request.durationS, ...runtime.taskSize }).totalUsd,
    };
  }
  return outcome;
}
