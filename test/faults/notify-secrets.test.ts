/**
 * Slack failures and secrets, on one full local soak with the k6 double. The webhook,
 * a server on 127.0.0.1, returns 429 with Retry-After, a permanent 400 and 503s. The
 * verdict and the exit code never change, and the message stays for a resend with
 * `soak notify`. Neither the target token nor the webhook URL appears in any file of
 * the run, in its logs or in anything the commands print.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExampleApi, type ExampleApi } from '../../examples/sigil-api/index.js';
import { readAllFiles, reply, WebhookServer } from '../support/fault-kit.js';
import { runSoak, tempResults, type CliResult } from '../support/soak-cli.js';

const TOKEN = 'tok-SECRET-5d2e8a91c4';
const WEBHOOK_SECRET = 'SECRET-webhook-9f3a1c77';

describe('slack failures and secrets', () => {
  let api: ExampleApi;
  const webhook = new WebhookServer();
  let webhookUrl = '';
  const results = tempResults();
  const runId = 'notify-faults';
  const dir = join(results, 'runs', 'local', runId);
  const outputs: CliResult[] = [];
  let run: CliResult;

  before(async () => {
    api = await startExampleApi({ port: 0, staticToken: TOKEN });
    webhookUrl = await webhook.start(`/services/T0000/B0000/${WEBHOOK_SECRET}`);
    webhook.replies = [reply(429, 'rate_limited', { 'retry-after': '1' }), reply(200, 'ok')];
    run = await runSoak(['run', '--local', '--target', api.url, '--scenario', 'sigil', '--rate', '100', '--duration', '10s', '--run-id', runId, '--results', results], {
      fake: { case: 'pass', loopS: 10 },
      env: { SOAK_TARGET_TOKEN: TOKEN, SOAK_SLACK_WEBHOOK_URL: webhookUrl, SOAK_LOG_LEVEL: 'debug' },
    });
    outputs.push(run);
  });

  after(async () => {
    await webhook.stop();
    await api.close();
  });

  test('429 is retried after Retry-After', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(webhook.bodies.length, 2);
    assert.ok(webhook.times[1]! - webhook.times[0]! >= 900, `the retry came ${webhook.times[1]! - webhook.times[0]!} ms after the 429`);
    assert.doesNotMatch(run.stderr, /not delivered/);
  });

  test('permanent 400 keeps the verdict', async () => {
    const before = readFileSync(join(dir, 'report.json'), 'utf8');
    const posts = webhook.bodies.length;
    webhook.replies = [reply(400, `invalid_payload for /services/T0000/B0000/${WEBHOOK_SECRET}`)];
    const notify = await runSoak(['notify', '--results', results, '--webhook', webhookUrl, runId]);
    outputs.push(notify);

    assert.equal(notify.code, 0, 'the exit code is the verdict');
    assert.equal(webhook.bodies.length, posts + 1, 'a permanent error is not retried');
    assert.match(notify.stderr, new RegExp(`not delivered .*HTTP 400.*resend with \`soak notify --env local ${runId}\``));
    assert.equal(readFileSync(join(dir, 'report.json'), 'utf8'), before);
    assert.ok(readFileSync(join(dir, 'message.json'), 'utf8').length > 0, 'the message is kept for a resend');
  });

  test('503s are retried until delivered', async () => {
    const posts = webhook.bodies.length;
    webhook.replies = [reply(503, 'busy'), reply(503, 'busy'), reply(200, 'ok')];
    const notify = await runSoak(['notify', '--results', results, '--webhook', webhookUrl, runId]);
    outputs.push(notify);

    assert.equal(notify.code, 0, notify.stderr);
    assert.equal(webhook.bodies.length, posts + 3);
    assert.doesNotMatch(notify.stderr, /not delivered/);
  });

  test('message carries the verdict, not the token', () => {
    for (const body of webhook.bodies) {
      assert.match(body, /PASS/);
      assert.ok(!body.includes(TOKEN), 'a webhook body contains the token');
    }
  });

  test('no secret in files or output', () => {
    const files = readAllFiles(results);
    assert.ok(files.some((file) => file.path.endsWith('logs/segment-0.ndjson')), 'the segment log was scanned');
    assert.ok(files.some((file) => file.path.endsWith('.ndjson.gz')), 'the checkpoints were scanned');
    for (const file of files) {
      assert.ok(!file.text.includes(TOKEN), `${file.path} contains the token`);
      assert.ok(!file.text.includes(WEBHOOK_SECRET), `${file.path} contains the webhook URL`);
    }
    for (const [index, output] of outputs.entries()) {
      for (const text of [output.stdout, output.stderr]) {
        assert.ok(!text.includes(TOKEN), `command ${index} printed the token`);
        assert.ok(!text.includes(WEBHOOK_SECRET), `command ${index} printed the webhook URL`);
      }
    }
  });
});
