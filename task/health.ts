/** Waiting for the target's health endpoint before any load is sent. */
import { sleep } from '../core/retry.js';

export interface HealthResult {
  healthy: boolean;
  attempts: number;
  /** Last status code or transport error, for the report. */
  lastError: string | null;
  waitedMs: number;
}

/**
 * Polls `url` until it answers 2xx or `timeoutMs` passes. Each attempt has its own
 * short timeout so a hanging target cannot hold the loop past the deadline.
 */
export async function waitForHealth(url: string, timeoutMs: number, options: { intervalMs?: number; signal?: AbortSignal } = {}): Promise<HealthResult> {
  const started = Date.now();
  const interval = options.intervalMs ?? 1000;
  let attempts = 0;
  let lastError: string | null = null;

  while (true) {
    attempts += 1;
    const remaining = timeoutMs - (Date.now() - started);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(250, Math.min(5000, remaining))) });
      await response.body?.cancel();
      if (response.ok) return { healthy: true, attempts, lastError: null, waitedMs: Date.now() - started };
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = describeFetchError(error);
    }
    if (options.signal?.aborted || Date.now() - started + interval > timeoutMs) {
      return { healthy: false, attempts, lastError, waitedMs: Date.now() - started };
    }
    await sleep(interval);
  }
}

export function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (error.name === 'TimeoutError') return 'timed out';
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
