/**
 * Starting k6 for the benchmarks. Every k6 process runs with usage reports and
 * automatic extension resolution off and its REST API on a free loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export const K6_BENCH_ENV = {
  K6_NO_USAGE_REPORT: 'true',
  K6_AUTO_EXTENSION_RESOLUTION: 'false',
} as const;

export class BenchSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchSetupError';
  }
}

/** Returns the k6 binary named by K6_BIN, or throws with what to set. */
export function requireK6Bin(): string {
  const bin = process.env.K6_BIN;
  if (bin === undefined || bin === '') {
    throw new BenchSetupError('K6_BIN is not set: the load benchmarks need a real k6 binary. Set K6_BIN=/path/to/k6 (tested with k6 v1.3.0).');
  }
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new BenchSetupError(`K6_BIN is "${bin}", which is not an executable file. Point it at a k6 binary.`);
  }
  return bin;
}

/** Environment of a benchmark k6 process: the caller's plus the safe k6 settings. */
export function k6ProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, ...K6_BENCH_ENV };
}

/**
 * Arguments of `k6 run` for a benchmark: the flags run-segment passes (thresholds
 * and end-of-test summary off), the given outputs, and the script's variables.
 */
export function k6RunArgs(input: { script: string; outputs: string[]; variables: Record<string, string>; summary?: boolean }): string[] {
  const args = ['run', '--address', '127.0.0.1:0', '--no-thresholds', '--no-color', '--quiet'];
  if (input.summary !== true) args.push('--summary-mode=disabled');
  for (const output of input.outputs) args.push('--out', output);
  for (const [key, value] of Object.entries(input.variables)) args.push('-e', `${key}=${value}`);
  args.push(input.script);
  return args;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the child exits; kills it with SIGKILL after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number, label: string): Promise<ExitInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not exit within ${Math.round(timeoutMs / 1000)} s and was killed`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Starts k6 with its stdout dropped and the last 4 KiB of stderr kept for error messages. */
export function spawnK6(bin: string, args: string[], env: NodeJS.ProcessEnv = k6ProcessEnv()): { child: ChildProcess; stderr: () => string } {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4096);
  });
  return { child, stderr: () => tail };
}
