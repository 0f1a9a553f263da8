/**
 * False alarms and detections of the drift and leak analyses on synthetic series with
 * autocorrelated noise, for runs of 30 minutes, 60 minutes and 6 hours at per-minute points.
 *
 *   npx tsx bench/detection/synthetic.ts [--seeds N] [--latency-relative-tolerance R] [--latency-spread-multiple K]
 *
 * Noise is AR(1) with lag-1 correlation φ. Its stationary standard deviation is 15 ms
 * around a p95 of 100 ms for a noisy target, 3 ms around the same p95 for a quiet one,
 * and 8 MiB around a heap of 200 MiB. A flagged flat series is a false alarm. Detections: a
 * noisy p95 that rises linearly by 50 % over the run, a quiet p95 that rises by 20 %, and a
 * heap that grows at three times its default tolerance of 16 MiB/h. Analyses use the default
 * configuration, except the latency tolerances given as options. Takes about a minute.
 */
import { parseArgs } from 'node:util';
import { analyzeDrift, analyzeLeaks, warmupSeconds } from '../../core/analysis.js';
import { parseEnvConfig, type EnvConfig } from '../../core/config.js';
import type { SeriesPoint } from '../../core/report-schema.js';
import { seededRandom } from './replay.js';

const RUN_START_MS = Date.UTC(2026, 0, 1, 22, 0, 0);
const MIB = 1024 * 1024;
const RUN_MINUTES = [30, 60, 360];
const PHIS = [0, 0.5, 0.8, 0.95];

/** Standard normal values by the Box–Muller transform. */
function seededNormal(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** AR(1) noise with lag-1 correlation `phi` and stationary standard deviation `sd`. */
function arNoise(length: number, phi: number, sd: number, seed: number): number[] {
  const normal = seededNormal(seed);
  const values = [sd * normal()];
  for (let index = 1; index < length; index++) {
    values.push(phi * values[index - 1]! + Math.sqrt(1 - phi * phi) * sd * normal());
  }
  return values;
}

function point(minute: number, fields: Partial<SeriesPoint>): SeriesPoint {
  return {
    t: RUN_START_MS + minute * 60_000,
    requests: 3000,
    failed: 0,
    errorRate: 0,
    rate: 50,
    p50: null,
    p95: null,
    p99: null,
    droppedIterations: 0,
    vus: 10,
    probes: {},
    ...fields,
  };
}

function driftFlagged(series: SeriesPoint[], config: EnvConfig, warmupS: number): boolean {
  const analyses = analyzeDrift(series, { runStartMs: RUN_START_MS, warmupS, drift: config.drift });
  return analyses.find((analysis) => analysis.series === 'p95')!.status === 'flagged';
}

function leakFlagged(series: SeriesPoint[], config: EnvConfig, warmupS: number): boolean {
  const heap = config.probe.series.find((probe) => probe.name === 'heapUsedBytes')!;
  return analyzeLeaks(series, { runStartMs: RUN_START_MS, warmupS, probes: [heap], leak: config.leak })[0]!.status === 'flagged';
}

/** Counts, per run length and φ, the flat series flagged and the rising series found. */
export function measure(config: EnvConfig, seeds: number): string[] {
  const heapTolerance = config.probe.series.find((probe) => probe.name === 'heapUsedBytes')!.leakTolerancePerHour!;
  const lines = [
    '| run length | φ | noisy p95: false alarms | noisy p95: +50 % found | quiet p95: false alarms | quiet p95: +20 % found | heap: false alarms | heap: 3 × tolerance found |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const minutes of RUN_MINUTES) {
    const warmupS = warmupSeconds(minutes * 60, config.warmup);
    for (const phi of PHIS) {
      const counts = { driftFalse: 0, driftFound: 0, quietFalse: 0, quietFound: 0, leakFalse: 0, leakFound: 0 };
      for (let seed = 1; seed <= seeds; seed++) {
        const latencyNoise = arNoise(minutes, phi, 15, seed);
        const heapNoise = arNoise(minutes, phi, 8 * MIB, seed + 1_000_000);
        const flatLatency = latencyNoise.map((noise, minute) => point(minute, { p95: 100 + noise }));
        const risingLatency = latencyNoise.map((noise, minute) => point(minute, { p95: 100 * (1 + (0.5 * minute) / minutes) + noise }));
        const quietNoise = latencyNoise.map((noise) => noise / 5);
        const quietFlat = quietNoise.map((noise, minute) => point(minute, { p95: 100 + noise }));
        const quietRising = quietNoise.map((noise, minute) => point(minute, { p95: 100 * (1 + (0.2 * minute) / minutes) + noise }));
        const flatHeap = heapNoise.map((noise, minute) => point(minute, { probes: { heapUsedBytes: 200 * MIB + noise } }));
        const growingHeap = heapNoise.map((noise, minute) =>
          point(minute, { probes: { heapUsedBytes: 200 * MIB + (3 * heapTolerance * minute) / 60 + noise } }),
        );
        if (driftFlagged(flatLatency, config, warmupS)) counts.driftFalse++;
        if (driftFlagged(risingLatency, config, warmupS)) counts.driftFound++;
        if (driftFlagged(quietFlat, config, warmupS)) counts.quietFalse++;
        if (driftFlagged(quietRising, config, warmupS)) counts.quietFound++;
        if (leakFlagged(flatHeap, config, warmupS)) counts.leakFalse++;
        if (leakFlagged(growingHeap, config, warmupS)) counts.leakFound++;
      }
      const label = minutes < 60 ? `${minutes} minutes` : `${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
      const cells = [counts.driftFalse, counts.driftFound, counts.quietFalse, counts.quietFound, counts.leakFalse, counts.leakFound];
      lines.push(`| ${label} | ${phi} | ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '200' },
      'latency-relative-tolerance': { type: 'string' },
      'latency-spread-multiple': { type: 'string' },
    },
  });

  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 10_000) {
    process.stderr.write(`synthetic: invalid --seeds "${values.seeds}": use a whole number from 1 to 10000.\n`);
    return 2;
  }

  const drift: Record<string, number> = {};
  const relative = values['latency-relative-tolerance'];
  if (relative !== undefined) {
    if (!(Number(relative) > 0 && Number(relative) <= 10)) {
      process.stderr.write(`synthetic: invalid --latency-relative-tolerance "${relative}": use a number above 0 and at most 10, such as 0.25.\n`);
      return 2;
    }
    drift['latencyRelativeTolerance'] = Number(relative);
  }

  const multiple = values['latency-spread-multiple'];
  if (multiple !== undefined) {
    if (!(Number(multiple) >= 0 && Number(multiple) <= 100)) {
      process.stderr.write(`synthetic: invalid --latency-spread-multiple "${multiple}": use a number from 0 to 100, such as 2.\n`);
      return 2;
    }
    drift['latencySpreadMultiple'] = Number(multiple);
  }

  const override = { drift };
  const config = parseEnvConfig(override, null);
  const { latencyRelativeTolerance, latencySpreadMultiple } = config.drift;
  process.stdout.write(`latencyRelativeTolerance ${latencyRelativeTolerance}, latencySpreadMultiple ${latencySpreadMultiple}, ${seeds} seeds per cell\n`);
  process.stdout.write(`${measure(config, seeds).join('\n')}\n`);
  return 0;
}

if (process.argv[1]?.endsWith('synthetic.ts')) {
  process.exitCode = main();
}
