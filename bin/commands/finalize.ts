/**
 * `soak finalize` and `soak report`, and the finalize-then-notify step that ends
 * `soak run --local`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { EnvVar } from '../../core/env-vars.js';
import { finalizeRun, readManifest, type FinalizeOutcome } from '../../core/finalize.js';
import { parseEnvConfig, type EnvConfig } from '../../core/config.js';
import { shouldNotify } from '../../core/notify-policy.js';
import { LogEvent, registerSecret } from '../../core/log.js';
import { keys, type Log, type Notifier, type ResultStore } from '../../core/ports.js';
import { renderReportHtml } from '../../core/render-html.js';
import { loadReportAssets } from '../../core/report-assets.js';
import { RunReportSchema, type RunReport } from '../../core/report-schema.js';
import { buildSlackMessage } from '../../core/slack-message.js';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { StdoutNotifier } from '../../adapters/local/stdout-notifier.js';
import { SlackWebhookNotifier } from '../../adapters/slack.js';
import { exitCodeForVerdict, UsageError, type Io } from '../io.js';

export interface FinalizeContext {
  store: ResultStore;
  env: string;
  runId: string;
  io: Io;
  log: Log;
  webhook?: string;
  json?: boolean;
  open?: boolean;
  /** Notify even when an earlier finalize already did (`soak notify`). */
  forceNotify?: boolean;
}

function formatMs(value: number | null): string {
  if (value === null) return '—';
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

function formatPercent(value: number | null): string {
  return value === null ? '—' : `${(value * 100).toFixed(2)} %`;
}

/** Formats a terminal summary: verdict first, then the reasons, then the key figures. */
export function formatSummary(report: RunReport, reportPath: string | null): string {
  const lines = [
    `${report.verdict}  ${report.env} / ${report.scenario}  run ${report.runId}`,
    ...report.reasons.map((reason) => `  - [${reason.verdict}] ${reason.message}`),
    '',
    `requests ${report.requests.total}  failed ${report.requests.failed} (${formatPercent(report.requests.errorRate)})  ` +
      `p50 ${formatMs(report.latencyMs.p50)}  p95 ${formatMs(report.latencyMs.p95)}  p99 ${formatMs(report.latencyMs.p99)}  max ${formatMs(report.latencyMs.max)}`,
    `load: planned ${report.load.plannedRate}/s, achieved ${report.load.achievedRate === null ? '—' : report.load.achievedRate.toFixed(1)}/s, dropped ${report.load.dropped}`,
  ];
  for (const leak of report.analyses.leaks) lines.push(`leak check ${leak.series}: ${leak.status} — ${leak.message}`);
  for (const drift of report.analyses.drift) lines.push(`drift check ${drift.series}: ${drift.status} — ${drift.message}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  if (reportPath) lines.push('', `report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}

export function openInBrowser(path: string, io: Io): void {
  let opener = 'xdg-open';
  if (process.platform === 'darwin') opener = 'open';
  if (process.platform === 'win32') opener = 'explorer';
  const child = spawn(opener, [path], { stdio: 'ignore', detached: true });
  child.on('error', () => io.err.write(`soak: could not start ${opener}; open ${path} in a browser.\n`));
  child.unref();
}

async function readRunConfig(store: ResultStore, env: string, runId: string): Promise<EnvConfig> {
  const manifest = await readManifest(store, env, runId);
  return parseEnvConfig(manifest.config, `the manifest of run ${runId}`);
}

/** Returns a file path for the local store, else the store's own address of the key (`s3://bucket/...`). */
function reportLocation(store: ResultStore, key: string): string {
  return store instanceof FolderResultStore ? join(store.root, key) : `${store.location.replace(/\/$/, '')}/${key}`;
}

function notifierFor(webhook: string | undefined, io: Io, log: Log): Notifier {
  const url = webhook ?? process.env[EnvVar.SlackWebhookUrl];
  if (url) {
    registerSecret(url);
    return new SlackWebhookNotifier(url, { log });
  }
  return new StdoutNotifier(io.out);
}

export async function finalizeAndNotify(context: FinalizeContext): Promise<number> {
  const { store, env, runId, io, log } = context;
  const assets = await loadReportAssets();
  let outcome: FinalizeOutcome;
  outcome = await finalizeRun(
    {
      store,
      log,
      renderHtml: (report) => renderReportHtml(report, assets),
      buildMessage: (report) => buildSlackMessage(report, { reportUrl: reportLocation(store, keys.reportHtml(env, runId)) }),
    },
    env,
    runId,
  );

  const htmlPath = outcome.keys.html ? reportLocation(store, outcome.keys.html) : null;
  if (context.json) io.out.write(`${JSON.stringify({ type: 'report', verdict: outcome.report.verdict, report: reportLocation(store, outcome.keys.report), html: htmlPath })}\n`);
  else io.out.write(`\n${formatSummary(outcome.report, htmlPath)}`);

  if (context.forceNotify) {
    await notify(context, outcome.report);
  } else if (outcome.first) {
    const manifestConfig = await readRunConfig(store, env, runId);
    const policy = await shouldNotify(manifestConfig.notify.mode, store, outcome.report);
    if (policy.notify) await notify(context, outcome.report);
    else io.err.write(`soak: no notification: ${policy.why}.\n`);
  }
  if (context.open && htmlPath && store instanceof FolderResultStore) openInBrowser(htmlPath, io);
  return exitCodeForVerdict(outcome.report.verdict);
}

async function notify(context: FinalizeContext, report: RunReport): Promise<void> {
  const message = buildSlackMessage(report, { reportUrl: reportLocation(context.store, keys.reportHtml(context.env, context.runId)) });
  const notifier = notifierFor(context.webhook, context.io, context.log);
  const result = await notifier.send(message, message.text);
  const event = result.delivered ? LogEvent.NotificationSent : LogEvent.NotificationFailed;
  context.log.info('notification', { event, channel: result.channel, attempts: result.attempts, detail: result.detail });
  if (!result.delivered) {
    context.io.err.write(`soak: the ${result.channel} notification was not delivered (${result.detail}); resend with \`soak notify --env ${context.env} ${context.runId}\`.\n`);
  }
}

export async function readReport(store: ResultStore, env: string, runId: string): Promise<RunReport> {
  const bytes = await store.get(keys.report(env, runId));
  if (bytes === undefined) {
    const manifest = await store.get(keys.manifest(env, runId));
    if (manifest === undefined) {
      throw new UsageError(`No run "${runId}" in env "${env}" under ${store.location}. Check --results and --env, or list runs with \`soak list --env ${env}\`.`);
    }
    throw new UsageError(`Run ${runId} has no report yet. Create it with \`soak finalize --env ${env} --results ${store.location} ${runId}\`.`);
  }
  const parsed = RunReportSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  if (!parsed.success) {
    throw new UsageError(`${keys.report(env, runId)} under ${store.location} is not a soak-runner report (${parsed.error.issues[0]?.message}). Recreate it with \`soak finalize\`.`);
  }
  return parsed.data;
}
