/**
 * Launcher for the local mode: one `run-segment` child process per segment, the
 * same entrypoint the Fargate task runs. Each child's JSON log lines go to a file
 * in the run folder; its closed windows arrive on an extra pipe for live progress.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EnvVar } from '../../core/env-vars.js';
import { LineSplitter } from '../../core/k6-stream.js';
import type { LaunchedSegment, Launcher, SegmentLaunch } from '../../core/ports.js';
import { WindowRecordSchema, type WindowRecord } from '../../core/schemas.js';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const RUN_SEGMENT = join(ROOT, 'task', 'run-segment.ts');

export interface SegmentExit {
  segment: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessLauncherOptions {
  /** Folder of the result store; SOAK_STORE points the children at it. */
  storeRoot: string;
  /** Environment the children inherit besides the run-segment contract (K6_BIN, PATH...). */
  baseEnv?: NodeJS.ProcessEnv;
  secrets?: { token?: string; clientSecret?: string };
  onWindow?: (record: WindowRecord) => void;
  onExit?: (exit: SegmentExit) => void;
}

export class ProcessLauncher implements Launcher {
  readonly #options: ProcessLauncherOptions;
  readonly #children = new Map<number, ChildProcess>();
  readonly #exits: Promise<SegmentExit>[] = [];

  constructor(options: ProcessLauncherOptions) {
    this.#options = options;
  }

  async launch(launches: SegmentLaunch[]): Promise<{ launched: LaunchedSegment[]; failed: { segment: number; reason: string }[] }> {
    const launched: LaunchedSegment[] = [];
    const failed: { segment: number; reason: string }[] = [];
    for (const { manifest, segment } of launches) {
      try {
        const child = this.#spawn(manifest.env, manifest.runId, segment.index);
        launched.push({ segment: segment.index, taskId: `pid:${child.pid}` });
      } catch (error) {
        failed.push({ segment: segment.index, reason: (error as Error).message });
      }
    }
    return { launched, failed };
  }

  async stop(): Promise<void> {
    for (const child of this.#children.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  }

  /** Resolves when every launched child has exited. */
  async waitAll(): Promise<SegmentExit[]> {
    return Promise.all(this.#exits);
  }

  get running(): number {
    return [...this.#children.values()].filter((child) => child.exitCode === null && child.signalCode === null).length;
  }

  #spawn(env: string, runId: string, segment: number): ChildProcess {
    const logPath = join(this.#options.storeRoot, 'runs', env, runId, 'logs', `segment-${segment}.ndjson`);
    mkdirSync(dirname(logPath), { recursive: true });
    const logFd = openSync(logPath, 'a');

    const childEnv: NodeJS.ProcessEnv = {
      ...(this.#options.baseEnv ?? process.env),
      [EnvVar.RunId]: runId,
      [EnvVar.Env]: env,
      [EnvVar.Segment]: String(segment),
      [EnvVar.Store]: pathToFileURL(this.#options.storeRoot).toString(),
      [EnvVar.ProgressFd]: '3',
    };
    delete childEnv[EnvVar.TargetToken];
    delete childEnv[EnvVar.TargetClientSecret];
    if (this.#options.secrets?.token) childEnv[EnvVar.TargetToken] = this.#options.secrets.token;
    if (this.#options.secrets?.clientSecret) childEnv[EnvVar.TargetClientSecret] = this.#options.secrets.clientSecret;

    const tsxLoader = import.meta.resolve('tsx');
    const child = spawn(process.execPath, ['--import', tsxLoader, RUN_SEGMENT], {
      env: childEnv,
      stdio: ['ignore', logFd, logFd, 'pipe'],
    });
    closeSync(logFd);
    this.#children.set(segment, child);

    const progress = child.stdio[3] as NodeJS.ReadableStream | null;
    if (progress) {
      const splitter = new LineSplitter(
        (line) => this.#onProgressLine(line),
        () => undefined,
        16 * 1024 * 1024,
      );
      progress.on('data', (chunk: Buffer) => splitter.push(chunk));
    }

    this.#exits.push(
      new Promise<SegmentExit>((resolve) => {
        const finish = (code: number | null, signal: NodeJS.Signals | null) => {
          const exit = { segment, code, signal };
          this.#options.onExit?.(exit);
          resolve(exit);
        };
        child.on('error', () => finish(null, null));
        child.on('close', finish);
      }),
    );
    return child;
  }

  #onProgressLine(line: string): void {
    try {
      const message = JSON.parse(line) as { type?: string; record?: unknown };
      if (message.type !== 'window') return;
      const parsed = WindowRecordSchema.safeParse(message.record);
      if (parsed.success) this.#options.onWindow?.(parsed.data);
    } catch {
      // Progress is advisory: a garbled line only costs a progress update.
    }
  }
}
