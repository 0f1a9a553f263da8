/**
 * Reads the fields that AWS SDK v3 puts on service and transport errors, so each
 * adapter can decide between "retry", "report" and "treat as a normal result".
 */

/** HTTP status of the failed call, or undefined when no response arrived. */
export function httpStatusOf(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return metadata?.httpStatusCode;
}

/** Error code such as `NoSuchKey` or `ThrottlingException`, or the JavaScript error name. */
export function errorNameOf(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error;
}

/** Attempts the SDK made, its own retries included. */
export function attemptsOf(error: unknown): number | undefined {
  return (error as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts;
}

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  'ServerException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/**
 * Returns whether trying the same call later can succeed: throttling, server faults
 * and lost connections. Access, validation and not-found errors are permanent.
 */
export function isRetryableAwsError(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status !== undefined) return status >= 500 || status === 429 || RETRYABLE_NAMES.has(errorNameOf(error));
  if (RETRYABLE_NAMES.has(errorNameOf(error))) return true;

  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** Formats an SDK error for messages, such as `AccessDenied (HTTP 403)`. */
export function describeAwsError(error: unknown): string {
  const status = httpStatusOf(error);
  // A lost connection is a plain Error whose cause is in `code`, such as ECONNREFUSED.
  const code = (error as { code?: unknown } | null)?.code;
  const name = errorNameOf(error) === 'Error' && typeof code === 'string' ? code : errorNameOf(error);
  return status === undefined ? name : `${name} (HTTP ${status})`;
}
