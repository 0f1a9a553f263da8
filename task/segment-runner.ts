/**
 * One k6 execution segment, from start to stored result: the code the Fargate
 * task and the local mode's child processes both run.
 *
 * k6 writes its samples to a named pipe (see openSampleFifo), never to a file on
 * disk. The runner aggregates them into 10-second windows and stores closed windows
 * every checkpoint interval as numbered create-only objects. It also watches for a
 * stop request and writes the segment result when k6 exits. Segment 0 probes the
 * target and evaluates the abort rules on all segments' data.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket, type ConnectOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { AbortMonitor } from '../core/abort.js';
import { normalizeThresholds, type ThresholdDefinition } from '../core/thresholds.js';
import { EnvVar } from '../core/env-vars.js';
import { encodeWindows } from '../core/checkpoint.js';
import { CheckpointFollower } from '../core/checkpoint-follower.js';
import type { EnvConfig } from '../core/config.js';
import { LineSplitter } from '../core/k6-stream.js';
import { LogEvent, redact } from '../core/log.js';
import { WindowAggregator, type KnownMetric } from '../core/windows.js';
import { keys, type Log, type MetricsSink, type ResultStore } from '../core/ports.js';
import { liveMetricData } from '../core/live-metrics.js';
import { encodeRollups, rollupPeriodS, SegmentRollup } from '../core/rollup.js';
import { withRetry } from '../core/retry.js';
import {
  SCHEMA_VERSION,
  type RunManifest,
  type SegmentPlan,
  type SegmentResult,
  type SegmentStopReason,
  type WindowRecord,
} from '../core/schemas.js';
import { stopReasonForExit } from './segment-exit.js';
import { buildRunArgs, k6Environment, k6Version, otelOutputFromEnv, systemTagsFor } from './k6.js';
import { TargetProbe } from './probe.js';

export interface SegmentRunnerOptions {
  manifest: RunManifest;
  segment: SegmentPlan;
  config: EnvConfig;
  store: ResultStore;
  log: Log;
  k6Bin: string;
  scenariosDir: string;
  /** Secrets for the scenario, passed to k6 through its environment only. */
  secrets: { token?: string; clientSecret?: string };
  /** Receives per-window live metrics after each checkpoint (CloudWatch in AWS). */
  metrics?: MetricsSink;
  /** Receives each closed window, for live progress in the local mode. */
  progress?: Writable;
  /** Shortens intervals in tests; production uses the configuration's. */
  timing?: { stopPollMs?: number; cpuSampleMs?: number };
}

const STDERR_TAIL_LINES = 40;
const STDERR_LINE_MAX = 600;
/** Checkpoint numbers skipped in a row before a write counts as failed (a store that never creates). */
const MAX_TAKEN_CHECKPOINTS = 100;

export class SegmentRunner {
  readonly #options: SegmentRunnerOptions;
  readonly #log: Log;
  readonly #aggregator;
  readonly #pending: WindowRecord[] = [];
  #nextSeq = 0;
  #windowsWritten = 0;
  #lastCheckpointSeq: number | null = null;
  #child: ChildProcess | undefined;
  #stopReason: { reason: SegmentStopReason; detail: string } | null = null;
  #stderrTail: string[] = [];
  #scriptExceptions = 0;
  #checkpointing: Promise<void> = Promise.resolve();
  #storeFailed = false;
  #lastStoreError: string | null = null;
  /** Set when the deadline timer sent SIGKILL, so k6's death by that signal counts as our stop. */
  #killedAtDeadline = false;
  readonly #abortMonitor: AbortMonitor;
  readonly #checkpoints: CheckpointFollower;
  readonly #rollup: SegmentRollup;
  #nextRollupSeq = 0;

  constructor(options: SegmentRunnerOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#rollup = new SegmentRollup({
      periodS: rollupPeriodS(options.manifest.request.durationS, options.manifest.segments.length),
      runId: options.manifest.runId,
      segment: options.segment.index,
    });
    this.#aggregator = new WindowAggregator({
      runId: options.manifest.runId,
      segment: options.segment.index,
      lengthMs: options.config.windows.lengthS * 1000,
      graceMs: options.config.windows.graceS * 1000,
      filters: Object.keys(options.manifest.thresholds),
      maxRequestNames: options.config.windows.maxRequestNames,
      skipMetrics: options.config.windows.skipMetrics,
    });
    let abortThresholds: ThresholdDefinition[] = [];
    try {
      abortThresholds = normalizeThresholds(options.manifest.thresholds, 'script').filter((threshold) => threshold.abortOnFail);
    } catch (error) {
      // finalize reports invalid thresholds as an ERROR; the run itself goes on.
      options.log.warn('thresholds not usable for abortOnFail', { error });
    }
    this.#abortMonitor = new AbortMonitor(options.config.abort, abortThresholds, options.manifest.createdAtMs);
    this.#checkpoints = new CheckpointFollower({
      store: options.store,
      env: options.manifest.env,
      runId: options.manifest.runId,
      segments: options.manifest.segments.map((plan) => plan.index),
      checkpointEveryMs: options.config.windows.checkpointEveryS * 1000,
    });
  }

  get storeFailed(): boolean {
    return this.#storeFailed;
  }

  /** Asks k6 to stop (SIGTERM); the run then ends as stopped with `detail` as reason. */
  requestStop(reason: SegmentStopReason, detail: string): void {
    if (this.#stopReason === null) this.#stopReason = { reason, detail };
    this.#log.info('segment stop requested', { event: LogEvent.StopRequested, reason, detail });
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
  }

  scriptPath(): string {
    return scriptPathOf(this.#options.manifest, this.#options.scenariosDir);
  }

  /** Returns k6's `__ENV`: a clean environment without the runner's own secrets or credentials. */
  scenarioEnv(): Record<string, string> {
    const { manifest, config, secrets } = this.#options;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      TZ: 'UTC',
      ...config.scenarioEnv,
      BASE_URL: manifest.request.target.replace(/\/$/, ''),
      SOAK_RUN_ID: manifest.runId,
      SOAK_ENV: manifest.env,
      SOAK_SEGMENT: String(this.#options.segment.index),
    };
    if (manifest.bundledScenario) {
      env.RATE = String(manifest.request.rate);
      env.DURATION = `${manifest.request.durationS}s`;
    }
    for (const name of (process.env[EnvVar.K6PassEnv] ?? '').split(',')) {
      const value = process.env[name.trim()];
      if (name.trim() !== '' && value !== undefined) env[name.trim()] = value;
    }
    if (secrets.token) env.TOKEN = secrets.token;
    if (secrets.clientSecret) env.CLIENT_SECRET = secrets.clientSecret;
    return env;
  }

  async run(): Promise<SegmentResult> {
    const { manifest, segment, k6Bin } = this.#options;
    const startedAtMs = Date.now();
    const version = await k6Version(k6Bin);
    const script = this.scriptPath();
    const otel = otelOutputFromEnv(process.env, { env: manifest.env, runId: manifest.runId, segment: segment.index });

    const splitter = this.#aggregator.lineSplitter();
    const fifo = openSampleFifo((chunk) => {
      splitter.push(chunk);
      this.#aggregator.noteStreamLag();
    });
    const args = buildRunArgs({
      scriptPath: script,
      executionSegment: segment.executionSegment,
      sequence: segment.sequence,
      outPath: fifo.path,
      otel: otel !== undefined,
      // An OpenTelemetry backend may want every tag; the runner's own stream needs few.
      systemTags: otel === undefined ? systemTagsFor(Object.keys(manifest.thresholds)) : undefined,
    });
    const child = spawn(k6Bin, args, {
      env: k6Environment({ ...this.scenarioEnv(), ...otel?.env }, {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#log.info('k6 started', { event: LogEvent.K6Started, pid: child.pid, k6Version: version, executionSegment: segment.executionSegment, otelExporter: otel?.exporter });

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolveExit) => {
      child.on('error', (error) => resolveExit({ code: null, signal: null, spawnError: error }));
      child.on('close', (code, signal) => resolveExit({ code, signal }));
    });

    const streamEnded = this.#streamEnd(fifo.reader, splitter);
    this.#consumeStderr(child);
    // stdout has k6's banner only; read and drop it so the pipe never fills.
    child.stdout?.resume();

    const probe = this.#startProbe();
    const timers = this.#startTimers(child);
    const exit = await exited;
    // k6 is gone: dropping the last writer lets the reader drain the pipe and see EOF.
    fifo.releaseWriter();
    await streamEnded;
    fifo.remove();
    for (const timer of timers) clearInterval(timer);
    probe?.stop();

    const closing = this.#aggregator.closeAll();
    this.#emitWindows(closing);
    await this.#checkpoint(true);

    const endedAtMs = Date.now();
    const fromExit = stopReasonForExit(exit.code, exit.signal, exit.spawnError);
    // Our own SIGTERM ends k6 with 105 (or 0 when it was finishing anyway), and the
    // deadline's SIGKILL by that signal: keep our reason.
    const killedByUs = this.#killedAtDeadline && exit.signal === 'SIGKILL';
    const ownStop = this.#stopReason !== null && (exit.code === 105 || exit.code === 0 || killedByUs);
    let stop = ownStop ? this.#stopReason! : fromExit;
    if (killedByUs) stop = { ...stop, detail: `${stop.detail}; k6 did not stop within 60 s of SIGTERM and was killed with SIGKILL` };
    // Windows that never reached the store leave a gap the report cannot see from
    // the points alone, so such a segment must not count as completed.
    if (this.#pending.length > 0) stop = this.#unstoredWindowsStop(stop);
    const result: SegmentResult = {
      schemaVersion: SCHEMA_VERSION,
      runId: manifest.runId,
      segment: segment.index,
      executionSegment: segment.executionSegment,
      k6Version: version,
      k6ExitCode: exit.code,
      k6Signal: exit.signal,
      stopReason: stop.reason,
      detail: redact(stop.detail),
      startedAtMs,
      endedAtMs,
      firstPointMs: this.#aggregator.firstPointMs === null ? null : Math.floor(this.#aggregator.firstPointMs),
      lastPointMs: this.#aggregator.lastPointMs === null ? null : Math.floor(this.#aggregator.lastPointMs),
      plannedDurationS: manifest.request.durationS,
      windowsWritten: this.#windowsWritten,
      lastCheckpointSeq: this.#lastCheckpointSeq,
      scriptExceptions: this.#scriptExceptions,
      stderrTail: this.#stderrTail.map(redact),
    };
    this.#log.info('k6 exited', { event: LogEvent.K6Exited, exitCode: exit.code, signal: exit.signal, stopReason: result.stopReason });

    await withRetry(() => this.#options.store.put(keys.segmentResult(manifest.env, manifest.runId, segment.index), JSON.stringify(result, null, 2)), {
      attempts: 8,
      baseDelayMs: 500,
      maxDelayMs: 15_000,
      onRetry: (error, attempt) => this.#log.warn('segment result write retried', { event: LogEvent.CheckpointRetried, attempt, error }),
    });
    this.#log.info('segment finished', { event: LogEvent.SegmentFinished, stopReason: result.stopReason, windows: this.#windowsWritten });
    return result;
  }

  /** Returns a promise that resolves when k6's sample stream ends; its chunks go to `splitter` (see openSampleFifo). */
  #streamEnd(reader: Socket, splitter: LineSplitter<KnownMetric>): Promise<void> {
    const aggregator = this.#aggregator;
    return new Promise((resolveEnd) => {
      reader.on('end', () => {
        // A cut last line (k6 killed mid-write) is counted, not parsed.
        if (splitter.end() !== null) aggregator.noteUnparsable();
        resolveEnd();
      });
      reader.on('error', (error) => {
        this.#log.warn('k6 sample stream failed', { error });
        resolveEnd();
      });
    });
  }

  #consumeStderr(child: ChildProcess): void {
    if (!child.stderr) return;
    const splitter = new LineSplitter(
      (line) => {
        // Exceptions thrown by iterations appear only here, never in the sample stream.
        if (line.includes('source=stacktrace')) {
          this.#scriptExceptions += 1;
          this.#aggregator.noteScriptException();
        }
        this.#stderrTail.push(line.length > STDERR_LINE_MAX ? `${line.slice(0, STDERR_LINE_MAX)}…` : line);
        if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
      },
      () => undefined,
      64 * 1024,
    );
    child.stderr.on('data', (chunk: Buffer) => splitter.push(chunk));
  }

  #startProbe(): TargetProbe | undefined {
    const { config, manifest, segment } = this.#options;
    if (segment.index !== 0 || !config.probe.enabled) return undefined;
    const url = config.probe.url ?? new URL(config.probe.path, manifest.request.target).toString();
    const probe = new TargetProbe(url, config.probe.series, config.probe.intervalS * 1000, config.probe.timeoutMs, {
      onSample: (values, timeMs) => {
        for (const [name, value] of Object.entries(values)) this.#aggregator.addProbe(name, value, timeMs);
      },
      onFailure: (reason, timeMs) => {
        this.#aggregator.noteProbeFailure(timeMs);
        this.#log.debug('probe failed', { event: LogEvent.ProbeFailed, reason });
      },
    });
    probe.start();
    return probe;
  }

  #startTimers(child: ChildProcess): NodeJS.Timeout[] {
    const { config } = this.#options;
    const timing = this.#options.timing ?? {};
    const cpu = new CpuSampler(child.pid);

    const closeTimer = setInterval(() => {
      const closed = this.#aggregator.closeUpTo(Date.now());
      const sample = cpu.sample();
      this.#aggregator.noteCpu(sample.k6CpuS, sample.runnerCpuS);
      if (sample.saturated) this.#aggregator.noteSaturatedSecond();
      if (closed.length > 0) this.#emitWindows(closed);
    }, timing.cpuSampleMs ?? 1000);

    const checkpointTimer = setInterval(() => void this.#checkpoint(false), config.windows.checkpointEveryS * 1000);
    // The hard deadline: a straggler never outlives its run, whatever k6 does.
    const deadlineTimer = setInterval(() => {
      if (Date.now() > this.#options.manifest.deadlineMs) {
        this.requestStop('stopped', `the run passed its deadline (${new Date(this.#options.manifest.deadlineMs).toISOString()})`);
        if (Date.now() > this.#options.manifest.deadlineMs + 60_000 && !this.#killedAtDeadline) {
          this.#killedAtDeadline = true;
          this.#log.warn('k6 killed 60 s after the deadline', { event: LogEvent.StopRequested, pid: child.pid });
          child.kill('SIGKILL');
        }
      }
    }, 5_000);
    const stopTimer = setInterval(() => void this.#pollStopAndAbort(), timing.stopPollMs ?? 10_000);
    return [closeTimer, checkpointTimer, stopTimer, deadlineTimer];
  }

  #emitWindows(closed: WindowRecord[]): void {
    this.#pending.push(...closed);
    if (this.#options.progress) {
      for (const record of closed) this.#options.progress.write(`${JSON.stringify({ type: 'window', record })}\n`);
    }
  }

  /** Stores pending windows, then the rollup records of the periods they finished. */
  #checkpoint(final: boolean): Promise<void> {
    this.#checkpointing = this.#checkpointing.then(async () => {
      await this.#storeWindows(final);
      if (final) this.#rollup.finish(this.#nextSeq);
      await this.#storeRollups(final);
    });
    return this.#checkpointing;
  }

  /** Stores pending windows as the next numbered object; on failure they stay pending for the next try. */
  async #storeWindows(final: boolean): Promise<void> {
    if (this.#pending.length === 0) return;
    const { manifest, segment, store } = this.#options;
    const batch = this.#pending.slice();
    const body = encodeWindows(batch);
    let seq = this.#nextSeq;
    let key = keys.windows(manifest.env, manifest.runId, segment.index, seq);
    try {
      await withRetry(
        async () => {
          // A taken number contains a write whose response was lost, maybe with fewer
          // windows than this batch, or another process's windows. It is never
          // overwritten. The whole batch goes under the next free number instead, and
          // finalize counts a window stored twice once.
          for (let taken = 0; !(await store.putIfAbsent(key, body, 'application/gzip')); taken++) {
            if (taken >= MAX_TAKEN_CHECKPOINTS) throw new Error(`${MAX_TAKEN_CHECKPOINTS} checkpoint numbers after ${key} are taken`);
            this.#log.warn('checkpoint number taken, writing under the next', { key });
            seq += 1;
            key = keys.windows(manifest.env, manifest.runId, segment.index, seq);
          }
        },
        {
          attempts: final ? 10 : 4,
          baseDelayMs: 500,
          maxDelayMs: final ? 20_000 : 5_000,
          onRetry: (error, attempt, delayMs) =>
            this.#log.warn('checkpoint write retried', { event: LogEvent.CheckpointRetried, key, attempt, delayMs, error }),
        },
      );
      this.#pending.splice(0, batch.length);
      this.#nextSeq = seq + 1;
      this.#windowsWritten += batch.length;
      this.#lastCheckpointSeq = seq;
      this.#storeFailed = false;
      this.#rollup.add(batch, seq);
      const memory = process.memoryUsage();
      // The runner's own memory, so that a soak of many hours shows whether it stays flat.
      this.#log.info('windows checkpointed', {
        event: LogEvent.WindowsCheckpointed,
        seq,
        windows: batch.length,
        memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, externalBytes: memory.external, arrayBuffersBytes: memory.arrayBuffers },
      });
      if (this.#options.metrics) {
        await this.#options.metrics
          .publish(liveMetricData(batch, manifest.env))
          .catch((error) => this.#log.warn('live metrics not published', { error }));
      }
    } catch (error) {
      this.#storeFailed = true;
      this.#lastStoreError = error instanceof Error ? error.message : String(error);
      this.#log.error('checkpoint failed, windows kept in memory', { key, pendingWindows: this.#pending.length, error });
    }
  }

  /**
   * Stores the records of finished rollup periods as the next numbered object, once they
   * span half an hour or the segment ends (core/rollup.ts). A failure
   * costs finalize time, not data: it reads the windows after the last stored rollup.
   */
  async #storeRollups(final: boolean): Promise<void> {
    if (!this.#rollup.due(final)) return;
    const records = this.#rollup.pending.slice();
    const { manifest, segment, store } = this.#options;
    const body = encodeRollups(records);
    let seq = this.#nextRollupSeq;
    let key = keys.rollups(manifest.env, manifest.runId, segment.index, seq);
    try {
      await withRetry(
        async () => {
          // A taken number contains an earlier try of the same records, and finalize skips records it already has.
          for (let taken = 0; !(await store.putIfAbsent(key, body, 'application/gzip')); taken++) {
            if (taken >= MAX_TAKEN_CHECKPOINTS) throw new Error(`${MAX_TAKEN_CHECKPOINTS} rollup numbers after ${key} are taken`);
            seq += 1;
            key = keys.rollups(manifest.env, manifest.runId, segment.index, seq);
          }
        },
        { attempts: final ? 6 : 2, baseDelayMs: 500, maxDelayMs: 5_000 },
      );
      this.#rollup.stored(records.length);
      this.#nextRollupSeq = seq + 1;
      this.#log.debug('rollups stored', { seq, periods: records.length });
    } catch (error) {
      this.#log.warn('rollups not stored, kept for the next checkpoint', { key, periods: records.length, error });
    }
  }

  /** The stop of a segment whose last windows could not be stored, with k6's own stop in the detail. */
  #unstoredWindowsStop(k6Stop: { reason: SegmentStopReason; detail: string }): { reason: SegmentStopReason; detail: string } {
    const first = this.#pending[0]!;
    const last = this.#pending[this.#pending.length - 1]!;
    const span = `${new Date(first.startMs).toISOString()} to ${new Date(last.startMs + last.lengthMs).toISOString()}`;
    return {
      reason: 'runner-error',
      detail: `${this.#pending.length} windows (${span}) could not be stored after retries (last error: ${this.#lastStoreError ?? 'unknown'}), so this segment's data is incomplete; k6 itself: ${k6Stop.detail}`,
    };
  }

  async #pollStopAndAbort(): Promise<void> {
    const { manifest, store, segment } = this.#options;
    try {
      const stop = await store.get(keys.stopRequest(manifest.env, manifest.runId));
      if (stop !== undefined) {
        const request = JSON.parse(Buffer.from(stop).toString('utf8')) as { reason?: string; kind?: string };
        this.requestStop('stopped', request.reason ?? 'stop requested');
        return;
      }
      if (segment.index !== 0 || !this.#abortMonitor.isActive) return;

      // Each checkpoint is read once; the monitor keeps what the rules need.
      await this.#checkpoints.readNew((records) => this.#abortMonitor.add(records));
      const decision = this.#abortMonitor.evaluate();
      if (decision === null) return;

      const body = JSON.stringify({ kind: decision.kind, reason: `Aborted: ${decision.reason}`, atMs: Date.now() });
      await store.putIfAbsent(keys.stopRequest(manifest.env, manifest.runId), body, 'application/json');
      this.#log.warn('abort triggered', { event: LogEvent.AbortTriggered, kind: decision.kind, reason: decision.reason });
      this.requestStop('stopped', `Aborted: ${decision.reason}`);
    } catch (error) {
      this.#log.warn('stop and abort check failed', { error });
    }
  }
}

/**
 * A named pipe for k6's sample stream. k6 opens its `--out json` path with
 * os.Create, which fails on the socket pairs Node uses for child stdio (ENXIO on
 * /dev/fd/N), so the stream goes through a FIFO instead: kernel memory only,
 * nothing written to disk. The runner keeps a writer end open until k6 exits, so
 * the reader gets EOF only after k6 is gone, whether or not k6 ever opened the pipe.
 */
export function openSampleFifo(onChunk: (chunk: Buffer) => void): { path: string; reader: Socket; releaseWriter(): void; remove(): void } {
  const folder = mkdtempSync(join(tmpdir(), 'soak-k6-'));
  const path = join(folder, 'samples.fifo');
  execFileSync('mkfifo', ['-m', '600', path]);
  // Opening the read end without O_NONBLOCK would wait for a writer.
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let writeFd: number | null = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  // Every read lands in this one buffer (`onread`), instead of a new 64 KiB Buffer per
  // read that lives until the next garbage collection. A chunk is valid only during
  // onChunk, and LineSplitter copies what it keeps.
  const buffer = Buffer.allocUnsafe(64 * 1024);
  // Node (20 and later) accepts `onread` in the Socket constructor; the installed @types/node lists it for connect only.
  const options: SocketConstructorOpts & Pick<ConnectOpts, 'onread'> = {
    fd: readFd,
    readable: true,
    writable: false,
    onread: {
      buffer,
      callback: (bytesRead, into) => {
        onChunk(Buffer.from(into.buffer, into.byteOffset, bytesRead));
        return true;
      },
    },
  };
  const reader = new Socket(options);
  return {
    path,
    reader,
    releaseWriter() {
      if (writeFd !== null) closeSync(writeFd);
      writeFd = null;
    },
    remove() {
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** CPU seconds of k6 (from /proc, Linux only) and of this process between samples. */
class CpuSampler {
  #lastK6: number | null = null;
  #lastRunner = process.cpuUsage();
  #ticksPerSecond = 100;

  constructor(private readonly pid: number | undefined) {}

  #lastMachine: { busy: number; total: number } | null = null;
  #lastThrottledUs: number | null = null;
  #lastSampleMs = Date.now();

  sample(): { k6CpuS: number | null; runnerCpuS: number; saturated: boolean } {
    const nowMs = Date.now();
    const elapsedS = Math.max(0.001, (nowMs - this.#lastSampleMs) / 1000);
    this.#lastSampleMs = nowMs;
    const runner = process.cpuUsage();
    const runnerCpuS = (runner.user - this.#lastRunner.user + runner.system - this.#lastRunner.system) / 1e6;
    this.#lastRunner = runner;

    const k6Total = this.#readK6();
    let k6CpuS: number | null = null;
    if (k6Total !== null && this.#lastK6 !== null) k6CpuS = k6Total - this.#lastK6;
    if (k6Total !== null) this.#lastK6 = k6Total;
    return { k6CpuS, runnerCpuS, saturated: this.#machineSaturated(elapsedS) };
  }

  /**
   * Returns whether the load generator's machine had no CPU to spare in the last interval.
   * That is the whole machine at least 90 % busy (/proc/stat), or the container's cgroup
   * throttled for at least 10 % of the time (cpu.stat, cgroup v2), as a Fargate task at
   * its CPU quota is.
   */
  #machineSaturated(elapsedS: number): boolean {
    let saturated = false;
    const stat = readFileSyncSafe('/proc/stat');
    const cpuLine = stat?.split('\n', 1)[0];
    if (cpuLine?.startsWith('cpu ')) {
      const ticks = cpuLine.trim().split(/\s+/).slice(1).map(Number);
      const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
      const total = ticks.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
      const current = { busy: total - idle, total };
      if (this.#lastMachine !== null && current.total > this.#lastMachine.total) {
        const busyShare = (current.busy - this.#lastMachine.busy) / (current.total - this.#lastMachine.total);
        if (busyShare >= 0.9) saturated = true;
      }
      this.#lastMachine = current;
    }
    const throttled = /throttled_usec (\d+)/.exec(readFileSyncSafe('/sys/fs/cgroup/cpu.stat') ?? '');
    if (throttled) {
      const throttledUs = Number(throttled[1]);
      if (this.#lastThrottledUs !== null && (throttledUs - this.#lastThrottledUs) / 1e6 >= 0.1 * elapsedS) saturated = true;
      this.#lastThrottledUs = throttledUs;
    }
    return saturated;
  }

  #readK6(): number | null {
    if (this.pid === undefined || process.platform !== 'linux') return null;
    try {
      // Fields 14 and 15 of /proc/<pid>/stat are utime and stime in clock ticks;
      // the command name (field 2) may contain spaces, so count from its ')'.
      const stat = readFileSyncSafe(`/proc/${this.pid}/stat`);
      if (stat === null) return null;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      return Number.isFinite(ticks) ? ticks / this.#ticksPerSecond : null;
    } catch {
      return null;
    }
  }
}

function readFileSyncSafe(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Returns the script a manifest names: a bundled scenario under `scenariosDir`, or a path. */
export function scriptPathOf(manifest: RunManifest, scenariosDir: string): string {
  if (manifest.bundledScenario) return join(scenariosDir, manifest.scenario.name, 'script.js');
  return isAbsolute(manifest.scenario.path) ? manifest.scenario.path : resolve(manifest.scenario.path);
}

/** Loads the manifest of a run from the store, validated. */
export async function readManifestFile(store: ResultStore, env: string, runId: string): Promise<unknown> {
  const bytes = await store.get(keys.manifest(env, runId));
  if (bytes === undefined) return undefined;
  return JSON.parse(Buffer.from(bytes).toString('utf8'));
}
