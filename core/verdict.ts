/**
 * Verdict of a run from its findings: the finding with the highest precedence decides,
 * and the report lists every finding, sorted the same way.
 */
import type { Reason } from './report-schema.js';
import { VERDICTS, type Verdict } from './schemas.js';

/**
 * Verdicts from highest to lowest precedence. A fault of the runner or an incomplete run
 * comes first, because its other findings cannot be trusted. A stop by a person comes
 * before thresholds, and the trend findings come last, the weakest evidence last.
 */
export const VERDICT_PRECEDENCE: readonly Verdict[] = VERDICTS;

/** Returns the rank of a verdict in VERDICT_PRECEDENCE: 0 for ERROR, higher for weaker verdicts. */
export function verdictRank(verdict: Verdict): number {
  return VERDICT_PRECEDENCE.indexOf(verdict);
}

/** Returns the verdict of the reason with the highest precedence, or PASS when there is none. */
export function decideVerdict(reasons: readonly Reason[]): Verdict {
  let decided: Verdict = 'PASS';
  for (const reason of reasons) {
    if (verdictRank(reason.verdict) < verdictRank(decided)) decided = reason.verdict;
  }
  return decided;
}

/** Returns a copy of the reasons sorted by precedence; reasons of equal verdict keep their order. */
export function sortReasons(reasons: readonly Reason[]): Reason[] {
  return [...reasons].sort((a, b) => verdictRank(a.verdict) - verdictRank(b.verdict));
}

/**
 * Returns the process exit code for a verdict: 0 for PASS, 1 when the target is at
 * fault (FAIL, REGRESSION, LEAK_SUSPECTED, DRIFT), and 3 when the run itself produced
 * no usable result (ERROR, INCOMPLETE, STOPPED).
 */
export function failingExitCode(verdict: Verdict): 0 | 1 | 3 {
  switch (verdict) {
    case 'PASS':
      return 0;
    case 'FAIL':
    case 'REGRESSION':
    case 'LEAK_SUSPECTED':
    case 'DRIFT':
      return 1;
    case 'ERROR':
    case 'INCOMPLETE':
    case 'STOPPED':
      return 3;
  }
}
