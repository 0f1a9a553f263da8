import { closeSync, openSync } from 'node:fs';
import type { Logger } from 'pino';

const MIB = 1024 * 1024;
/** Without pointer compression (the Node default) an array slot holding a small integer takes 8 bytes. */
const BYTES_PER_SLOT = 8;
/** Smaller debts wait for the next tick, so slow leaks do not allocate tiny arrays. */
const MIN_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNK_BYTES = 8 * MIB;

/**
 * Memory kept reachable on purpose. It uses plain JS arrays of small integers,
 * which live on the V8 heap, so the growth shows in `nodejs_heap_size_used_bytes`
 * even after a full garbage collection. Buffers and typed arrays would not, because
 * their bytes are external to the heap.
 */
export class RetainedHeap {
  private chunks: number[][] = [];
  private bytes = 0;

  get retainedBytes(): number {
    return this.bytes;
  }

  /** Allocates until `targetBytes` are retained. Only `release` frees them. */
  growTo(targetBytes: number): void {
    let owed = targetBytes - this.bytes;
    while (owed >= MIN_CHUNK_BYTES) {
      const size = Math.min(owed, MAX_CHUNK_BYTES);
      const slots = Math.floor(size / BYTES_PER_SLOT);
      this.chunks.push(new Array<number>(slots).fill(this.chunks.length & 0xff));
      this.bytes += slots * BYTES_PER_SLOT;
      owed = targetBytes - this.bytes;
    }
  }

  release(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}

/** Descriptors on /dev/null kept open on purpose. */
export class RetainedFds {
  private fds: number[] = [];
  private blocked = false;

  constructor(private readonly logger: Logger) {}

  get count(): number {
    return this.fds.length;
  }

  /** Opens descriptors until `target` are open. After the first failure (EMFILE, for example) it opens no more until `release`. */
  growTo(target: number): void {
    while (!this.blocked && this.fds.length < target) {
      try {
        this.fds.push(openSync('/dev/null', 'r'));
      } catch (error) {
        this.blocked = true;
        this.logger.error(
          { err: error, held: this.fds.length, target },
          'descriptor leak stopped: opening /dev/null failed; the leak holds what it has until the next restart',
        );
      }
    }
  }

  release(): void {
    for (const fd of this.fds) {
      try {
        closeSync(fd);
      } catch (error) {
        this.logger.warn({ err: error, fd }, 'closing a leaked descriptor failed');
      }
    }
    this.fds = [];
    this.blocked = false;
  }
}

/** Returns the bytes the heap leak should hold at `uptimeS`. The periodic tick allocates up to this amount. */
export function heapLeakTargetBytes(mbPerMin: number, maxMb: number, uptimeS: number): number {
  return Math.min(maxMb, (mbPerMin * uptimeS) / 60) * MIB;
}

export function warmupTargetBytes(growthMb: number, warmupS: number | null, uptimeS: number): number {
  if (growthMb <= 0 || warmupS === null) return 0;
  return growthMb * Math.min(1, uptimeS / warmupS) * MIB;
}

export function fdLeakTarget(fdsPerMin: number, uptimeS: number): number {
  return Math.floor((fdsPerMin * uptimeS) / 60);
}
