/**
 * Reads the window checkpoints that the segments of a run store, each once, as they
 * appear. Segment 0 uses it to evaluate the abort rules on the merged data.
 *
 * Each segment has its own cursor: the last checkpoint key read. A segment's folder is
 * listed from that key on (S3 StartAfter), and only once its next checkpoint is nearly
 * due. Listing the whole run instead returns every checkpoint stored so far on every
 * poll: 64 segments x 72 hours of minute checkpoints is 276,480 keys, 277 list pages
 * at 1,000 keys per page, on every poll of 10 s.
 */
import { decodeWindows } from './checkpoint.js';
import { keys, type ResultStore } from './ports.js';
import type { WindowRecord } from './schemas.js';

/**
 * Share of the checkpoint interval after a segment's last new checkpoint in which its
 * folder is not listed again. Below 1, so that a checkpoint stored a little early or a
 * poll that comes late still finds it within about one poll.
 */
const QUIET_SHARE = 0.8;

interface Cursor {
  segment: number;
  /** The last key read; listing starts after it. */
  lastKey: string | undefined;
  /** Earliest time to list the segment's folder again. */
  dueMs: number;
}

export interface CheckpointFollowerOptions {
  store: ResultStore;
  env: string;
  runId: string;
  /** Indexes of the run's segments. */
  segments: readonly number[];
  checkpointEveryMs: number;
}

export class CheckpointFollower {
  readonly #cursors: Cursor[];
  /** List calls made so far. */
  listCalls = 0;

  constructor(private readonly options: CheckpointFollowerOptions) {
    this.#cursors = options.segments.map((segment) => ({ segment, lastKey: undefined, dueMs: 0 }));
  }

  /**
   * Passes the windows of every checkpoint stored since the last call to `consume`, one
   * checkpoint at a time and in key order per segment, and returns how many checkpoints
   * it read. One at a time, because a segment 0 that falls behind (a store that failed
   * for a while) may find thousands: 30,720 checkpoints of 64 segments x 8 hours held at
   * once took over 4 GB of heap. A checkpoint that lists but cannot be read yet is read
   * on a later call.
   */
  async readNew(consume: (records: WindowRecord[]) => void, nowMs = Date.now()): Promise<number> {
    const { store, env, runId, checkpointEveryMs } = this.options;
    let total = 0;
    for (const cursor of this.#cursors) {
      if (nowMs < cursor.dueMs) continue;
      this.listCalls += 1;
      // The store returns the keys sorted, and only those after the last key read.
      const listed = (await store.list(keys.windowsPrefix(env, runId, cursor.segment), cursor.lastKey)).filter((key) => key.endsWith('.ndjson.gz'));
      let read = 0;
      for (const key of listed) {
        const bytes = await store.get(key);
        if (bytes === undefined) break;
        consume(decodeWindows(bytes, key));
        cursor.lastKey = key;
        read += 1;
      }
      if (read > 0) cursor.dueMs = nowMs + QUIET_SHARE * checkpointEveryMs;
      total += read;
    }
    return total;
  }
}
