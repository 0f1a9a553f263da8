/**
 * Live progress of a local run: elapsed and planned time, achieved rate, p95/p99
 * and error rate of the last minute (merged across segments from their window
 * histograms), and each segment's state. A TTY gets a block redrawn in place;
 * anything else gets one plain line (or one JSON line with --json) per interval.
 */
import { formatDuration } from '../core/duration.js';
import { fromRecord, mergeAcrossTime, mergeSameWindow, emptyWindow, type MergedWindow } from '../core/merge.js';
import type { WindowRecord } from '../core/schemas.js';

export interface ProgressOptions {
  out: NodeJS.WriteStream | NodeJS.WritableStream;
  json: boolean;
  plannedS: number;
  segments: number;
  runId: string;
  /** Plain-line interval when not drawing on a TTY. */
  lineEveryMs?: number;
}

type SegmentState = { state: string; lastWindowMs: number | null };

export class ProgressDisplay {
  readonly #options: ProgressOptions;
  readonly #windows = new Map<number, MergedWindow>();
  readonly #segments: SegmentState[];
  readonly #startedMs = Date.now();
  #requests = 0;
  #failed = 0;
  #iterations = 0;
  #timer: NodeJS.Timeout | undefined;
  #drawnLines = 0;
  #isTty: boolean;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#segments = Array.from({ length: options.segments }, () => ({ state: 'starting', lastWindowMs: null }));
    this.#isTty = !options.json && Boolean((options.out as NodeJS.WriteStream).isTTY);
  }

  start(): void {
    const every = this.#isTty ? 1000 : (this.#options.lineEveryMs ?? 10_000);
    this.#timer = setInterval(() => this.render(), every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.render();
  }

  onWindow(record: WindowRecord): void {
    const incoming = fromRecord(record);
    const existing = this.#windows.get(record.startMs);
    if (existing) mergeSameWindow(existing, incoming);
    else this.#windows.set(record.startMs, incoming);

    this.#requests += record.requests.ok + record.requests.failed;
    this.#failed += record.requests.failed;
    this.#iterations += record.iterations;
    const segment = this.#segments[record.segment];
    if (segment) {
      segment.state = 'running';
      segment.lastWindowMs = record.startMs;
    }
    // Only the last two minutes matter for the live figures.
    const horizon = record.startMs - 120_000;
    for (const start of this.#windows.keys()) if (start < horizon) this.#windows.delete(start);
  }

  onSegmentExit(segment: number, code: number | null, signal: string | null): void {
    const state = this.#segments[segment];
    if (state) state.state = signal ? `exited (${signal})` : `exited (${code})`;
  }

  snapshot() {
    const newest = Math.max(0, ...this.#windows.keys());
    const lastMinute = emptyWindow(newest - 50_000, 60_000);
    let seconds = 0;
    for (const [start, window] of this.#windows) {
      if (start > newest - 60_000) {
        mergeAcrossTime(lastMinute, window);
        seconds += window.lengthMs / 1000;
      }
    }
    const { ok, failed, okLatency } = lastMinute.requests;
    const total = ok + failed;
    return {
      runId: this.#options.runId,
      elapsedS: Math.round((Date.now() - this.#startedMs) / 1000),
      plannedS: this.#options.plannedS,
      requests: this.#requests,
      failed: this.#failed,
      iterations: this.#iterations,
      lastMinute: {
        rate: seconds > 0 ? total / seconds : null,
        p95: okLatency.quantile(0.95),
        p99: okLatency.quantile(0.99),
        errorRate: total > 0 ? failed / total : null,
      },
      segments: this.#segments.map((segment, index) => ({ index, state: segment.state })),
    };
  }

  render(): void {
    const snap = this.snapshot();
    const out = this.#options.out;
    if (this.#options.json) {
      out.write(`${JSON.stringify({ type: 'progress', ...snap })}\n`);
      return;
    }
    const ms = (value: number | null) => (value === null ? '—' : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
    const pct = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(2)} %`);
    const rate = snap.lastMinute.rate === null ? '—' : `${snap.lastMinute.rate.toFixed(1)}/s`;
    const head = `${formatDuration(Math.min(snap.elapsedS, 10 ** 7))} / ${formatDuration(snap.plannedS)}  requests ${snap.requests}  last minute: ${rate}  p95 ${ms(snap.lastMinute.p95)}  p99 ${ms(snap.lastMinute.p99)}  errors ${pct(snap.lastMinute.errorRate)}`;
    const segments = snap.segments.map((segment) => `  segment ${segment.index}: ${segment.state}`);

    if (!this.#isTty) {
      out.write(`${head}  [${snap.segments.map((segment) => segment.state).join(', ')}]\n`);
      return;
    }
    const lines = [head, ...segments];
    if (this.#drawnLines > 0) out.write(`\x1b[${this.#drawnLines}A`);
    for (const line of lines) out.write(`\x1b[2K${line}\n`);
    this.#drawnLines = lines.length;
  }
}
