import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * Returns the registry of prom-client's default metrics (memory, heap, open
 * descriptors, event-loop lag). They describe the whole process, so every API
 * started in one process shares one collector instead of adding a new event-loop
 * monitor and GC observer per instance.
 */
function defaultMetricsRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export type FaultKind = 'error' | 'slow' | 'reset' | 'stall' | 'down';

/** Application metrics of one API instance, plus the process defaults at scrape time. */
export class ApiMetrics {
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly faults: Counter<'fault'>;
  private readonly restarts: Counter;

  constructor(
    versionLabel: string,
    /** Read at scrape time, so the gauges cost nothing per request. */
    sources: {
      storeSize(): number;
      leakedHeapBytes(): number;
      leakedFds(): number;
      warmupHeapBytes(): number;
    },
  ) {
    defaultMetricsRegistry();
    const registers = [this.registry];

    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP responses sent, by route template, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.faults = new Counter({
      name: 'sigil_faults_injected_total',
      help: 'Requests changed by an injected fault, by fault.',
      labelNames: ['fault'],
      registers,
    });
    this.restarts = new Counter({
      name: 'sigil_simulated_restarts_total',
      help: 'Simulated restarts (--restart-every-s) since the process started.',
      registers,
    });

    const info = new Gauge({
      name: 'sigil_app_info',
      help: 'Always 1. The version label names the running build.',
      labelNames: ['version'],
      registers,
    });
    info.set({ version: versionLabel }, 1);

    new Gauge({
      name: 'sigil_store_size',
      help: 'Sigils currently kept in memory.',
      registers,
      collect() {
        this.set(sources.storeSize());
      },
    });
    new Gauge({
      name: 'sigil_fault_leaked_heap_bytes',
      help: 'JS heap retained on purpose by --leak-heap-mb-per-min.',
      registers,
      collect() {
        this.set(sources.leakedHeapBytes());
      },
    });
    new Gauge({
      name: 'sigil_fault_warmup_heap_bytes',
      help: 'JS heap retained on purpose by --warmup-growth-mb.',
      registers,
      collect() {
        this.set(sources.warmupHeapBytes());
      },
    });
    new Gauge({
      name: 'sigil_fault_leaked_fds',
      help: 'File descriptors kept open on purpose by --leak-fds-per-min.',
      registers,
      collect() {
        this.set(sources.leakedFds());
      },
    });
  }

  countResponse(route: string, method: string, status: number): void {
    // prom-client hashes the label set on every call, so a cached child saves that work per request.
    const key = `${route} ${method} ${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels(route, method, String(status));
      this.requestChildren.set(key, child);
    }
    child.inc();
  }

  countFault(fault: FaultKind): void {
    this.faults.inc({ fault });
  }

  countRestart(): void {
    this.restarts.inc();
  }

  /** Renders the Prometheus text format 0.0.4: process defaults first, then this instance. */
  async render(): Promise<string> {
    const defaults = await defaultMetricsRegistry().metrics();
    const own = await this.registry.metrics();
    return `${defaults}\n${own}`;
  }
}
