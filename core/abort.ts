/**
 * Abort rules evaluated on the merged windows of all segments while a run goes on,
 * so that a dead or failing target does not get hours of load.
 */
import { toJsonAggregate } from './aggregates.js';
import type { AbortRule } from './config.js';
import { emptyWindow, fromRecord, mergeAcrossTime, mergeSameWindow, type MergedWindow } from './merge.js';
import type { WindowRecord } from './schemas.js';
import { evaluateThreshold, type ThresholdDefinition } from './thresholds.js';

export interface AbortDecision {
  kind: 'abort-rule' | 'abort-threshold';
  rule: AbortRule | null;
  /** Sentence for the report, such as "error rate above 50 % for 120 s". */
  reason: string;
  sinceMs: number;
}

function windowValue(rule: AbortRule, window: MergedWindow): number | null {
  const total = window.requests.ok + window.requests.failed;
  if (rule.metric === 'errorRate') return total === 0 ? null : window.requests.failed / total;
  return window.requests.okLatency.quantile(0.99);
}

function describe(rule: AbortRule, observed: number): string {
  if (rule.metric === 'errorRate') {
    return `error rate above ${(rule.above * 100).toFixed(1)} % for ${rule.forS} s (last window ${(observed * 100).toFixed(1)} %)`;
  }
  return `p99 of successful requests above ${rule.above} ms for ${rule.forS} s (last window ${observed.toFixed(0)} ms)`;
}

/**
 * Returns the first rule whose condition held in every window of its last `forS`
 * seconds, or null. Windows must be merged across segments and sorted by start;
 * a window with no requests breaks no streak and extends none.
 */
export function evaluateAbortRules(rules: readonly AbortRule[], windows: readonly MergedWindow[], runStartMs: number): AbortDecision | null {
  for (const rule of rules) {
    const eligible = windows.filter((window) => window.startMs >= runStartMs + rule.afterS * 1000);
    let streakStart: number | null = null;
    let lastObserved = 0;
    let lastEnd = 0;

    for (const window of eligible) {
      const value = windowValue(rule, window);
      if (value === null) continue;
      if (value > rule.above) {
        streakStart ??= window.startMs;
        lastObserved = value;
        lastEnd = window.startMs + window.lengthMs;
      } else {
        streakStart = null;
      }
    }
    if (streakStart !== null && lastEnd - streakStart >= rule.forS * 1000) {
      return { kind: 'abort-rule', rule, reason: describe(rule, lastObserved), sinceMs: streakStart };
    }
  }
  return null;
}

/**
 * Follows a run from its stored windows, each added once, and decides whether it
 * must be aborted: by an abort rule on the recent windows, or by a threshold with
 * `abortOnFail` on the whole run so far (after its `delayAbortEval`). Memory stays
 * bounded: only the last two hours of windows are kept, plus one running total.
 */
export class AbortMonitor {
  readonly #recent = new Map<number, MergedWindow>();
  readonly #total: MergedWindow;
  #firstMs: number | null = null;
  #lastEndMs: number | null = null;

  constructor(
    private readonly rules: readonly AbortRule[],
    private readonly thresholds: readonly ThresholdDefinition[],
    private readonly runStartMs: number,
  ) {
    this.#total = emptyWindow(runStartMs, 0);
  }

  get isActive(): boolean {
    return this.rules.length > 0 || this.thresholds.length > 0;
  }

  add(records: readonly WindowRecord[]): void {
    for (const record of records) {
      mergeAcrossTime(this.#total, fromRecord(record));
      // The rules read only the requests of recent windows; keeping every metric and
      // request name of two hours of windows made segment 0 grow by about 130 KiB per window.
      const window = fromRecord({ ...record, metrics: {}, requestsByName: {} });
      const existing = this.#recent.get(record.startMs);
      if (existing) mergeSameWindow(existing, window);
      else this.#recent.set(record.startMs, window);
      this.#firstMs = Math.min(this.#firstMs ?? record.startMs, record.startMs);
      this.#lastEndMs = Math.max(this.#lastEndMs ?? 0, record.startMs + record.lengthMs);
    }
    const horizon = (this.#lastEndMs ?? 0) - 2 * 3600 * 1000;
    for (const start of this.#recent.keys()) if (start < horizon) this.#recent.delete(start);
  }

  evaluate(): AbortDecision | null {
    const windows = [...this.#recent.values()].sort((a, b) => a.startMs - b.startMs);
    const byRule = evaluateAbortRules(this.rules, windows, this.runStartMs);
    if (byRule !== null) return byRule;
    if (this.#firstMs === null || this.#lastEndMs === null) return null;

    const elapsedS = (this.#lastEndMs - this.#firstMs) / 1000;
    for (const threshold of this.thresholds) {
      if (elapsedS < (threshold.delayAbortEvalS ?? 0)) continue;
      const aggregate = this.#total.metrics.get(threshold.metricKey);
      const evaluation = evaluateThreshold(threshold, aggregate ? toJsonAggregate(aggregate) : undefined, elapsedS);
      if (evaluation.passed === false) {
        return {
          kind: 'abort-threshold',
          rule: null,
          reason: `threshold ${threshold.metricKey} ${threshold.expression} (abortOnFail) failed after ${Math.round(elapsedS)} s with ${evaluation.observed === null ? 'no value' : Number(evaluation.observed.toPrecision(4))}`,
          sinceMs: this.#firstMs,
        };
      }
    }
    return null;
  }
}
