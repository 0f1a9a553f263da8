/**
 * Child process of the finalize benchmark: finalizes one stored run with the HTML
 * report and the Slack message, as `soak finalize` does. It prints one JSON line with
 * the wall time, the peak RSS seen by sampling every 50 ms, and the output sizes.
 * With `--abort-poll` it instead runs segment 0's abort check (SegmentRunner's
 * CheckpointFollower and AbortMonitor) over the stored run. A first poll reads every
 * checkpoint, as a segment 0 that fell behind would, so the monitor ends with the last
 * two hours, as at the end of a run. It then times three polls a checkpoint interval
 * apart that find nothing new, the steady state of a long run.
 *
 *   npx tsx bench/finalize-child.ts ROOT ENV RUN_ID [--abort-poll]
 */
import { AbortMonitor } from '../core/abort.js';
import { CheckpointFollower } from '../core/checkpoint-follower.js';
import { parseEnvConfig } from '../core/config.js';
import { finalizeRun, readManifest } from '../core/finalize.js';
import { silentLog } from '../core/log.js';
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
  const checkpointEveryMs = config.windows.checkpointEveryS * 1000;
  const follower = new CheckpointFollower({
    store,
    env: env!,
    runId,
    segments: manifest.segments.map((segment) => segment.index),
    checkpointEveryMs,
  });
  // The first poll reads every checkpoint of the run, as a segment 0 that fell behind would.
  const nowMs = Date.now();
  let windows = 0;
  const checkpoints = await follower.readNew((records) => {
    monitor.add(records);
    windows += records.length;
  }, nowMs);
  const catchUpS = seconds();

  // Later polls, each a checkpoint interval after the one before, find nothing new: they
  // list each segment's folder after its last key and evaluate the monitor.
  const pollSeconds: number[] = [];
  for (let poll = 1; poll <= 3; poll++) {
    const pollStarted = process.hrtime.bigint();
    const found = await follower.readNew((records) => monitor.add(records), nowMs + poll * checkpointEveryMs);
    monitor.evaluate();
    pollSeconds.push(Number(process.hrtime.bigint() - pollStarted) / 1e9);
    if (found !== 0) throw new Error(`a poll after the catch-up found ${found} new checkpoints; the dataset changed while it ran`);
  }
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  // Started with --expose-gc, so the RSS below is what the monitor keeps, not garbage.
  globalThis.gc?.();
  process.stdout.write(
    `${JSON.stringify({
      wallS: seconds(),
      catchUpS,
      checkpoints,
      pollS: pollSeconds.sort((a, b) => a - b)[1],
      listsPerPoll: (follower.listCalls - manifest.segments.length) / 3,
      peakRssBytes: peakRss,
      retainedRssBytes: process.memoryUsage().rss,
      windows,
      fedSegments: manifest.segments.length,
    })}\n`,
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
