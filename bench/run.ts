/**
 * Runs the benchmarks and prints one line per target: measured value, target, and
 * whether it holds. `npm run bench -- --help` lists the options.
 *
 * Curves (CSV) and every measured number (JSON) go to bench/results/, which git ignores.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchSetupError } from './lib/k6.js';
import type { Benchmark, TargetCheck } from './lib/outcome.js';
import { EXTRA_VARIANTS, VARIANTS } from './overhead.js';

const BENCHMARKS: Record<string, { describe: string; load: () => Promise<Benchmark> }> = {
  overhead: {
    describe: 'requests of one k6 process: bare vs inside run-segment and other outputs (needs K6_BIN)',
    load: async () => (await import('./overhead.js')).runOverheadBench,
  },
  throughput: {
    describe: 'recorded k6 output replayed into the aggregator vs the line rate of bare k6 (needs K6_BIN)',
    load: async () => (await import('./throughput.js')).runThroughputBench,
  },
  memory: {
    describe: 'RSS of k6 and run-segment over a long run at the highest rate (needs K6_BIN)',
    load: async () => (await import('./memory.js')).runMemoryBench,
  },
  finalize: {
    describe: 'finalize of synthetic windows: 64 segments x 8 h (full mode), time, peak RSS, sizes',
    load: async () => (await import('./finalize.js')).runFinalizeBench,
  },
  cost: {
    describe: 'Fargate cost estimate of 4 h at 1,000 requests/s',
    load: async () => (await import('./cost.js')).runCostBench,
  },
};

const HELP = `Usage: npm run bench -- [--quick] [--only NAME[,NAME...]] [--compare-root DIR]
                     [--variants NAME[,NAME...]] [--repetitions N]

  --quick             short mode of each benchmark (all of them in under five minutes)
  --only NAMES        run only these benchmarks, comma-separated
  --compare-root DIR  another checkout of this repository, such as a patched copy with its
                      own node_modules or a link to these: overhead then runs bare k6 and
                      both runners side by side, throughput replays into both stream paths,
                      finalize finalizes the same data with both
  --variants NAMES    overhead variants to run, comma-separated; bare is always added.
                      Default: ${VARIANTS.join(', ')}; also ${EXTRA_VARIANTS.join(', ')}
  --repetitions N     repetitions of overhead instead of the mode's default (full 5, quick 2)
  --help              print this help

Benchmarks:
${Object.entries(BENCHMARKS)
  .map(([name, bench]) => `  ${name.padEnd(11)} ${bench.describe}`)
  .join('\n')}

K6_BIN must name a k6 binary (tested with k6 v1.3.0) for overhead, throughput and memory.
Every load run sends requests to 127.0.0.1 only and stops by itself.
`;

function formatCheck(check: TargetCheck): string {
  let verdict = 'info';
  if (check.holds !== null) verdict = check.holds ? 'PASS' : 'FAIL';
  return `${verdict.padEnd(4)}  ${check.bench.padEnd(10)} ${check.name.padEnd(38)} ${check.value}   [target: ${check.target}]`;
}

function compareRoot(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const root = resolve(value);
  if (!existsSync(join(root, 'task', 'run-segment.ts'))) {
    throw new BenchSetupError(`--compare-root ${value}: ${join(root, 'task', 'run-segment.ts')} does not exist; give the root of a checkout of this repository.`);
  }
  return root;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'compare-root': { type: 'string' },
      variants: { type: 'string' },
      repetitions: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const names = values.only === undefined ? Object.keys(BENCHMARKS) : values.only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown benchmark: ${unknown.join(', ')}. Choose from ${Object.keys(BENCHMARKS).join(', ')}.\n`);
    return 2;
  }

  let alternative: string | undefined;
  try {
    alternative = compareRoot(values['compare-root']);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const known: readonly string[] = [...VARIANTS, ...EXTRA_VARIANTS];
  const variants = values.variants?.split(',').map((name) => name.trim());
  const unknownVariants = (variants ?? []).filter((name) => !known.includes(name));
  if (unknownVariants.length > 0) {
    process.stderr.write(`Unknown overhead variant: ${unknownVariants.join(', ')}. Choose from ${known.join(', ')}.\n`);
    return 2;
  }
  const repetitions = values.repetitions === undefined ? undefined : Number(values.repetitions);
  if (repetitions !== undefined && !(Number.isInteger(repetitions) && repetitions >= 1)) {
    process.stderr.write(`--repetitions: "${values.repetitions}" is not a whole number of at least 1.\n`);
    return 2;
  }

  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const mode = values.quick ? 'quick' : 'full';
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`bench: ${mode} mode, ${names.join(', ')}; ${cpus().length} CPUs, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, node ${process.version}`);

  const checks: TargetCheck[] = [];
  const details: Record<string, unknown> = {};
  let failed = false;
  const started = Date.now();
  for (const name of names) {
    const benchStarted = Date.now();
    log(`bench: ${name} started`);
    try {
      const bench = await BENCHMARKS[name]!.load();
      const outcome = await bench({ quick: values.quick ?? false, resultsDir, log, compareRoot: alternative, variants, repetitions });
      checks.push(...outcome.checks);
      details[name] = { ...outcome.details, elapsedS: (Date.now() - benchStarted) / 1000 };
    } catch (error) {
      failed = true;
      const message = error instanceof BenchSetupError ? error.message : (error as Error).stack ?? String(error);
      checks.push({ bench: name, name: 'benchmark failed', value: message.split('\n')[0]!, target: 'runs', holds: false });
      log(`bench: ${name} failed: ${message}`);
    }
    log(`bench: ${name} finished in ${Math.round((Date.now() - benchStarted) / 1000)} s`);
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(`${resultsDir}${mode}-${stamp}.json`, `${JSON.stringify({ mode, names, checks, details }, null, 2)}\n`);
  process.stdout.write(`\nResults (${mode} mode, ${Math.round((Date.now() - started) / 1000)} s in all):\n`);
  for (const check of checks) process.stdout.write(`${formatCheck(check)}\n`);
  process.stdout.write(`\nDetails: ${resultsDir}${mode}-${stamp}.json\n`);
  return failed || checks.some((check) => check.holds === false) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
