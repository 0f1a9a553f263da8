/**
 * k6 output the runner has not seen before: unknown metrics and metric types, NaN
 * and infinite values, garbage, a 2 MB line, a cut last line and odd tag values.
 * The lines go through LineSplitter and WindowAggregator as in the runner, then
 * through a checkpoint and finalize from a results folder: every oddity is counted
 * and reported, and nothing crashes or leaves NaN in the report.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FolderResultStore } from '../../adapters/local/folder-store.js';
import { decodeWindows, encodeWindows } from '../../core/checkpoint.js';
import { finalizeRun } from '../../core/finalize.js';
import { LineSplitter } from '../../core/k6-stream.js';
import { silentLog } from '../../core/log.js';
import { RunReportSchema } from '../../core/report-schema.js';
import type { WindowRecord } from '../../core/schemas.js';
import { WindowAggregator } from '../../core/windows.js';
import { metricLine, pointLine, seedManifest, segmentResult, storeResult, storeWindows, trafficLines } from '../support/fault-kit.js';

const START_MS = Date.UTC(2026, 0, 1, 3, 0, 0);
const OK_TAGS = { expected_response: 'true', name: 'create', status: '201' };

/** Feeds `chunks` to a splitter and aggregator wired as SegmentRunner wires them. */
function aggregateStream(chunks: readonly (string | Uint8Array)[]): { records: WindowRecord[]; aggregator: WindowAggregator } {
  const aggregator = new WindowAggregator({ runId: 'odd-stream', segment: 0 });
  const splitter = new LineSplitter(
    (line) => aggregator.addLine(line),
    () => aggregator.noteUnparsable(START_MS + 5000),
  );
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  if (splitter.end() !== null) aggregator.noteUnparsable(START_MS + 5000);
  return { records: aggregator.closeAll(), aggregator };
}

/** The known oddities, each with how many unparsable lines and undeclared-metric points it adds. */
const ODD_LINES: { what: string; text: string; unparsable: number; unknownPoints: number }[] = [
  { what: 'a point of an undeclared metric', text: pointLine('browser_web_vital_lcp', START_MS + 1000, 1200), unparsable: 0, unknownPoints: 1 },
  { what: 'a metric of an unknown type', text: metricLine('odd_histogram', 'histogram'), unparsable: 1, unknownPoints: 0 },
  { what: 'a point of that metric', text: pointLine('odd_histogram', START_MS + 1100, 3), unparsable: 0, unknownPoints: 1 },
  { what: 'a NaN value', text: pointLine('http_req_duration', START_MS + 1200, 'NaN', OK_TAGS), unparsable: 1, unknownPoints: 0 },
  { what: 'an infinite value', text: pointLine('http_req_duration', START_MS + 1300, '1e999', OK_TAGS), unparsable: 1, unknownPoints: 0 },
  { what: 'a value in quotes', text: pointLine('http_req_duration', START_MS + 1400, '"12"', OK_TAGS), unparsable: 1, unknownPoints: 0 },
  { what: 'a time that is not a time', text: pointLine('http_req_duration', START_MS, 12, OK_TAGS).replace(/"time":"[^"]+"/, '"time":"yesterday"'), unparsable: 1, unknownPoints: 0 },
  { what: 'a line type k6 never wrote', text: '{"type":"Summary","metric":"x","data":{}}', unparsable: 1, unknownPoints: 0 },
  { what: 'plain text', text: 'panic: runtime error: index out of range', unparsable: 1, unknownPoints: 0 },
  { what: 'tags that are not an object', text: pointLine('http_req_duration', START_MS + 1500, 12).replace('"tags":{}', '"tags":"status=201"'), unparsable: 0, unknownPoints: 0 },
];

describe('unknown k6 output', () => {
  test('each oddity is counted', () => {
    const { records } = aggregateStream([trafficLines({ startMs: START_MS, seconds: 10, perSecond: 10 }).join('\n') + '\n', ...ODD_LINES.map((odd) => `${odd.text}\n`)]);
    const unparsable = records.reduce((sum, record) => sum + record.generator.unparsableLines, 0);
    const unknown = records.reduce((sum, record) => sum + record.generator.unknownMetricPoints, 0);
    assert.equal(unparsable, ODD_LINES.reduce((sum, odd) => sum + odd.unparsable, 0));
    assert.equal(unknown, ODD_LINES.reduce((sum, odd) => sum + odd.unknownPoints, 0));
  });

  test('2 MB line is dropped and counted', () => {
    const long = pointLine('http_req_duration', START_MS + 2000, 5, { ...OK_TAGS, note: 'x'.repeat(2 * 1024 * 1024) });
    // Written in 64 KiB chunks, as a pipe delivers it.
    const bytes = Buffer.from(`${metricLine('http_req_duration')}\n${long}\n${pointLine('http_req_duration', START_MS + 2100, 7, OK_TAGS)}\n`);
    const chunks = [];
    for (let offset = 0; offset < bytes.length; offset += 65_536) chunks.push(bytes.subarray(offset, offset + 65_536));
    const { records } = aggregateStream(chunks);
    assert.equal(records[0]!.generator.unparsableLines, 1);
    assert.equal(records[0]!.requests.ok, 1, 'the line after the long one is read');
  });

  test('cut last line is counted', () => {
    const whole = pointLine('http_req_duration', START_MS + 3000, 5, OK_TAGS);
    const { records } = aggregateStream([`${metricLine('http_req_duration')}\n${whole}\n${whole.slice(0, 40)}`]);
    assert.equal(records[0]!.generator.unparsableLines, 1);
    assert.equal(records[0]!.requests.ok, 1);
  });

  test('odd status tags survive a checkpoint', () => {
    const lines = [metricLine('http_req_duration'), ...['constructor', '__proto__', 'toString', '201'].map((status, i) => pointLine('http_req_duration', START_MS + i, 5, { ...OK_TAGS, status }))];
    const { records } = aggregateStream([lines.join('\n') + '\n']);
    const decoded = decodeWindows(encodeWindows(records), 'odd-status.ndjson.gz');
    const counted = Object.values(decoded[0]!.statuses).reduce((sum, count) => sum + count, 0);
    assert.equal(counted, 4);
  });

  test('report has the counts and no NaN', async () => {
    const store = new FolderResultStore(mkdtempSync(join(tmpdir(), 'soak-stream-faults-')));
    const runId = 'odd-stream';
    const manifest = await seedManifest(store, { runId, rate: 10, durationS: 60, createdAtMs: START_MS });
    const long = pointLine('http_req_duration', START_MS + 2000, 5, { ...OK_TAGS, note: 'x'.repeat(2 * 1024 * 1024) });
    const { records } = aggregateStream([
      trafficLines({ startMs: START_MS, seconds: 60, perSecond: 10 }).join('\n') + '\n',
      ...ODD_LINES.map((odd) => `${odd.text}\n`),
      `${long}\n`,
      pointLine('http_req_duration', START_MS + 59_000, 5, { ...OK_TAGS, status: 'constructor' }) + '\n',
      '{"metric":"http_req_duration","type":"Po',
    ]);
    await storeWindows(store, manifest, 0, records);
    await storeResult(store, segmentResult(manifest, 0, records));

    const { report } = await finalizeRun({ store, log: silentLog }, 'local', runId);
    const text = JSON.stringify(report);
    const unparsable = ODD_LINES.reduce((sum, odd) => sum + odd.unparsable, 0) + 2;
    const unknown = ODD_LINES.reduce((sum, odd) => sum + odd.unknownPoints, 0);
    assert.doesNotMatch(text, /NaN|Infinity/);
    assert.ok(RunReportSchema.safeParse(report).success);
    assert.equal(report.load.generator.unparsableLines, unparsable);
    assert.equal(report.load.generator.unknownMetricPoints, unknown);
    assert.ok(report.notes.some((note) => note.startsWith(`k6 stream: ${unparsable} unparsable lines, ${unknown} points of undeclared metrics`)), JSON.stringify(report.notes));
    assert.deepEqual(report.notes.filter((note) => note.includes('could not be read')), []);
    // 600 of the traffic, the one with tags that are not an object, and the one with status `constructor`.
    assert.equal(report.requests.total, 602);
    for (const value of Object.values(report.latencyMs)) assert.ok(value === null || Number.isFinite(value));
  });
});
