/**
 * Cost estimate: what the plan of a 4-hour run at 1,000 requests/s costs on Fargate
 * with the default task size, computed here from the published prices. The figure is
 * then checked against the runner's own estimate, core/cost.ts, which
 * `soak run --local --dry-run` and the start-run Lambda call.
 *
 * All figures are estimates: they assume the task is billed for the planned duration
 * plus a fixed start-up and shutdown time, and they leave out S3, Lambda, CloudWatch
 * and data transfer.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { estimateRunCost } from '../core/cost.js';
import { K6_BENCH_ENV, waitForExit } from './lib/k6.js';
import type { BenchOptions, BenchOutcome, TargetCheck } from './lib/outcome.js';

/**
 * Fargate on-demand prices, Linux/x86, us-east-1 (USD), checked on 2026-12-04. AWS
 * renders the per-region table of https://aws.amazon.com/fargate/pricing/ in the
 * browser, so these are its published values as quoted by Vantage ("AWS Fargate
 * Pricing Explained") and by FactualMinds (June 2026). They match the ECS pricing
 * page's example of USD 0.000011244 per vCPU-second (0.04048 per hour).
 */
export const PRICES = {
  region: 'us-east-1',
  checkedOn: '2026-12-04',
  vcpuHourUsd: 0.04048,
  gbHourUsd: 0.004445,
} as const;

/** The example deployment (config/deploy/example.json) uses 1 vCPU and 2 GB; the deploy schema has no default. */
export const TASK = { vcpu: 1, memoryGb: 2 } as const;

/**
 * Requests per second planned for one segment (one task). An assumption: item 1 of the
 * benchmarks measured far more for one k6 process on this machine, but against a
 * trivial local target, not a real API over a network on Fargate's 1 vCPU.
 */
export const REQUESTS_PER_SEGMENT = 1000;

/** Billed time beyond the planned duration: image pull, start, health check, graceful stop, last upload (an assumption). */
export const TASK_OVERHEAD_S = 3 * 60;

export interface PlanCost {
  segments: number;
  billedHoursPerTask: number;
  perTaskHourUsd: number;
  totalUsd: number;
}

/** Cost of `rate` requests/s for `durationS` on tasks of TASK's size at PRICES. */
export function estimatePlanCost(rate: number, durationS: number): PlanCost {
  const segments = Math.ceil(rate / REQUESTS_PER_SEGMENT);
  const billedHoursPerTask = Math.max(60, durationS + TASK_OVERHEAD_S) / 3600;
  const perTaskHourUsd = TASK.vcpu * PRICES.vcpuHourUsd + TASK.memoryGb * PRICES.gbHourUsd;
  return { segments, billedHoursPerTask, perTaskHourUsd, totalUsd: segments * billedHoursPerTask * perTaskHourUsd };
}

/** Runs `soak run --local --dry-run` for the plan and returns the cost it prints. */
async function dryRunCost(rate: number, durationS: number, segments: number): Promise<number> {
  const soak = fileURLToPath(new URL('../bin/soak.ts', import.meta.url));
  // A dry run validates and inspects the script with k6, then prints the plan; it sends no request.
  const args = ['--import', import.meta.resolve('tsx'), soak, 'run', '--local', '--dry-run', '--target', 'http://127.0.0.1:9'];
  args.push('--scenario', 'sigil', '--rate', String(rate), '--duration', `${durationS}s`, '--segments', String(segments));
  const child = spawn(process.execPath, args, { env: { ...process.env, ...K6_BENCH_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exit = await waitForExit(child, 180_000, 'soak run --dry-run');
  if (exit.code !== 0) throw new Error(`soak run --dry-run exited with code ${exit.code}: ${errors.trim().split('\n').slice(-3).join(' | ')}`);
  const printed = JSON.parse(output) as { fargateCostEstimate?: { totalUsd?: number } };
  const total = printed.fargateCostEstimate?.totalUsd;
  if (typeof total !== 'number') throw new Error('soak run --dry-run printed no fargateCostEstimate.totalUsd');
  return total;
}

export async function runCostBench(options: BenchOptions): Promise<BenchOutcome> {
  const rate = 1000;
  const durationS = 4 * 3600;
  const plan = estimatePlanCost(rate, durationS);
  const core = estimateRunCost({ segments: plan.segments, durationS });

  let printed: number | null = null;
  let dryRunError: string | null = null;
  if (process.env.K6_BIN) {
    try {
      printed = await dryRunCost(rate, durationS, plan.segments);
    } catch (error) {
      dryRunError = (error as Error).message;
    }
  } else {
    dryRunError = 'K6_BIN is not set, and the dry run inspects the script with k6';
  }
  options.log(`  plan: ${plan.segments} task(s) x ${plan.billedHoursPerTask.toFixed(2)} h x USD ${plan.perTaskHourUsd.toFixed(5)}/h`);

  // core/cost.ts rounds to four decimals.
  const same = (a: number, b: number) => Math.abs(a - b) < 0.00015;
  const checks: TargetCheck[] = [
    {
      bench: 'cost',
      name: '4 h at 1,000 req/s, Fargate estimate',
      value: `USD ${plan.totalUsd.toFixed(4)} (${plan.segments} x ${TASK.vcpu} vCPU / ${TASK.memoryGb} GB, ${PRICES.region} prices of ${PRICES.checkedOn})`,
      target: 'report',
      holds: null,
    },
    {
      bench: 'cost',
      name: 'core/cost.ts gives the same figure',
      value: `USD ${core.totalUsd.toFixed(4)}`,
      target: `USD ${plan.totalUsd.toFixed(4)}`,
      holds: same(core.totalUsd, plan.totalUsd),
    },
    {
      bench: 'cost',
      name: '--dry-run prints the same figure',
      value: printed === null ? `not checked: ${dryRunError}` : `USD ${printed.toFixed(4)}`,
      target: `USD ${plan.totalUsd.toFixed(4)}`,
      holds: printed === null ? false : same(printed, plan.totalUsd),
    },
  ];
  return { checks, details: { rate, durationS, prices: PRICES, task: TASK, plan, coreEstimate: core, dryRunTotalUsd: printed, dryRunError } };
}
