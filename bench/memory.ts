/**
 * Memory over hours, compressed in time: one run-segment with 20 VUs as fast as the
 * local target responds (full mode 15 minutes, quick mode 60 s), sampling the RSS of
 * k6 and of the runner. A run at the highest rate carries as many requests as several
 * hours at 1,000 requests/s; it does not stand in for everything that grows with
 * wall-clock time, such as the number of stored windows (see the finalize benchmark's
 * abort-check pass for that).
 *
 * For contrast, bare k6 with its default end-of-test summary (which keeps every Trend
 * sample) runs afterwards for a shorter time at the same settings.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6RunArgs, requireK6Bin, spawnK6, waitForExit } from './lib/k6.js';
import type { BenchOptions, BenchOutcome, TargetCheck } from './lib/outcome.js';
import { findChildren, ProcSampler, type ProcSample } from './lib/proc.js';
import { readSegmentOutput, segmentLogPath, spawnRunSegment, writeSegmentManifest } from './lib/segment.js';
import { formatBytes, formatCount, median, sparkline } from './lib/stats.js';
import { theilSen } from '../core/stats.js';
import { startTarget, type RunningTarget } from './lib/target.js';
import { SCRIPT, VUS } from './overhead.js';

export const TARGET_GROWTH = 0.05;
/** Share of the run treated as warm-up, before the baseline of the growth is taken. */
export const WARMUP_SHARE = 0.2;

export interface GrowthSummary {
  samples: number;
  baselineBytes: number;
  endBytes: number;
  peakAfterWarmupBytes: number;
  /** (end - baseline) / baseline: medians of the first and of the last three samples after warm-up. */
  growth: number;
  /** Least-squares slope after warm-up, in bytes per hour of this run. */
  slopeBytesPerHour: number;
  /**
   * Theil–Sen slope after warm-up times the span after warm-up, over the baseline. Unlike
   * `growth`, a step that ends early (the heap regrowing after a compaction, say) barely
   * moves it, while growth that lasts does.
   */
  trendGrowth: number;
}

/** Growth of a series after its warm-up; null when too few samples remain. */
export function growthAfterWarmup(samples: readonly ProcSample[], durationS: number): GrowthSummary | null {
  const after = samples.filter((sample) => sample.t >= samples[0]!.t + durationS * WARMUP_SHARE);
  if (after.length < 4) return null;
  const rss = after.map((sample) => sample.rssBytes);
  const baseline = median(rss.slice(0, 3));
  const end = median(rss.slice(-3));
  const meanT = after.reduce((sum, sample) => sum + sample.t, 0) / after.length;
  const meanRss = rss.reduce((sum, value) => sum + value, 0) / rss.length;
  let covariance = 0;
  let variance = 0;
  for (const sample of after) {
    covariance += (sample.t - meanT) * (sample.rssBytes - meanRss);
    variance += (sample.t - meanT) ** 2;
  }
  const trend = theilSen(
    after.map((sample) => sample.t),
    rss,
  );
  const span = after[after.length - 1]!.t - after[0]!.t;
  return {
    samples: after.length,
    baselineBytes: baseline,
    endBytes: end,
    peakAfterWarmupBytes: Math.max(...rss),
    growth: (end - baseline) / baseline,
    slopeBytesPerHour: variance === 0 ? 0 : (covariance / variance) * 3600,
    trendGrowth: trend.ok ? (trend.value.slope * span) / baseline : Number.NaN,
  };
}

async function runSegmentSampled(k6Bin: string, target: RunningTarget, durationS: number, intervalMs: number, workDir: string) {
  const storeRoot = join(workDir, 'store');
  const runId = 'bench-memory';
  const input = {
    storeRoot,
    runId,
    targetUrl: target.url,
    script: SCRIPT,
    durationS,
    scriptEnv: { DURATION: `${durationS}s`, VUS: String(VUS) },
    k6Bin,
  };
  await writeSegmentManifest(input);
  const before = await target.requests();
  const sampler = new ProcSampler(intervalMs);
  const child = spawnRunSegment(input, segmentLogPath(workDir, runId));
  sampler.watch('runner', child.pid!);
  sampler.watch('target', target.pid);
  const finder = setInterval(() => {
    const [k6Pid] = findChildren(child.pid!, 'k6', 'run');
    if (k6Pid === undefined) return;
    clearInterval(finder);
    // Every series starts when k6 does, so that samples line up in time.
    sampler.watch('k6', k6Pid);
    sampler.start();
  }, 100);
  const exit = await waitForExit(child, (durationS + 300) * 1000, 'run-segment');
  clearInterval(finder);
  sampler.stop();
  if (exit.code !== 0) throw new Error(`run-segment exited with code ${exit.code}; see ${segmentLogPath(workDir, runId)}`);
  const requests = (await target.requests()) - before;
  const { windows } = await readSegmentOutput(storeRoot, runId);
  const latePoints = windows.reduce((sum, window) => sum + window.generator.latePoints, 0);
  const lagMax = Math.max(0, ...windows.map((window) => window.generator.streamLagMsMax ?? 0));
  return { sampler, requests, latePoints, lagMax, windows: windows.length };
}

async function runDefaultSummaryK6(k6Bin: string, target: RunningTarget, durationS: number, intervalMs: number) {
  const before = await target.requests();
  const sampler = new ProcSampler(intervalMs);
  const { child, stderr } = spawnK6(
    k6Bin,
    k6RunArgs({ script: SCRIPT, outputs: [], summary: true, variables: { BASE_URL: target.url, DURATION: `${durationS}s`, VUS: String(VUS) } }),
  );
  sampler.watch('k6', child.pid!);
  sampler.start();
  const exit = await waitForExit(child, (durationS + 120) * 1000, 'k6 (default summary)');
  sampler.stop();
  if (exit.code !== 0) throw new Error(`k6 (default summary) exited with code ${exit.code}: ${stderr().trim().split('\n').slice(-4).join(' | ')}`);
  return { sampler, requests: (await target.requests()) - before };
}

function curveCsv(sampler: ProcSampler, labels: string[]): string {
  const series = labels.map((label) => sampler.samples(label));
  const length = Math.min(...series.map((samples) => samples.length));
  const lines = [`t_s,${labels.map((label) => `${label}_rss_mib`).join(',')}`];
  for (let i = 0; i < length; i++) {
    lines.push([series[0]![i]!.t.toFixed(1), ...series.map((samples) => (samples[i]!.rssBytes / 1024 ** 2).toFixed(1))].join(','));
  }
  return `${lines.join('\n')}\n`;
}

function describeGrowth(growth: GrowthSummary | null): string {
  if (growth === null) return 'too few samples';
  const trend = `${growth.trendGrowth >= 0 ? '+' : ''}${(growth.trendGrowth * 100).toFixed(1)} %`;
  return `${(growth.growth * 100).toFixed(1)} % (${formatBytes(growth.baselineBytes)} -> ${formatBytes(growth.endBytes)}, peak ${formatBytes(growth.peakAfterWarmupBytes)}; Theil–Sen trend ${trend})`;
}

export async function runMemoryBench(options: BenchOptions): Promise<BenchOutcome> {
  const k6Bin = requireK6Bin();
  const durationS = options.quick ? 60 : 900;
  const intervalMs = options.quick ? 5000 : 10_000;
  const contrastS = options.quick ? 20 : 60;
  const contrastIntervalMs = options.quick ? 2000 : 5000;

  const target = await startTarget(durationS + contrastS + 900);
  const workDir = mkdtempSync(join(tmpdir(), 'soak-bench-memory-'));
  try {
    options.log(`  run-segment for ${durationS} s, RSS every ${intervalMs / 1000} s`);
    const segment = await runSegmentSampled(k6Bin, target, durationS, intervalMs, workDir);
    options.log(`  default-summary k6 for ${contrastS} s, RSS every ${contrastIntervalMs / 1000} s`);
    const contrast = await runDefaultSummaryK6(k6Bin, target, contrastS, contrastIntervalMs);

    const mode = options.quick ? 'quick' : 'full';
    writeFileSync(join(options.resultsDir, `memory-${mode}.csv`), curveCsv(segment.sampler, ['k6', 'runner', 'target']));
    writeFileSync(join(options.resultsDir, `memory-default-summary-${mode}.csv`), curveCsv(contrast.sampler, ['k6']));

    const k6Growth = growthAfterWarmup(segment.sampler.samples('k6'), durationS);
    const runnerGrowth = growthAfterWarmup(segment.sampler.samples('runner'), durationS);
    const contrastGrowth = growthAfterWarmup(contrast.sampler.samples('k6'), contrastS);
    const contrastSamples = contrast.sampler.samples('k6');
    // The slope after warm-up over the request rate: memory added per request, start-up excluded.
    const contrastPerMillion =
      contrastGrowth === null ? null : (contrastGrowth.slopeBytesPerHour / 3600 / (contrast.requests / contrastS)) * 1e6;
    const equivalentHours = segment.requests / (1000 * 3600);
    const mib = (samples: ProcSample[]) => samples.map((sample) => sample.rssBytes / 1024 ** 2);
    const k6Curve = mib(segment.sampler.samples('k6'));
    const runnerCurve = mib(segment.sampler.samples('runner'));

    const checks: TargetCheck[] = [
      {
        bench: 'memory',
        name: 'requests in the run',
        value: `${formatCount(segment.requests)} in ${durationS} s = ${equivalentHours.toFixed(2)} h at 1,000/s; late points ${segment.latePoints}, lag max ${Math.round(segment.lagMax)} ms`,
        target: 'report',
        holds: null,
      },
      {
        bench: 'memory',
        name: 'k6 RSS growth after warm-up',
        value: describeGrowth(k6Growth),
        target: `< ${TARGET_GROWTH * 100} %`,
        holds: k6Growth === null ? false : k6Growth.growth < TARGET_GROWTH,
      },
      {
        bench: 'memory',
        name: 'runner RSS growth after warm-up',
        value: describeGrowth(runnerGrowth),
        target: `< ${TARGET_GROWTH * 100} %`,
        holds: runnerGrowth === null ? false : runnerGrowth.growth < TARGET_GROWTH,
      },
      {
        bench: 'memory',
        name: 'contrast: k6 with default summary',
        value: `${describeGrowth(contrastGrowth)} in ${contrastS} s; ${contrastPerMillion === null ? '?' : formatBytes(contrastPerMillion)} per million requests`,
        target: 'report',
        holds: null,
      },
    ];
    options.log(`  k6     ${sparkline(k6Curve, 0)} ${formatBytes(Math.max(...k6Curve) * 1024 ** 2)} max`);
    options.log(`  runner ${sparkline(runnerCurve, 0)} ${formatBytes(Math.max(...runnerCurve) * 1024 ** 2)} max`);
    return {
      checks,
      details: {
        durationS,
        intervalMs,
        requests: segment.requests,
        equivalentHoursAt1000PerS: equivalentHours,
        windows: segment.windows,
        latePoints: segment.latePoints,
        streamLagMsMax: segment.lagMax,
        k6Growth,
        runnerGrowth,
        k6CurveMiB: k6Curve,
        runnerCurveMiB: runnerCurve,
        targetCurveMiB: mib(segment.sampler.samples('target')),
        contrast: {
          durationS: contrastS,
          requests: contrast.requests,
          growth: contrastGrowth,
          bytesPerMillionRequests: contrastPerMillion,
          curveMiB: mib(contrastSamples),
        },
      },
    };
  } finally {
    await target.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
