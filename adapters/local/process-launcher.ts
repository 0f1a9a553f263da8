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

/** Maximum wait for a child's ready line before a stop sends SIGTERM anyway. */
const READY_WAIT_MS = 30_000;

function terminate(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

export class ProcessLauncher implements Launcher {
  readonly #options: ProcessLauncherOptions;
  readonly #children = new Map<number, ChildProcess>();
  readonly #exits: Promise<SegmentExit>[] = [];
  /** Segments whose run-segment has installed its signal handlers. */
  readonly #ready = new Set<number>();
  #stopping = false;

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

  /**
   * Sends SIGTERM to every running child that has announced it is ready. A child that
   * is still loading has no SIGTERM handler yet, and SIGTERM would kill it before it
   * writes a result, so it gets the signal when its ready line arrives, or after
   * READY_WAIT_MS at the latest.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const [segment, child] of this.#children) {
      if (this.#ready.has(segment)) terminate(child);
      else setTimeout(() => terminate(child), READY_WAIT_MS).unref();
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
        (line) => this.#onProgressLine(line, segment),
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

  #onProgressLine(line: string, segment: number): void {
    try {
      const message = JSON.parse(line) as { type?: string; record?: unknown };
      if (message.type === 'ready') {
        this.#ready.add(segment);
        const child = this.#children.get(segment);
        if (this.#stopping && child) terminate(child);
        return;
      }
      if (message.type !== 'window') return;
      const parsed = WindowRecordSchema.safeParse(message.record);
      if (parsed.success) this.#options.onWindow?.(parsed.data);
    } catch {
      // Progress is advisory: a garbled line only costs a progress update.
    }
  }
}
