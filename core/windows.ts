/**
 * Aggregation of one segment's k6 samples into windows aligned to UTC multiples of
 * the window length. Each point lands in the window of its own timestamp. A window
 * closes once the clock passes its end plus a grace period. Points that arrive for a
 * closed window are counted as late instead of reopening it.
 */
import {
  addSample,
  createAggregate,
  createRequests,
  emptyGenerator,
  requestsToJson,
  toJsonAggregate,
  type MutableAggregate,
  type MutableRequests,
} from './aggregates.js';
import {
  detachString,
  DROP_LINE,
  LineSplitter,
  nameIs,
  parseLine,
  parsePointAfterName,
  pointLayoutAfter,
  pointNameEnd,
  pointNameEndAt,
  POINT_NAME_START,
  type K6MetricDefinition,
  type K6MetricType,
  type Tags,
} from './k6-stream.js';
import { FAILURE_KINDS, SCHEMA_VERSION, type FailureCounts, type ProbeAggregate, type WindowRecord } from './schemas.js';

export const OTHER_NAME = 'other';

/** A threshold key such as `http_req_duration{name:verify}`, split into metric and tags. */
export interface TagFilter {
  key: string;
  metric: string;
  tags: Record<string, string>;
}

/** Splits `metric{tag:value,tag2:value2}` into its parts; a key without braces has no tags. */
export function parseMetricKey(key: string): TagFilter {
  const brace = key.indexOf('{');
  if (brace < 0 || !key.endsWith('}')) return { key, metric: key, tags: {} };

  const tags: Record<string, string> = {};
  for (const pair of key.slice(brace + 1, -1).split(',')) {
    const colon = pair.indexOf(':');
    if (colon <= 0) continue;
    tags[pair.slice(0, colon).trim()] = pair.slice(colon + 1).trim();
  }
  return { key, metric: key.slice(0, brace), tags };
}

interface TagInfo {
  tags: Tags;
  name: string | undefined;
  /** k6's `expected_response` tag; undefined when the request had no response callback. */
  responseExpected: boolean | undefined;
  /** Undefined for points that are not HTTP requests. */
  failed: boolean | undefined;
  failureKind: (typeof FAILURE_KINDS)[number] | undefined;
  status: string | undefined;
  /** Matching filter keys per metric name, computed on first use. */
  filterKeys: Map<string, string[]>;
}

/**
 * Action of addLine on the Point lines of one metric. `skip` (skipMetrics) and `derived`
 * (DERIVED_FROM_DURATION) drop them. `request` aggregates them and derives the request's
 * other points from them, and `aggregate` only aggregates them.
 */
type PointAction = 'aggregate' | 'skip' | 'derived' | 'request';

/** A metric name seen in Point lines; what inspectLineAt hands on to addLine. */
export interface KnownMetric {
  /** A copy that owns its characters (see detachString). */
  readonly name: string;
  readonly action: PointAction;
}

/**
 * Metrics that k6 writes for every HTTP request beside http_req_duration, with the same
 * tags and time. `http_reqs` has the value 1. `http_req_failed` is 1 when
 * `expected_response` is false, and exists only when a response callback set that tag
 * (k6 v1.3.0, lib/netext/httpext/transport.go). The runner adds both from the duration
 * point and drops their lines unparsed, which saves two of the six lines it parses per
 * request. A script that adds to http_reqs itself would lose those additions.
 */
const DERIVED_FROM_DURATION: readonly K6MetricDefinition[] = [
  { name: 'http_reqs', type: 'counter', contains: 'default', thresholds: [] },
  { name: 'http_req_failed', type: 'rate', contains: 'default', thresholds: [] },
];

interface WindowState {
  startMs: number;
  metrics: Map<string, MutableAggregate>;
  requests: MutableRequests;
  requestsByName: Map<string, MutableRequests>;
  failures: FailureCounts;
  statuses: Record<string, number>;
  checks: { passes: number; fails: number };
  iterations: number;
  droppedIterations: number;
  vus: number | null;
  vusMax: number | null;
  dataSentBytes: number;
  dataReceivedBytes: number;
  probes: Map<string, ProbeAggregate>;
  generator: WindowRecord['generator'];
}

export interface WindowAggregatorOptions {
  runId: string;
  segment: number;
  lengthMs?: number;
  graceMs?: number;
  /** Threshold keys with tag filters (from `k6 inspect`), aggregated apart. */
  filters?: string[];
  /** Distinct `name` tag values kept apart before the rest fold into `other`. */
  maxRequestNames?: number;
  /** Distinct metrics kept before unknown ones are only counted. */
  maxMetrics?: number;
  /** Metrics whose points are counted and dropped unparsed, unless a key of `filters` names them. */
  skipMetrics?: readonly string[];
}

/** Classifies a failed HTTP request by k6's `status` and `error_code` tags. */
export function classifyFailure(status: string | undefined, errorCode: string | undefined): (typeof FAILURE_KINDS)[number] {
  const code = Number(status);
  if (code >= 400 && code < 500) return 'status4xx';
  if (code >= 500 && code < 600) return 'status5xx';

  // k6 error codes: 1050 request timeout, 1211 dial timeout, 11xx DNS, 12xx TCP.
  const error = Number(errorCode);
  if (error === 1050 || error === 1211) return 'timeout';
  if (error >= 1100 && error < 1300) return 'connection';
  return 'otherTransport';
}

/**
 * Returns the key a request's `status` tag is counted under. k6 writes HTTP status
 * codes, and `"0"` for transport errors. Any other value counts as `other`, because a
 * value such as `constructor` would read a property of Object.prototype in the plain
 * objects that count statuses, and the window record would fail validation.
 */
export function statusKey(status: string | undefined): string {
  if (status === undefined) return 'none';
  return /^\d{1,3}$/.test(status) ? status : OTHER_NAME;
}

export class WindowAggregator {
  readonly runId: string;
  readonly segment: number;
  readonly lengthMs: number;
  readonly graceMs: number;
  readonly #filters: TagFilter[];
  readonly #skipMetrics: Set<string>;
  /** Points of skipped metrics, counted and not aggregated. */
  skippedPoints = 0;
  /** Points of http_reqs and http_req_failed dropped because they were derived (DERIVED_FROM_DURATION). */
  derivedPoints = 0;
  /** The metrics of DERIVED_FROM_DURATION this aggregator derives. */
  readonly #derived: readonly K6MetricDefinition[];
  readonly #maxRequestNames: number;
  readonly #maxMetrics: number;

  readonly #definitions = new Map<string, K6MetricDefinition>();
  /** Metric names seen in Point lines, by name length, so a line's name is found without slicing it. */
  readonly #namesByLength: KnownMetric[][] = [];
  #nameCount = 0;
  readonly #tagCache = new Map<string, TagInfo>();
  #lastTagsJson: string | undefined;
  #lastTagInfo: TagInfo | undefined;
  readonly #windows = new Map<number, WindowState>();
  /** The window #windowFor returned last, until a close removes windows. */
  #recentStart = Number.NaN;
  #recentWindow: WindowState | undefined;
  readonly #knownNames = new Set<string>();
  /** Every window start before this is closed. */
  #closedBefore = -Infinity;
  #pendingLate = 0;

  firstPointMs: number | null = null;
  lastPointMs: number | null = null;
  points = 0;
  /** Wall-clock lag of the newest point seen in the current chunk. */
  #lagMs: number | null = null;

  constructor(options: WindowAggregatorOptions) {
    this.runId = options.runId;
    this.segment = options.segment;
    this.lengthMs = options.lengthMs ?? 10_000;
    this.graceMs = options.graceMs ?? 3_000;
    const named = new Set((options.filters ?? []).map((key) => parseMetricKey(key).metric));
    this.#filters = (options.filters ?? []).map(parseMetricKey).filter((filter) => Object.keys(filter.tags).length > 0);
    this.#skipMetrics = new Set((options.skipMetrics ?? []).filter((metric) => !named.has(metric)));
    // Without duration points there is nothing to derive from, and a skipped metric stays skipped.
    this.#derived = this.#skipMetrics.has('http_req_duration')
      ? []
      : DERIVED_FROM_DURATION.filter((definition) => !this.#skipMetrics.has(definition.name));
    this.#maxRequestNames = options.maxRequestNames ?? 50;
    this.#maxMetrics = options.maxMetrics ?? 200;
  }

  get openWindowCount(): number {
    return this.#windows.size;
  }

  windowStart(timeMs: number): number {
    return Math.floor(timeMs / this.lengthMs) * this.lengthMs;
  }

  /**
   * Returns a splitter for k6's byte stream that feeds this aggregator: lines that
   * inspectLineAt drops are never cut out of their chunk, and the others reach addLine
   * with their metric name already found.
   */
  lineSplitter(): LineSplitter<KnownMetric> {
    return new LineSplitter<KnownMetric>(
      (line, known) => this.addLine(line, known),
      () => this.noteUnparsable(),
      undefined,
      (text, start) => this.inspectLineAt(text, start),
    );
  }

  /**
   * Parses and aggregates one line of k6's JSON stream. `known` is what inspectLineAt
   * returned for this line, which saves finding its metric name again.
   */
  addLine(line: string, known?: KnownMetric): void {
    let nameEnd: number;
    if (known !== undefined) {
      nameEnd = POINT_NAME_START + known.name.length;
      if (!pointLayoutAfter(line, nameEnd)) known = undefined;
    } else {
      nameEnd = pointNameEnd(line);
      if (nameEnd >= 0) known = this.#metricName(line, nameEnd);
    }
    if (known !== undefined) {
      if (known.action === 'skip') {
        this.skippedPoints += 1;
        return;
      }
      if (known.action === 'derived') {
        this.derivedPoints += 1;
        return;
      }
      const point = parsePointAfterName(line, nameEnd, known.name);
      if (point !== null && Number.isFinite(point.value)) {
        this.addPoint(known.name, point.timeMs, point.value, point.tagsJson);
        if (known.action === 'request') this.#addDerived(point.timeMs, point.tagsJson);
        return;
      }
    }
    const parsed = parseLine(line);
    if (parsed.kind === 'metric') {
      this.addDefinition(parsed.definition);
    } else if (parsed.kind === 'point') {
      const { metric, timeMs, value, tagsJson } = parsed.point;
      const action = this.#actionFor(metric);
      if (action === 'skip') this.skippedPoints += 1;
      else if (action === 'derived') this.derivedPoints += 1;
      else {
        this.addPoint(metric, timeMs, value, tagsJson);
        if (action === 'request') this.#addDerived(timeMs, tagsJson);
      }
    } else {
      this.noteUnparsable();
    }
  }

  #actionFor(metric: string): PointAction {
    if (this.#skipMetrics.has(metric)) return 'skip';
    if (this.#derived.length === 0) return 'aggregate';
    if (metric === 'http_req_duration') return 'request';
    return this.#derived.some((definition) => definition.name === metric) ? 'derived' : 'aggregate';
  }

  /**
   * Looks at the line that starts at `start` of `text` before the stream splitter cuts
   * it out (see lineSplitter). Returns DROP_LINE for a point that addLine would drop
   * unparsed, and counts it as addLine would: 9 of the 13 lines k6 writes per request
   * (skipMetrics and DERIVED_FROM_DURATION). Otherwise returns the line's metric when
   * it is a known one, for addLine.
   */
  inspectLineAt(text: string, start: number): KnownMetric | undefined | typeof DROP_LINE {
    const nameEnd = pointNameEndAt(text, start);
    if (nameEnd < 0) return undefined;
    const known = this.#knownName(text, start + POINT_NAME_START, nameEnd);
    if (known === undefined) return undefined;
    if (known.action === 'skip') {
      this.skippedPoints += 1;
      return DROP_LINE;
    }
    if (known.action === 'derived') {
      this.derivedPoints += 1;
      return DROP_LINE;
    }
    return known;
  }

  #knownName(text: string, nameStart: number, nameEnd: number): KnownMetric | undefined {
    const sameLength = this.#namesByLength[nameEnd - nameStart];
    if (sameLength === undefined) return undefined;
    for (const known of sameLength) if (nameIs(text, nameStart, nameEnd, known.name)) return known;
    return undefined;
  }

  /** Finds the name of a Point line among the names seen before, or adds it. */
  #metricName(line: string, nameEnd: number): KnownMetric | undefined {
    const length = nameEnd - POINT_NAME_START;
    const known = this.#knownName(line, POINT_NAME_START, nameEnd);
    if (known !== undefined) return known;
    const sameLength = this.#namesByLength[length];
    // Past the limit, or with an escape in the name, the line takes the general parser.
    if (this.#nameCount >= this.#maxMetrics * 2) return undefined;
    const name = line.slice(POINT_NAME_START, nameEnd);
    if (name.includes('\\')) return undefined;
    const added: KnownMetric = { name: detachString(name), action: this.#actionFor(name) };
    if (sameLength === undefined) this.#namesByLength[length] = [added];
    else sameLength.push(added);
    this.#nameCount += 1;
    return added;
  }

  /** Adds the http_reqs and http_req_failed points of the request whose duration point was just added. */
  #addDerived(timeMs: number, tagsJson: string): void {
    for (const definition of this.#derived) {
      let value = 1;
      if (definition.type === 'rate') {
        const expected = this.#tagInfo(tagsJson).responseExpected;
        if (expected === undefined) continue;
        value = expected ? 0 : 1;
      }
      // k6 defines http_req_failed right before its first point, after the first duration point.
      if (!this.#definitions.has(definition.name)) this.addDefinition(definition);
      this.addPoint(definition.name, timeMs, value, tagsJson);
    }
  }

  addDefinition(definition: K6MetricDefinition): void {
    if (!this.#definitions.has(definition.name) && this.#definitions.size >= this.#maxMetrics) return;
    const name = detachString(definition.name);
    this.#definitions.set(name, { ...definition, name });
  }

  noteUnparsable(nowMs = Date.now()): void {
    this.#windowFor(Math.max(nowMs, this.#closedBefore)).generator.unparsableLines += 1;
  }

  noteScriptException(nowMs = Date.now()): void {
    this.#windowFor(Math.max(nowMs, this.#closedBefore)).generator.scriptExceptions += 1;
  }

  noteProbeFailure(nowMs = Date.now()): void {
    this.#windowFor(Math.max(nowMs, this.#closedBefore)).generator.probeFailures += 1;
  }

  /** Records the newest point's lag behind the wall clock, once per stream chunk. */
  noteStreamLag(nowMs = Date.now()): void {
    if (this.lastPointMs === null) return;
    const lag = Math.max(0, nowMs - this.lastPointMs);
    this.#lagMs = lag;
    const window = this.#windowFor(Math.max(nowMs, this.#closedBefore));
    window.generator.streamLagMsMax = Math.max(window.generator.streamLagMsMax ?? 0, lag);
  }

  get streamLagMs(): number | null {
    return this.#lagMs;
  }

  /** Counts a second in which the load generator's machine had no CPU to spare. */
  noteSaturatedSecond(nowMs = Date.now()): void {
    this.#windowFor(Math.max(nowMs, this.#closedBefore)).generator.cpuSaturatedS += 1;
  }

  /** Adds CPU seconds used by k6 and the runner since the previous call. */
  noteCpu(k6CpuS: number | null, runnerCpuS: number | null, nowMs = Date.now()): void {
    const generator = this.#windowFor(Math.max(nowMs, this.#closedBefore)).generator;
    if (k6CpuS !== null) generator.k6CpuS = (generator.k6CpuS ?? 0) + k6CpuS;
    if (runnerCpuS !== null) generator.runnerCpuS = (generator.runnerCpuS ?? 0) + runnerCpuS;
  }

  addProbe(name: string, value: number, timeMs: number): void {
    if (!Number.isFinite(value)) return;
    const window = this.#windowFor(Math.max(timeMs, this.#closedBefore));
    const current = window.probes.get(name);
    if (current === undefined) {
      window.probes.set(name, { samples: 1, min: value, max: value, last: value });
      return;
    }
    current.samples += 1;
    current.min = Math.min(current.min, value);
    current.max = Math.max(current.max, value);
    current.last = value;
  }

  addPoint(metric: string, timeMs: number, value: number, tagsJson: string): void {
    const start = this.windowStart(timeMs);
    if (start < this.#closedBefore) {
      this.#pendingLate += 1;
      return;
    }
    if (this.firstPointMs === null || timeMs < this.firstPointMs) this.firstPointMs = timeMs;
    if (this.lastPointMs === null || timeMs > this.lastPointMs) this.lastPointMs = timeMs;
    this.points += 1;

    const window = this.#windowFor(start);
    const definition = this.#definitions.get(metric);
    if (definition === undefined) {
      window.generator.unknownMetricPoints += 1;
      return;
    }

    const info = this.#tagInfo(tagsJson);
    // The definition's name, not `metric`: a window's keys outlive the line's chunk (see detachString).
    this.#addToMetric(window.metrics, definition.name, definition.type, value);
    for (const key of this.#filterKeys(info, metric)) this.#addToMetric(window.metrics, key, definition.type, value);

    switch (metric) {
      case 'http_req_duration':
        this.#addRequest(window, info, value);
        break;
      case 'checks':
        if (value !== 0) window.checks.passes += 1;
        else window.checks.fails += 1;
        break;
      case 'iterations':
        window.iterations += value;
        break;
      case 'dropped_iterations':
        window.droppedIterations += value;
        break;
      case 'vus':
        window.vus = Math.max(window.vus ?? 0, value);
        break;
      case 'vus_max':
        window.vusMax = Math.max(window.vusMax ?? 0, value);
        break;
      case 'data_sent':
        window.dataSentBytes += value;
        break;
      case 'data_received':
        window.dataReceivedBytes += value;
        break;
    }
  }

  /** Closes and returns every window whose end plus grace is at or before `nowMs`. */
  closeUpTo(nowMs: number): WindowRecord[] {
    const limit = this.windowStart(nowMs - this.graceMs - this.lengthMs) + this.lengthMs;
    return this.#closeBefore(limit);
  }

  /** Closes and returns every open window, at the end of the stream. */
  closeAll(): WindowRecord[] {
    return this.#closeBefore(Infinity);
  }

  #closeBefore(limit: number): WindowRecord[] {
    const starts = [...this.#windows.keys()].filter((start) => start < limit).sort((a, b) => a - b);
    this.#recentWindow = undefined;
    const closed = starts.map((start) => {
      const record = this.#toRecord(this.#windows.get(start)!);
      this.#windows.delete(start);
      return record;
    });
    if (limit > this.#closedBefore) this.#closedBefore = limit;

    // Late points are reported in the last window closed now, or the next one to open.
    if (this.#pendingLate > 0 && closed.length > 0) {
      closed[closed.length - 1]!.generator.latePoints += this.#pendingLate;
      this.#pendingLate = 0;
    }
    return closed;
  }

  #windowFor(start: number): WindowState {
    const aligned = this.windowStart(start);
    // Points arrive nearly in time order, so most land in the window of the one before.
    if (aligned === this.#recentStart && this.#recentWindow !== undefined) return this.#recentWindow;
    let window = this.#windows.get(aligned);
    if (window === undefined) {
      window = {
        startMs: aligned,
        metrics: new Map(),
        requests: createRequests(),
        requestsByName: new Map(),
        failures: { status4xx: 0, status5xx: 0, timeout: 0, connection: 0, otherTransport: 0 },
        statuses: {},
        checks: { passes: 0, fails: 0 },
        iterations: 0,
        droppedIterations: 0,
        vus: null,
        vusMax: null,
        dataSentBytes: 0,
        dataReceivedBytes: 0,
        probes: new Map(),
        generator: emptyGenerator(),
      };
      this.#windows.set(aligned, window);
    }
    this.#recentStart = aligned;
    this.#recentWindow = window;
    return window;
  }

  #addToMetric(metrics: Map<string, MutableAggregate>, key: string, type: K6MetricType, value: number): void {
    let aggregate = metrics.get(key);
    if (aggregate === undefined) {
      aggregate = createAggregate(type);
      metrics.set(key, aggregate);
    }
    addSample(aggregate, value);
  }

  #addRequest(window: WindowState, info: TagInfo, durationMs: number): void {
    const failed = info.failed ?? false;
    const name = this.#requestName(info.name);
    let byName = window.requestsByName.get(name);
    if (byName === undefined) {
      byName = createRequests();
      window.requestsByName.set(name, byName);
    }

    for (const requests of [window.requests, byName]) {
      if (failed) {
        requests.failed += 1;
        requests.failedLatency.record(durationMs);
      } else {
        requests.ok += 1;
        requests.okLatency.record(durationMs);
      }
    }
    if (failed && info.failureKind !== undefined) window.failures[info.failureKind] += 1;
    const status = statusKey(info.status);
    window.statuses[status] = (window.statuses[status] ?? 0) + 1;
  }

  #requestName(name: string | undefined): string {
    const key = name ?? '(unnamed)';
    if (this.#knownNames.has(key)) return key;
    if (this.#knownNames.size >= this.#maxRequestNames) return OTHER_NAME;
    this.#knownNames.add(key);
    return key;
  }

  #tagInfo(tagsJson: string): TagInfo {
    // The points of one request come one after another with the same tags string.
    if (tagsJson === this.#lastTagsJson && this.#lastTagInfo !== undefined) return this.#lastTagInfo;
    let info = this.#tagCache.get(tagsJson);
    if (info !== undefined) {
      this.#lastTagsJson = tagsJson;
      this.#lastTagInfo = info;
      return info;
    }

    let tags: Record<string, string> = {};
    try {
      const parsed: unknown = JSON.parse(tagsJson);
      if (parsed !== null && typeof parsed === 'object') tags = parsed as Record<string, string>;
    } catch {
      tags = {};
    }
    const status = tags.status;
    const expected = tags.expected_response;
    let failed: boolean | undefined;
    if (expected !== undefined) failed = expected === 'false';
    else if (status !== undefined) failed = status === '0' || Number(status) >= 400;

    info = {
      tags,
      name: tags.name,
      responseExpected: expected === undefined ? undefined : expected !== 'false',
      failed,
      failureKind: failed ? classifyFailure(status, tags.error_code) : undefined,
      status,
      filterKeys: new Map(),
    };
    // Tag sets repeat for every request of the same name and status, so the cache stays
    // small. A script with unique tags per request would grow it without the reset.
    if (this.#tagCache.size > 20_000) this.#tagCache.clear();
    this.#tagCache.set(detachString(tagsJson), info);
    this.#lastTagsJson = tagsJson;
    this.#lastTagInfo = info;
    return info;
  }

  #filterKeys(info: TagInfo, metric: string): string[] {
    if (this.#filters.length === 0) return [];
    let keys = info.filterKeys.get(metric);
    if (keys === undefined) {
      keys = this.#filters
        .filter((filter) => filter.metric === metric && Object.entries(filter.tags).every(([k, v]) => info.tags[k] === v))
        .map((filter) => filter.key);
      info.filterKeys.set(metric, keys);
    }
    return keys;
  }

  #toRecord(window: WindowState): WindowRecord {
    return {
      schemaVersion: SCHEMA_VERSION,
      runId: this.runId,
      segment: this.segment,
      startMs: window.startMs,
      lengthMs: this.lengthMs,
      metrics: Object.fromEntries([...window.metrics].map(([key, aggregate]) => [key, toJsonAggregate(aggregate)])),
      requests: requestsToJson(window.requests),
      requestsByName: Object.fromEntries([...window.requestsByName].map(([name, r]) => [name, requestsToJson(r)])),
      failures: window.failures,
      statuses: window.statuses,
      checks: window.checks,
      iterations: window.iterations,
      droppedIterations: window.droppedIterations,
      vus: window.vus,
      vusMax: window.vusMax,
      dataSentBytes: window.dataSentBytes,
      dataReceivedBytes: window.dataReceivedBytes,
      probes: Object.fromEntries(window.probes),
      generator: window.generator,
    };
  }
}
