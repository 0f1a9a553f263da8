/** Starting and reading the benchmark target (bench/target-server.ts) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../target-server.ts', import.meta.url));

export interface RunningTarget {
  url: string;
  pid: number;
  /** Load requests served since the target started. */
  requests(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the target on a free port of 127.0.0.1. It exits by itself after `maxSeconds`,
 * or as soon as this process exits, because it stops when its standard input closes.
 */
export async function startTarget(maxSeconds: number): Promise<RunningTarget> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), SERVER, '--max-seconds', String(maxSeconds), '--exit-with-stdin'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the benchmark target did not start within 30 s')), 30_000);
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve((JSON.parse(buffered.slice(0, newline)) as { port: number }).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the benchmark target exited with code ${code} before it listened`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid!,
    async requests() {
      const response = await fetch(`${url}/__bench/requests`);
      return ((await response.json()) as { requests: number }).requests;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
