/**
 * The one structured logger of the CLI, the task and the Lambdas: JSON on one line,
 * a constant `msg`, data in fields, and `runId`, `env`, `scenario` and `segment`
 * bound by `child()`. Secret values registered with `registerSecret` are replaced
 * by `[redacted]` wherever they occur in a line.
 */
import { pino, type DestinationStream } from 'pino';
import type { Log } from './ports.js';

/** Stable lifecycle event names, searchable with one Logs Insights query each. */
export const LogEvent = {
  RunPlanned: 'RUN_PLANNED',
  RunStarted: 'RUN_STARTED',
  TargetHealthy: 'TARGET_HEALTHY',
  TargetUnavailable: 'TARGET_UNAVAILABLE',
  SegmentLaunched: 'SEGMENT_LAUNCHED',
  K6Started: 'K6_STARTED',
  K6Exited: 'K6_EXITED',
  WindowsCheckpointed: 'WINDOWS_CHECKPOINTED',
  CheckpointRetried: 'CHECKPOINT_RETRIED',
  ProbeFailed: 'PROBE_FAILED',
  AbortTriggered: 'ABORT_TRIGGERED',
  StopRequested: 'STOP_REQUESTED',
  SegmentFinished: 'SEGMENT_FINISHED',
  RunFinalized: 'RUN_FINALIZED',
  NotificationSent: 'NOTIFICATION_SENT',
  NotificationFailed: 'NOTIFICATION_FAILED',
} as const;

const secrets = new Set<string>();

/** Marks a value as secret: it is replaced in every log line written afterwards. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Replaces every registered secret in `text`. */
export function redact(text: string): string {
  let result = text;
  for (const secret of secrets) {
    if (result.includes(secret)) result = result.split(secret).join('[redacted]');
  }
  return result;
}

class RedactingStream implements DestinationStream {
  constructor(readonly inner: DestinationStream) {}

  write(line: string): void {
    this.inner.write(redact(line));
  }
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stderr so that stdout stays free for CLI output. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Log {
  const destination = new RedactingStream(options.destination ?? pino.destination({ fd: 2, sync: true }));
  const logger = pino(
    {
      level: options.level ?? process.env.SOAK_LOG_LEVEL ?? 'info',
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
  return wrap(logger);
}

function wrap(logger: pino.Logger): Log {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    child: (fields) => wrap(logger.child(fields)),
  };
}

/** A logger that drops everything, for tests that assert on other outputs. */
export const silentLog: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLog,
};
