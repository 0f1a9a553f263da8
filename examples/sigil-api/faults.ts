import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RetainedFds, RetainedHeap, fdLeakTarget, heapLeakTargetBytes, warmupTargetBytes } from './leaks.js';
import type { ResolvedOptions } from './options.js';

/**
 * Rounds a delay in ms to a whole number of ms for a timer, which would truncate the
 * fraction. The fraction becomes one more millisecond with a probability equal to it, so
 * the mean delay over many requests stays exact. A drift of 0.3 ms then delays 30 % of the
 * requests by 1 ms instead of none. `draw` returns a number in [0, 1), Math.random by default.
 */
export function wholeDelayMs(ms: number, draw: () => number = Math.random): number {
  if (!(ms > 0)) return 0;
  const whole = Math.floor(ms);
  const fraction = ms - whole;
  return fraction > 0 && draw() < fraction ? whole + 1 : whole;
}

/** Period of the tick that makes the leaks and the warm-up growth catch up with uptime. */
const TICK_MS = 100;

/** Callbacks the server runs when a scheduled fault starts or ends. */
export interface FaultHooks {
  /** Drops the store and the issued tokens. The controller drops the leaks itself. */
  onRestart(): void;
  /** Closes the listener. */
  onDown(): void;
  /** Reopens the listener on the same port. */
  onUp(): void;
}

/**
 * Clock and state of the injected faults.
 *
 * Two clocks: `sinceStartS` counts from the server start and places the one-off
 * stall and outage. `uptimeS` restarts from zero at each simulated restart and
 * drives everything that grows with time: the leaks, the warm-up growth, the
 * latency drift and the error-rate rise.
 */
export class FaultController {
  readonly leakedHeap = new RetainedHeap();
  readonly warmupHeap = new RetainedHeap();
  readonly leakedFds: RetainedFds;
  private readonly startedAtMs = performance.now();
  private restartedAtMs = this.startedAtMs;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stopping = new AbortController();
  private down = false;
  private heapCapLogged = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
    private readonly hooks: FaultHooks,
  ) {
    this.leakedFds = new RetainedFds(logger);
  }

  get isDown(): boolean {
    return this.down;
  }

  /** Aborted by `stop()`, so requests waiting on a fault end with the server. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  sinceStartS(): number {
    return (performance.now() - this.startedAtMs) / 1000;
  }

  uptimeS(): number {
    return (performance.now() - this.restartedAtMs) / 1000;
  }

  start(): void {
    const o = this.options;
    const grows = o.leakHeapMbPerMin > 0 || o.leakFdsPerMin > 0 || o.warmupGrowthMb > 0;
    if (grows) {
      this.timers.push(setInterval(() => this.tick(), TICK_MS));
      this.tick();
    }
    if (o.restartEveryS !== null) {
      this.timers.push(setInterval(() => this.restart(), o.restartEveryS * 1000));
    }
    if (o.stallAtS !== null && o.stallForS !== null) {
      const stallForS = o.stallForS;
      this.at(o.stallAtS, () => this.logger.warn({ stallForS }, 'stall started: requests wait until it ends'));
      this.at(o.stallAtS + stallForS, () => this.logger.info({}, 'stall ended'));
    }
    if (o.downAtS !== null && o.downForS !== null) {
      const downForS = o.downForS;
      this.at(o.downAtS, () => {
        this.down = true;
        this.logger.warn({ downForS }, 'outage started: listener closed, new connections are refused');
        this.hooks.onDown();
      });
      this.at(o.downAtS + downForS, () => {
        this.down = false;
        this.logger.info({}, 'outage ended: reopening the listener');
        this.hooks.onUp();
      });
    }
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
    this.stopping.abort();
    this.releaseLeaks();
  }

  /** Returns how long a request arriving now waits for the stall to end, in ms (0 outside the stall). */
  stallWaitMs(): number {
    const { stallAtS, stallForS } = this.options;
    if (stallAtS === null || stallForS === null) return 0;
    const nowS = this.sinceStartS();
    const endS = stallAtS + stallForS;
    return nowS >= stallAtS && nowS < endS ? (endS - nowS) * 1000 : 0;
  }

  driftMs(): number {
    return (this.options.driftMsPerMin * this.uptimeS()) / 60;
  }

  /** Delay of every API response before any slow-request delay, in ms: the base latency plus the drift. */
  responseDelayMs(): number {
    return this.options.baseLatencyMs + this.driftMs();
  }

  get slowMs(): number {
    return this.options.slowMs;
  }

  /** Draws whether this request is one of the slow ones. */
  drawSlow(): boolean {
    return this.options.slowRate > 0 && Math.random() < this.options.slowRate;
  }

  drawReset(): boolean {
    return this.options.resetRate > 0 && Math.random() < this.options.resetRate;
  }

  errorRateNow(): number {
    const { errorRate, errorRateRisePerMin } = this.options;
    return Math.min(1, errorRate + (errorRateRisePerMin * this.uptimeS()) / 60);
  }

  drawError(): boolean {
    const rate = this.errorRateNow();
    return rate > 0 && Math.random() < rate;
  }

  /** Waits `ms`, or rejects with an AbortError when the server stops first. */
  wait(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal });
  }

  private at(seconds: number, action: () => void): void {
    const delayMs = Math.max(0, seconds * 1000 - (performance.now() - this.startedAtMs));
    this.timers.push(setTimeout(action, delayMs));
  }

  private tick(): void {
    const o = this.options;
    const uptimeS = this.uptimeS();

    if (o.leakHeapMbPerMin > 0) {
      this.leakedHeap.growTo(heapLeakTargetBytes(o.leakHeapMbPerMin, o.leakHeapMaxMb, uptimeS));
      if (!this.heapCapLogged && o.leakHeapMbPerMin * (uptimeS / 60) >= o.leakHeapMaxMb) {
        this.heapCapLogged = true;
        this.logger.warn({ leakHeapMaxMb: o.leakHeapMaxMb }, 'heap leak reached --leak-heap-max-mb and stays flat');
      }
    }
    if (o.warmupGrowthMb > 0) {
      this.warmupHeap.growTo(warmupTargetBytes(o.warmupGrowthMb, o.warmupS, uptimeS));
    }
    if (o.leakFdsPerMin > 0) {
      this.leakedFds.growTo(fdLeakTarget(o.leakFdsPerMin, uptimeS));
    }
  }

  private restart(): void {
    const released = {
      leakedHeapBytes: this.leakedHeap.retainedBytes,
      warmupHeapBytes: this.warmupHeap.retainedBytes,
      leakedFds: this.leakedFds.count,
    };
    this.releaseLeaks();
    this.restartedAtMs = performance.now();
    this.heapCapLogged = false;
    this.hooks.onRestart();
    this.logger.warn(released, 'simulated restart: dropped leaks, stored sigils and issued tokens');
  }

  private releaseLeaks(): void {
    this.leakedHeap.release();
    this.warmupHeap.release();
    this.leakedFds.release();
  }
}
