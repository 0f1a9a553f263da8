import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test, type TestContext } from 'node:test';
import { parseCommandLine } from '../../examples/sigil-api/cli.js';
import { ExampleApiOptionError, startExampleApi, type ExampleApi, type StartExampleApiOptions } from '../../examples/sigil-api/index.js';

const MIB = 1024 * 1024;
const SIGILS = '/sigil/api/consciousness/sigils';
const TOKEN_PATH = '/sigil/api/auth/token';
const STATIC_AUTH = { authorization: 'Bearer demo-token' };
const SERVER_SCRIPT = fileURLToPath(new URL('../../examples/sigil-api/server.ts', import.meta.url));

// The heap checks compare floors after a full collection, as the soak runner's probe does.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

async function startApi(t: TestContext, options: StartExampleApiOptions = {}): Promise<ExampleApi & { startedAt: number }> {
  const api = await startExampleApi({ port: 0, ...options });
  t.after(() => api.close());
  return { ...api, startedAt: performance.now() };
}

/** Sleeps until `seconds` after the API started. */
async function untilUptime(api: { startedAt: number }, seconds: number): Promise<void> {
  const remainingMs = seconds * 1000 - (performance.now() - api.startedAt);
  if (remainingMs > 0) await sleep(remainingMs);
}

/** Scrapes /metrics and returns one sample value by its full series name, such as `a{b="c"}`. */
async function scrape(api: ExampleApi): Promise<Map<string, number>> {
  const res = await fetch(`${api.url}/metrics`);
  assert.equal(res.status, 200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function sample(api: ExampleApi, series: string): Promise<number> {
  const value = (await scrape(api)).get(series);
  assert.ok(value !== undefined, `series ${series} missing from /metrics`);
  return value;
}

async function heapFloor(api: ExampleApi): Promise<number> {
  collectGarbage();
  return sample(api, 'nodejs_heap_size_used_bytes');
}

function createSigil(api: ExampleApi, body: unknown = { name: 'probe', intent: 'test' }, headers: Record<string, string> = STATIC_AUTH): Promise<Response> {
  return fetch(`${api.url}${SIGILS}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function requestToken(api: ExampleApi, credentials: unknown): Promise<Response> {
  return fetch(`${api.url}${TOKEN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
}

async function issuedToken(api: ExampleApi): Promise<string> {
  const res = await requestToken(api, { clientId: 'demo-client', clientSecret: 'demo-secret' });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

async function timed<T>(action: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await action();
  return { value, ms: performance.now() - start };
}

async function connectionError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(error);
  }
  assert.fail('expected the request to fail at the connection level');
}

test('health and metrics endpoints answer without a token', async (t) => {
  const api = await startApi(t, { versionLabel: 'test-1.2.3' });
  assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const health = await fetch(`${api.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  const samples = await scrape(api);
  for (const name of [
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'process_open_fds',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    assert.ok(samples.has(name), `${name} missing`);
  }
  assert.equal(samples.get('sigil_app_info{version="test-1.2.3"}'), 1);
  assert.equal(samples.get('http_requests_total{route="/healthz",method="GET",status="200"}'), 1);
});

test('sigil endpoints create, verify and list', async (t) => {
  const api = await startApi(t);

  const created = await createSigil(api, { name: 'alpha', intent: 'clarity' });
  assert.equal(created.status, 201);
  const sigil = (await created.json()) as { id: string; name: string; intent: string; createdAt: string };
  assert.equal(sigil.name, 'alpha');
  assert.equal(sigil.intent, 'clarity');
  assert.equal(typeof sigil.id, 'string');
  assert.ok(!Number.isNaN(Date.parse(sigil.createdAt)));

  const verified = await fetch(`${api.url}${SIGILS}/${sigil.id}/verify`, { headers: STATIC_AUTH });
  assert.equal(verified.status, 200);
  assert.deepEqual(await verified.json(), { id: sigil.id, valid: true });

  const unknown = await fetch(`${api.url}${SIGILS}/no-such-id/verify`, { headers: STATIC_AUTH });
  assert.equal(unknown.status, 404);

  for (let index = 0; index < 25; index += 1) {
    assert.equal((await createSigil(api, { name: `bulk-${index}` })).status, 201);
  }
  const listed = await fetch(`${api.url}${SIGILS}`, { headers: STATIC_AUTH });
  assert.equal(listed.status, 200);
  const page = (await listed.json()) as { items: { name: string }[]; total: number };
  assert.equal(page.items.length, 20);
  assert.equal(page.items[0]?.name, 'bulk-24');
  assert.equal(page.total, 26);
});

test('invalid create payloads get 400', async (t) => {
  const api = await startApi(t);
  const cases: [string, unknown][] = [
    ['not JSON', '{name:'],
    ['missing name', { intent: 'x' }],
    ['empty name', { name: '' }],
    ['marked invalid', { name: 'bad', invalid: true }],
    ['array body', ['name']],
  ];
  for (const [label, body] of cases) {
    const res = await createSigil(api, body);
    assert.equal(res.status, 400, label);
    const error = ((await res.json()) as { error?: unknown }).error;
    assert.equal(typeof error, 'string', label);
  }
});

test('consciousness routes need a valid token', async (t) => {
  const api = await startApi(t);

  const missing = await fetch(`${api.url}${SIGILS}`);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer');

  const wrong = await fetch(`${api.url}${SIGILS}`, { headers: { authorization: 'Bearer not-a-token' } });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /invalid_token/);

  const unknownPath = await fetch(`${api.url}/sigil/api/consciousness/other`);
  assert.equal(unknownPath.status, 401);

  const token = await issuedToken(api);
  const withIssued = await fetch(`${api.url}${SIGILS}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(withIssued.status, 200);
});

test('token endpoint checks credentials', async (t) => {
  const api = await startApi(t, { clientId: 'client-a', clientSecret: 'secret-a', tokenTtlS: 120 });

  const good = await requestToken(api, { clientId: 'client-a', clientSecret: 'secret-a' });
  assert.equal(good.status, 200);
  const body = (await good.json()) as Record<string, unknown>;
  assert.equal(body['token_type'], 'Bearer');
  assert.equal(body['expires_in'], 120);
  assert.equal(typeof body['access_token'], 'string');

  assert.equal((await requestToken(api, { clientId: 'client-a', clientSecret: 'wrong' })).status, 401);
  assert.equal((await requestToken(api, { clientId: 'demo-client', clientSecret: 'demo-secret' })).status, 401);
  assert.equal((await requestToken(api, { clientId: 'client-a' })).status, 400);
});

test('empty static token disables it', async (t) => {
  const api = await startApi(t, { staticToken: '' });
  const res = await fetch(`${api.url}${SIGILS}`, { headers: STATIC_AUTH });
  assert.equal(res.status, 401);
});

test('issued token expires after its ttl', async (t) => {
  const api = await startApi(t, { tokenTtlS: 1 });
  const headers = { authorization: `Bearer ${await issuedToken(api)}` };

  assert.equal((await fetch(`${api.url}${SIGILS}`, { headers })).status, 200);
  await sleep(1150);
  const expired = await fetch(`${api.url}${SIGILS}`, { headers });
  assert.equal(expired.status, 401);
  assert.equal((await fetch(`${api.url}${SIGILS}`, { headers: STATIC_AUTH })).status, 200);
});

test('invalid options are rejected with their name', async () => {
  const cases: [StartExampleApiOptions, RegExp][] = [
    [{ errorRate: 1.5 }, /errorRate 1\.5: use a number from 0 to 1/],
    [{ port: 70000 }, /port 70000: use an integer from 0 to 65535/],
    [{ stallAtS: 5 }, /Missing stallForS/],
    [{ warmupGrowthMb: 10 }, /Missing warmupS/],
    [{ versionLabel: 'has space' }, /versionLabel/],
    [{ leakFdsPerMin: Number.NaN }, /leakFdsPerMin/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(startExampleApi({ port: 0, ...options }), (error: unknown) => {
      assert.ok(error instanceof ExampleApiOptionError);
      assert.match(error.message, message);
      return true;
    });
  }
  await assert.rejects(startExampleApi({ port: 0, ...({ errorRat: 0.1 } as StartExampleApiOptions) }), /Unknown option errorRat/);
});

test('command line maps switches to options', () => {
  const options = parseCommandLine(['--port', '0', '--leak-heap-mb-per-min', '2.5', '--stall-at-s', '60', '--stall-for-s', '5', '--static-token', '']);
  assert.deepEqual(options, { port: 0, leakHeapMbPerMin: 2.5, stallAtS: 60, stallForS: 5, staticToken: '' });
  assert.throws(() => parseCommandLine(['--slow-rate', '2']), /Invalid --slow-rate 2: use a number from 0 to 1/);
  assert.throws(() => parseCommandLine(['--down-for-s', '5']), /Missing --down-at-s/);
  assert.throws(() => parseCommandLine(['--port', '1e3']), /Invalid --port "1e3"/);
});

test('server command prints its url and stops on SIGTERM', { timeout: 20_000 }, async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  let stdout = '';
  child.stdout.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (end !== -1) resolve(stdout.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before printing its url`)));
  });
  const match = /^sigil-api listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
  assert.ok(match?.[1], `unexpected first line: ${line}`);
  assert.equal((await fetch(`${match[1]}/healthz`)).status, 200);

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('server command exits 2 for an invalid value', { timeout: 20_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, '--error-rate', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(stderr, /Invalid --error-rate 2: use a number from 0 to 1/);
});

test('heap leak raises the heap floor', async (t) => {
  const api = await startApi(t, { leakHeapMbPerMin: 960 });
  await untilUptime(api, 0.3);
  const before = await heapFloor(api);
  await untilUptime(api, 1.8);
  const after = await heapFloor(api);

  // 960 MB/min is 16 MB/s, so 1.5 s retain about 24 MB.
  assert.ok(after - before > 16 * MIB, `heap floor grew by ${((after - before) / MIB).toFixed(1)} MB`);
  const retained = await sample(api, 'sigil_fault_leaked_heap_bytes');
  assert.ok(retained > 24 * MIB, `leak gauge ${retained / MIB} MB`);
  assert.ok(retained < 40 * MIB, `leak gauge ${retained / MIB} MB`);
});

test('heap leak stops at its maximum', async (t) => {
  const api = await startApi(t, { leakHeapMbPerMin: 1024, leakHeapMaxMb: 4 });
  await untilUptime(api, 0.8);
  const retained = await sample(api, 'sigil_fault_leaked_heap_bytes');
  assert.ok(retained > 3.9 * MIB, `leak gauge ${retained / MIB} MB`);
  assert.ok(retained <= 4 * MIB, `leak gauge ${retained / MIB} MB`);
});

test('descriptor leak raises open fds', async (t) => {
  const api = await startApi(t, { leakFdsPerMin: 1200 });
  await untilUptime(api, 0.2);
  const before = await sample(api, 'process_open_fds');
  await untilUptime(api, 1.7);
  const after = await sample(api, 'process_open_fds');

  // 1200 per minute is 20 per second, so 1.5 s add about 30.
  assert.ok(after - before >= 20, `open fds grew by ${after - before}`);
  assert.ok(after - before <= 40, `open fds grew by ${after - before}`);
});

test('restart drops leaked fds, sigils and tokens', async (t) => {
  const api = await startApi(t, { leakFdsPerMin: 1200, restartEveryS: 2 });
  const created = (await (await createSigil(api)).json()) as { id: string };
  const issued = { authorization: `Bearer ${await issuedToken(api)}` };

  await untilUptime(api, 1.6);
  const leakedBefore = await sample(api, 'sigil_fault_leaked_fds');
  const openBefore = await sample(api, 'process_open_fds');
  assert.ok(leakedBefore >= 25, `leaked ${leakedBefore} fds before the restart`);

  await untilUptime(api, 2.4);
  const samples = await scrape(api);
  assert.equal(samples.get('sigil_simulated_restarts_total'), 1);
  const leakedAfter = samples.get('sigil_fault_leaked_fds') ?? Number.NaN;
  assert.ok(leakedAfter <= 15, `leaked ${leakedAfter} fds after the restart`);
  const openAfter = samples.get('process_open_fds') ?? Number.NaN;
  assert.ok(openBefore - openAfter >= 15, `open fds went from ${openBefore} to ${openAfter}`);
  assert.equal(samples.get('sigil_store_size'), 0);

  const verify = await fetch(`${api.url}${SIGILS}/${created.id}/verify`, { headers: STATIC_AUTH });
  assert.equal(verify.status, 404);
  assert.equal((await fetch(`${api.url}${SIGILS}`, { headers: issued })).status, 401);
  assert.equal((await fetch(`${api.url}${SIGILS}`, { headers: STATIC_AUTH })).status, 200);
});

test('warm-up growth plateaus', async (t) => {
  collectGarbage();
  const baseline = process.memoryUsage().heapUsed;
  // Wide bounds: on a loaded machine the sample lands well after the requested uptime.
  const api = await startApi(t, { warmupGrowthMb: 40, warmupS: 2 });

  await untilUptime(api, 1);
  const halfway = await sample(api, 'sigil_fault_warmup_heap_bytes');
  assert.ok(halfway > 4 * MIB, `warm-up retained ${halfway / MIB} MB halfway`);
  assert.ok(halfway < 36 * MIB, `warm-up retained ${halfway / MIB} MB halfway`);

  await untilUptime(api, 2.4);
  const grown = (await heapFloor(api)) - baseline;
  await untilUptime(api, 3.4);
  const later = (await heapFloor(api)) - baseline;

  assert.ok(grown > 35 * MIB, `heap floor grew by ${grown / MIB} MB during warm-up`);
  assert.ok(Math.abs(later - grown) < 5 * MIB, `heap floor moved by ${(later - grown) / MIB} MB after warm-up`);
  assert.equal(await sample(api, 'sigil_fault_warmup_heap_bytes'), 40 * MIB);
});

test('latency drifts with uptime', async (t) => {
  const api = await startApi(t, { driftMsPerMin: 6000 });
  const early = await timed(() => fetch(`${api.url}${SIGILS}`, { headers: STATIC_AUTH }));
  assert.equal(early.value.status, 200);

  await untilUptime(api, 1.5);
  const late = await timed(() => fetch(`${api.url}${SIGILS}`, { headers: STATIC_AUTH }));
  assert.equal(late.value.status, 200);

  // 6000 ms/min adds 100 ms per second of uptime: about 150 ms at 1.5 s.
  assert.ok(early.ms < 80, `early request took ${early.ms.toFixed(0)} ms`);
  assert.ok(late.ms > 130, `late request took ${late.ms.toFixed(0)} ms`);
});

test('error rate answers 500 to valid requests only', async (t) => {
  const api = await startApi(t, { errorRate: 0.5 });
  let failures = 0;
  for (let index = 0; index < 200; index += 1) {
    const res = await createSigil(api);
    await res.arrayBuffer();
    if (res.status === 500) failures += 1;
    else assert.equal(res.status, 201);
  }
  // Binomial(200, 0.5) has a standard deviation of about 7, so 60-140 is over 5 deviations wide on each side.
  assert.ok(failures >= 60, `${failures} of 200 failed`);
  assert.ok(failures <= 140, `${failures} of 200 failed`);

  for (let index = 0; index < 10; index += 1) {
    assert.equal((await createSigil(api, { name: 'bad', invalid: true })).status, 400);
  }
  assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
  assert.equal(await sample(api, 'sigil_faults_injected_total{fault="error"}'), failures);
});

test('error rate rises with uptime', async (t) => {
  const api = await startApi(t, { errorRateRisePerMin: 30 });
  let early = 0;
  for (let index = 0; index < 20; index += 1) {
    if ((await createSigil(api)).status === 500) early += 1;
  }
  // 30 per minute is 0.5 per second: near 0 at first, capped at 1 after 2 s.
  assert.ok(early <= 8, `${early} of 20 early requests failed`);

  await untilUptime(api, 2.1);
  for (let index = 0; index < 20; index += 1) {
    assert.equal((await createSigil(api)).status, 500);
  }
});

test('slow rate delays API requests', async (t) => {
  const api = await startApi(t, { slowRate: 1, slowMs: 300 });
  const slow = await timed(() => createSigil(api));
  assert.equal(slow.value.status, 201);
  assert.ok(slow.ms >= 290, `request took ${slow.ms.toFixed(0)} ms`);

  const health = await timed(() => fetch(`${api.url}/healthz`));
  assert.equal(health.value.status, 200);
  assert.ok(health.ms < 150, `health check took ${health.ms.toFixed(0)} ms`);
});

test('reset rate drops connections without an answer', async (t) => {
  const api = await startApi(t, { resetRate: 1 });
  const code = await connectionError(createSigil(api));
  assert.match(code, /ECONNRESET|UND_ERR_SOCKET|other side closed/);
  assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
  assert.equal(await sample(api, 'sigil_faults_injected_total{fault="reset"}'), 1);
});

test('stall holds requests until it ends', async (t) => {
  const api = await startApi(t, { stallAtS: 0.4, stallForS: 1 });
  await untilUptime(api, 0.6);

  const pending = timed(() => fetch(`${api.url}/healthz`));
  const scrapeDuringStall = await timed(() => scrape(api));
  assert.ok(scrapeDuringStall.ms < 300, `scrape took ${scrapeDuringStall.ms.toFixed(0)} ms during the stall`);

  const held = await pending;
  assert.equal(held.value.status, 200);
  assert.ok(held.ms > 600, `request waited ${held.ms.toFixed(0)} ms`);

  const after = await timed(() => fetch(`${api.url}/healthz`));
  assert.ok(after.ms < 150, `request after the stall took ${after.ms.toFixed(0)} ms`);
});

test('outage refuses connections then reopens', async (t) => {
  // The stall keeps one health check waiting across the start of the outage, so its response is 503.
  const api = await startApi(t, { stallAtS: 0.2, stallForS: 0.5, downAtS: 0.4, downForS: 1 });
  await untilUptime(api, 0.25);
  const heldHealth = fetch(`${api.url}/healthz`);

  await untilUptime(api, 0.8);
  const held = await heldHealth;
  assert.equal(held.status, 503);
  assert.equal(held.headers.get('connection'), 'close');

  const refused = await connectionError(fetch(`${api.url}/healthz`));
  assert.equal(refused, 'ECONNREFUSED');

  await untilUptime(api, 1.6);
  assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
  assert.equal((await createSigil(api)).status, 201);
});
