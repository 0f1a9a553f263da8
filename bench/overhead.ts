/**
 * Load-path overhead: how many requests one k6 process sends in a fixed time with
 * each way of consuming its samples, against bare k6, run side by side.
 *
 * Every repetition runs each variant once, in an order rotated per repetition, for
 * the same duration against the same local target. The target counts the requests
 * it serves, so every variant is measured the same way whatever output k6 writes.
 * Each variant's count is divided by the bare count of the same repetition.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { k6ProcessEnv, k6RunArgs, requireK6Bin, spawnK6, waitForExit } from './lib/k6.js';
import type { BenchOptions, BenchOutcome, TargetCheck } from './lib/outcome.js';
import { findChildren, ProcSampler } from './lib/proc.js';
import { readSegmentOutput, segmentLogPath, spawnRunSegment, writeSegmentManifest } from './lib/segment.js';
import { formatSpread, median, spread, type Spread } from './lib/stats.js';
import { startTarget, type RunningTarget } from './lib/target.js';

export const SCRIPT = fileURLToPath(new URL('./k6/constant-vus.js', import.meta.url));
const NAIVE_CONSUMER = fileURLToPath(new URL('./naive-consumer.ts', import.meta.url));
const PIPE_READER = fileURLToPath(new URL('./pipe-reader.ts', import.meta.url));
export const VUS = 20;

/**
 * Variants run by default. `json-devnull-fewer-tags` is k6 with the flags and system tags
 * that run-segment gives it (FEWER_SYSTEM_TAGS), writing its JSON output to /dev/null:
 * what k6's own output costs before any consumer reads it.
 */
export const VARIANTS = ['bare', 'runner', 'json-devnull', 'json-devnull-fewer-tags', 'csv-devnull', 'naive-json-parse'] as const;
/**
 * Variants run only when asked for (`--variants`):
 * - `runner-alt`: run-segment of another checkout (`--compare-root`), to compare a patch;
 * - `pipe-read-only`: `--out json` into a pipe that bench/pipe-reader.ts reads without parsing;
 * - `runner-fewer-tags`: run-segment with K6_SYSTEM_TAGS=FEWER_SYSTEM_TAGS passed to k6. It
 *   equals `runner` on this checkout, which limits the system tags itself; with
 *   `--compare-root` on an older checkout it shows what the limit changes.
 */
export const EXTRA_VARIANTS = ['runner-alt', 'pipe-read-only', 'runner-fewer-tags'] as const;
export type Variant = (typeof VARIANTS)[number] | (typeof EXTRA_VARIANTS)[number];

/** The k6 system tags that the runner reads: request name, status and failure classification. */
export const FEWER_SYSTEM_TAGS = 'name,status,expected_response,error_code';

/**
 * Ratios to bare k6 from an earlier measurement with k6 v1.3.0 on the same kind of
 * 2-CPU machine, given with the benchmark's targets. Shown for comparison: this script
 * does not run Prometheus remote write or the OpenTelemetry output, which need receivers.
 */
export const ISSUE_REFERENCE: Record<string, number> = {
  'json-devnull': 0.93,
  'csv-devnull': 0.82,
  'prometheus-rw-native-histograms': 0.83,
  opentelemetry: 0.75,
  'naive-json-parse': 0.78,
};

export const TARGET_RATIO = 0.85;
export const STRETCH_RATIO = 0.9;

export interface VariantRun {
  variant: Variant;
  repetition: number;
  /** Requests the target served during the run. */
  requests: number;
  requestsPerS: number;
  k6CpuS: number | null;
  /** CPU of the process that consumed the stream: the runner, the naive consumer or the pipe reader. */
  consumerCpuS: number | null;
  targetCpuS: number | null;
  k6MaxRssBytes: number | null;
  consumerMaxRssBytes: number | null;
  /** Lines k6 wrote, counted by the naive consumer or the pipe reader. */
  lines?: number;
  runner?: RunnerStats;
}

export interface RunnerStats {
  /** Requests in the runner's windows, to cross-check the target's count. */
  windowRequests: number;
  /** Runner CPU seconds while k6 ran, as the runner measured itself per window. */
  runnerCpuS: number;
  k6CpuS: number;
  streamLagMsMax: number;
  streamLagMsMedianOfWindowMax: number;
  latePoints: number;
  unparsableLines: number;
  windows: number;
  stopReason: string | null;
}

interface RunContext {
  k6Bin: string;
  /** Folder that receives the log of a run-segment that fails. */
  resultsDir: string;
  /** Checkout of the `runner-alt` variant. */
  altRoot?: string;
  target: RunningTarget;
  durationS: number;
  workDir: string;
  repetition: number;
}

function scriptVariables(context: RunContext): Record<string, string> {
  return { BASE_URL: context.target.url, DURATION: `${context.durationS}s`, VUS: String(VUS) };
}

function k6Failure(variant: string, code: number | null, stderr: string): Error {
  return new Error(`k6 (${variant}) exited with code ${code}; last stderr:\n${stderr.trim().split('\n').slice(-8).join('\n')}`);
}

async function runPlainK6(variant: Variant, outputs: string[], context: RunContext, sampler: ProcSampler, env: Record<string, string> = {}): Promise<Partial<VariantRun>> {
  const { child, stderr } = spawnK6(context.k6Bin, k6RunArgs({ script: SCRIPT, outputs, variables: scriptVariables(context) }), k6ProcessEnv(env));
  sampler.watch('k6', child.pid!);
  const exit = await waitForExit(child, (context.durationS + 90) * 1000, `k6 (${variant})`);
  if (exit.code !== 0) throw k6Failure(variant, exit.code, stderr());
  return {};
}

/** k6 with `--out json` into a pipe read by `consumerScript` (the naive consumer or the pipe reader). */
async function runPipeConsumer(variant: Variant, consumerScript: string, context: RunContext, sampler: ProcSampler): Promise<Partial<VariantRun>> {
  const fifo = join(context.workDir, `${variant}-${context.repetition}.fifo`);
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const consumer = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), consumerScript, fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  consumer.stdout.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  sampler.watch('consumer', consumer.pid!);

  const { child, stderr } = spawnK6(context.k6Bin, k6RunArgs({ script: SCRIPT, outputs: [`json=${fifo}`], variables: scriptVariables(context) }));
  sampler.watch('k6', child.pid!);
  const [exit, consumerExit] = await Promise.all([
    waitForExit(child, (context.durationS + 90) * 1000, `k6 (${variant})`),
    waitForExit(consumer, (context.durationS + 120) * 1000, `the consumer of ${variant}`),
  ]);
  rmSync(fifo, { force: true });
  if (exit.code !== 0) throw k6Failure(variant, exit.code, stderr());
  if (consumerExit.code !== 0) throw new Error(`the consumer of ${variant} exited with code ${consumerExit.code}`);
  return { lines: (JSON.parse(printed) as { lines: number }).lines };
}

async function runRunner(variant: Variant, context: RunContext, sampler: ProcSampler, repositoryRoot?: string): Promise<Partial<VariantRun>> {
  const storeRoot = join(context.workDir, `${variant}-${context.repetition}`);
  const runId = `bench-overhead-${context.repetition}`;
  const input = {
    storeRoot,
    runId,
    targetUrl: context.target.url,
    script: SCRIPT,
    durationS: context.durationS,
    scriptEnv: { DURATION: `${context.durationS}s`, VUS: String(VUS) },
    k6Bin: context.k6Bin,
    repositoryRoot,
  };
  await writeSegmentManifest(input);
  const logPath = segmentLogPath(storeRoot, runId);
  // run-segment builds k6's environment from scratch; SOAK_K6_PASS_ENV lets K6_SYSTEM_TAGS through.
  const fewerTags: Record<string, string> = variant === 'runner-fewer-tags' ? { K6_SYSTEM_TAGS: FEWER_SYSTEM_TAGS, SOAK_K6_PASS_ENV: 'K6_SYSTEM_TAGS' } : {};
  const child = spawnRunSegment(input, logPath, [], fewerTags);
  sampler.watch('consumer', child.pid!);

  // k6 is a child of run-segment; `k6 version` runs first, so look for `k6 run`.
  const finder = setInterval(() => {
    const [k6Pid] = findChildren(child.pid!, 'k6', 'run');
    if (k6Pid !== undefined) {
      sampler.watch('k6', k6Pid);
      clearInterval(finder);
    }
  }, 100);
  const exit = await waitForExit(child, (context.durationS + 150) * 1000, 'run-segment');
  clearInterval(finder);
  if (exit.code !== 0) {
    // The work folder is removed at the end, so the log moves next to the results.
    const kept = join(context.resultsDir, `${variant}-${context.repetition}-run-segment.log`);
    copyFileSync(logPath, kept);
    throw new Error(`run-segment (${variant}) exited with code ${exit.code}; its log is ${kept}`);
  }

  const { windows, result } = await readSegmentOutput(storeRoot, runId);
  const lags = windows.map((window) => window.generator.streamLagMsMax).filter((lag): lag is number => lag !== null);
  const runner: RunnerStats = {
    windowRequests: windows.reduce((sum, window) => sum + window.requests.ok + window.requests.failed, 0),
    runnerCpuS: windows.reduce((sum, window) => sum + (window.generator.runnerCpuS ?? 0), 0),
    k6CpuS: windows.reduce((sum, window) => sum + (window.generator.k6CpuS ?? 0), 0),
    streamLagMsMax: lags.length > 0 ? Math.max(...lags) : 0,
    streamLagMsMedianOfWindowMax: lags.length > 0 ? median(lags) : 0,
    latePoints: windows.reduce((sum, window) => sum + window.generator.latePoints, 0),
    unparsableLines: windows.reduce((sum, window) => sum + window.generator.unparsableLines, 0),
    windows: windows.length,
    stopReason: result?.stopReason ?? null,
  };
  rmSync(storeRoot, { recursive: true, force: true });
  return { runner };
}

async function runVariant(variant: Variant, context: RunContext): Promise<VariantRun> {
  const sampler = new ProcSampler(1000);
  sampler.watch('target', context.target.pid);
  sampler.start();
  const before = await context.target.requests();
  let extra: Partial<VariantRun>;
  try {
    switch (variant) {
      case 'bare':
        extra = await runPlainK6(variant, [], context, sampler);
        break;
      case 'json-devnull':
        extra = await runPlainK6(variant, ['json=/dev/null'], context, sampler);
        break;
      case 'csv-devnull':
        extra = await runPlainK6(variant, ['csv=/dev/null'], context, sampler);
        break;
      case 'naive-json-parse':
        extra = await runPipeConsumer(variant, NAIVE_CONSUMER, context, sampler);
        break;
      case 'pipe-read-only':
        extra = await runPipeConsumer(variant, PIPE_READER, context, sampler);
        break;
      case 'json-devnull-fewer-tags':
        extra = await runPlainK6(variant, ['json=/dev/null'], context, sampler, { K6_SYSTEM_TAGS: FEWER_SYSTEM_TAGS });
        break;
      case 'runner':
      case 'runner-fewer-tags':
        extra = await runRunner(variant, context, sampler);
        break;
      case 'runner-alt':
        if (context.altRoot === undefined) throw new Error('the runner-alt variant needs --compare-root');
        extra = await runRunner(variant, context, sampler, context.altRoot);
        break;
    }
  } finally {
    sampler.stop();
  }
  const requests = (await context.target.requests()) - before;
  return {
    variant,
    repetition: context.repetition,
    requests,
    requestsPerS: requests / context.durationS,
    k6CpuS: sampler.cpuSeconds('k6'),
    consumerCpuS: sampler.cpuSeconds('consumer'),
    targetCpuS: sampler.cpuSeconds('target'),
    k6MaxRssBytes: sampler.maxRss('k6'),
    consumerMaxRssBytes: sampler.maxRss('consumer'),
    ...extra,
  };
}

export interface OverheadSummary {
  durationS: number;
  repetitions: number;
  runs: VariantRun[];
  /** Per variant: count divided by the bare count of the same repetition. */
  ratios: Record<string, Spread>;
  bareRequestsPerS: Spread;
  runnerCpuMsPer1000Requests: Spread;
  naiveLinesPerRequest: number | null;
  streamLagMsMax: number;
  streamLagMsMedianOfWindowMax: number;
  /** Points that arrived after their window had closed, over all runner runs. */
  latePoints: number;
}

/** Runs every variant `repetitions` times, interleaved, and summarizes the ratios. */
export async function measureOverhead(options: {
  resultsDir: string;
  durationS: number;
  repetitions: number;
  log: (line: string) => void;
  variants?: readonly Variant[];
  altRoot?: string;
}): Promise<OverheadSummary> {
  const k6Bin = requireK6Bin();
  const variants = options.variants ?? VARIANTS;
  const maxSeconds = (options.durationS + 40) * variants.length * options.repetitions + 600;
  const target = await startTarget(maxSeconds);
  const workDir = mkdtempSync(join(tmpdir(), 'soak-bench-overhead-'));
  const runs: VariantRun[] = [];
  try {
    // A first, uncounted run warms up the target's JIT and the page cache.
    await runVariant('bare', { k6Bin, resultsDir: options.resultsDir, target, durationS: 5, workDir, repetition: -1 });
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      const order = variants.map((_, i) => variants[(i + repetition) % variants.length]!);
      for (const variant of order) {
        const run = await runVariant(variant, { k6Bin, resultsDir: options.resultsDir, altRoot: options.altRoot, target, durationS: options.durationS, workDir, repetition });
        runs.push(run);
        options.log(`  overhead rep ${repetition + 1}/${options.repetitions} ${variant.padEnd(16)} ${Math.round(run.requestsPerS)} req/s`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  } finally {
    await target.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  return summarize(runs, variants, options.durationS, options.repetitions);
}

function summarize(runs: VariantRun[], variants: readonly Variant[], durationS: number, repetitions: number): OverheadSummary {
  const bareOf = new Map(runs.filter((run) => run.variant === 'bare').map((run) => [run.repetition, run.requests]));
  const ratios: Record<string, Spread> = {};
  for (const variant of variants) {
    const values = runs.filter((run) => run.variant === variant).map((run) => run.requests / bareOf.get(run.repetition)!);
    ratios[variant] = spread(values);
  }
  const runnerRuns = runs.filter((run) => run.variant === 'runner');
  const cpuPer1000 = runnerRuns.map((run) => (run.runner!.runnerCpuS / run.runner!.windowRequests) * 1000 * 1000);
  const naive = runs.filter((run) => run.variant === 'naive-json-parse' && run.lines !== undefined);
  return {
    durationS,
    repetitions,
    runs,
    ratios,
    bareRequestsPerS: spread(runs.filter((run) => run.variant === 'bare').map((run) => run.requestsPerS)),
    runnerCpuMsPer1000Requests: spread(cpuPer1000),
    naiveLinesPerRequest: naive.length > 0 ? median(naive.map((run) => run.lines! / run.requests)) : null,
    streamLagMsMax: Math.max(...runnerRuns.map((run) => run.runner!.streamLagMsMax)),
    streamLagMsMedianOfWindowMax: median(runnerRuns.map((run) => run.runner!.streamLagMsMedianOfWindowMax)),
    latePoints: runnerRuns.reduce((sum, run) => sum + run.runner!.latePoints, 0),
  };
}

/** Returns the requests of `variant` over those of `reference` in each repetition that ran both. */
function pairedRatios(runs: VariantRun[], variant: Variant, reference: Variant): Spread | undefined {
  const values: number[] = [];
  for (const run of runs.filter((candidate) => candidate.variant === variant)) {
    const other = runs.find((candidate) => candidate.variant === reference && candidate.repetition === run.repetition);
    if (other !== undefined) values.push(run.requests / other.requests);
  }
  return values.length > 0 ? spread(values) : undefined;
}

/** Returns the median CPU time of the k6 process per 1,000 requests in ms, or NaN when it was not sampled. */
function k6CpuPer1000(runs: VariantRun[], variant: Variant): number {
  const values = runs.filter((run) => run.variant === variant && run.k6CpuS !== null).map((run) => (run.k6CpuS! / run.requests) * 1e6);
  return values.length > 0 ? median(values) : Number.NaN;
}

export async function runOverheadBench(options: BenchOptions): Promise<BenchOutcome> {
  const durationS = options.quick ? 10 : 20;
  const repetitions = options.repetitions ?? (options.quick ? 2 : 5);
  // Comparing two checkouts needs only bare k6 and the two runners, unless variants are named.
  let variants: Variant[] = options.compareRoot === undefined ? [...VARIANTS] : ['bare', 'runner', 'runner-alt'];
  if (options.variants !== undefined) variants = ['bare', ...(options.variants as Variant[]).filter((variant) => variant !== 'bare')];
  const summary = await measureOverhead({ resultsDir: options.resultsDir, durationS, repetitions, log: options.log, variants, altRoot: options.compareRoot });

  const csv = ['variant,repetition,requests,requests_per_s,k6_cpu_s,consumer_cpu_s,target_cpu_s,k6_max_rss_bytes,consumer_max_rss_bytes'];
  for (const run of summary.runs) {
    csv.push(
      [run.variant, run.repetition, run.requests, run.requestsPerS.toFixed(1), run.k6CpuS, run.consumerCpuS, run.targetCpuS, run.k6MaxRssBytes, run.consumerMaxRssBytes].join(','),
    );
  }
  const custom = options.variants !== undefined || options.compareRoot !== undefined ? '-custom' : '';
  writeFileSync(join(options.resultsDir, `overhead-${options.quick ? 'quick' : 'full'}${custom}.csv`), `${csv.join('\n')}\n`);

  const checks: TargetCheck[] = [];
  const runnerRatio = summary.ratios.runner;
  if (runnerRatio !== undefined) {
    checks.push(
      {
        bench: 'overhead',
        name: 'runner/bare requests',
        value: formatSpread(runnerRatio),
        target: `>= ${TARGET_RATIO} (stretch ${STRETCH_RATIO})`,
        holds: runnerRatio.median >= TARGET_RATIO,
      },
      {
        bench: 'overhead',
        name: 'runner CPU per 1,000 requests',
        value: `${formatSpread(summary.runnerCpuMsPer1000Requests, 1)} ms`,
        target: 'report',
        holds: null,
      },
      {
        bench: 'overhead',
        name: 'stream lag during the runs',
        value: `max ${Math.round(summary.streamLagMsMax)} ms, median of window max ${Math.round(summary.streamLagMsMedianOfWindowMax)} ms, ${summary.latePoints} late points`,
        target: 'report; above the 3 s window grace, points arrive late',
        holds: null,
      },
    );
  }
  // The runner against k6 writing the same JSON to /dev/null: the share the runner itself costs.
  const ownShare = pairedRatios(summary.runs, 'runner', 'json-devnull-fewer-tags');
  if (ownShare !== undefined) {
    checks.push({
      bench: 'overhead',
      name: 'runner/json-devnull-fewer-tags requests',
      value: formatSpread(ownShare),
      target: "report; what reading and aggregating costs beyond k6's own JSON output",
      holds: null,
    });
  }
  checks.push({
    bench: 'overhead',
    name: 'k6 CPU per 1,000 requests',
    value: variants.map((variant) => `${variant} ${k6CpuPer1000(summary.runs, variant).toFixed(1)} ms`).join(', '),
    target: 'report',
    holds: null,
  });
  for (const variant of variants) {
    if (variant === 'bare' || variant === 'runner') continue;
    const ratio = summary.ratios[variant]!;
    const runnerLike = variant === 'runner-alt' || variant === 'runner-fewer-tags';
    let target = 'report';
    if (runnerLike) target = `>= ${TARGET_RATIO} (stretch ${STRETCH_RATIO})`;
    else if (variant in ISSUE_REFERENCE) target = `reference ${ISSUE_REFERENCE[variant]}, not measured here`;
    checks.push({
      bench: 'overhead',
      name: `${variant}/bare requests`,
      value: variant === 'runner-alt' ? `${formatSpread(ratio)} (${options.compareRoot})` : formatSpread(ratio),
      target,
      holds: runnerLike ? ratio.median >= TARGET_RATIO : null,
    });
    if (runnerLike) {
      const cpu = summary.runs
        .filter((run) => run.variant === variant && run.runner !== undefined)
        .map((run) => (run.runner!.runnerCpuS / run.runner!.windowRequests) * 1e6);
      checks.push({ bench: 'overhead', name: `${variant} CPU per 1,000 requests`, value: `${formatSpread(spread(cpu), 1)} ms`, target: 'report', holds: null });
    }
  }
  return { checks, details: { ...summary } };
}
