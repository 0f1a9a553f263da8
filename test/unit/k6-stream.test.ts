import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detachString, DROP_LINE, LineSplitter, parseK6Time, parseLine } from '../../core/k6-stream.js';

const POINT =
  '{"metric":"http_req_duration","type":"Point","data":{"time":"2026-12-04T19:29:40.611250837Z","value":1000.296067,"tags":{"error":"request timeout","error_code":"1050","expected_response":"false","group":"","method":"GET","name":"verify","scenario":"sigil","status":"0","url":"verify"}}}';
const METRIC =
  '{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":["p(99)<1500"],"submetrics":null},"metric":"http_req_duration"}';

test('k6 time parses nanosecond fractions', () => {
  assert.equal(parseK6Time('2026-12-04T19:29:40.611250837Z'), Date.parse('2026-12-04T19:29:40Z') + 611.250837);
});

test('k6 time parses trimmed fractions and no fraction', () => {
  assert.equal(parseK6Time('2026-12-04T19:29:40.5Z'), Date.parse('2026-12-04T19:29:40Z') + 500);
  assert.equal(parseK6Time('2026-12-04T19:29:40Z'), Date.parse('2026-12-04T19:29:40Z'));
});

test('k6 time honours a local offset', () => {
  assert.equal(parseK6Time('2026-12-05T01:01:05.576815629+05:30'), Date.parse('2026-12-04T19:31:05Z') + 576.815629);
});

test('k6 time rejects garbage', () => {
  assert.equal(parseK6Time('yesterday'), null);
});

test('point line parses on the fast path', () => {
  const parsed = parseLine(POINT);
  assert.equal(parsed.kind, 'point');
  if (parsed.kind !== 'point') return;
  assert.equal(parsed.point.metric, 'http_req_duration');
  assert.equal(parsed.point.value, 1000.296067);
  assert.equal(JSON.parse(parsed.point.tagsJson).status, '0');
});

test('point with metadata and other key order falls back to JSON.parse', () => {
  const line = '{"type":"Point","metric":"iterations","data":{"value":1,"time":"2026-12-04T19:29:40Z","tags":{"scenario":"s"},"metadata":{"trace_id":"x"}}}';
  const parsed = parseLine(line);
  assert.equal(parsed.kind, 'point');
  if (parsed.kind === 'point') assert.equal(parsed.point.metric, 'iterations');
});

test('tag values containing braces do not cut the tags', () => {
  const line = '{"metric":"http_reqs","type":"Point","data":{"time":"2026-12-04T19:29:40Z","value":1,"tags":{"url":"http://x/{id}\\"}","name":"a"}}}';
  const parsed = parseLine(line);
  assert.equal(parsed.kind, 'point');
  if (parsed.kind === 'point') assert.equal(JSON.parse(parsed.point.tagsJson).name, 'a');
});

test('metric line parses type and thresholds', () => {
  const parsed = parseLine(METRIC);
  assert.equal(parsed.kind, 'metric');
  if (parsed.kind === 'metric') {
    assert.equal(parsed.definition.type, 'trend');
    assert.deepEqual(parsed.definition.thresholds, ['p(99)<1500']);
  }
});

test('NaN values and broken lines are invalid, not thrown', () => {
  assert.equal(parseLine('{"metric":"x","type":"Point","data":{"time":"2026-12-04T19:29:40Z","value":NaN,"tags":{}}}').kind, 'invalid');
  assert.equal(parseLine('{"metric":"x","type":"Point","data":{"time":"2026-').kind, 'invalid');
  assert.equal(parseLine('not json at all').kind, 'invalid');
  assert.equal(parseLine('{"type":"Metric","data":{"type":"histogram"},"metric":"x"}').kind, 'invalid');
});

test('line splitter joins lines across chunks', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), () => assert.fail('no overlong line expected'));
  const text = 'first line\nsecond';
  splitter.push(Buffer.from(text.slice(0, 5)));
  splitter.push(Buffer.from(text.slice(5) + ' half\nthird\n'));
  assert.deepEqual(lines, ['first line', 'second half', 'third']);
});

test('line splitter drops overlong lines with bounded memory', () => {
  const lines: string[] = [];
  let overlong = 0;
  const splitter = new LineSplitter((line) => lines.push(line), () => overlong++, 100);
  splitter.push(Buffer.from('x'.repeat(80)));
  splitter.push(Buffer.from('x'.repeat(80)));
  splitter.push(Buffer.from('x'.repeat(80) + '\nok\n'));
  assert.equal(overlong, 1);
  assert.deepEqual(lines, ['ok']);
});

test('line splitter returns a cut last line at the end', () => {
  const splitter = new LineSplitter(() => undefined, () => undefined);
  splitter.push(Buffer.from('complete\n{"metric":"cut'));
  assert.equal(splitter.end(), '{"metric":"cut');
});

test('line splitter keeps multi-byte characters split across chunks', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), () => undefined);
  const bytes = Buffer.from('név\n');
  splitter.push(bytes.subarray(0, 2));
  splitter.push(bytes.subarray(2));
  assert.deepEqual(lines, ['név']);
});

test('detachString copies a slice of a chunk exactly', () => {
  const chunk = `${'x'.repeat(70_000)}{"name":"verify","status":"200"}`;
  const slice = chunk.slice(70_000);
  const copy = detachString(slice);
  assert.equal(copy, '{"name":"verify","status":"200"}');
  assert.equal(detachString(''), '');
  assert.equal(detachString('é✓'), 'é✓');
});

test('line splitter skips dropped lines', () => {
  const lines: [string, number | undefined][] = [];
  const splitter = new LineSplitter<number>(
    (line, note) => lines.push([line, note]),
    () => undefined,
    undefined,
    (text, start) => (text.startsWith('drop', start) ? DROP_LINE : start),
  );
  splitter.push(Buffer.from('keep 1\ndrop 2\nkeep 3\ndr'));
  // A line that spans two chunks reaches onLine without a note; onLine must drop it itself.
  splitter.push(Buffer.from('op 4\ndrop 5\nkeep 6\n'));
  assert.deepEqual(lines, [
    ['keep 1', 0],
    ['keep 3', 14],
    ['drop 4', undefined],
    ['keep 6', 7],
  ]);
});
