import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Log } from '../../../core/ports.js';
import { parseRetryAfter, SlackWebhookNotifier, type SlackWebhookNotifierOptions } from '../../../adapters/slack.js';

const SECRET_PATH = '/services/T0000/B0000/webhook-secret-token';

type Reply = (request: IncomingMessage, response: ServerResponse) => void;

/** A webhook stand-in on 127.0.0.1 that responds to each request with the next scripted reply. */
class WebhookServer {
  readonly server: Server;
  readonly bodies: string[] = [];
  replies: Reply[] = [];
  fallback: Reply = (_request, response) => response.writeHead(200).end('ok');

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.bodies.push(Buffer.concat(chunks).toString('utf8'));
        (this.replies.shift() ?? this.fallback)(request, response);
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${SECRET_PATH}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const status = (code: number, body = '', headers: Record<string, string> = {}): Reply => (_request, response) => response.writeHead(code, headers).end(body);
const hang: Reply = () => undefined;

function recordingLog(lines: string[]): Log {
  const write = (message: string, fields?: Record<string, unknown>) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  const log: Log = { debug: write, info: write, warn: write, error: write, child: () => log };
  return log;
}

describe('SlackWebhookNotifier', () => {
  const webhook = new WebhookServer();
  let url = '';
  const logLines: string[] = [];
  const notifier = (options: SlackWebhookNotifierOptions = {}) =>
    new SlackWebhookNotifier(url, { baseDelayMs: 20, maxDelayMs: 50, attemptTimeoutMs: 2000, totalTimeoutMs: 5000, log: recordingLog(logLines), ...options });

  before(async () => {
    url = await webhook.start();
  });
  beforeEach(() => {
    webhook.replies = [];
    webhook.bodies.length = 0;
  });
  after(async () => {
    await webhook.stop();
    for (const line of logLines) assert.ok(!line.includes(SECRET_PATH), `log line contains the webhook path: ${line}`);
  });

  test('delivers on the first attempt', async () => {
    const result = await notifier().send({ blocks: [{ type: 'divider' }] }, 'PASS run-1');
    assert.deepEqual(result, { delivered: true, channel: 'slack', attempts: 1, detail: 'delivered on attempt 1' });
  });

  test('posts the blocks with the fallback text', async () => {
    await notifier().send({ blocks: [{ type: 'divider' }] }, 'PASS run-1');
    assert.deepEqual(JSON.parse(webhook.bodies[0] ?? '{}'), { text: 'PASS run-1', blocks: [{ type: 'divider' }] });
  });

  test('waits for Retry-After on 429', async () => {
    webhook.replies = [status(429, 'rate_limited', { 'retry-after': '1' })];
    const started = Date.now();
    const result = await notifier().send({}, 'PASS');
    const elapsedMs = Date.now() - started;
    assert.equal(result.attempts, 2);
    assert.ok(elapsedMs >= 950, `retried after ${elapsedMs} ms`);
  });

  test('gives up when Retry-After exceeds the time limit', async () => {
    webhook.replies = [status(429, 'rate_limited', { 'retry-after': '120' })];
    const started = Date.now();
    const result = await notifier({ totalTimeoutMs: 3000 }).send({}, 'PASS');
    assert.equal(result.delivered, false);
    assert.equal(result.attempts, 1);
    assert.ok(Date.now() - started < 1000);
  });

  test('retries a 500', async () => {
    webhook.replies = [status(500, 'internal'), status(503, 'unavailable')];
    const result = await notifier().send({}, 'PASS');
    assert.equal(result.delivered, true);
    assert.equal(result.attempts, 3);
  });

  test('stops at the attempt limit', async () => {
    webhook.fallback = status(500, 'internal');
    try {
      const result = await notifier({ maxAttempts: 3 }).send({}, 'PASS');
      assert.equal(result.delivered, false);
      assert.equal(webhook.bodies.length, 3);
    } finally {
      webhook.fallback = status(200, 'ok');
    }
  });

  test('does not retry a 400', async () => {
    webhook.replies = [status(400, 'invalid_payload')];
    const result = await notifier().send({}, 'PASS');
    assert.equal(result.attempts, 1);
    assert.match(result.detail, /HTTP 400 \(invalid_payload\); not retried/);
  });

  test('times out a hanging server within the limit', async () => {
    webhook.fallback = hang;
    try {
      const started = Date.now();
      const result = await notifier({ attemptTimeoutMs: 200, totalTimeoutMs: 1000, maxAttempts: 10 }).send({}, 'PASS');
      const elapsedMs = Date.now() - started;
      assert.equal(result.delivered, false);
      assert.ok(result.attempts >= 2, `attempts ${result.attempts}`);
      assert.ok(elapsedMs < 1500, `gave up after ${elapsedMs} ms`);
      assert.match(result.detail, /timed out after \d+ ms/);
    } finally {
      webhook.fallback = status(200, 'ok');
    }
  });

  test('retries a refused connection', async () => {
    const closed = new WebhookServer();
    const closedUrl = await closed.start();
    await closed.stop();
    const result = await new SlackWebhookNotifier(closedUrl, { baseDelayMs: 10, maxAttempts: 2, log: recordingLog(logLines) }).send({}, 'PASS');
    assert.equal(result.attempts, 2);
    assert.match(result.detail, /connection failed \(ECONNREFUSED\)/);
  });

  test('results never contain the URL', async () => {
    webhook.replies = [status(500, `echo ${SECRET_PATH}`), status(400, `echo ${url}`)];
    const result = await notifier().send({}, 'PASS');
    assert.ok(!JSON.stringify(result).includes(SECRET_PATH), JSON.stringify(result));
  });

  test('invalid URL error hides the value', () => {
    assert.throws(
      () => new SlackWebhookNotifier('http://hooks.example.com/services/T1/B1/secret-value'),
      (error: unknown) => error instanceof Error && !error.message.includes('secret-value') && /https:\/\//.test(error.message),
    );
  });
});

describe('parseRetryAfter', () => {
  test('reads seconds', () => {
    assert.equal(parseRetryAfter('30', 0), 30_000);
  });

  test('reads an HTTP date', () => {
    assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000), 6000);
  });

  test('ignores garbage', () => {
    assert.equal(parseRetryAfter('soon', 0), undefined);
  });
});
