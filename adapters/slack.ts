/**
 * Notifier on a Slack incoming webhook, used by the finish-run Lambda and by the local
 * mode. The webhook URL is a credential: it is registered for log redaction and never
 * appears in a result, an error or a log line.
 *
 * Retries: 429 after its Retry-After delay, 5xx, timeouts and lost connections with
 * exponential backoff and full jitter. Other 4xx responses are permanent (Slack's
 * `invalid_payload`, `no_service`, `channel_is_archived`) and end the delivery at once.
 * The whole delivery, waits included, ends by `totalTimeoutMs`.
 */
import { registerSecret, silentLog } from '../core/log.js';
import type { Log, NotificationResult, Notifier } from '../core/ports.js';
import { sleep as defaultSleep } from '../core/retry.js';

export interface SlackWebhookNotifierOptions {
  /** Time limit of one POST. @default 10000 */
  attemptTimeoutMs?: number;
  /** Time limit of the whole delivery, retries and waits included. @default 60000 */
  totalTimeoutMs?: number;
  /** @default 5 */
  maxAttempts?: number;
  /** First backoff delay, doubled per attempt. @default 1000 */
  baseDelayMs?: number;
  /** @default 15000 */
  maxDelayMs?: number;
  log?: Log;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'permanent'; detail: string }
  | { kind: 'retry'; detail: string; retryAfterMs?: number };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Converts Retry-After, given in seconds or as an HTTP date, to milliseconds from now. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;

  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export class SlackWebhookNotifier implements Notifier {
  readonly #url: string;
  readonly #attemptTimeoutMs: number;
  readonly #totalTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #log: Log;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(webhookUrl: string, options: SlackWebhookNotifierOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(webhookUrl);
    } catch {
      throw new Error('Invalid Slack webhook URL (value not shown because it is a secret): store the full https:// URL that Slack issued.');
    }
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname))) {
      throw new Error('Invalid Slack webhook URL (value not shown because it is a secret): use an https:// URL; plain http is accepted only for 127.0.0.1, [::1] and localhost.');
    }

    registerSecret(webhookUrl);
    registerSecret(parsed.pathname);
    this.#url = webhookUrl;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.#totalTimeoutMs = options.totalTimeoutMs ?? 60_000;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#baseDelayMs = options.baseDelayMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 15_000;
    this.#log = options.log ?? silentLog;
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
  }

  async send(message: unknown, text: string): Promise<NotificationResult> {
    const body = JSON.stringify(message !== null && typeof message === 'object' ? { text, ...message } : { text });
    const deadline = this.#now() + this.#totalTimeoutMs;
    let attempts = 0;
    let detail = 'not attempted';

    while (attempts < this.#maxAttempts) {
      const remainingMs = deadline - this.#now();
      if (remainingMs <= 0) break;

      attempts++;
      const outcome = await this.#post(body, Math.min(this.#attemptTimeoutMs, remainingMs));
      if (outcome.kind === 'delivered') {
        return { delivered: true, channel: 'slack', attempts, detail: `delivered on attempt ${attempts}` };
      }
      detail = outcome.detail;
      if (outcome.kind === 'permanent') {
        this.#log.error('Slack rejected the message', { attempts, detail });
        return { delivered: false, channel: 'slack', attempts, detail: `${detail}; not retried` };
      }
      if (attempts >= this.#maxAttempts) break;

      const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempts - 1));
      const delayMs = outcome.retryAfterMs ?? Math.round(Math.random() * ceiling);
      const left = deadline - this.#now();
      if (delayMs >= left) {
        detail = `${detail}; the next attempt would start after the ${this.#totalTimeoutMs} ms limit`;
        break;
      }
      this.#log.warn('Slack delivery failed, retrying', { attempt: attempts, delayMs, detail });
      await this.#sleep(delayMs);
    }

    this.#log.error('Slack delivery gave up', { attempts, detail });
    return { delivered: false, channel: 'slack', attempts, detail: `gave up after ${attempts} attempts: ${detail}` };
  }

  async #post(body: string, timeoutMs: number): Promise<AttemptOutcome> {
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'retry', detail: `timed out after ${timeoutMs} ms` };
      const code = ((error as { cause?: { code?: unknown } }).cause?.code ?? name) as string;
      return { kind: 'retry', detail: `connection failed (${this.#scrub(String(code))})` };
    }

    const responseText = this.#scrub((await response.text().catch(() => '')).trim().slice(0, 200));
    const status = `HTTP ${response.status}${responseText ? ` (${responseText})` : ''}`;
    if (response.ok) return { kind: 'delivered' };
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      return { kind: 'retry', detail: `Slack rate-limited the webhook, ${status}`, retryAfterMs };
    }
    if (response.status >= 500) return { kind: 'retry', detail: `Slack failed with ${status}` };
    return { kind: 'permanent', detail: `Slack rejected the message with ${status}` };
  }

  /** Removes the webhook URL from text that came back from the network. */
  #scrub(text: string): string {
    const path = new URL(this.#url).pathname;
    let result = text.split(this.#url).join('[webhook]');
    if (path.length > 1) result = result.split(path).join('[webhook]');
    return result;
  }
}
