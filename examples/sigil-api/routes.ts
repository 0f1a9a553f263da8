import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type FaultController, wholeDelayMs } from './faults.js';
import type { ApiMetrics } from './metrics.js';
import type { SigilStore } from './store.js';
import type { TokenIssuer } from './tokens.js';

/** Route templates, used as the `route` label so its values stay few. */
export const Route = {
  health: '/healthz',
  metrics: '/metrics',
  token: '/sigil/api/auth/token',
  sigils: '/sigil/api/consciousness/sigils',
  verify: '/sigil/api/consciousness/sigils/:id/verify',
  unmatched: 'unmatched',
} as const;

const CONSCIOUSNESS_PREFIX = '/sigil/api/consciousness/';
const VERIFY_PATTERN = /^\/sigil\/api\/consciousness\/sigils\/([^/]+)\/verify$/;
const BEARER_PATTERN = /^Bearer +(\S+) *$/i;
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_BODY_BYTES = 64 * 1024;
const MAX_NAME_LENGTH = 200;
const MAX_INTENT_LENGTH = 2000;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

export interface ApiContext {
  store: SigilStore;
  tokens: TokenIssuer;
  faults: FaultController;
  metrics: ApiMetrics;
  logger: Logger;
}

class BodyTooLargeError extends Error {}

/** Logs at most one line per second and counts the lines it skipped, so a failing route cannot flood the log. */
class ThrottledErrorLog {
  private lastMs = 0;
  private skipped = 0;

  constructor(private readonly logger: Logger) {}

  error(fields: Record<string, unknown>, message: string): void {
    const nowMs = Date.now();
    if (nowMs - this.lastMs < 1000) {
      this.skipped += 1;
      return;
    }
    this.logger.error({ ...fields, skippedSinceLastLine: this.skipped }, message);
    this.lastMs = nowMs;
    this.skipped = 0;
  }
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: string;
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Parses a JSON object body. Returns undefined for anything else (not JSON, an array, null). */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Not JSON, so the caller responds 400.
  }
  return undefined;
}

/** Builds the `node:http` request listener of the API. */
export function createRequestHandler(context: ApiContext): (req: IncomingMessage, res: ServerResponse) => void {
  const errorLog = new ThrottledErrorLog(context.logger);

  return (req, res) => {
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const exchange: Exchange = {
      req,
      res,
      method: KNOWN_METHODS.has(req.method ?? '') ? (req.method as string) : 'OTHER',
      path: queryStart === -1 ? url : url.slice(0, queryStart),
      query: queryStart === -1 ? '' : url.slice(queryStart + 1),
    };

    handle(context, exchange).catch((error: unknown) => {
      if (isAbortError(error)) {
        // The server is closing while this request waited on a fault.
        res.destroy();
        return;
      }
      if (error instanceof BodyTooLargeError) {
        send(context, exchange, Route.unmatched, 413, { error: `request body exceeds ${MAX_BODY_BYTES} bytes` });
        return;
      }
      errorLog.error({ err: error, method: req.method, path: exchange.path }, 'request handler failed, so the response is 500');
      if (!res.headersSent) send(context, exchange, Route.unmatched, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
}

function send(
  context: ApiContext,
  exchange: Exchange,
  route: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const { res } = exchange;
  if (res.writableEnded || res.destroyed) return;

  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? context.metrics.contentType : 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
    // During an outage every surviving keep-alive connection is closed after its response.
    ...(context.faults.isDown ? { connection: 'close' } : {}),
  });
  res.end(exchange.method === 'HEAD' ? undefined : payload);
  context.metrics.countResponse(route, exchange.method, status);
}

function methodNotAllowed(context: ApiContext, exchange: Exchange, route: string, allow: string): void {
  send(context, exchange, route, 405, { error: `method ${exchange.method} not allowed on ${route}; use ${allow}` }, { allow });
}

/** Waits out the stall and responds 503 during an outage. Returns false when the request already has its response. */
async function passGlobalFaults(context: ApiContext, exchange: Exchange, route: string): Promise<boolean> {
  const stallMs = context.faults.stallWaitMs();
  if (stallMs > 0) {
    context.metrics.countFault('stall');
    await context.faults.wait(stallMs);
  }
  if (context.faults.isDown) {
    context.metrics.countFault('down');
    send(context, exchange, route, 503, { error: 'service unavailable: injected outage (--down-at-s)' });
    return false;
  }
  return true;
}

async function handle(context: ApiContext, exchange: Exchange): Promise<void> {
  const { path, method } = exchange;

  // The scrape is never delayed, so a probe keeps seeing the process during every fault.
  if (path === Route.metrics) {
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(context, exchange, Route.metrics, 'GET');
    const text = await context.metrics.render();
    return send(context, exchange, Route.metrics, 200, text);
  }

  if (path === Route.health) {
    if (!(await passGlobalFaults(context, exchange, Route.health))) return;
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(context, exchange, Route.health, 'GET');
    return send(context, exchange, Route.health, 200, { status: 'ok' });
  }

  if (path === Route.token) {
    if (!(await passGlobalFaults(context, exchange, Route.token))) return;
    if (method !== 'POST') return methodNotAllowed(context, exchange, Route.token, 'POST');
    return issueToken(context, exchange);
  }

  if (path.startsWith(CONSCIOUSNESS_PREFIX)) {
    return handleConsciousness(context, exchange);
  }

  if (!(await passGlobalFaults(context, exchange, Route.unmatched))) return;
  return send(context, exchange, Route.unmatched, 404, { error: `no route for ${method} ${path}` });
}

async function issueToken(context: ApiContext, exchange: Exchange): Promise<void> {
  const body = parseObject(await readBody(exchange.req));
  const clientId = body?.['clientId'];
  const clientSecret = body?.['clientSecret'];
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string') {
    return send(context, exchange, Route.token, 400, {
      error: 'invalid token request: send a JSON object with string fields clientId and clientSecret',
    });
  }

  const token = context.tokens.issue(clientId, clientSecret);
  if (!token) {
    return send(context, exchange, Route.token, 401, { error: 'invalid client credentials' });
  }
  return send(context, exchange, Route.token, 200, token, { 'cache-control': 'no-store' });
}

function routeOf(path: string): { route: string; id?: string } {
  if (path === Route.sigils) return { route: Route.sigils };
  const match = VERIFY_PATTERN.exec(path);
  if (match?.[1] !== undefined) return { route: Route.verify, id: match[1] };
  return { route: Route.unmatched };
}

async function handleConsciousness(context: ApiContext, exchange: Exchange): Promise<void> {
  const { faults, metrics } = context;
  const { route, id } = routeOf(exchange.path);

  if (!(await passGlobalFaults(context, exchange, route))) return;

  const bearer = BEARER_PATTERN.exec(exchange.req.headers.authorization ?? '')?.[1];
  if (bearer === undefined || !context.tokens.isValid(bearer)) {
    return send(
      context,
      exchange,
      route,
      401,
      { error: bearer === undefined ? 'missing bearer token' : 'invalid or expired bearer token' },
      { 'www-authenticate': bearer === undefined ? 'Bearer' : 'Bearer error="invalid_token"' },
    );
  }

  // Read the body before any delay, as a real server would, so a reset or a slow
  // response happens after the client has sent everything.
  const body = exchange.method === 'POST' && route === Route.sigils ? await readBody(exchange.req) : '';

  if (faults.drawReset()) {
    metrics.countFault('reset');
    exchange.req.socket.destroy();
    return;
  }

  let delayMs = faults.responseDelayMs();
  if (faults.drawSlow()) {
    metrics.countFault('slow');
    delayMs += faults.slowMs;
  }
  // Timers count whole milliseconds; wholeDelayMs keeps the mean of a fractional delay.
  delayMs = wholeDelayMs(delayMs);
  if (delayMs > 0) {
    await faults.wait(delayMs);
    if (exchange.res.destroyed) return;
    if (faults.isDown) {
      metrics.countFault('down');
      return send(context, exchange, route, 503, { error: 'service unavailable: injected outage (--down-at-s)' });
    }
  }

  if (route === Route.sigils && exchange.method === 'POST') return createSigil(context, exchange, body);
  if (route === Route.sigils && exchange.method === 'GET') return listSigils(context, exchange);
  if (route === Route.sigils) return methodNotAllowed(context, exchange, route, 'GET, POST');
  if (route === Route.verify && exchange.method === 'GET') return verifySigil(context, exchange, id ?? '');
  if (route === Route.verify) return methodNotAllowed(context, exchange, route, 'GET');
  return send(context, exchange, route, 404, { error: `no route for ${exchange.method} ${exchange.path}` });
}

/** Responds 500 instead of the real result for the injected share of valid requests. */
function failedOnPurpose(context: ApiContext, exchange: Exchange, route: string): boolean {
  if (!context.faults.drawError()) return false;
  context.metrics.countFault('error');
  send(context, exchange, route, 500, { error: 'injected failure (--error-rate)' });
  return true;
}

function createSigil(context: ApiContext, exchange: Exchange, text: string): void {
  const body = parseObject(text);
  if (!body) {
    return send(context, exchange, Route.sigils, 400, { error: 'invalid sigil: the body is not a JSON object' });
  }
  if (body['invalid'] === true) {
    return send(context, exchange, Route.sigils, 400, { error: 'invalid sigil: the request marked itself invalid' });
  }
  const name = body['name'];
  const intent = body['intent'] ?? '';
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    return send(context, exchange, Route.sigils, 400, {
      error: `invalid sigil: name must be a string of 1-${MAX_NAME_LENGTH} characters`,
    });
  }
  if (typeof intent !== 'string' || intent.length > MAX_INTENT_LENGTH) {
    return send(context, exchange, Route.sigils, 400, {
      error: `invalid sigil: intent must be a string of at most ${MAX_INTENT_LENGTH} characters`,
    });
  }
  if (failedOnPurpose(context, exchange, Route.sigils)) return;

  const sigil = context.store.create(name, intent);
  return send(context, exchange, Route.sigils, 201, sigil);
}

function listSigils(context: ApiContext, exchange: Exchange): void {
  const requested = Number(new URLSearchParams(exchange.query).get('limit') ?? DEFAULT_PAGE);
  const limit = Number.isInteger(requested) && requested >= 1 ? Math.min(requested, MAX_PAGE) : DEFAULT_PAGE;
  if (failedOnPurpose(context, exchange, Route.sigils)) return;

  return send(context, exchange, Route.sigils, 200, { items: context.store.latest(limit), total: context.store.size });
}

function verifySigil(context: ApiContext, exchange: Exchange, encodedId: string): void {
  let id: string;
  try {
    id = decodeURIComponent(encodedId);
  } catch {
    return send(context, exchange, Route.verify, 404, { error: 'sigil not found: the id is not valid percent-encoding' });
  }
  if (!context.store.get(id)) {
    return send(context, exchange, Route.verify, 404, { error: `sigil ${id} not found` });
  }
  if (failedOnPurpose(context, exchange, Route.verify)) return;

  return send(context, exchange, Route.verify, 200, { id, valid: true });
}
