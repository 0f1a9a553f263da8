import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from '../../core/histogram.js';
import type { MetricAggregate } from '../../core/schemas.js';
import {
  AGGREGATIONS_BY_TYPE,
  checkThresholdTypes,
  evaluateThreshold,
  evaluateThresholds,
  normalizeThresholds,
  parseMetricKey,
  parseThreshold,
  ThresholdAggregationError,
  ThresholdSyntaxError,
  type ParsedThreshold,
  type ThresholdAggregation,
} from '../../core/thresholds.js';

function trend(values: number[]): MetricAggregate {
  const histogram = new Histogram();
  for (const value of values) histogram.record(value);
  return { type: 'trend', histogram: histogram.toJSON() };
}

const counter = (sum: number, samples = sum): MetricAggregate => ({ type: 'counter', samples, sum });
const gauge = (min: number, max: number, last: number, samples = 3): MetricAggregate => ({ type: 'gauge', samples, min, max, last });
const rate = (passes: number, total: number): MetricAggregate => ({ type: 'rate', passes, total });

function parse(expression: string, metricKey = 'm'): ParsedThreshold {
  return parseThreshold(metricKey, expression);
}

describe('parseThreshold', () => {
  const valid: Array<[string, ThresholdAggregation, number | null, string, number]> = [
    ['p(99)<1500', 'percentile', 99, '<', 1500],
    ['p(99.9)<=2000', 'percentile', 99.9, '<=', 2000],
    ['p(95) < 800', 'percentile', 95, '<', 800],
    ['  p(0)>=0  ', 'percentile', 0, '>=', 0],
    ['p(100)<5', 'percentile', 100, '<', 5],
    ['avg<200', 'avg', null, '<', 200],
    ['min>1', 'min', null, '>', 1],
    ['max<=3000', 'max', null, '<=', 3000],
    ['med<150', 'med', null, '<', 150],
    ['rate<0.01', 'rate', null, '<', 0.01],
    ['rate>0.95', 'rate', null, '>', 0.95],
    ['rate>=0.99', 'rate', null, '>=', 0.99],
    ['count>100', 'count', null, '>', 100],
    ['count<10', 'count', null, '<', 10],
    ['value<500', 'value', null, '<', 500],
    ['count==0', 'count', null, '==', 0],
    ['count===0', 'count', null, '===', 0],
    ['count!=3', 'count', null, '!=', 3],
    ['rate<1e-3', 'rate', null, '<', 0.001],
    ['value>-5', 'value', null, '>', -5],
    ['avg<.5', 'avg', null, '<', 0.5],
  ];
  for (const [expression, aggregation, percentile, operator, limit] of valid) {
    it(`parses ${JSON.stringify(expression)}`, () => {
      const parsed = parse(expression);
      assert.equal(parsed.aggregation, aggregation);
      assert.equal(parsed.percentile, percentile);
      assert.equal(parsed.operator, operator);
      assert.equal(parsed.limit, limit);
      assert.equal(parsed.expression, expression);
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /no comparison operator/],
    ['p(99)', /no comparison operator/],
    ['p(99)=<1500', /the operator "=<" is invalid/],
    ['p(99)<<1500', /"<1500" after < is not a decimal number/],
    ['p(99)<', /number after < is missing/],
    ['<1500', /aggregation before the operator is missing/],
    ['p99<1500', /unknown aggregation "p99"/],
    ['P(99)<1500', /unknown aggregation "P\(99\)"/],
    ['average<200', /unknown aggregation "average"/],
    ['p( 99 )<1500', /percentile " 99 " in p\(N\) is not a number/],
    ['p()<1500', /percentile "" in p\(N\)/],
    ['p(101)<5', /outside 0 to 100/],
    ['p(-1)<5', /outside 0 to 100/],
    ['p(95)<1500ms', /"1500ms" after < is not a decimal number/],
    ['rate<NaN', /"NaN" after < is not a decimal number/],
    ['rate<Infinity', /"Infinity" after < is not a decimal number/],
    ['rate<0x10', /"0x10" after < is not a decimal number/],
    ['count>1e999', /out of the range of numbers/],
    ['avg<200 && avg>1', /not a decimal number/],
  ];
  for (const [expression, problem] of invalid) {
    it(`rejects ${JSON.stringify(expression)}`, () => {
      assert.throws(
        () => parse(expression),
        (error: unknown) => {
          assert.ok(error instanceof ThresholdSyntaxError);
          assert.match(error.message, problem);
          assert.ok(error.message.includes(JSON.stringify(expression)), 'the message names the expression');
          assert.match(error.message, /A valid example: /);
          return true;
        },
      );
    });
  }
});

it('names the metric key in a syntax error', () => {
  assert.throws(() => parseThreshold('http_req_duration{name:verify}', 'p95<1'), /on http_req_duration\{name:verify\}:/);
});

describe('parseMetricKey', () => {
  it('keeps a plain name without tags', () => {
    assert.deepEqual(parseMetricKey('http_req_duration'), { metricName: 'http_req_duration', tags: {} });
  });

  it('splits tags at commas and first colons', () => {
    const parsed = parseMetricKey('http_req_duration{name:verify, url:http://x/a:b}');
    assert.equal(parsed.metricName, 'http_req_duration');
    assert.deepEqual(parsed.tags, { name: 'verify', url: 'http://x/a:b' });
  });

  const invalid = ['', 'm{name:x', 'mname:x}', 'm}{', 'm{name:x}y', '{name:x}', 'm{}', 'm{name}', 'm{name:}', 'm{:x}'];
  for (const key of invalid) {
    it(`rejects the key ${JSON.stringify(key)}`, () => {
      assert.throws(() => parseMetricKey(key), ThresholdSyntaxError);
    });
  }

  it('keeps the key as written in a parsed threshold', () => {
    const parsed = parseThreshold('http_req_duration{ name: verify }', 'p(95)<800');
    assert.equal(parsed.metricKey, 'http_req_duration{ name: verify }');
    assert.deepEqual(parsed.tags, { name: 'verify' });
  });
});

describe('normalizeThresholds', () => {
  it('flattens strings and objects', () => {
    const list = normalizeThresholds(
      {
        http_req_duration: ['p(99)<1500', { threshold: 'p(95)<800', abortOnFail: true, delayAbortEval: '10s' }],
        'http_req_duration{name:verify}': [{ threshold: 'p(99)<900' }],
        checks: ['rate>0.99'],
      },
      'script',
    );
    assert.deepEqual(
      list.map((t) => [t.metricKey, t.expression, t.abortOnFail, t.delayAbortEvalS, t.source]),
      [
        ['http_req_duration', 'p(99)<1500', false, null, 'script'],
        ['http_req_duration', 'p(95)<800', true, 10, 'script'],
        ['http_req_duration{name:verify}', 'p(99)<900', false, null, 'script'],
        ['checks', 'rate>0.99', false, null, 'script'],
      ],
    );
  });

  it('parses the tag filter of each key', () => {
    const [definition] = normalizeThresholds({ 'http_req_duration{name:verify}': ['p(99)<900'] }, 'request');
    assert.equal(definition?.metricName, 'http_req_duration');
    assert.deepEqual(definition?.tags, { name: 'verify' });
  });

  const delays: Array<[unknown, number | null]> = [
    ['10s', 10],
    ['1m30s', 90],
    ['1h0m0s', 3600],
    ['500ms', 0.5],
    ['1.5s', 1.5],
    ['1d', 86_400],
    ['1d2h', 93_600],
    ['2500', 2.5],
    [2500, 2.5],
    [null, null],
  ];
  for (const [delay, seconds] of delays) {
    it(`reads delayAbortEval ${JSON.stringify(delay)}`, () => {
      const [definition] = normalizeThresholds({ m: [{ threshold: 'count>1', abortOnFail: true, delayAbortEval: delay }] }, 'script');
      assert.equal(definition?.delayAbortEvalS, seconds);
    });
  }

  it('returns nothing for absent options', () => {
    assert.deepEqual(normalizeThresholds(undefined, 'script'), []);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a list', ['p(99)<1'], /must be an object of metric keys/],
    ['a lone string per metric', { m: 'p(99)<1' }, /must be an array/],
    ['a number entry', { m: [5] }, /must be a string or an object/],
    ['an object without threshold', { m: [{ abortOnFail: true }] }, /"threshold" field/],
    ['an unknown field', { m: [{ threshold: 'count>1', abortOnFial: true }] }, /unknown field "abortOnFial"/],
    ['a string abortOnFail', { m: [{ threshold: 'count>1', abortOnFail: 'yes' }] }, /"abortOnFail" must be true or false/],
    ['a bad delay', { m: [{ threshold: 'count>1', delayAbortEval: '10 seconds' }] }, /"delayAbortEval" must be a duration/],
    ['a negative delay', { m: [{ threshold: 'count>1', delayAbortEval: -5 }] }, /"delayAbortEval" must be a duration/],
    ['a bad expression', { m: ['p95<1'] }, /unknown aggregation "p95"/],
    ['a bad key', { 'm{name}': ['count>1'] }, /tag:value/],
  ];
  for (const [label, options, problem] of invalid) {
    it(`rejects ${label}`, () => {
      assert.throws(
        () => normalizeThresholds(options, 'script'),
        (error: unknown) => error instanceof ThresholdSyntaxError && problem.test(error.message),
      );
    });
  }
});

describe('evaluateThreshold', () => {
  const samples = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

  // [metric type, aggregate, expression, expected observed, expected passed]
  const cases: Array<[string, MetricAggregate, string, number, boolean]> = [
    ['counter', counter(120), 'count>100', 120, true],
    ['counter', counter(120), 'count<10', 120, false],
    ['counter', counter(120), 'rate<1', 2, false],
    ['counter', counter(120), 'rate>=2', 2, true],
    ['gauge', gauge(3, 9, 5), 'value<6', 5, true],
    ['gauge', gauge(3, 9, 5), 'min>=3', 3, true],
    ['gauge', gauge(3, 9, 5), 'max<9', 9, false],
    ['rate', rate(98, 100), 'rate>0.95', 0.98, true],
    ['rate', rate(2, 100), 'rate<0.01', 0.02, false],
    ['trend', trend(samples), 'avg<50', 55, false],
    ['trend', trend(samples), 'min>=10', 10, true],
    ['trend', trend(samples), 'max<=100', 100, true],
  ];
  for (const [type, aggregate, expression, observed, passed] of cases) {
    it(`evaluates ${expression} on a ${type}`, () => {
      // 60 s of run time, so a counter of 120 is 2 per second.
      const result = evaluateThreshold(parse(expression), aggregate, 60);
      assert.equal(result.observed, observed);
      assert.equal(result.passed, passed);
    });
  }

  it('reads med and p(N) from the histogram', () => {
    const aggregate = trend(samples);
    // Rank rule q·(n−1): median at rank 4.5 → the 50 ms bucket; p(90) at rank 8.1 → 90 ms.
    const med = evaluateThreshold(parse('med<60'), aggregate, 60);
    const p90 = evaluateThreshold(parse('p(90)<95'), aggregate, 60);
    assert.ok(Math.abs(med.observed! - 50) <= 0.5, `med ${med.observed}`);
    assert.equal(med.passed, true);
    assert.ok(Math.abs(p90.observed! - 90) <= 0.9, `p(90) ${p90.observed}`);
    assert.equal(p90.passed, true);
  });

  const operators: Array<[string, boolean]> = [
    ['count<5', false],
    ['count<=5', true],
    ['count>5', false],
    ['count>=5', true],
    ['count==5', true],
    ['count===5', true],
    ['count!=5', false],
    ['count!=4', true],
  ];
  for (const [expression, passed] of operators) {
    it(`compares ${expression} at the boundary`, () => {
      assert.equal(evaluateThreshold(parse(expression), counter(5), 60).passed, passed);
    });
  }

  it('returns null without an aggregate', () => {
    const result = evaluateThreshold(parse('p(99)<1500', 'http_req_duration'), undefined, 60);
    assert.equal(result.passed, null);
    assert.equal(result.observed, null);
    assert.equal(result.note, 'no samples of metric http_req_duration');
  });

  it('passes a rate without samples, as k6 does', () => {
    const result = evaluateThreshold(parse('rate>0.99', 'checks'), rate(0, 0), 60);
    assert.equal(result.passed, true);
    assert.equal(result.observed, null);
    assert.match(result.note ?? '', /k6 counts a rate threshold without samples as passed/);
  });

  it('returns null for an empty trend', () => {
    const result = evaluateThreshold(parse('p(95)<800'), trend([]), 60);
    assert.equal(result.passed, null);
  });

  it('returns null for a gauge without samples', () => {
    const result = evaluateThreshold(parse('value<1'), gauge(0, 0, 0, 0), 60);
    assert.equal(result.passed, null);
  });

  it('compares count 0 on an empty counter', () => {
    const result = evaluateThreshold(parse('count>0'), counter(0), 60);
    assert.equal(result.observed, 0);
    assert.equal(result.passed, false);
  });

  it('returns null for a counter rate over zero time', () => {
    const result = evaluateThreshold(parse('rate<5'), counter(10), 0);
    assert.equal(result.passed, null);
    assert.match(result.note ?? '', /0 s/);
  });

  it('rejects a negative duration', () => {
    assert.throws(() => evaluateThreshold(parse('rate<5'), counter(10), -1), RangeError);
  });

  it('notes a percentile within the histogram error', () => {
    const result = evaluateThreshold(parse('p(50)<100.5'), trend([100, 100, 100]), 60);
    assert.match(result.note ?? '', /uncertain/);
  });

  it('adds no note far from the limit', () => {
    const result = evaluateThreshold(parse('p(50)<200'), trend([100, 100, 100]), 60);
    assert.equal(result.note, null);
  });

  const examples: Record<MetricAggregate['type'], MetricAggregate> = {
    counter: counter(1),
    gauge: gauge(1, 1, 1),
    rate: rate(1, 1),
    trend: trend([1]),
  };
  const expressions: Record<ThresholdAggregation, string> = {
    count: 'count>0',
    rate: 'rate>0',
    value: 'value>0',
    avg: 'avg>0',
    min: 'min>0',
    max: 'max>0',
    med: 'med>0',
    percentile: 'p(95)>0',
  };
  for (const [type, aggregate] of Object.entries(examples) as Array<[MetricAggregate['type'], MetricAggregate]>) {
    for (const [aggregation, expression] of Object.entries(expressions) as Array<[ThresholdAggregation, string]>) {
      const allowed = AGGREGATIONS_BY_TYPE[type].includes(aggregation);
      it(`${allowed ? 'accepts' : 'rejects'} ${aggregation} on a ${type}`, () => {
        const evaluate = () => evaluateThreshold(parse(expression, 'my_metric'), aggregate, 60);
        if (allowed) {
          assert.equal(evaluate().passed, true);
        } else {
          assert.throws(evaluate, (error: unknown) => {
            assert.ok(error instanceof ThresholdAggregationError);
            assert.match(error.message, new RegExp(`my_metric is a ${type} metric, which supports only`));
            return true;
          });
        }
      });
    }
  }
});

describe('evaluateThresholds', () => {
  const definitions = normalizeThresholds(
    {
      http_req_duration: [{ threshold: 'p(99)<500', abortOnFail: true }],
      http_req_failed: ['rate<0.01', 'p(95)<1'],
      missing_metric: ['count>0'],
    },
    'script',
  );
  const minute = (latencies: number[], failed: number, total: number) => ({
    metrics: { http_req_duration: trend(latencies), http_req_failed: rate(failed, total) },
    durationS: 60,
  });
  const results = evaluateThresholds(definitions, {
    merged: {
      http_req_duration: trend([100, 100, 900, 900]),
      http_req_failed: rate(1, 300),
    },
    durationS: 180,
    perMinute: [minute([100, 100], 0, 100), minute([900, 900], 1, 100), minute([100, 100], 0, 0)],
  });

  it('returns one result per threshold', () => {
    assert.equal(results.length, 4);
  });

  it('keeps the metric key and abortOnFail', () => {
    assert.equal(results[0]?.metric, 'http_req_duration');
    assert.equal(results[0]?.abortOnFail, true);
  });

  it('fails the merged p(99) above the limit', () => {
    assert.equal(results[0]?.passed, false);
  });

  it('counts the minutes that failed alone', () => {
    assert.equal(results[0]?.failedMinutes, 1);
  });

  it('passes the merged rate below the limit', () => {
    assert.equal(results[1]?.passed, true);
  });

  it('counts a failing minute of a passing run', () => {
    // The second minute alone has 1 failure in 100 requests, not below 0.01.
    assert.equal(results[1]?.failedMinutes, 1);
  });

  it('reports a wrong aggregation as null with the error', () => {
    assert.equal(results[2]?.passed, null);
    assert.match(results[2]?.note ?? '', /http_req_failed is a rate metric/);
  });

  it('reports a missing metric as null', () => {
    assert.equal(results[3]?.passed, null);
    assert.equal(results[3]?.note, 'no samples of metric missing_metric');
  });

  it('skips minutes without samples of a rate', () => {
    // Minutes 1 and 2 fail rate>0.5; minute 3 has no samples and passes, as in k6.
    const [result] = evaluateThresholds(normalizeThresholds({ http_req_failed: ['rate>0.5'] }, 'slo'), {
      merged: { http_req_failed: rate(1, 300) },
      durationS: 180,
      perMinute: [minute([1], 0, 100), minute([1], 1, 100), minute([1], 0, 0)],
    });
    assert.equal(result?.failedMinutes, 2);
  });
});

describe('checkThresholdTypes', () => {
  it('lists thresholds that do not fit their metric', () => {
    const definitions = normalizeThresholds({ http_req_failed: ['p(95)<1', 'rate<0.01'], absent: ['avg<1'] }, 'request');
    const errors = checkThresholdTypes(definitions, { http_req_failed: rate(0, 10) });
    assert.deepEqual(
      errors.map((error) => error.expression),
      ['p(95)<1'],
    );
  });
});
