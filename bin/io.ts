/** Exit codes and output streams shared by the CLI commands. */
import type { Verdict } from '../core/schemas.js';

export const ExitCode = {
  Pass: 0,
  /** FAIL, REGRESSION, LEAK_SUSPECTED or DRIFT. */
  FailingVerdict: 1,
  InvalidInput: 2,
  /** INCOMPLETE, ERROR or STOPPED. */
  NotJudged: 3,
} as const;

export function exitCodeForVerdict(verdict: Verdict): number {
  switch (verdict) {
    case 'PASS':
      return ExitCode.Pass;
    case 'FAIL':
    case 'REGRESSION':
    case 'LEAK_SUSPECTED':
    case 'DRIFT':
      return ExitCode.FailingVerdict;
    case 'INCOMPLETE':
    case 'ERROR':
    case 'STOPPED':
      return ExitCode.NotJudged;
  }
}

/** Invalid input from the user: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
}
