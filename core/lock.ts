/**
 * One active run per environment: `locks/<env>.json`, created only if absent. A
 * lock whose run is past its deadline is stale and may be taken over, so one crash
 * cannot block every later night.
 */
import { keys, type ResultStore } from './ports.js';

export interface LockBody {
  runId: string;
  deadlineMs: number;
  acquiredAtMs: number;
}

export class LockHeldError extends Error {
  constructor(
    readonly env: string,
    readonly holder: LockBody,
  ) {
    super(
      `Env "${env}" already has an active run: ${holder.runId} (until ${new Date(holder.deadlineMs).toISOString()}). Wait for it to finish, or stop it with \`soak stop --env ${env} ${holder.runId}\`.`,
    );
    this.name = 'LockHeldError';
  }
}

async function readLock(store: ResultStore, env: string): Promise<LockBody | undefined> {
  const bytes = await store.get(keys.lock(env));
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as LockBody;
  } catch {
    // A lock file that is not JSON protects nothing; treat it as stale.
    return { runId: '(unreadable lock)', deadlineMs: 0, acquiredAtMs: 0 };
  }
}

export async function acquireLock(store: ResultStore, env: string, runId: string, deadlineMs: number, nowMs: number): Promise<void> {
  const body = JSON.stringify({ runId, deadlineMs, acquiredAtMs: nowMs } satisfies LockBody);
  if (await store.putIfAbsent(keys.lock(env), body, 'application/json')) return;

  const holder = await readLock(store, env);
  if (holder === undefined) {
    if (await store.putIfAbsent(keys.lock(env), body, 'application/json')) return;
    const again = await readLock(store, env);
    throw new LockHeldError(env, again ?? { runId: 'unknown', deadlineMs: 0, acquiredAtMs: 0 });
  }
  if (holder.runId === runId) return;
  if (holder.deadlineMs > nowMs) throw new LockHeldError(env, holder);

  // NOTE: the takeover of a stale lock is a plain overwrite, so two starters that both
  // read the same stale lock can both proceed. The run manifest's create-only write
  // still keeps each run id unique.
  await store.put(keys.lock(env), body, 'application/json');
}

/** Deletes the lock when `runId` still holds it, and returns whether it did. */
export async function releaseLock(store: ResultStore, env: string, runId: string): Promise<boolean> {
  const holder = await readLock(store, env);
  if (holder?.runId !== runId) return false;
  await store.delete(keys.lock(env));
  return true;
}
