/**
 * Parser of k6's `--out json` stream (one JSON object per line, k6 v1.x).
 *
 * Two line shapes exist: `{"type":"Metric","data":{...},"metric":"name"}`, written
 * lazily right before a metric's first sample, and
 * `{"metric":"name","type":"Point","data":{"time":"...","value":1.5,"tags":{...}}}`.
 * Points dominate the stream: nine per HTTP request, all with the same tags. The
 * parser therefore reads them by position and caches parsed tag objects by their JSON
 * text. Any line without the expected layout goes through `JSON.parse` instead.
 */

export type Tags = Readonly<Record<string, string>>;

export type K6MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export interface K6MetricDefinition {
  name: string;
  type: K6MetricType;
  contains: string;
  thresholds: string[];
}

export interface K6Point {
  metric: string;
  timeMs: number;
  value: number;
  /** Raw JSON text of the tags object, used as a cache key. */
  tagsJson: string;
}

export type ParsedLine =
  | { kind: 'metric'; definition: K6MetricDefinition }
  | { kind: 'point'; point: K6Point }
  | { kind: 'invalid'; reason: string };

const POINT_PREFIX = '{"metric":"';
const TIME_KEY = '"time":"';
const VALUE_KEY = '"value":';
const TAGS_KEY = '"tags":';

const secondCache = new Map<string, number>();

/**
 * Returns a copy of `text` that does not keep its source alive. Lines are slices of a
 * 64 KiB chunk decoded at once, and V8 keeps the whole chunk alive while any slice of it
 * lives. A slice kept as a cache key therefore held its chunk for the life of the cache,
 * about 3 MiB a minute at 16,000 requests/s. Flattening a concatenation makes a copy.
 */
export function detachString(text: string): string {
  return (' ' + text).slice(1);
}

/** Epoch ms of `secondsText + offset`, from the cache or Date.parse; null when invalid. */
function secondBase(secondsText: string, offset: string): number | null {
  const cacheKey = secondsText + offset;
  let base = secondCache.get(cacheKey);
  if (base === undefined) {
    const parsed = Date.parse(secondsText + offset);
    if (Number.isNaN(parsed)) return null;
    base = parsed;
    if (secondCache.size > 4096) secondCache.clear();
    secondCache.set(detachString(cacheKey), base);
  }
  return base;
}

/**
 * Parses k6's RFC 3339 time (`2026-12-04T19:29:40.611250837Z` or with a `+05:30`
 * offset; the fraction has 0-9 digits) into epoch milliseconds with a fractional part.
 */
export function parseK6Time(text: string): number | null {
  return parseK6TimeAt(text, 0, text.length);
}

// Points arrive in time order, so consecutive times nearly always share their second.
let lastSeconds = '';
let lastOffset = '';
let lastBase = 0;

/** parseK6Time on `line` from `start` to `end` (exclusive), without slicing the common case. */
function parseK6TimeAt(line: string, start: number, end: number): number | null {
  // The seconds part, `YYYY-MM-DDTHH:MM:SS`, is 19 characters; the offset follows the fraction.
  if (end - start < 20) return null;

  let index = start + 19;
  let fraction = 0;
  if (line.charCodeAt(index) === 46 /* . */) {
    index += 1;
    let scale = 100;
    while (index < end) {
      const code = line.charCodeAt(index);
      if (code < 48 || code > 57) break;
      fraction += (code - 48) * scale;
      scale /= 10;
      index += 1;
    }
  }

  if (
    lastSeconds.length === 19 &&
    end - index === lastOffset.length &&
    occursAt(line, start, lastSeconds) &&
    occursAt(line, index, lastOffset)
  ) {
    return lastBase + fraction;
  }
  const secondsText = line.slice(start, start + 19);
  const offset = line.slice(index, end);
  const base = secondBase(secondsText, offset);
  if (base === null) return null;
  lastSeconds = secondsText;
  lastOffset = offset;
  lastBase = base;
  return base + fraction;
}

/** Finds the end (exclusive) of the JSON object that starts at `start`, skipping strings. */
function findObjectEnd(line: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (inString) {
      if (code === 92 /* \ */) i += 1;
      else if (code === 34 /* " */) inString = false;
      continue;
    }
    if (code === 34) inString = true;
    else if (code === 123 /* { */) depth += 1;
    else if (code === 125 /* } */) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

const TYPE_AND_DATA = ',"type":"Point","data":{';
const VALUE_AFTER_TIME = '",' + VALUE_KEY;

/**
 * Returns whether `expected` occurs in `line` at `at`. Both ways here are several
 * times faster in V8 (node 20) than `startsWith` with a position: a character loop
 * for short texts, which allocates nothing, and a slice compared with === for long ones.
 */
function occursAt(line: string, at: number, expected: string): boolean {
  const length = expected.length;
  if (length > 32) return line.slice(at, at + length) === expected;
  if (at + length > line.length) return false;
  for (let i = 0; i < length; i++) {
    if (line.charCodeAt(at + i) !== expected.charCodeAt(i)) return false;
  }
  return true;
}

/** Exact powers of ten for the fast path of parseNumberAt. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * Parses the number text from `start` to `end` exactly as Number() does. Plain
 * decimals of at most 15 digits take a fast path: the digits form an exact integer
 * and one division by an exact power of ten rounds correctly (Clinger's fast path);
 * anything else (an exponent, more digits, stray characters) goes to Number().
 */
function parseNumberAt(line: string, start: number, end: number): number {
  let index = start;
  const negative = line.charCodeAt(index) === 45; /* - */
  if (negative) index += 1;
  let digits = 0;
  let count = 0;
  let scale = 0;
  let seenDot = false;
  for (; index < end; index++) {
    const code = line.charCodeAt(index);
    if (code >= 48 && code <= 57) {
      digits = digits * 10 + (code - 48);
      count += 1;
      if (seenDot) scale += 1;
    } else if (code === 46 /* . */ && !seenDot) {
      seenDot = true;
    } else {
      return Number(line.slice(start, end));
    }
  }
  if (count === 0 || count > 15) return Number(line.slice(start, end));
  const value = scale === 0 ? digits : digits / POWERS_OF_TEN[scale]!;
  return negative ? -value : value;
}

// Consecutive points of one request carry the same tags text; reusing the previous
// string skips scanning it and lets Map lookups use its cached hash.
let lastTagsJson = '{}';

/**
 * Returns the metric name of a Point line without parsing its time, value or tags, or
 * null when the line does not start like one.
 */
export function pointMetricName(line: string): string | null {
  if (!occursAt(line, 0, POINT_PREFIX)) return null;
  const nameEnd = line.indexOf('"', POINT_PREFIX.length);
  if (nameEnd < 0 || !occursAt(line, nameEnd + 1, TYPE_AND_DATA)) return null;
  return line.slice(POINT_PREFIX.length, nameEnd);
}

function parsePointFast(line: string): K6Point | null {
  const nameEnd = line.indexOf('"', POINT_PREFIX.length);
  if (nameEnd < 0) return null;
  const metric = line.slice(POINT_PREFIX.length, nameEnd);
  if (metric.includes('\\')) return null;
  if (!occursAt(line, nameEnd + 1, TYPE_AND_DATA)) return null;

  // k6 v1 writes time, value and tags in this order; another order takes the searches.
  const dataStart = nameEnd + 1 + TYPE_AND_DATA.length;
  const timeStart = occursAt(line, dataStart, TIME_KEY) ? dataStart : line.indexOf(TIME_KEY, nameEnd);
  if (timeStart < 0) return null;
  const timeValueStart = timeStart + TIME_KEY.length;
  const timeEnd = line.indexOf('"', timeValueStart);
  if (timeEnd < 0) return null;
  const timeMs = parseK6TimeAt(line, timeValueStart, timeEnd);
  if (timeMs === null) return null;

  const valueStart = occursAt(line, timeEnd, VALUE_AFTER_TIME) ? timeEnd + 2 : line.indexOf(VALUE_KEY, timeEnd);
  if (valueStart < 0) return null;
  const valueTextStart = valueStart + VALUE_KEY.length;
  const valueEnd = line.indexOf(',', valueTextStart);
  if (valueEnd < 0) return null;
  const value = parseNumberAt(line, valueTextStart, valueEnd);

  if (!occursAt(line, valueEnd + 1, TAGS_KEY)) return null;
  const tagsStart = valueEnd + 1 + TAGS_KEY.length;
  if (occursAt(line, tagsStart, 'null')) return { metric, timeMs, value, tagsJson: '{}' };
  // A complete JSON object that is a prefix of the text at tagsStart is the whole object there.
  if (occursAt(line, tagsStart, lastTagsJson)) return { metric, timeMs, value, tagsJson: lastTagsJson };
  const tagsEnd = findObjectEnd(line, tagsStart);
  if (tagsEnd < 0) return null;
  lastTagsJson = line.slice(tagsStart, tagsEnd);
  return { metric, timeMs, value, tagsJson: lastTagsJson };
}

function parseSlow(line: string): ParsedLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object') return { kind: 'invalid', reason: 'not an object' };
  const record = parsed as { type?: unknown; metric?: unknown; data?: Record<string, unknown> };
  const data = record.data;
  if (typeof record.metric !== 'string' || data === null || typeof data !== 'object') {
    return { kind: 'invalid', reason: 'no metric name or data' };
  }

  if (record.type === 'Metric') {
    const type = data.type;
    if (type !== 'counter' && type !== 'gauge' && type !== 'rate' && type !== 'trend') {
      return { kind: 'invalid', reason: `unknown metric type ${String(type)}` };
    }
    const thresholds = Array.isArray(data.thresholds) ? data.thresholds.filter((t) => typeof t === 'string') : [];
    return {
      kind: 'metric',
      definition: { name: record.metric, type, contains: String(data.contains ?? 'default'), thresholds },
    };
  }

  if (record.type === 'Point') {
    const timeMs = typeof data.time === 'string' ? parseK6Time(data.time) : null;
    if (timeMs === null) return { kind: 'invalid', reason: 'point without a valid time' };
    if (typeof data.value !== 'number') return { kind: 'invalid', reason: 'point value is not a number' };
    const tags = data.tags && typeof data.tags === 'object' ? data.tags : {};
    return { kind: 'point', point: { metric: record.metric, timeMs, value: data.value, tagsJson: JSON.stringify(tags) } };
  }
  return { kind: 'invalid', reason: `unknown line type ${String(record.type)}` };
}

/**
 * Returns the point of a line in k6's usual Point layout with a finite value, or null
 * for any other line; parseLine then gives the kind and the reason. Allocates less
 * than parseLine, for the hot path.
 */
export function parsePoint(line: string): K6Point | null {
  if (!line.startsWith(POINT_PREFIX)) return null;
  const point = parsePointFast(line);
  return point !== null && Number.isFinite(point.value) ? point : null;
}

export function parseLine(line: string): ParsedLine {
  if (line.startsWith(POINT_PREFIX)) {
    const point = parsePointFast(line);
    if (point !== null) {
      if (!Number.isFinite(point.value)) return { kind: 'invalid', reason: 'point value is not a finite number' };
      return { kind: 'point', point };
    }
  }
  return parseSlow(line);
}

/**
 * Splits a byte stream into lines with bounded memory: a line longer than
 * `maxLineBytes` bytes is dropped (reported through `onOverlong`) rather than buffered.
 *
 * A newline byte never occurs inside a multi-byte UTF-8 sequence, so the bytes up to a
 * chunk's last newline decode on their own; only the bytes after it wait for the next chunk.
 */
export class LineSplitter {
  /** Bytes of the current line from earlier chunks, not yet decoded. */
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: () => void,
    private readonly maxLineBytes = 1 << 20,
  ) {}

  push(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const firstNewline = bytes.indexOf(10);
    if (firstNewline < 0) {
      this.#keep(bytes);
      return;
    }

    let start = 0;
    if (this.#tailBytes > 0 || this.#discarding) {
      // The line that earlier chunks started ends at this chunk's first newline.
      if (this.#discarding) this.#discarding = false;
      else if (this.#tailBytes + firstNewline > this.maxLineBytes) this.onOverlong();
      else this.#emit(Buffer.concat([...this.#tail, bytes.subarray(0, firstNewline)]).toString('utf8'));
      this.#tail = [];
      this.#tailBytes = 0;
      start = firstNewline + 1;
    }

    const lastNewline = bytes.lastIndexOf(10);
    if (lastNewline >= start) {
      const text = bytes.toString('utf8', start, lastNewline);
      let lineStart = 0;
      let newline = text.indexOf('\n');
      while (newline >= 0) {
        this.#emit(text.slice(lineStart, newline));
        lineStart = newline + 1;
        newline = text.indexOf('\n', lineStart);
      }
      this.#emit(text.slice(lineStart));
    }
    if (lastNewline + 1 < bytes.length) this.#keep(bytes.subarray(lastNewline + 1));
  }

  /** Ends the stream; a cut last line (after SIGKILL, for example) is returned, not parsed. */
  end(): string | null {
    const rest = Buffer.concat(this.#tail).toString('utf8');
    this.#tail = [];
    this.#tailBytes = 0;
    this.#discarding = false;
    return rest.length > 0 ? rest : null;
  }

  #keep(bytes: Buffer): void {
    if (this.#discarding) return;
    this.#tailBytes += bytes.length;
    if (this.#tailBytes > this.maxLineBytes) {
      this.#tail = [];
      this.#tailBytes = 0;
      this.#discarding = true;
      this.onOverlong();
      return;
    }
    // Copied, because the caller may reuse the chunk's memory.
    this.#tail.push(Buffer.from(bytes));
  }

  #emit(line: string): void {
    if (line.length === 0) return;
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so only long lines need counting.
    if (line.length * 3 > this.maxLineBytes && Buffer.byteLength(line) > this.maxLineBytes) this.onOverlong();
    else this.onLine(line);
  }
}
