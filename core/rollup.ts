/**
 * Rollups: each segment sums the 10-second windows it has stored into longer periods
 * and stores the finished periods beside its windows every half hour and at its end,
 * so that finalize of a long run reads one record per period and segment instead of
 * one per window.
 *
 * A rollup record names the segment's windows it sums: those starting in
 * [fromMs, toMs). Records are written in order as numbered create-only objects, and
 * consecutive records cover consecutive spans. finalize reads the windows stored after
 * the last record from the checkpoints numbered `tailSeq` and later: those of a segment
 * killed mid-period, or of a rollup write that failed. So finalize is exact even when
 * the rollups are incomplete.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { requestsToJson, toJsonAggregate } from './aggregates.js';
import { emptyWindow, fromRecord, mergeAcrossTime, type MergedWindow } from './merge.js';
import { SCHEMA_VERSION, WindowRecordSchema, type WindowRecord } from './schemas.js';

/** Period lengths a run may use, shortest first; each is a whole number of minutes. */
export const ROLLUP_PERIODS_S = [60, 120, 300, 600, 900, 1800, 3600] as const;

/**
 * Rollup records finalize should read at most. 64 segments x 8 hours of minutes is
 * 30,720 records; measured in BENCHMARKS.md (finalize at scale).
 */
export const ROLLUP_RECORD_BUDGET = 40_000;

/**
 * A segment stores its finished periods together once they span this long, and at its
 * end: few objects to read (16 per segment in 8 hours), and at most this much of a
 * killed segment's data for finalize to read from its windows instead.
 */
export const ROLLUP_WRITE_SPAN_MS = 30 * 60_000;

/**
 * Returns the rollup period of a run: a minute, unless segments x duration in minutes
 * is over the record budget, then the shortest listed period that keeps it under.
 * 64 segments x 72 hours get 10-minute periods.
 */
export function rollupPeriodS(durationS: number, segments: number): number {
  const needed = (Math.max(0, durationS) * Math.max(1, segments)) / ROLLUP_RECORD_BUDGET;
  return ROLLUP_PERIODS_S.find((period) => period >= needed) ?? ROLLUP_PERIODS_S[ROLLUP_PERIODS_S.length - 1]!;
}

export const RollupRecordSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** Span of window starts: the record sums this segment's stored windows that start in [fromMs, toMs), and no other. */
  fromMs: z.number().int(),
  toMs: z.number().int(),
  /** Window checkpoints numbered below this hold only windows that start before `toMs`. */
  tailSeq: z.number().int().nonnegative(),
  /** How many 10-second windows the record sums, their length, and the time they span. */
  windows: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  firstWindowMs: z.number().int(),
  lastWindowEndMs: z.number().int(),
  /** The sum, as a window record whose `startMs` and `lengthMs` are the period's. */
  period: WindowRecordSchema,
});
export type RollupRecord = z.infer<typeof RollupRecordSchema>;

export class RollupFormatError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'RollupFormatError';
  }
}

export function encodeRollups(records: readonly RollupRecord[]): Uint8Array {
  return gzipSync(records.map((record) => JSON.stringify(record)).join('\n') + '\n', { level: 6 });
}

export function decodeRollups(bytes: Uint8Array, key: string): RollupRecord[] {
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch (error) {
    throw new RollupFormatError(`Rollup ${key} is not valid gzip: ${String(error)}. Finalize reads that segment's windows instead.`, key);
  }
  const records: RollupRecord[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.length === 0) continue;
    let raw: unknown = null;
    try {
      raw = JSON.parse(line);
    } catch {
      // Reported below as a record that does not parse.
    }
    const parsed = RollupRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RollupFormatError(`Rollup ${key} line ${index + 1} is not a rollup record (${issue?.path.join('.')}: ${issue?.message}).`, key);
    }
    records.push(parsed.data);
  }
  return records;
}

/** Converts a merged window back to the stored record form. */
export function toWindowRecord(window: MergedWindow, runId: string, segment: number): WindowRecord {
  return {
    schemaVersion: SCHEMA_VERSION,
    runId,
    segment,
    startMs: window.startMs,
    lengthMs: window.lengthMs,
    metrics: Object.fromEntries([...window.metrics].map(([key, aggregate]) => [key, toJsonAggregate(aggregate)])),
    requests: requestsToJson(window.requests),
    requestsByName: Object.fromEntries([...window.requestsByName].map(([name, requests]) => [name, requestsToJson(requests)])),
    failures: { ...window.failures },
    statuses: { ...window.statuses },
    checks: { ...window.checks },
    iterations: window.iterations,
    droppedIterations: window.droppedIterations,
    vus: window.vus,
    vusMax: window.vusMax,
    dataSentBytes: window.dataSentBytes,
    dataReceivedBytes: window.dataReceivedBytes,
    probes: Object.fromEntries([...window.probes].map(([name, probe]) => [name, { ...probe }])),
    generator: { ...window.generator },
  };
}

/** Reads a rollup record back as a merged window covering the time its windows cover. */
export function fromRollupRecord(record: RollupRecord): MergedWindow {
  const window = fromRecord(record.period);
  window.coveredMs = Math.min(record.period.lengthMs, record.windows * record.windowMs);
  return window;
}

interface OpenPeriod {
  window: MergedWindow;
  fromMs: number;
  windows: number;
  windowMs: number;
  firstWindowMs: number;
  lastWindowEndMs: number;
}

/**
 * The segment side: add each checkpoint's windows once it is stored, and take the
 * records of finished periods to write. Windows must arrive in start order, as a
 * segment closes them; a window sent again after a retried checkpoint is skipped.
 */
export class SegmentRollup {
  readonly #periodMs: number;
  readonly #runId: string;
  readonly #segment: number;
  #open: OpenPeriod | null = null;
  #lastStartMs = -Infinity;
  /** Start of the next record's span: the previous record's end. */
  #coveredToMs: number | null = null;
  readonly #finished: RollupRecord[] = [];

  constructor(options: { periodS: number; runId: string; segment: number }) {
    this.#periodMs = options.periodS * 1000;
    this.#runId = options.runId;
    this.#segment = options.segment;
  }

  get periodMs(): number {
    return this.#periodMs;
  }

  /** Adds the windows of checkpoint `seq`, which the store now holds. */
  add(batch: readonly WindowRecord[], seq: number): void {
    for (const record of batch) {
      if (record.startMs <= this.#lastStartMs) continue;
      this.#lastStartMs = record.startMs;
      const periodStart = Math.floor(record.startMs / this.#periodMs) * this.#periodMs;
      if (this.#open !== null && this.#open.window.startMs !== periodStart) {
        // This checkpoint contains the first window after the open period, so later
        // windows are in it or in later checkpoints.
        this.#close(this.#open.window.startMs + this.#periodMs, seq);
      }
      if (this.#open === null) {
        this.#open = {
          window: emptyWindow(periodStart, this.#periodMs),
          fromMs: this.#coveredToMs ?? periodStart,
          windows: 0,
          windowMs: record.lengthMs,
          firstWindowMs: record.startMs,
          lastWindowEndMs: record.startMs + record.lengthMs,
        };
      }
      const open = this.#open;
      mergeAcrossTime(open.window, fromRecord(record));
      open.windows += 1;
      open.lastWindowEndMs = Math.max(open.lastWindowEndMs, record.startMs + record.lengthMs);
    }
  }

  /** Closes the open period at the segment's end; `nextSeq` is the checkpoint number it would use next. */
  finish(nextSeq: number): void {
    if (this.#open !== null) this.#close(this.#open.window.startMs + this.#periodMs, nextSeq);
  }

  /** Records of finished periods not yet handed out, oldest first. */
  get pending(): readonly RollupRecord[] {
    return this.#finished;
  }

  /** True when the pending records should be stored now: at the end, or once they span ROLLUP_WRITE_SPAN_MS. */
  due(final: boolean): boolean {
    const first = this.#finished[0];
    const last = this.#finished[this.#finished.length - 1];
    if (first === undefined || last === undefined) return false;
    return final || last.toMs - first.fromMs >= ROLLUP_WRITE_SPAN_MS;
  }

  /** Drops the first `count` records once they are stored. */
  stored(count: number): void {
    this.#finished.splice(0, count);
  }

  #close(toMs: number, tailSeq: number): void {
    const open = this.#open!;
    this.#finished.push({
      schemaVersion: SCHEMA_VERSION,
      fromMs: open.fromMs,
      toMs,
      tailSeq,
      windows: open.windows,
      windowMs: open.windowMs,
      firstWindowMs: open.firstWindowMs,
      lastWindowEndMs: open.lastWindowEndMs,
      period: toWindowRecord(open.window, this.#runId, this.#segment),
    });
    this.#coveredToMs = toMs;
    this.#open = null;
  }
}
