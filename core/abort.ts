/**
 * Abort rules evaluated on the merged windows of all segments while a run goes on,
 * so that a dead or failing target does not get hours of load.
 */
import type { AbortRule } from './config.js';
import type { MergedWindow } from './merge.js';

export interface AbortDecision {
  rule: AbortRule;
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
      return { rule, reason: describe(rule, lastObserved), sinceMs: streakStart };
    }
  }
  return null;
}
