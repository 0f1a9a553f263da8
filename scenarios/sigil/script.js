// Soak scenario for the Sigil-DNA API (or the example API in examples/sigil-api).
//
// One request per iteration at a constant arrival rate: create 60 %, verify 25 %,
// list 10 %, and 5 % invalid creates that must be rejected with 400.
// docs/scenarios.md describes the __ENV variables.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { bearerAuthFromEnv } from '../lib/auth.js';
import { arrivalRateScenario, envOrigin } from '../lib/env.js';
import { jsonField, tagged, weightedPicker } from '../lib/request.js';

const BASE_URL = envOrigin('BASE_URL', 'http://127.0.0.1:3000');
const SIGILS = `${BASE_URL}/sigil/api/consciousness/sigils`;
const JSON_HEADERS = { 'Content-Type': 'application/json' };
// The example API accepts this token unless started with another --static-token.
const auth = bearerAuthFromEnv({ defaultToken: 'demo-token', metricPrefix: 'sigil_' });
const invalidIsExpected = http.expectedStatuses(400);

const createMs = new Trend('sigil_create_ms', true);
const created = new Counter('sigil_created');
const verifyWithoutId = new Counter('sigil_verify_fallback_creates');

export const options = {
  scenarios: {
    // Requests time out after at most 5 s, so 10 s of graceful stop lets the last ones finish.
    sigil: arrivalRateScenario({ rate: 50, duration: '1m', gracefulStop: '10s' }),
  },
  thresholds: {
    // Latency objective over every request, failed ones included.
    http_req_duration: ['p(99)<1500'],
    // Transport errors and unexpected statuses stay under 1 %. The expected 400s do not count.
    http_req_failed: ['rate<0.01'],
    // Response checks (status codes and bodies) pass for more than 95 %.
    checks: ['rate>0.95'],
    // Verify, the read path that clients poll, keeps its own tighter p95.
    'http_req_duration{name:verify}': ['p(95)<800'],
  },
};

// Ids this VU created lately, so verify requests sigils the API still keeps.
const RECENT_IDS_KEPT = 10;
const recentIds = [];

function rememberId(id) {
  recentIds.push(id);
  if (recentIds.length > RECENT_IDS_KEPT) recentIds.shift();
}

export function setup() {
  const res = http.get(`${BASE_URL}/healthz`, { tags: { name: 'setup-healthz' }, timeout: '5s' });
  if (res.status !== 200) {
    const reason = res.error ? `${res.status} (${res.error})` : String(res.status);
    throw new Error(
      `BASE_URL ${BASE_URL} is not healthy: GET /healthz returned ${reason}. Start the API or set BASE_URL to its origin.`,
    );
  }
  auth.verifyCredentials();
}

function createSigil() {
  const body = JSON.stringify({ name: `sigil-${__VU}-${__ITER}`, intent: 'soak' });
  const res = auth.request((headers) => http.post(SIGILS, body, tagged('create', { headers, timeout: '5s' })), JSON_HEADERS);
  const id = res.status === 201 ? jsonField(res, 'id') : undefined;
  check(res, {
    'create status is 201': (r) => r.status === 201,
    'create returns an id': () => typeof id === 'string',
  });
  if (typeof id === 'string') {
    // Timed only when it succeeded: failed attempts (timeouts, resets) would mix in other durations.
    createMs.add(res.timings.duration);
    created.add(1);
    rememberId(id);
  }
}

function verifySigil() {
  if (recentIds.length === 0) {
    // A VU that has not created anything yet has nothing to verify.
    verifyWithoutId.add(1);
    createSigil();
    return;
  }
  const id = recentIds[Math.floor(Math.random() * recentIds.length)];
  const res = auth.request((headers) => http.get(`${SIGILS}/${id}/verify`, tagged('verify', { headers, timeout: '2s' })));
  check(res, {
    'verify status is 200': (r) => r.status === 200,
    'verify says valid': (r) => r.status === 200 && jsonField(r, 'valid') === true,
  });
}

function listSigils() {
  const res = auth.request((headers) => http.get(`${SIGILS}?limit=20`, tagged('list', { headers, timeout: '5s' })));
  check(res, {
    'list status is 200': (r) => r.status === 200,
    'list returns items': (r) => r.status === 200 && Array.isArray(jsonField(r, 'items')),
  });
}

function createInvalidSigil() {
  const body = JSON.stringify({ name: 'invalid-probe', intent: 'soak', invalid: true });
  const params = (headers) => tagged('create-invalid', { headers, timeout: '5s', responseCallback: invalidIsExpected });
  const res = auth.request((headers) => http.post(SIGILS, body, params(headers)), JSON_HEADERS);
  check(res, { 'invalid create is rejected with 400': (r) => r.status === 400 });
}

const pickRequest = weightedPicker([
  [0.6, createSigil],
  [0.25, verifySigil],
  [0.1, listSigils],
  [0.05, createInvalidSigil],
]);

export default function () {
  pickRequest()();
}
