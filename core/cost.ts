/**
 * Fargate cost estimate of a run plan, printed by every dry run and by `soak start`.
 *
 * Prices are AWS's published on-demand Fargate prices for Linux/x86 in us-east-1
 * (USD 0.04048 per vCPU-hour and 0.004445 per GB-hour), as listed on the AWS Fargate
 * pricing page; they were unchanged from 2019 to the last check of this file on
 * 2026-12-04. Other regions and ARM differ by a few percent to a third; pass `prices`
 * to use them. The estimate covers the tasks only: S3, Lambda, CloudWatch and data
 * transfer add cents per run.
 */
export interface FargatePrices {
  vcpuHourUsd: number;
  gbHourUsd: number;
  region: string;
  asOf: string;
}

export const FARGATE_PRICES_US_EAST_1: FargatePrices = {
  vcpuHourUsd: 0.04048,
  gbHourUsd: 0.004445,
  region: 'us-east-1',
  asOf: '2026-12-04',
};

/** Task size of the load generator unless the deploy config sets another (1 vCPU, 2 GB). */
export const DEFAULT_TASK_SIZE = { cpu: 1024, memoryMiB: 2048 } as const;

/** Fargate bills from image pull to stop, with a one-minute minimum; this covers start-up and the last upload. */
export const TASK_OVERHEAD_S = 3 * 60;

export interface CostEstimate {
  totalUsd: number;
  perTaskUsd: number;
  taskHours: number;
  basis: string;
}

export function estimateRunCost(input: {
  segments: number;
  durationS: number;
  cpu?: number;
  memoryMiB?: number;
  prices?: FargatePrices;
}): CostEstimate {
  const cpu = input.cpu ?? DEFAULT_TASK_SIZE.cpu;
  const memoryMiB = input.memoryMiB ?? DEFAULT_TASK_SIZE.memoryMiB;
  const prices = input.prices ?? FARGATE_PRICES_US_EAST_1;
  const hours = Math.max(60, input.durationS + TASK_OVERHEAD_S) / 3600;
  const perTaskUsd = hours * ((cpu / 1024) * prices.vcpuHourUsd + (memoryMiB / 1024) * prices.gbHourUsd);
  const totalUsd = round(perTaskUsd * input.segments);
  return {
    totalUsd,
    perTaskUsd: round(perTaskUsd),
    taskHours: round(hours * input.segments),
    basis: `${input.segments} task(s) x ${(cpu / 1024).toString()} vCPU / ${(memoryMiB / 1024).toString()} GB x ${hours.toFixed(2)} h at Fargate Linux/x86 on-demand prices of ${prices.region} (${prices.asOf})`,
  };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
