/**
 * Whether a finished run notifies: every night (`always`), only when the verdict
 * differs from the previous run's of the same env and scenario (`on-change`), or
 * never. The previous verdict comes from the history summaries finalize writes.
 */
import { keys, type ResultStore } from './ports.js';
import type { RunReport } from './report-schema.js';
import type { Verdict } from './schemas.js';

export type NotifyMode = 'always' | 'on-change' | 'never';

interface HistoryVerdict {
  runId: string;
  startedAt: string | null;
  verdict: Verdict;
}

/** Returns the verdict of the latest run before `report` in the history, or null when there is none. */
export async function previousVerdict(store: ResultStore, report: RunReport): Promise<Verdict | null> {
  const prefix = keys.history(report.env, report.scenario, '').replace(/\.json$/, '');
  const entries: HistoryVerdict[] = [];
  for (const key of await store.list(prefix)) {
    if (!key.endsWith('.json') || key.slice(prefix.length).startsWith('_')) continue;
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    try {
      const entry = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<HistoryVerdict>;
      if (typeof entry.runId === 'string' && typeof entry.verdict === 'string') entries.push(entry as HistoryVerdict);
    } catch {
      // A damaged summary only costs the comparison it would have taken part in.
    }
  }
  const current = report.startedAt ?? '9999';
  const earlier = entries
    .filter((entry) => entry.runId !== report.runId && (entry.startedAt ?? '') < current)
    .sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  return earlier.at(-1)?.verdict ?? null;
}

export async function shouldNotify(mode: NotifyMode, store: ResultStore, report: RunReport): Promise<{ notify: boolean; why: string }> {
  if (mode === 'never') return { notify: false, why: 'notify.mode is never' };
  if (mode === 'always') return { notify: true, why: 'notify.mode is always' };
  const previous = await previousVerdict(store, report);
  if (previous === null) return { notify: true, why: 'first run of this env and scenario' };
  return previous === report.verdict
    ? { notify: false, why: `verdict ${report.verdict} unchanged since the previous run` }
    : { notify: true, why: `verdict changed from ${previous} to ${report.verdict}` };
}
