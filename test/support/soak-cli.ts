/** Runs the `soak` CLI as a child process, as a user would, for integration tests. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeK6Env, type FakeK6Settings } from './fake-k6.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOAK = join(ROOT, 'bin/soak.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  result: Promise<CliResult>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `soak ...args` with the k6 double as K6_BIN, configured by `fake`. */
export function startSoak(args: string[], options: { fake?: FakeK6Settings; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliRun {
  const env = {
    ...fakeK6Env(options.fake ?? {}),
    // run-segment builds k6's environment from scratch: let the double's settings through.
    SOAK_K6_PASS_ENV: 'FAKE_K6_CASE,FAKE_K6_SPEED,FAKE_K6_LOOP_S,FAKE_K6_ARGS_FILE,FAKE_K6_CUT_LAST_LINE',
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), SOAK, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { result, kill: (signal) => child.kill(signal) };
}

export function runSoak(args: string[], options: { fake?: FakeK6Settings; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return startSoak(args, options).result;
}

export function tempResults(): string {
  return mkdtempSync(join(tmpdir(), 'soak-results-'));
}

/** Reads the only run of `env` under a results folder. */
export function onlyRun(results: string, env = 'local'): { runId: string; dir: string } {
  const runs = readdirSync(join(results, 'runs', env));
  if (runs.length !== 1) throw new Error(`expected one run under ${results}, found ${runs.join(', ')}`);
  return { runId: runs[0]!, dir: join(results, 'runs', env, runs[0]!) };
}

export function readJsonFile<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export { existsSync };
