// Bearer-token authentication for bundled scenarios.
//
// Either a static token (TOKEN), or client credentials (TOKEN_URL, CLIENT_ID,
// CLIENT_SECRET) exchanged for tokens that each VU renews before they expire and
// once more after a 401, so a soak run outlives any one token. Secrets come only
// from __ENV and are never logged or put into tags.
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { envString } from './env.js';
import { jsonField } from './request.js';

/** Share of `expires_in` after which a VU fetches a new token. */
const DEFAULT_REFRESH_AT = 0.8;
/** After a failed token request a VU waits this long before the next try, so an outage does not double the load. */
const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * Creates the authenticator of this VU from TOKEN, TOKEN_URL, CLIENT_ID and
 * CLIENT_SECRET. TOKEN_URL wins over TOKEN, and with neither `defaultToken` is used.
 * Call it in the init context, because it defines the Counter `<metricPrefix>token_fetches`.
 */
export function bearerAuthFromEnv(config) {
  const tokenUrl = envString('TOKEN_URL', undefined);
  if (tokenUrl === undefined) {
    return new BearerAuth({ token: envString('TOKEN', config.defaultToken), metricPrefix: config.metricPrefix });
  }

  const clientId = envString('CLIENT_ID', undefined);
  const clientSecret = envString('CLIENT_SECRET', undefined);
  if (clientId === undefined || clientSecret === undefined) {
    const missing = clientId === undefined ? 'CLIENT_ID' : 'CLIENT_SECRET';
    throw new Error(`Missing ${missing}: TOKEN_URL is set, so CLIENT_ID and CLIENT_SECRET must be set too.`);
  }
  return new BearerAuth({
    tokenUrl,
    clientId,
    clientSecret,
    refreshAt: config.refreshAt,
    metricPrefix: config.metricPrefix,
  });
}

export class BearerAuth {
  constructor(config) {
    this.token = config.token;
    this.tokenUrl = config.tokenUrl;
    this.clientId = config.clientId;
    this.clientSecret = config.clientSecret;
    this.refreshAt = config.refreshAt || DEFAULT_REFRESH_AT;
    this.refreshAtMs = 0;
    this.retryAtMs = 0;
    this.fetches = new Counter(`${config.metricPrefix || ''}token_fetches`);
  }

  /** True when tokens come from TOKEN_URL and can be renewed. */
  get renewable() {
    return this.tokenUrl !== undefined;
  }

  /** Returns `headers` plus the Authorization header, fetching or renewing the token when due. */
  headers(headers) {
    if (this.renewable && Date.now() >= this.refreshAtMs) {
      this.fetchToken(this.token === undefined ? 'initial' : 'expiring');
    }
    const result = Object.assign({}, headers || {});
    if (this.token !== undefined) result.Authorization = `Bearer ${this.token}`;
    return result;
  }

  /**
   * Sends a request built by `send(headers)`. On a 401 with a renewable token it
   * fetches a new token and sends the request once more. The first 401 still
   * counts in k6's metrics.
   */
  request(send, headers) {
    const res = send(this.headers(headers));
    if (res.status !== 401 || !this.renewable) return res;

    if (!this.fetchToken('unauthorized')) return res;
    return send(this.headers(headers));
  }

  /** Fetches one token, or throws an error naming TOKEN_URL. `setup()` calls it so that a run with bad credentials stops at once. */
  verifyCredentials() {
    if (!this.renewable) return;
    const res = this.postTokenRequest();
    if (res.status !== 200 || typeof jsonField(res, 'access_token') !== 'string') {
      const reason = res.error ? `${res.status} (${res.error})` : String(res.status);
      throw new Error(
        `Token request to TOKEN_URL ${this.tokenUrl} failed with ${reason}: check TOKEN_URL, CLIENT_ID and CLIENT_SECRET.`,
      );
    }
  }

  /** Returns whether a token was obtained. On failure it keeps the old token, since that may still be valid. */
  fetchToken(reason) {
    const now = Date.now();
    if (now < this.retryAtMs) return false;

    const res = this.postTokenRequest();
    const accessToken = jsonField(res, 'access_token');
    const ok = res.status === 200 && typeof accessToken === 'string';
    this.fetches.add(1, { reason, ok: String(ok) });
    if (!ok) {
      this.retryAtMs = now + RETRY_AFTER_FAILURE_MS;
      return false;
    }

    this.token = accessToken;
    const expiresInS = Number(jsonField(res, 'expires_in'));
    // Without a usable expires_in the token is renewed only after a 401.
    this.refreshAtMs = expiresInS > 0 ? now + expiresInS * 1000 * this.refreshAt : Infinity;
    return true;
  }

  postTokenRequest() {
    return http.post(this.tokenUrl, JSON.stringify({ clientId: this.clientId, clientSecret: this.clientSecret }), {
      headers: { 'Content-Type': 'application/json' },
      tags: { name: 'auth-token' },
      timeout: '5s',
    });
  }
}
