/** Mapping of k6's exit to a segment stop reason and of that to run-segment's exit code. */
import { SegmentExitCode } from '../core/env-vars.js';
import type { SegmentStopReason } from '../core/schemas.js';

export interface StopInfo {
  reason: SegmentStopReason;
  detail: string;
}

/** k6 v1.x exit codes, from its `errext/exitcodes` package. */
export function stopReasonForExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): StopInfo {
  if (spawnError !== undefined) return { reason: 'k6-error', detail: `k6 could not be started: ${spawnError.message}` };
  if (signal !== null) return { reason: 'killed', detail: `k6 was killed by ${signal}` };
  switch (code) {
    case 0:
    case 99:
      return { reason: 'completed', detail: 'k6 ran to the end of its scenarios' };
    case 100:
      return { reason: 'script-error', detail: 'setup() timed out (k6 exit code 100)' };
    case 101:
      return { reason: 'script-error', detail: 'teardown() timed out (k6 exit code 101)' };
    case 104:
      return { reason: 'config-error', detail: 'k6 rejected its configuration (exit code 104)' };
    case 105:
      return { reason: 'stopped', detail: 'k6 received SIGTERM or SIGINT and stopped early (exit code 105)' };
    case 106:
      return { reason: 'k6-error', detail: 'k6 could not start its REST API (exit code 106)' };
    case 107:
      return { reason: 'script-error', detail: 'the script threw an exception (k6 exit code 107)' };
    case 108:
      return { reason: 'aborted-by-script', detail: 'the script called exec.test.abort() (k6 exit code 108)' };
    case 109:
      return { reason: 'k6-error', detail: 'k6 crashed with a Go panic (exit code 109)' };
    case 137:
      return { reason: 'killed', detail: 'k6 was killed (exit code 137, SIGKILL or out of memory)' };
    default:
      return { reason: 'k6-error', detail: `k6 exited with unexpected code ${String(code)}` };
  }
}

export function exitCodeForSegment(reason: SegmentStopReason, coverageOk: boolean, storeFailed: boolean): number {
  if (storeFailed) return SegmentExitCode.StoreFailed;
  switch (reason) {
    case 'completed':
      return coverageOk ? SegmentExitCode.Completed : SegmentExitCode.K6Failed;
    case 'stopped':
      return SegmentExitCode.Stopped;
    case 'script-error':
    case 'config-error':
    case 'aborted-by-script':
      return SegmentExitCode.ScriptError;
    case 'k6-not-found':
    case 'k6-error':
    case 'killed':
    case 'runner-error':
      return SegmentExitCode.K6Failed;
  }
}
