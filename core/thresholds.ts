/**
 * k6 threshold expressions: parsing, normalization of k6's `options.thresholds`
 * forms, and evaluation on the runner's own aggregates.
 *
 * The grammar, the aggregations per metric type and the operators follow k6 v2.2.0
 * (`metrics/thresholds_parser.go`, `metrics/thresholds.go` and `metrics/metric_type.go`
 * in grafana/k6). The runner starts k6 with `--no-thresholds`, so k6 never checks
 * these expressions itself and this module is the only validator.
 */
import { Histogram, RELATIVE_ACCURACY } from './histogram.js';
import type { ThresholdResult } from './report-schema.js';
import type { MetricAggregate } from './schemas.js';

export const THRESHOLD_OPERATORS = ['<', '<=', '>', '>=', '==', '===', '!='] as const;
export type ThresholdOperator = (typeof THRESHOLD_OPERATORS)[number];

export type ThresholdAggregation = 'count' | 'rate' | 'value' | 'avg' | 'min' | 'max' | 'med' | 'percentile';
export type MetricType = MetricAggregate['type'];
export type ThresholdSource = ThresholdResult['source'];

/**
 * Aggregations each metric type accepts. k6 v2.2.0 accepts only `value` on a gauge.
 * This runner also accepts `min` and `max` there, because its gauge aggregates keep both.
 */
export const AGGREGATIONS_BY_TYPE: Readonly<Record<MetricType, readonly ThresholdAggregation[]>> = {
  counter: ['count', 'rate'],
  gauge: ['value', 'min', 'max'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'percentile'],
};

/** A threshold expression such as `p(99)<1500`, parsed, with the metric it applies to. */
export interface ParsedThreshold {
  /** The key exactly as written, such as `http_req_duration{name:verify}`. */
  metricKey: string;
  metricName: string;
  tags: Record<string, string>;
  /** The expression exactly as written. */
  expression: string;
  aggregation: ThresholdAggregation;
  /** N of `p(N)`, from 0 to 100, or null for other aggregations. */
  percentile: number | null;
  operator: ThresholdOperator;
  limit: number;
}

/** One entry of the flat threshold list, from any of k6's option forms. */
export interface ThresholdDefinition extends ParsedThreshold {
  abortOnFail: boolean;
  /** k6's `delayAbortEval` in seconds, or null when not set. */
  delayAbortEvalS: number | null;
  source: ThresholdSource;
}

export interface ThresholdEvaluation {
  /** The aggregate the expression compares; null when there is none to compare. */
  observed: number | null;
  /** Null when the expression could not be judged, with the reason in `note`. */
  passed: boolean | null;
  note: string | null;
}

/** Aggregates of one minute, with the time they cover (shorter at the run's edges). */
export interface MinuteAggregates {
  metrics: Readonly<Record<string, MetricAggregate>>;
  durationS: number;
}

export interface ThresholdData {
  /** Aggregates of the whole run per metric key. */
  merged: Readonly<Record<string, MetricAggregate>>;
  /** Time the run covered, which `rate` on a counter divides by. */
  durationS: number;
  perMinute: readonly MinuteAggregates[];
}

const EXAMPLE_EXPRESSION = 'p(99)<1500';

/** Invalid threshold syntax: an expression, a metric key or an option entry. */
export class ThresholdSyntaxError extends Error {
  readonly metricKey: string | null;

  constructor(
    /** The expression, key or entry (as JSON) that is invalid. */
    readonly expression: string,
    readonly problem: string,
    readonly example: string = EXAMPLE_EXPRESSION,
    metricKey: string | null = null,
  ) {
    const where = metricKey === null ? '' : ` on ${metricKey}`;
    super(`Invalid threshold ${JSON.stringify(expression)}${where}: ${problem}. A valid example: ${example}`);
    this.name = 'ThresholdSyntaxError';
    this.metricKey = metricKey;
  }
}

/** A valid expression whose aggregation does not apply to the metric's type, such as `p(95)` on a rate. */
export class ThresholdAggregationError extends Error {
  constructor(
    readonly metricKey: string,
    readonly expression: string,
    readonly metricType: MetricType,
  ) {
    const allowed = AGGREGATIONS_BY_TYPE[metricType].map((name) => (name === 'percentile' ? 'p(N)' : name));
    super(
      `Invalid threshold ${JSON.stringify(expression)} on ${metricKey}: ${metricKey} is a ${metricType} metric, ` +
        `which supports only ${allowed.join(', ')}. Use for example ${JSON.stringify(exampleFor(metricType))}.`,
    );
    this.name = 'ThresholdAggregationError';
  }
}

function exampleFor(type: MetricType): string {
  const examples: Record<MetricType, string> = {
    counter: 'count>100',
    gauge: 'value<500',
    rate: 'rate<0.01',
    trend: EXAMPLE_EXPRESSION,
  };
  return examples[type];
}

// ---------------------------------------------------------------- parsing

const NUMBER_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const PERCENTILE_PATTERN = /^p\((.*)\)$/;
const SIMPLE_AGGREGATIONS = new Set<string>(['count', 'rate', 'value', 'avg', 'min', 'max', 'med']);

/**
 * Parses one expression of the form `aggregation operator number`, spaces allowed
 * between the three parts, for the metric `metricKey`. Throws ThresholdSyntaxError.
 * Numbers are decimal, optionally signed or with an exponent (k6 reads them with Go's
 * ParseFloat); NaN, Infinity and hexadecimal are rejected.
 */
export function parseThreshold(metricKey: string, expression: string): ParsedThreshold {
  const { metricName, tags } = parseMetricKey(metricKey);
  const fail = (problem: string, example?: string): never => {
    throw new ThresholdSyntaxError(expression, problem, example, metricKey);
  };

  const match = /^\s*([^<>=!]*?)\s*(===|==|!=|<=|>=|<|>)\s*(.*?)\s*$/.exec(expression);
  if (match === null) {
    const symbols = /[<>=!]+/.exec(expression)?.[0];
    const allowed = `use one of ${THRESHOLD_OPERATORS.join(' ')}`;
    return fail(symbols === undefined ? `no comparison operator found; ${allowed}` : `the operator ${JSON.stringify(symbols)} is invalid; ${allowed}`);
  }
  const [, left = '', operator = '', right = ''] = match;

  if (left === '') fail('the aggregation before the operator is missing');
  const { aggregation, percentile } = parseAggregation(left, fail);

  if (right === '') fail(`the number after ${operator} is missing`);
  if (!NUMBER_PATTERN.test(right)) fail(`${JSON.stringify(right)} after ${operator} is not a decimal number`);
  const limit = Number(right);
  if (!Number.isFinite(limit)) fail(`${right} is out of the range of numbers`);

  return {
    metricKey,
    metricName,
    tags,
    expression,
    aggregation,
    percentile,
    operator: operator as ThresholdOperator,
    limit,
  };
}

function parseAggregation(
  text: string,
  fail: (problem: string, example?: string) => never,
): { aggregation: ThresholdAggregation; percentile: number | null } {
  if (SIMPLE_AGGREGATIONS.has(text)) return { aggregation: text as ThresholdAggregation, percentile: null };

  const percentileMatch = PERCENTILE_PATTERN.exec(text);
  if (percentileMatch === null) {
    return fail(`unknown aggregation ${JSON.stringify(text)}; use count, rate, value, avg, min, max, med or p(N)`);
  }
  const inner = percentileMatch[1] ?? '';
  if (!NUMBER_PATTERN.test(inner)) {
    fail(`the percentile ${JSON.stringify(inner)} in p(N) is not a number without spaces`, 'p(99.9)<2000');
  }
  const percentile = Number(inner);
  if (!(percentile >= 0 && percentile <= 100)) fail(`the percentile ${inner} is outside 0 to 100`, 'p(99.9)<2000');
  return { aggregation: 'percentile', percentile };
}

/**
 * Splits `metric{tag:value,tag2:value2}` into the metric name and its tag filter, with
 * the rules of k6's ParseMetricName: tags split at commas, each at its first colon, and
 * a tag needs a value. Throws ThresholdSyntaxError.
 */
export function parseMetricKey(metricKey: string): { metricName: string; tags: Record<string, string> } {
  const example = 'http_req_duration{name:verify}';
  const open = metricKey.indexOf('{');
  const close = metricKey.lastIndexOf('}');
  if (open < 0 && close < 0) {
    if (metricKey.trim() === '') throw new ThresholdSyntaxError(metricKey, 'the metric name is empty', example);
    return { metricName: metricKey, tags: {} };
  }
  if (open < 0 || close < 0 || close < open) {
    throw new ThresholdSyntaxError(metricKey, 'the metric key has an unmatched curly brace', example);
  }
  if (close !== metricKey.length - 1) {
    throw new ThresholdSyntaxError(metricKey, 'the tag filter must end the metric key with "}"', example);
  }

  const metricName = metricKey.slice(0, open);
  if (metricName.trim() === '') throw new ThresholdSyntaxError(metricKey, 'the metric name before "{" is empty', example);

  const tags: Record<string, string> = {};
  for (const pair of metricKey.slice(open + 1, close).split(',')) {
    const colon = pair.indexOf(':');
    const tag = colon < 0 ? pair.trim() : pair.slice(0, colon).trim();
    const value = colon < 0 ? '' : pair.slice(colon + 1).trim();
    if (tag === '' || value === '') {
      throw new ThresholdSyntaxError(metricKey, `the tag filter ${JSON.stringify(pair.trim())} is not of the form tag:value`, example);
    }
    tags[tag] = value;
  }
  return { metricName, tags };
}

/**
 * Flattens k6's threshold options into one definition per expression, parsing each.
 * Takes the object `k6 inspect` prints under `thresholds`: per metric key, an array
 * of strings or of `{ threshold, abortOnFail?, delayAbortEval? }` objects. A
 * `delayAbortEval` is a k6 duration (`"10s"`, `"1m30s"`, `"1d"`), a plain number of
 * milliseconds, or null. Throws ThresholdSyntaxError naming the offending entry.
 */
export function normalizeThresholds(options: unknown, source: ThresholdSource): ThresholdDefinition[] {
  if (options === undefined || options === null) return [];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ThresholdSyntaxError(
      String(JSON.stringify(options)),
      'thresholds must be an object of metric keys',
      `{"http_req_duration": ["${EXAMPLE_EXPRESSION}"]}`,
    );
  }

  const definitions: ThresholdDefinition[] = [];
  for (const [metricKey, entries] of Object.entries(options)) {
    if (!Array.isArray(entries)) {
      throw new ThresholdSyntaxError(
        String(JSON.stringify(entries)),
        'the thresholds of a metric must be an array',
        `{"${metricKey}": ["${EXAMPLE_EXPRESSION}"]}`,
        metricKey,
      );
    }
    for (const entry of entries) definitions.push(normalizeEntry(metricKey, entry, source));
  }
  return definitions;
}

const OBJECT_EXAMPLE = `{"threshold": "${EXAMPLE_EXPRESSION}", "abortOnFail": true, "delayAbortEval": "10s"}`;

function normalizeEntry(metricKey: string, entry: unknown, source: ThresholdSource): ThresholdDefinition {
  if (typeof entry === 'string') {
    return { ...parseThreshold(metricKey, entry), abortOnFail: false, delayAbortEvalS: null, source };
  }
  const fail = (problem: string): never => {
    throw new ThresholdSyntaxError(String(JSON.stringify(entry)), problem, OBJECT_EXAMPLE, metricKey);
  };

  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return fail('an entry must be a string or an object');
  const record = entry as Record<string, unknown>;
  if (typeof record.threshold !== 'string') return fail('the "threshold" field must be a string');

  const unknownFields = Object.keys(record).filter((field) => !['threshold', 'abortOnFail', 'delayAbortEval'].includes(field));
  if (unknownFields.length > 0) fail(`unknown field ${unknownFields.map((field) => JSON.stringify(field)).join(', ')}`);

  const abortOnFail = record.abortOnFail ?? false;
  if (typeof abortOnFail !== 'boolean') return fail('"abortOnFail" must be true or false');

  const delayAbortEvalS = parseDelayAbortEval(record.delayAbortEval);
  if (delayAbortEvalS === undefined) {
    return fail('"delayAbortEval" must be a duration such as "10s", "1m30s" or "1d", or a number of milliseconds');
  }

  return { ...parseThreshold(metricKey, record.threshold), abortOnFail, delayAbortEvalS, source };
}

/**
 * Reads k6's `delayAbortEval` into seconds, with the rules of k6's ParseExtendedDuration.
 * Returns null when it is not set and undefined when it is invalid.
 */
function parseDelayAbortEval(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value / 1000 : undefined;
  if (typeof value !== 'string') return undefined;

  const seconds = parseK6Duration(value.trim());
  return seconds === null || seconds < 0 ? undefined : seconds;
}

const DURATION_UNITS_S: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

/** Parses a number of milliseconds, or `[<days>d]` followed by a Go duration (`1h2m3.5s`, `500ms`). */
function parseK6Duration(text: string): number | null {
  if (NUMBER_PATTERN.test(text)) return Number(text) / 1000;

  const dayMatch = /^(\d+)d(.*)$/.exec(text);
  const days = dayMatch ? Number(dayMatch[1]) : 0;
  const rest = dayMatch ? (dayMatch[2] ?? '') : text;
  if (rest === '') return dayMatch ? days * 86_400 : null;

  let seconds = 0;
  let consumed = 0;
  for (const part of rest.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)/g)) {
    if (part.index !== consumed) return null;
    seconds += Number(part[1]) * DURATION_UNITS_S[part[2]!]!;
    consumed += part[0].length;
  }
  if (consumed !== rest.length) return null;
  return days * 86_400 + seconds;
}

// ---------------------------------------------------------------- evaluation

/**
 * Evaluates one threshold on one aggregate, the way k6 evaluates it at the end of a test.
 *
 * - No aggregate at all: passed is null, because nothing was measured.
 * - A rate metric with no samples: passed is true with observed null, as in k6 v2.2.0,
 *   which leaves the rate out and counts the threshold as passed.
 * - A trend or gauge with no samples: passed is null (k6 would compare 0).
 * - A counter: `count` is the sum, `rate` the sum per second of `durationS`.
 * - Trend quantiles come from the log-bucket histogram, within its 1 % relative error.
 *   The note mentions it when the limit is that close.
 *
 * Throws ThresholdAggregationError when the aggregation does not apply to the type.
 */
export function evaluateThreshold(
  parsed: ParsedThreshold,
  aggregate: MetricAggregate | undefined,
  durationS: number,
): ThresholdEvaluation {
  if (!(durationS >= 0 && Number.isFinite(durationS))) {
    throw new RangeError(`durationS must be a finite number >= 0, got ${durationS}`);
  }
  if (aggregate === undefined) {
    return { observed: null, passed: null, note: `no samples of metric ${parsed.metricKey}` };
  }
  if (!AGGREGATIONS_BY_TYPE[aggregate.type].includes(parsed.aggregation)) {
    throw new ThresholdAggregationError(parsed.metricKey, parsed.expression, aggregate.type);
  }

  const observed = observe(parsed, aggregate, durationS);
  if (observed.value === null) {
    const passed = aggregate.type === 'rate' ? true : null;
    return { observed: null, passed, note: observed.reason };
  }

  const passed = compare(observed.value, parsed.operator, parsed.limit);
  const estimated = parsed.aggregation === 'percentile' || parsed.aggregation === 'med';
  const near = Math.abs(observed.value - parsed.limit) <= RELATIVE_ACCURACY * Math.abs(parsed.limit);
  const note = estimated && near
    ? `${formatValue(observed.value)} is within the histogram's ${RELATIVE_ACCURACY * 100} % error of the limit ${parsed.limit}, so the outcome is uncertain`
    : null;
  return { observed: observed.value, passed, note };
}

type Observation = { value: number; reason: null } | { value: null; reason: string };

function observe(parsed: ParsedThreshold, aggregate: MetricAggregate, durationS: number): Observation {
  const key = parsed.metricKey;
  switch (aggregate.type) {
    case 'counter':
      if (parsed.aggregation === 'count') return { value: aggregate.sum, reason: null };
      if (durationS === 0) return { value: null, reason: `the time covered is 0 s, so ${key} has no count per second` };
      return { value: aggregate.sum / durationS, reason: null };

    case 'gauge':
      if (aggregate.samples === 0) return { value: null, reason: `no samples of metric ${key}` };
      if (parsed.aggregation === 'min') return { value: aggregate.min, reason: null };
      if (parsed.aggregation === 'max') return { value: aggregate.max, reason: null };
      return { value: aggregate.last, reason: null };

    case 'rate':
      if (aggregate.total === 0) {
        return { value: null, reason: `no samples of rate metric ${key}, and k6 counts a rate threshold without samples as passed` };
      }
      return { value: aggregate.passes / aggregate.total, reason: null };

    case 'trend': {
      const histogram = Histogram.fromJSON(aggregate.histogram);
      const value = trendValue(parsed, histogram);
      return value === null ? { value: null, reason: `no samples of metric ${key}` } : { value, reason: null };
    }
  }
}

function trendValue(parsed: ParsedThreshold, histogram: Histogram): number | null {
  if (histogram.count === 0) return null;
  switch (parsed.aggregation) {
    case 'avg':
      return histogram.mean();
    case 'min':
      return histogram.min;
    case 'max':
      return histogram.max;
    case 'med':
      return histogram.quantile(0.5);
    default:
      return histogram.quantile((parsed.percentile ?? 0) / 100);
  }
}

function compare(observed: number, operator: ThresholdOperator, limit: number): boolean {
  switch (operator) {
    case '<':
      return observed < limit;
    case '<=':
      return observed <= limit;
    case '>':
      return observed > limit;
    case '>=':
      return observed >= limit;
    case '==':
    case '===':
      return observed === limit;
    case '!=':
      return observed !== limit;
  }
}

/**
 * Evaluates every threshold on the whole run and on each minute alone. `failedMinutes`
 * counts minutes whose own aggregate failed the expression. Minutes without samples
 * count as not failed.
 *
 * A threshold whose aggregation does not fit the metric's type gets passed null and
 * the ThresholdAggregationError message as its note, so one bad threshold cannot stop
 * the report. Callers that need to raise it can run `checkThresholdTypes` first.
 */
export function evaluateThresholds(definitions: readonly ThresholdDefinition[], data: ThresholdData): ThresholdResult[] {
  return definitions.map((definition) => {
    const base = {
      metric: definition.metricKey,
      expression: definition.expression,
      abortOnFail: definition.abortOnFail,
      source: definition.source,
    };
    try {
      const evaluation = evaluateThreshold(definition, data.merged[definition.metricKey], data.durationS);
      const failedMinutes = countFailedMinutes(definition, data.perMinute);
      return { ...base, observed: evaluation.observed, passed: evaluation.passed, failedMinutes, note: evaluation.note };
    } catch (error) {
      if (!(error instanceof ThresholdAggregationError)) throw error;
      return { ...base, observed: null, passed: null, failedMinutes: 0, note: error.message };
    }
  });
}

function countFailedMinutes(definition: ParsedThreshold, perMinute: readonly MinuteAggregates[]): number {
  let failed = 0;
  for (const minute of perMinute) {
    const aggregate = minute.metrics[definition.metricKey];
    if (aggregate === undefined) continue;
    if (evaluateThreshold(definition, aggregate, minute.durationS).passed === false) failed++;
  }
  return failed;
}

/**
 * Returns one ThresholdAggregationError per threshold whose aggregation does not fit
 * the type of its metric in `merged`. Metrics without an aggregate are skipped, since
 * their type is unknown.
 */
export function checkThresholdTypes(
  definitions: readonly ParsedThreshold[],
  merged: Readonly<Record<string, MetricAggregate>>,
): ThresholdAggregationError[] {
  const errors: ThresholdAggregationError[] = [];
  for (const definition of definitions) {
    const aggregate = merged[definition.metricKey];
    if (aggregate === undefined) continue;
    if (!AGGREGATIONS_BY_TYPE[aggregate.type].includes(definition.aggregation)) {
      errors.push(new ThresholdAggregationError(definition.metricKey, definition.expression, aggregate.type));
    }
  }
  return errors;
}

function formatValue(value: number): string {
  return Number(value.toPrecision(4)).toString();
}
