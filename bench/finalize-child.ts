/**
 * Child process of the finalize benchmark: finalizes one stored run with the HTML
 * report and the Slack message, as `soak finalize` does. It prints one JSON line with
 * the wall time, the peak RSS seen by sampling every 50 ms, and the output sizes.
 * With `--abort-poll` it instead follows what segment 0 does every 10 s while a run
 * goes on (SegmentRunner's stop and abort check). It feeds the windows of the run's
 * last 125 minutes to an AbortMonitor, which keeps the last two hours, so the memory
 * is what the monitor holds at the end of the run. Only segments 0 to 7 are fed: the
 * monitor keeps windows merged across segments, so more segments add little memory
 * and much setup time. It then times the steady-state poll, which lists every stored
 * key of all segments and evaluates the monitor.
 *
 *   npx tsx bench/finalize-child.ts ROOT ENV RUN_ID [--abort-poll]
 */
import { AbortMonitor } from '../core/abort.js';
import { decodeWindows } from '../core/checkpoint.js';
import { parseEnvConfig } from '../core/config.js';
import { finalizeRun, readManifest } from '../core/finalize.js';
import { silentLog } from '../core/log.js';
import { keys } from '../core/ports.js';
import { renderReportHtml } from '../core/render-html.js';
import { loadReportAssets } from '../core/report-assets.js';
import { buildSlackMessage } from '../core/slack-message.js';
import { normalizeThresholds } from '../core/thresholds.js';
import { FolderResultStore } from '../adapters/local/folder-store.js';

const [root, env, runId, mode] = process.argv.slice(2);
if (runId === undefined) {
  process.stderr.write('usage: finalize-child.ts ROOT ENV RUN_ID [--abort-poll]\n');
  process.exit(2);
}
const store = new FolderResultStore(root!);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const started = process.hrtime.bigint();
const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;

if (mode === '--abort-poll') {
  const manifest = await readManifest(store, env!, runId);
  const config = parseEnvConfig(manifest.config, 'the manifest');
  const thresholds = normalizeThresholds(manifest.thresholds, 'script').filter((threshold) => threshold.abortOnFail);
  const monitor = new AbortMonitor(config.abort, thresholds, manifest.createdAtMs);
  const prefix = `${keys.run(env!, runId)}segments/`;
  // Synthetic checkpoints hold six 10-second windows, so the last 125 minutes are the last 125 numbers.
  const lastSeq = Math.ceil((manifest.request.durationS * 1000) / 60_000) - 1;
  const fedSegments = 8;
  let windows = 0;
  for (const key of await store.list(prefix)) {
    if (!key.includes('/windows/')) continue;
    const [segment] = key.slice(prefix.length).split('/');
    if (Number(segment) >= fedSegments) continue;
    if (Number(key.slice(key.lastIndexOf('/') + 1, key.indexOf('.ndjson'))) < lastSeq - 125) continue;
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    const records = decodeWindows(bytes, key);
    monitor.add(records);
    windows += records.length;
  }
  const catchUpS = seconds();

  // Later polls find every key already read: they list and evaluate only.
  const pollSeconds: number[] = [];
  for (let poll = 0; poll < 3; poll++) {
    const pollStarted = process.hrtime.bigint();
    const listed = (await store.list(prefix)).filter((key) => key.includes('/windows/')).length;
    monitor.evaluate();
    pollSeconds.push(Number(process.hrtime.bigint() - pollStarted) / 1e9);
    if (listed * 6 < windows) throw new Error(`listed ${listed} checkpoints, fewer than the ${Math.ceil(windows / 6)} read`);
  }
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  // Started with --expose-gc, so the RSS below is what the monitor keeps, not garbage.
  globalThis.gc?.();
  process.stdout.write(
    `${JSON.stringify({ wallS: seconds(), catchUpS, pollS: pollSeconds.sort((a, b) => a - b)[1], peakRssBytes: peakRss, retainedRssBytes: process.memoryUsage().rss, windows, fedSegments })}\n`,
  );
} else {
  const assets = await loadReportAssets();
  const outcome = await finalizeRun(
    {
      store,
      log: silentLog,
      renderHtml: (report) => renderReportHtml(report, assets),
      buildMessage: (report) => buildSlackMessage(report, {}),
    },
    env!,
    runId,
  );
  const wallS = seconds();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const reportBytes = (await store.get(outcome.keys.report))?.length ?? 0;
  const htmlBytes = outcome.keys.html === null ? 0 : ((await store.get(outcome.keys.html))?.length ?? 0);
  process.stdout.write(
    `${JSON.stringify({ wallS, peakRssBytes: peakRss, reportBytes, htmlBytes, verdict: outcome.report.verdict, reasons: outcome.report.reasons.map((reason) => reason.code), seriesPoints: outcome.report.series.length })}\n`,
  );
}
