import { randomUUID } from 'node:crypto';

export interface Sigil {
  id: string;
  name: string;
  intent: string;
  createdAt: string;
}

interface StoredSigil {
  sigil: Sigil;
  createdAtMs: number;
}

/**
 * In-memory sigils with bounded memory, so the stand-in does not leak by itself.
 * A sigil is kept while it is younger than `retentionMs` or among the newest
 * `minKept`, and never beyond `maxKept`. The store therefore reaches its steady size
 * `retentionMs` after load starts, whatever the rate, and a soak run's warm-up
 * window covers that growth.
 */
export class SigilStore {
  private readonly byId = new Map<string, StoredSigil>();
  /** Insertion order; slots before `head` are evicted and emptied. */
  private order: (StoredSigil | undefined)[] = [];
  private head = 0;

  constructor(
    private readonly retentionMs = 60_000,
    private readonly minKept = 1_000,
    private readonly maxKept = 100_000,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  create(name: string, intent: string, nowMs = Date.now()): Sigil {
    const sigil: Sigil = { id: randomUUID(), name, intent, createdAt: new Date(nowMs).toISOString() };
    const stored = { sigil, createdAtMs: nowMs };
    this.byId.set(sigil.id, stored);
    this.order.push(stored);
    this.evict(nowMs);
    return sigil;
  }

  get(id: string): Sigil | undefined {
    return this.byId.get(id)?.sigil;
  }

  /** Returns the newest `limit` sigils, newest first. */
  latest(limit: number): Sigil[] {
    const start = Math.max(this.head, this.order.length - limit);
    const items: Sigil[] = [];
    for (let index = this.order.length - 1; index >= start; index -= 1) {
      const entry = this.order[index];
      if (entry) items.push(entry.sigil);
    }
    return items;
  }

  clear(): void {
    this.byId.clear();
    this.order = [];
    this.head = 0;
  }

  private evict(nowMs: number): void {
    const cutoff = nowMs - this.retentionMs;
    for (;;) {
      const count = this.order.length - this.head;
      const oldest = this.order[this.head];
      if (!oldest) break;
      const expired = count > this.minKept && oldest.createdAtMs < cutoff;
      if (!expired && count <= this.maxKept) break;
      this.byId.delete(oldest.sigil.id);
      this.order[this.head] = undefined;
      this.head += 1;
    }
    // Compact now and then instead of shifting the array on every eviction.
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
