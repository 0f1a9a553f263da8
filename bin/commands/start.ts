/**
 * `soak start --env E`: an on-demand run in a deployed environment. Prints the plan
 * and the cost estimate (a dry run of the start-run Lambda), starts the run, and
 * with --wait follows it to its verdict.
 */
import { parseDuration } from '../../core/duration.js';
import { RunReportSchema } from '../../core/report-schema.js';
import { keys } from '../../core/ports.js';
import { sleep } from '../../core/retry.js';
import type { CloudEnvironment } from '../cloud.js';
import { ExitCode, exitCodeForVerdict, UsageError, type Io } from '../io.js';
import { formatSummary } from './finalize.js';

export interface StartOptions {
  env: string;
  target?: string;
  scenario?: string;
  rate?: string;
  duration?: string;
  segments?: string;
  threshold: string[];
  label: string[];
  dryRun?: boolean;
  wait?: boolean;
  json?: boolean;
  /** Poll period of --wait; tests shorten it. */
  pollMs?: number;
}

function buildRequest(options: StartOptions): Record<string, unknown> {
  const request: Record<string, unknown> = { env: options.env };
  if (options.target !== undefined) request.target = options.target;
  if (options.scenario !== undefined) request.scenario = options.scenario;
  if (options.rate !== undefined) {
    if (!/^\d+$/.test(options.rate)) throw new UsageError(`--rate: "${options.rate}" is not a whole number.`);
    request.rate = Number(options.rate);
  }
  if (options.segments !== undefined) {
    if (!/^\d+$/.test(options.segments)) throw new UsageError(`--segments: "${options.segments}" is not a whole number.`);
    request.segments = Number(options.segments);
  }
  if (options.duration !== undefined) {
    const seconds = parseDuration(options.duration);
    if (seconds === null) throw new UsageError(`--duration: "${options.duration}" is not a duration; use for example 30m or 4h.`);
    request.durationS = seconds;
  }
  const thresholds: Record<string, string[]> = {};
  for (const value of options.threshold) {
    const index = value.indexOf('=');
    if (index <= 0) throw new UsageError(`--threshold: "${value}" must look like METRIC=EXPRESSION.`);
    (thresholds[value.slice(0, index)] ??= []).push(value.slice(index + 1));
  }
  if (Object.keys(thresholds).length > 0) request.thresholds = thresholds;
  const labels: Record<string, string> = {};
  for (const value of options.label) {
    const index = value.indexOf('=');
    if (index <= 0) throw new UsageError(`--label: "${value}" must look like KEY=VALUE.`);
    labels[value.slice(0, index)] = value.slice(index + 1);
  }
  if (Object.keys(labels).length > 0) request.labels = labels;
  return request;
}

function problemsOf(response: Record<string, unknown>): string {
  const problems = Array.isArray(response.problems) ? (response.problems as string[]) : [String(response.message ?? 'rejected')];
  return problems.join('\n  ');
}

export async function startCloudRun(cloud: CloudEnvironment, options: StartOptions, io: Io): Promise<number> {
  const request = buildRequest(options);

  const plan = await cloud.invokeStartRun({ ...request, dryRun: true });
  if (plan.status === 'rejected') throw new UsageError(`the run request was rejected:\n  ${problemsOf(plan)}`);
  if (options.json) io.out.write(`${JSON.stringify({ type: 'plan', ...plan })}\n`);
  else {
    const planned = plan.plan as { request?: { rate?: number; durationS?: number; segments?: number; target?: string; scenario?: string }; deadline?: string } | undefined;
    io.out.write(
      `plan for ${cloud.env}: ${planned?.request?.scenario} against ${planned?.request?.target}, ${planned?.request?.rate} iterations/s for ${planned?.request?.durationS} s in ${planned?.request?.segments} segment(s); deadline ${planned?.deadline}\n` +
        `estimated Fargate cost: USD ${String(plan.costEstimateUsd)}\n`,
    );
  }
  if (options.dryRun) return ExitCode.Pass;

  const started = await cloud.invokeStartRun(request);
  switch (started.status) {
    case 'started':
      break;
    case 'locked':
    case 'rejected':
    case 'duplicate':
      throw new UsageError(`the run was not started: ${problemsOf(started)}`);
    default:
      io.err.write(`soak: the run did not start: ${String(started.message ?? started.status)}\n`);
      return ExitCode.NotJudged;
  }
  const runId = String(started.runId);
  io.out.write(options.json ? `${JSON.stringify({ type: 'started', runId })}\n` : `started ${runId} in ${cloud.env}\n`);
  if (!options.wait) return ExitCode.Pass;
  return waitForReport(cloud, runId, options, io);
}

/** Follows a run until its report exists, printing the stored windows' progress. */
export async function waitForReport(cloud: CloudEnvironment, runId: string, options: Pick<StartOptions, 'json' | 'pollMs'>, io: Io): Promise<number> {
  const pollMs = options.pollMs ?? 30_000;
  let lastCount: number | undefined;
  while (true) {
    const bytes = await cloud.store.get(keys.report(cloud.env, runId));
    if (bytes !== undefined) {
      const report = RunReportSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
      io.out.write(options.json ? `${JSON.stringify({ type: 'report', verdict: report.verdict, runId })}\n` : `\n${formatSummary(report, `${cloud.store.location.replace(/\/?$/, '/')}${keys.reportHtml(cloud.env, runId)}`)}`);
      return exitCodeForVerdict(report.verdict);
    }
    const checkpoints = (await cloud.store.list(`${keys.run(cloud.env, runId)}segments/`)).filter((key) => key.includes('/windows/')).length;
    // Compared by count, because the line's timestamp differs on every poll.
    if (checkpoints !== lastCount) {
      const line = `${new Date().toISOString()}  ${runId}: ${checkpoints} checkpoints stored, waiting for the verdict…`;
      io.out.write(options.json ? `${JSON.stringify({ type: 'progress', runId, checkpoints })}\n` : `${line}\n`);
    }
    lastCount = checkpoints;
    await sleep(pollMs);
  }
}

export async function stopCloudRun(cloud: CloudEnvironment, runId: string, reason: string, io: Io): Promise<number> {
  const response = await cloud.invokeStartRun({ action: 'stop', runId, reason });
  if (response.status === 'not-found') throw new UsageError(String(response.message));
  if (response.status !== 'stopping') throw new UsageError(`stop was rejected: ${problemsOf(response)}`);
  io.out.write(`${String(response.message)}\n`);
  return ExitCode.Pass;
}
