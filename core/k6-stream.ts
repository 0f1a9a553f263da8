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
 * Parses k6's RFC 3339 time (`2026-12-04T19:29:40.611250837Z` or with a `+05:30`
 * offset; the fraction has 0-9 digits) into epoch milliseconds with a fractional part.
 */
export function parseK6Time(text: string): number | null {
  // The seconds part, `YYYY-MM-DDTHH:MM:SS`, is 19 characters; the offset follows the fraction.
  if (text.length < 20) return null;
  const secondsText = text.slice(0, 19);

  let index = 19;
  let fraction = 0;
  if (text.charCodeAt(index) === 46 /* . */) {
    index += 1;
    let scale = 100;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code < 48 || code > 57) break;
      fraction += (code - 48) * scale;
      scale /= 10;
      index += 1;
    }
  }
  const offset = text.slice(index);
  const cacheKey = secondsText + offset;

  let base = secondCache.get(cacheKey);
  if (base === undefined) {
    const parsed = Date.parse(secondsText + offset);
    if (Number.isNaN(parsed)) return null;
    base = parsed;
    if (secondCache.size > 4096) secondCache.clear();
    secondCache.set(cacheKey, base);
  }
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

function parsePointFast(line: string): K6Point | null {
  const nameEnd = line.indexOf('"', POINT_PREFIX.length);
  if (nameEnd < 0) return null;
  const metric = line.slice(POINT_PREFIX.length, nameEnd);
  if (metric.includes('\\')) return null;
  if (!line.startsWith(',"type":"Point","data":{', nameEnd + 1)) return null;

  const timeStart = line.indexOf(TIME_KEY, nameEnd);
  if (timeStart < 0) return null;
  const timeValueStart = timeStart + TIME_KEY.length;
  const timeEnd = line.indexOf('"', timeValueStart);
  const timeMs = parseK6Time(line.slice(timeValueStart, timeEnd));
  if (timeMs === null) return null;

  const valueStart = line.indexOf(VALUE_KEY, timeEnd);
  if (valueStart < 0) return null;
  const valueTextStart = valueStart + VALUE_KEY.length;
  const valueEnd = line.indexOf(',', valueTextStart);
  if (valueEnd < 0) return null;
  const value = Number(line.slice(valueTextStart, valueEnd));

  if (!line.startsWith(TAGS_KEY, valueEnd + 1)) return null;
  const tagsStart = valueEnd + 1 + TAGS_KEY.length;
  if (line.startsWith('null', tagsStart)) return { metric, timeMs, value, tagsJson: '{}' };
  const tagsEnd = findObjectEnd(line, tagsStart);
  if (tagsEnd < 0) return null;
  return { metric, timeMs, value, tagsJson: line.slice(tagsStart, tagsEnd) };
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
 * `maxLineBytes` is dropped (reported through `onOverlong`) rather than buffered.
 */
export class LineSplitter {
  #pending = '';
  #discarding = false;
  readonly #decoder = new TextDecoder('utf-8');

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: () => void,
    private readonly maxLineBytes = 1 << 20,
  ) {}

  push(chunk: Uint8Array): void {
    const text = this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline = text.indexOf('\n', start);
    while (newline >= 0) {
      const piece = text.slice(start, newline);
      if (this.#discarding) {
        this.#discarding = false;
      } else {
        const line = this.#pending.length > 0 ? this.#pending + piece : piece;
        this.#pending = '';
        if (line.length > this.maxLineBytes) this.onOverlong();
        else if (line.length > 0) this.onLine(line);
      }
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }

    if (start < text.length && !this.#discarding) {
      this.#pending += text.slice(start);
      if (this.#pending.length > this.maxLineBytes) {
        this.#pending = '';
        this.#discarding = true;
        this.onOverlong();
      }
    }
  }

  /** Ends the stream; a cut last line (after SIGKILL, for example) is returned, not parsed. */
  end(): string | null {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = '';
    this.#discarding = false;
    return rest.length > 0 ? rest : null;
  }
}
