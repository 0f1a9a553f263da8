import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseEnvConfig } from '../../core/config.js';
import { buildManifest, deriveRunId, planSegments, RequestValidationError, validateRunRequest, CLI_FIELD_NAMES } from '../../core/plan.js';

function fractionValue(text: string): number {
  if (text === '0' || text === '1') return Number(text);
  const [numerator, denominator] = text.split('/').map(Number);
  return numerator! / denominator!;
}

test('segments tile zero to one for any count', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), (count) => {
      const segments = planSegments(count, 1000);
      assert.equal(segments.length, count);
      let previousEnd = 0;
      for (const segment of segments) {
        const [start, end] = segment.executionSegment.split(':').map(fractionValue);
        assert.ok(Math.abs(start! - previousEnd) < 1e-12, `segment ${segment.index} starts at ${start}, expected ${previousEnd}`);
        assert.ok(end! > start!);
        previousEnd = end!;
      }
      assert.equal(previousEnd, 1);
      assert.equal(new Set(segments.map((segment) => segment.sequence)).size, 1);
      const sequence = segments[0]!.sequence.split(',').map(fractionValue);
      assert.equal(sequence.length, count + 1);
    }),
  );
});

test('one segment covers the whole run', () => {
  assert.equal(planSegments(1, 10)[0]!.executionSegment, '0:1');
});

test('planned rates add up to the request rate', () => {
  const total = planSegments(7, 700).reduce((sum, segment) => sum + segment.plannedRate, 0);
  assert.ok(Math.abs(total - 700) < 1e-9);
});

const config = parseEnvConfig({ limits: { maxRate: 500, maxDurationS: 3600, maxSegments: 4 }, targetAllowlist: ['127.0.0.1'] }, null);
const valid = { env: 'staging', target: 'http://127.0.0.1:3000', scenario: 'sigil', rate: 100, durationS: 600, segments: 2 };

function problemsOf(input: Record<string, unknown>): string[] {
  try {
    validateRunRequest(input, config, CLI_FIELD_NAMES);
  } catch (error) {
    assert.ok(error instanceof RequestValidationError);
    return error.problems;
  }
  return [];
}

test('valid request passes validation', () => {
  assert.equal(validateRunRequest(valid, config).rate, 100);
});

test('out of range rate names the option and range', () => {
  const [problem] = problemsOf({ ...valid, rate: 0 });
  assert.match(problem!, /^--rate: 0 is invalid; allowed 1\.\.100000/);
});

test('rate above the env limit names the limit', () => {
  assert.match(problemsOf({ ...valid, rate: 900 })[0]!, /--rate: 900 is above the limit of env "staging"; allowed 1\.\.500/);
});

test('duration above the env limit is rejected', () => {
  assert.match(problemsOf({ ...valid, durationS: 7200 })[0]!, /--duration: 2h0m0s is above the limit/);
});

test('target outside the allowlist is rejected', () => {
  assert.match(problemsOf({ ...valid, target: 'http://10.1.2.3/' })[0]!, /host "10\.1\.2\.3" is not in the allowlist/);
});

test('unknown fields are rejected by name', () => {
  assert.match(problemsOf({ ...valid, colour: 'blue' })[0]!, /colour: unknown field/);
});

test('scheduled run ids derive from the scheduled time', () => {
  const a = deriveRunId({ nowMs: 1, scheduledTime: '2026-12-04T01:00:00Z' });
  const b = deriveRunId({ nowMs: 999_999, scheduledTime: '2026-12-04T01:00:00Z' });
  assert.equal(a, 'nightly-20261204T010000Z');
  assert.equal(a, b);
});

test('ad hoc run ids differ', () => {
  assert.notEqual(deriveRunId({ nowMs: 0 }), deriveRunId({ nowMs: 0 }));
});

test('manifest merges thresholds with request overrides last', () => {
  const request = validateRunRequest({ ...valid, thresholds: { http_req_failed: ['rate<0.05'] } }, config);
  const manifest = buildManifest({
    runId: 'r1',
    request,
    config,
    scenario: { name: 'sigil', path: '/x', hash: null, bundled: true, thresholds: { http_req_failed: ['rate<0.01'], checks: ['rate>0.9'] } },
    nowMs: 1000,
  });
  assert.deepEqual(manifest.thresholds.http_req_failed, ['rate<0.05']);
  assert.deepEqual(manifest.thresholds.checks, ['rate>0.9']);
  assert.ok(manifest.deadlineMs > 1000 + 600_000);
});
