/**
 * Running one real `run-segment` process (task/run-segment.ts, the entrypoint of a
 * Fargate task) against a local folder store, the way `soak run --local` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { decodeWindows } from '../../core/checkpoint.js';
import { parseEnvConfig, type EnvConfigInput } from '../../core/config.js';
import { ALWAYS_FILTERED_KEYS } from '../../core/finalize.js';
import { buildManifest } from '../../core/plan.js';
import { keys } from '../../core/ports.js';
import { RunRequestSchema, SegmentResultSchema, type SegmentResult, type WindowRecord } from '../../core/schemas.js';
import { K6_BENCH_ENV } from './k6.js';

const RUN_SEGMENT = fileURLToPath(new URL('../../task/run-segment.ts', import.meta.url));
export const BENCH_ENV = 'bench';

export interface SegmentRunInput {
  /** Folder of the result store; the run is written under runs/bench/<runId>/. */
  storeRoot: string;
  runId: string;
  targetUrl: string;
  script: string;
  durationS: number;
  /** Variables the script reads from `__ENV`, besides BASE_URL. */
  scriptEnv: Record<string, string>;
  k6Bin: string;
  config?: EnvConfigInput;
  /** Repository whose task/run-segment.ts runs, such as a patched copy; this one by default. */
  repositoryRoot?: string;
}

/** Writes the run's manifest (one segment) into the store. */
export async function writeSegmentManifest(input: SegmentRunInput): Promise<void> {
  const config = parseEnvConfig({ ...input.config, scenarioEnv: input.scriptEnv }, 'the benchmark configuration');
  const request = RunRequestSchema.parse({
    env: BENCH_ENV,
    target: input.targetUrl,
    scenario: input.script,
    rate: 1000,
    durationS: input.durationS,
    segments: 1,
  });
  const manifest = buildManifest({
    runId: input.runId,
    request,
    config,
    scenario: {
      name: 'bench',
      path: input.script,
      hash: null,
      bundled: false,
      thresholds: Object.fromEntries(ALWAYS_FILTERED_KEYS.map((key) => [key, []])),
    },
    nowMs: Date.now(),
  });
  const store = new FolderResultStore(input.storeRoot);
  await store.put(keys.manifest(BENCH_ENV, input.runId), JSON.stringify(manifest, null, 2));
}

/**
 * Starts run-segment for segment 0 of the run; its log lines go to `logPath`.
 * `nodeArgs` go to node before the script, such as `--cpu-prof`; `env` adds variables.
 */
export function spawnRunSegment(input: SegmentRunInput, logPath: string, nodeArgs: string[] = [], env: Record<string, string> = {}): ChildProcess {
  const logFd = openSync(logPath, 'a');
  const script = input.repositoryRoot === undefined ? RUN_SEGMENT : join(input.repositoryRoot, 'task', 'run-segment.ts');
  const child = spawn(process.execPath, [...nodeArgs, '--import', import.meta.resolve('tsx'), script], {
    env: {
      ...process.env,
      ...K6_BENCH_ENV,
      K6_BIN: input.k6Bin,
      SOAK_RUN_ID: input.runId,
      SOAK_ENV: BENCH_ENV,
      SOAK_SEGMENT: '0',
      SOAK_STORE: pathToFileURL(input.storeRoot).toString(),
      SOAK_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  return child;
}

/** Reads back the windows and the result that segment 0 stored. */
export async function readSegmentOutput(storeRoot: string, runId: string): Promise<{ windows: WindowRecord[]; result: SegmentResult | null }> {
  const store = new FolderResultStore(storeRoot);
  const windows: WindowRecord[] = [];
  for (const key of await store.list(keys.windowsPrefix(BENCH_ENV, runId, 0))) {
    const bytes = await store.get(key);
    if (bytes) windows.push(...decodeWindows(bytes, key));
  }
  const resultBytes = await store.get(keys.segmentResult(BENCH_ENV, runId, 0));
  const result = resultBytes ? SegmentResultSchema.parse(JSON.parse(Buffer.from(resultBytes).toString('utf8'))) : null;
  return { windows, result };
}

export function segmentLogPath(storeRoot: string, runId: string): string {
  return join(storeRoot, `${runId}.log`);
}
