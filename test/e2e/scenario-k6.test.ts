import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startExampleApi } from '../../examples/sigil-api/index.js';

const K6_BIN = process.env['K6_BIN'];
const SKIP_REASON = 'K6_BIN not set: point it at a k6 v1.x binary to run the bundled scenario against the example API';
const SCRIPT = fileURLToPath(new URL('../../scenarios/sigil/script.js', import.meta.url));

interface K6Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs k6 with the usage report and extension resolution off and its REST API on a random loopback port. */
function runK6(args: string[], timeoutMs: number): Promise<K6Result> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = args;
    const child = spawn(K6_BIN as string, [command as string, '--address', '127.0.0.1:0', ...rest], {
      env: { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_AUTO_EXTENSION_RESOLUTION: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`k6 ${command} timed out after ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Point {
  metric: string;
  timeMs: number;
  value: number;
  tags: Record<string, string>;
}

function parsePoints(ndjson: string): Point[] {
  const points: Point[] = [];
  for (const line of ndjson.split('\n')) {
    if (line === '') continue;
    const record = JSON.parse(line) as {
      type: string;
      metric: string;
      data: { time: string; value: number; tags: Record<string, string> | null };
    };
    if (record.type !== 'Point') continue;
    points.push({
      metric: record.metric,
      timeMs: Date.parse(record.data.time),
      value: record.data.value,
      tags: record.data.tags ?? {},
    });
  }
  return points;
}

test('k6 inspect lists the scenario thresholds', { timeout: 30_000 }, async (t) => {
  if (!K6_BIN) {
    t.skip(SKIP_REASON);
    return;
  }
  const result = await runK6(['inspect', SCRIPT], 25_000);
  assert.equal(result.code, 0, result.stderr);
  const inspected = JSON.parse(result.stdout) as {
    thresholds: Record<string, string[]>;
    scenarios: Record<string, { executor: string; rate: number; duration: string }>;
  };

  assert.deepEqual(inspected.thresholds, {
    http_req_duration: ['p(99)<1500'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.95'],
    'http_req_duration{name:verify}': ['p(95)<800'],
  });
  assert.equal(inspected.scenarios['sigil']?.executor, 'constant-arrival-rate');
  assert.equal(inspected.scenarios['sigil']?.rate, 50);
});

test('scenario renews tokens and tags every request', { timeout: 90_000 }, async (t) => {
  if (!K6_BIN) {
    t.skip(SKIP_REASON);
    return;
  }
  const api = await startExampleApi({ port: 0, tokenTtlS: 2 });
  t.after(() => api.close());
  const workDir = await mkdtemp(join(tmpdir(), 'soak-runner-k6-e2e-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const streamFile = join(workDir, 'stream.ndjson');

  const result = await runK6(
    [
      'run',
      '--no-thresholds',
      '--summary-mode=disabled',
      '--out',
      `json=${streamFile}`,
      '-e',
      `BASE_URL=${api.url}`,
      '-e',
      `TOKEN_URL=${api.url}/sigil/api/auth/token`,
      '-e',
      'CLIENT_ID=demo-client',
      '-e',
      'CLIENT_SECRET=demo-secret',
      '-e',
      'RATE=50',
      '-e',
      'DURATION=8s',
      SCRIPT,
    ],
    75_000,
  );
  assert.equal(result.code, 0, `k6 exited with ${result.code}; stderr:\n${result.stderr.slice(-2000)}`);
  assert.doesNotMatch(result.stdout + result.stderr, /demo-secret/);

  const points = parsePoints(await readFile(streamFile, 'utf8'));
  const requests = points.filter((point) => point.metric === 'http_reqs');
  const countByName = new Map<string, number>();
  for (const request of requests) {
    const name = request.tags['name'] ?? '(none)';
    countByName.set(name, (countByName.get(name) ?? 0) + 1);
  }
  const counts = Object.fromEntries(countByName);

  // About 400 iterations: 60 % create, 25 % verify, 10 % list, 5 % invalid create.
  assert.ok((countByName.get('create') ?? 0) > 150, `requests by name: ${JSON.stringify(counts)}`);
  assert.ok((countByName.get('verify') ?? 0) > 50, `requests by name: ${JSON.stringify(counts)}`);
  assert.ok((countByName.get('list') ?? 0) > 15, `requests by name: ${JSON.stringify(counts)}`);
  assert.ok((countByName.get('create-invalid') ?? 0) > 3, `requests by name: ${JSON.stringify(counts)}`);
  assert.equal(countByName.get('setup-healthz'), 1);

  // Tokens live 2 s and the run lasts 8 s, so requests succeed late in the run only if VUs renewed them.
  const renewals = points.filter((point) => point.metric === 'sigil_token_fetches' && point.tags['reason'] === 'expiring');
  assert.ok(renewals.length > 0, 'no VU renewed its token before expiry');
  const firstMs = Math.min(...requests.map((point) => point.timeMs));
  const lateCreates = requests.filter(
    (point) => point.tags['name'] === 'create' && point.tags['status'] === '201' && point.timeMs > firstMs + 6000,
  );
  assert.ok(lateCreates.length > 20, `only ${lateCreates.length} creates succeeded after 6 s`);
  const unauthorized = requests.filter((point) => point.tags['status'] === '401').length;
  assert.ok(unauthorized <= requests.length * 0.005, `${unauthorized} of ${requests.length} requests got 401`);

  const failed = points.filter((point) => point.metric === 'http_req_failed');
  const invalidCreates = failed.filter((point) => point.tags['name'] === 'create-invalid');
  assert.ok(invalidCreates.length > 0);
  for (const point of invalidCreates) {
    assert.equal(point.tags['status'], '400');
    assert.equal(point.value, 0, 'an expected 400 counted as a failed request');
  }
  const failures = failed.filter((point) => point.value !== 0).length;
  assert.ok(failures <= failed.length * 0.005, `${failures} of ${failed.length} requests failed`);

  const metrics = await (await fetch(`${api.url}/metrics`)).text();
  const tokenRequests = /^http_requests_total\{route="\/sigil\/api\/auth\/token",method="POST",status="200"\} (\d+)$/m.exec(metrics);
  assert.ok(tokenRequests?.[1] !== undefined, 'no successful token request in http_requests_total');
  assert.ok(Number(tokenRequests[1]) >= 2, `the API issued ${tokenRequests[1]} tokens`);
});
