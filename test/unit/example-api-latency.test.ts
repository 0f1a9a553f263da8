// The example API's base latency (--base-latency-ms) and the rounding of fractional delays.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { parseCommandLine } from '../../examples/sigil-api/cli.js';
import { FaultController, wholeDelayMs } from '../../examples/sigil-api/faults.js';
import { ExampleApiOptionError, resolveOptions, startExampleApi, type ExampleApi, type StartExampleApiOptions } from '../../examples/sigil-api/index.js';

const SIGILS = '/sigil/api/consciousness/sigils';
const STATIC_AUTH = { authorization: 'Bearer demo-token' };

async function startApi(t: TestContext, options: StartExampleApiOptions): Promise<ExampleApi> {
  const api = await startExampleApi({ port: 0, ...options });
  t.after(() => api.close());
  return api;
}

async function timedMs(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - start };
}

/** Seeded uniform draws in [0, 1), so the rounding tests are repeatable. */
function draws(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

test('base latency defaults to 0', () => {
  assert.equal(resolveOptions({}).baseLatencyMs, 0);
  assert.equal(resolveOptions({ baseLatencyMs: 0.5 }).baseLatencyMs, 0.5);
  assert.equal(resolveOptions({ baseLatencyMs: 60000 }).baseLatencyMs, 60000);
});

test('invalid base latency is rejected', () => {
  for (const value of [-1, 60000.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => resolveOptions({ baseLatencyMs: value }),
      (error: unknown) => {
        assert.ok(error instanceof ExampleApiOptionError);
        assert.equal(error.option, 'baseLatencyMs');
        assert.match(error.message, /^Invalid baseLatencyMs .+: use a number from 0 to 60000\.$/);
        return true;
      },
    );
  }
  assert.throws(() => resolveOptions({ baseLatencyMs: '5' as unknown as number }), /Invalid baseLatencyMs "5"/);
});

test('--base-latency-ms switch is parsed', () => {
  assert.deepEqual(parseCommandLine(['--base-latency-ms', '50']), { baseLatencyMs: 50 });
  assert.deepEqual(parseCommandLine(['--base-latency-ms', '0.25', '--drift-ms-per-min', '2']), { baseLatencyMs: 0.25, driftMsPerMin: 2 });
  assert.throws(() => parseCommandLine(['--base-latency-ms', '70000']), /^ExampleApiOptionError: Invalid --base-latency-ms 70000: use a number from 0 to 60000\.$/);
  assert.throws(() => parseCommandLine(['--base-latency-ms', '-5']), /Invalid --base-latency-ms "-5": use a number from 0 to 60000 in plain decimal notation/);
  assert.throws(() => parseCommandLine(['--base-latency-ms', 'fast']), /Invalid --base-latency-ms "fast"/);
});

test('whole delays pass unchanged', () => {
  const never = () => assert.fail('an integer delay needs no draw');
  assert.equal(wholeDelayMs(0, never), 0);
  assert.equal(wholeDelayMs(-3, never), 0);
  assert.equal(wholeDelayMs(Number.NaN, never), 0);
  assert.equal(wholeDelayMs(7, never), 7);
});

test('fractional delay keeps its mean', () => {
  assert.equal(wholeDelayMs(0.3, () => 0.29), 1);
  assert.equal(wholeDelayMs(0.3, () => 0.3), 0);
  assert.equal(wholeDelayMs(50.75, () => 0.5), 51);
  assert.equal(wholeDelayMs(50.75, () => 0.8), 50);

  // The mean over many requests keeps the fraction that a plain truncation would drop.
  for (const ms of [0.3, 0.05, 100.4]) {
    const draw = draws(17);
    const count = 20_000;
    let sum = 0;
    for (let index = 0; index < count; index += 1) {
      const delay = wholeDelayMs(ms, draw);
      assert.ok(delay === Math.floor(ms) || delay === Math.floor(ms) + 1, `delay ${delay} for ${ms}`);
      sum += delay;
    }
    // The standard error of the mean is at most 0.5 / sqrt(20000), about 0.0035 ms.
    assert.ok(Math.abs(sum / count - ms) < 0.015, `mean ${sum / count} for ${ms}`);
  }
});

test('response delay adds base and drift', () => {
  const logger = pino({ level: 'silent' });
  const hooks = { onRestart: () => {}, onDown: () => {}, onUp: () => {} };
  const flat = new FaultController(resolveOptions({ baseLatencyMs: 40 }), logger, hooks);
  assert.equal(flat.responseDelayMs(), 40);

  // 60000 ms per minute is 1 ms per ms of uptime, so the delay is 40 ms plus the uptime in ms.
  const drifting = new FaultController(resolveOptions({ baseLatencyMs: 40, driftMsPerMin: 60000 }), logger, hooks);
  const before = drifting.uptimeS() * 1000;
  const delay = drifting.responseDelayMs();
  const after = drifting.uptimeS() * 1000;
  assert.ok(delay >= 40 + before, `delay ${delay} below ${40 + before}`);
  assert.ok(delay <= 40 + after, `delay ${delay} above ${40 + after}`);
});

test('base latency delays API requests only', async (t) => {
  const api = await startApi(t, { baseLatencyMs: 150 });
  const first = await timedMs(`${api.url}${SIGILS}`, STATIC_AUTH);
  assert.equal(first.status, 200);
  assert.ok(first.ms >= 145, `API request took ${first.ms.toFixed(1)} ms`);

  const health = await timedMs(`${api.url}/healthz`);
  assert.equal(health.status, 200);
  assert.ok(health.ms < 100, `health check took ${health.ms.toFixed(1)} ms`);
  const metrics = await timedMs(`${api.url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.ok(metrics.ms < 100, `metrics scrape took ${metrics.ms.toFixed(1)} ms`);

  // A request without a valid token is rejected before any delay.
  const rejected = await timedMs(`${api.url}${SIGILS}`);
  assert.equal(rejected.status, 401);
  assert.ok(rejected.ms < 100, `rejected request took ${rejected.ms.toFixed(1)} ms`);
});

test('default API request is not delayed', async (t) => {
  const api = await startApi(t, {});
  const res = await timedMs(`${api.url}${SIGILS}`, STATIC_AUTH);
  assert.equal(res.status, 200);
  assert.ok(res.ms < 100, `API request took ${res.ms.toFixed(1)} ms`);
});
