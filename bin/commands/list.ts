/** `soak list` and `soak status` for the local results folder. */
import { decodeWindows } from '../../core/checkpoint.js';
import { readManifest } from '../../core/finalize.js';
import { keys, type ResultStore } from '../../core/ports.js';
import { RunReportSchema } from '../../core/report-schema.js';
import { SegmentResultSchema } from '../../core/schemas.js';
import { ExitCode, type Io } from '../io.js';

async function readJson(store: ResultStore, key: string): Promise<unknown> {
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}

export async function listRuns(store: ResultStore, env: string, io: Io, json: boolean): Promise<number> {
  const manifests = (await store.list(`runs/${env}/`)).filter((key) => key.endsWith('/manifest.json'));
  const rows = [];
  for (const key of manifests) {
    const runId = key.split('/')[2]!;
    const manifest = (await readJson(store, key)) as { createdAtMs?: number; scenario?: { name?: string }; request?: { rate?: number; durationS?: number } } | undefined;
    const report = RunReportSchema.safeParse(await readJson(store, keys.report(env, runId)));
    rows.push({
      runId,
      createdAt: manifest?.createdAtMs ? new Date(manifest.createdAtMs).toISOString() : null,
      scenario: manifest?.scenario?.name ?? null,
      rate: manifest?.request?.rate ?? null,
      durationS: manifest?.request?.durationS ?? null,
      verdict: report.success ? report.data.verdict : null,
    });
  }
  rows.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));

  if (json) {
    io.out.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else if (rows.length === 0) {
    io.out.write(`No runs in env "${env}" under ${store.location}.\n`);
  } else {
    for (const row of rows) {
      io.out.write(`${row.runId}  ${row.createdAt ?? '—'}  ${row.scenario ?? '—'}  ${row.rate ?? '—'}/s  ${row.durationS ?? '—'} s  ${row.verdict ?? '(not finalized)'}\n`);
    }
  }
  return ExitCode.Pass;
}

export async function runStatus(store: ResultStore, env: string, runId: string, io: Io, json: boolean): Promise<number> {
  const manifest = await readManifest(store, env, runId);
  const segments = [];
  for (const plan of manifest.segments) {
    const windowKeys = (await store.list(keys.windowsPrefix(env, runId, plan.index))).filter((key) => key.endsWith('.ndjson.gz'));
    let windows = 0;
    let lastWindowMs: number | null = null;
    for (const key of windowKeys) {
      const bytes = await store.get(key);
      if (!bytes) continue;
      for (const record of decodeWindows(bytes, key)) {
        windows += 1;
        lastWindowMs = Math.max(lastWindowMs ?? 0, record.startMs);
      }
    }
    const result = SegmentResultSchema.safeParse(await readJson(store, keys.segmentResult(env, runId, plan.index)));
    segments.push({
      index: plan.index,
      executionSegment: plan.executionSegment,
      checkpoints: windowKeys.length,
      windows,
      lastWindow: lastWindowMs === null ? null : new Date(lastWindowMs).toISOString(),
      state: result.success ? `finished: ${result.data.stopReason}` : 'running or died',
    });
  }
  const report = RunReportSchema.safeParse(await readJson(store, keys.report(env, runId)));
  const stop = await readJson(store, keys.stopRequest(env, runId));
  const status = {
    runId,
    env,
    scenario: manifest.scenario.name,
    createdAt: new Date(manifest.createdAtMs).toISOString(),
    deadline: new Date(manifest.deadlineMs).toISOString(),
    stopRequested: stop !== undefined,
    verdict: report.success ? report.data.verdict : null,
    segments,
  };
  if (json) {
    io.out.write(`${JSON.stringify(status, null, 2)}\n`);
  } else {
    io.out.write(`${runId}  ${status.scenario}  created ${status.createdAt}  deadline ${status.deadline}  verdict ${status.verdict ?? '(not finalized)'}${status.stopRequested ? '  (stop requested)' : ''}\n`);
    for (const segment of segments) {
      io.out.write(`  segment ${segment.index} (${segment.executionSegment}): ${segment.state}, ${segment.windows} windows in ${segment.checkpoints} checkpoints, last ${segment.lastWindow ?? '—'}\n`);
    }
  }
  return ExitCode.Pass;
}
