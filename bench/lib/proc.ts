/**
 * CPU time and resident memory of processes from /proc (Linux only), sampled
 * at a fixed interval while a benchmark runs.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100;

export interface ProcReading {
  /** User plus system CPU seconds since the process started. */
  cpuS: number;
  rssBytes: number;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Returns the process's CPU seconds and RSS, or null once it is gone. */
export function readProc(pid: number): ProcReading | null {
  const stat = readText(`/proc/${pid}/stat`);
  const status = readText(`/proc/${pid}/status`);
  if (stat === null || status === null) return null;
  // The command name (field 2) may contain spaces, so fields are counted from its ')'.
  // After it come state (3), ppid (4), ... utime (14) and stime (15).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  return { cpuS: ticks / TICKS_PER_SECOND, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

/**
 * Returns the ids of live processes whose parent is `parentPid`, whose command name
 * is `name` and whose arguments include `argument` when given.
 */
export function findChildren(parentPid: number, name: string, argument?: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (stat === null) continue;
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid !== parentPid || comm !== name) continue;
    if (argument !== undefined && !(readText(`/proc/${entry}/cmdline`) ?? '').split('\0').includes(argument)) continue;
    found.push(Number(entry));
  }
  return found;
}

export interface ProcSample {
  /** Seconds since the sampler started. */
  t: number;
  cpuS: number;
  rssBytes: number;
}

/**
 * Samples named processes every `intervalMs`. A process can be added while the
 * sampler runs; its last reading stays available after it exits.
 */
export class ProcSampler {
  readonly #pids = new Map<string, number>();
  readonly #samples = new Map<string, ProcSample[]>();
  readonly #startMs = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  watch(label: string, pid: number): void {
    this.#pids.set(label, pid);
    if (!this.#samples.has(label)) this.#samples.set(label, []);
    this.#sampleOne(label, pid);
  }

  start(): void {
    this.#timer = setInterval(() => this.sampleNow(), this.intervalMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  sampleNow(): void {
    for (const [label, pid] of this.#pids) this.#sampleOne(label, pid);
  }

  samples(label: string): ProcSample[] {
    return this.#samples.get(label) ?? [];
  }

  /** CPU seconds between the first and last sample of a process. */
  cpuSeconds(label: string): number | null {
    const samples = this.samples(label);
    if (samples.length < 2) return null;
    return samples[samples.length - 1]!.cpuS - samples[0]!.cpuS;
  }

  maxRss(label: string): number | null {
    const samples = this.samples(label);
    return samples.length === 0 ? null : Math.max(...samples.map((sample) => sample.rssBytes));
  }

  #sampleOne(label: string, pid: number): void {
    const reading = readProc(pid);
    if (reading === null) return;
    this.#samples.get(label)!.push({ t: (Date.now() - this.#startMs) / 1000, cpuS: reading.cpuS, rssBytes: reading.rssBytes });
  }
}
