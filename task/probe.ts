/**
 * Periodic scrape of the target's Prometheus endpoint. A failed scrape is a gap in
 * the probe series and a counted probe failure, never an error of the run.
 */
import type { ProbeSeries } from '../core/config.js';
import { extractProbeValues } from '../core/prometheus.js';
import { describeFetchError } from './health.js';

export interface ProbeSink {
  onSample(values: Record<string, number>, timeMs: number): void;
  onFailure(reason: string, timeMs: number): void;
}

export class TargetProbe {
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  samples = 0;
  failures = 0;

  constructor(
    private readonly url: string,
    private readonly series: readonly ProbeSeries[],
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly sink: ProbeSink,
  ) {}

  start(): void {
    void this.scrapeOnce();
    this.#timer = setInterval(() => void this.scrapeOnce(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async scrapeOnce(): Promise<void> {
    // A slow target must not pile up scrapes: skip a tick while one is running.
    if (this.#inFlight) return;
    this.#inFlight = true;
    const timeMs = Date.now();
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(this.timeoutMs) });
      const text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.samples += 1;
      this.sink.onSample(extractProbeValues(text, this.series), timeMs);
    } catch (error) {
      this.failures += 1;
      this.sink.onFailure(describeFetchError(error), timeMs);
    } finally {
      this.#inFlight = false;
    }
  }
}
