import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { buildSlackMessage, MAX_REASON_SECTIONS, type SlackMessage } from '../../core/slack-message.js';
import type { Reason, RunReport } from '../../core/report-schema.js';
import { buildErrorReport, buildSampleReport } from '../support/sample-report.js';

const REPORT_URL = 'https://reports.example.test/runs/staging/20261204T010000Z-staging-sigil/report.html';

// Block Kit, limited to the block types the message uses, with Slack's documented limits.
const PlainTextSchema = z.strictObject({ type: z.literal('plain_text'), text: z.string().min(1), emoji: z.boolean().optional() });
const MrkdwnSchema = z.strictObject({ type: z.literal('mrkdwn'), text: z.string().min(1).max(3000) });
const HeaderSchema = z.strictObject({
  type: z.literal('header'),
  text: PlainTextSchema.extend({ text: z.string().min(1).max(150) }),
});
const SectionSchema = z
  .strictObject({
    type: z.literal('section'),
    text: MrkdwnSchema.optional(),
    fields: z.array(MrkdwnSchema.extend({ text: z.string().min(1).max(2000) })).min(1).max(10).optional(),
  })
  .refine((section) => section.text !== undefined || section.fields !== undefined, 'a section needs text or fields');
const ContextSchema = z.strictObject({ type: z.literal('context'), elements: z.array(MrkdwnSchema).min(1).max(10) });
const ButtonSchema = z.strictObject({
  type: z.literal('button'),
  text: PlainTextSchema.extend({ text: z.string().min(1).max(75) }),
  url: z.url({ protocol: /^https?$/ }).max(3000),
  action_id: z.string().min(1).max(255),
});
const ActionsSchema = z.strictObject({ type: z.literal('actions'), elements: z.array(ButtonSchema).min(1).max(25) });
const MessageSchema = z.strictObject({
  text: z.string().min(1).max(40_000),
  blocks: z.array(z.union([HeaderSchema, SectionSchema, ContextSchema, ActionsSchema])).min(1).max(50),
});

function manyReasons(count: number, messageLength: number): Reason[] {
  return Array.from({ length: count }, (_, index) => ({
    code: `THRESHOLD_FAILED_${index}`,
    verdict: index % 2 === 0 ? 'FAIL' : 'DRIFT',
    message: `Reason ${index}: ${'p99 above 1500 ms on the merged run. '.repeat(Math.ceil(messageLength / 37)).slice(0, messageLength)}`,
  }));
}

function allTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) => {
    if (block.type === 'header') return [block.text.text];
    if (block.type === 'section') return [...(block.text ? [block.text.text] : []), ...(block.fields ?? []).map((f) => f.text)];
    if (block.type === 'context') return block.elements.map((element) => element.text);
    return block.elements.map((element) => element.text.text);
  });
}

function reasonSectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));
}

function fieldTexts(report: RunReport): string[] {
  const section = buildSlackMessage(report, {}).blocks.find((block) => block.type === 'section' && block.fields);
  return section?.type === 'section' ? (section.fields ?? []).map((f) => f.text) : [];
}

describe('buildSlackMessage', () => {
  it('is valid Block Kit', () => {
    assert.doesNotThrow(() => MessageSchema.parse(buildSlackMessage(buildSampleReport(), { reportUrl: REPORT_URL })));
  });

  it('is valid Block Kit for an ERROR run', () => {
    assert.doesNotThrow(() => MessageSchema.parse(buildSlackMessage(buildErrorReport(), {})));
  });

  it('opens with a header block', () => {
    assert.equal(buildSlackMessage(buildSampleReport(), {}).blocks[0]?.type, 'header');
  });

  it('puts emoji, verdict, env and scenario in the header', () => {
    const [header] = buildSlackMessage(buildSampleReport(), {}).blocks;
    assert.equal(header?.type === 'header' && header.text.text, ':droplet: LEAK_SUSPECTED · staging · sigil');
  });

  it('cuts a long header to 150 characters', () => {
    const [header] = buildSlackMessage(buildSampleReport({ scenario: 's'.repeat(400) }), {}).blocks;
    assert.equal(header?.type === 'header' && Array.from(header.text.text).length, 150);
  });

  it('lists the reason right after the header', () => {
    const block = buildSlackMessage(buildSampleReport(), {}).blocks[1];
    assert.match(block?.type === 'section' ? (block.text?.text ?? '') : '', /^:droplet: `LEAK_HEAPUSEDBYTES` heapUsedBytes grows 40 MiB\/h/);
  });

  it('lists the most severe reason first', () => {
    const reasons: Reason[] = [
      { code: 'P95_DRIFT', verdict: 'DRIFT', message: 'p95 drifts' },
      { code: 'THRESHOLD_FAILED', verdict: 'FAIL', message: 'p99 failed' },
    ];
    const [first] = reasonSectionTexts(buildSlackMessage(buildSampleReport({ reasons }), {}));
    assert.match(first ?? '', /^:x: `THRESHOLD_FAILED`/);
  });

  it('says when there are no findings', () => {
    const [first] = reasonSectionTexts(buildSlackMessage(buildSampleReport({ verdict: 'PASS', reasons: [] }), {}));
    assert.equal(first, 'No findings were recorded.');
  });

  it('shows latency, errors, requests and rate', () => {
    const fields = fieldTexts(buildSampleReport());
    assert.deepEqual(fields.slice(0, 4), [
      '*p95 / p99*\n123 ms / 268 ms',
      '*Error rate*\n0.048% (43 failed)',
      '*Requests*\n90,008',
      '*Achieved rate*\n50/s of 50/s planned',
    ]);
  });

  it('shows heap growth per hour', () => {
    assert.ok(fieldTexts(buildSampleReport()).includes('*Heap growth*\n+40 MiB/h (flagged)'));
  });

  it('shows fd growth per hour', () => {
    assert.ok(fieldTexts(buildSampleReport()).includes('*Open fds growth*\n+0.4/h'));
  });

  it('omits growth fields without data', () => {
    assert.equal(fieldTexts(buildErrorReport()).length, 4);
  });

  it('shows dashes for missing figures', () => {
    assert.equal(fieldTexts(buildErrorReport())[0], '*p95 / p99*\n— / —');
  });

  it('gives run id and duration in context', () => {
    const context = buildSlackMessage(buildSampleReport(), {}).blocks.find((block) => block.type === 'context');
    assert.equal(
      context?.type === 'context' && context.elements[0]?.text,
      'Run `20261204T010000Z-staging-sigil` · 30 min of 30 min planned · started 2026-12-04 01:00:00 UTC',
    );
  });

  it('has no button without a report URL', () => {
    assert.ok(!buildSlackMessage(buildSampleReport(), {}).blocks.some((block) => block.type === 'actions'));
  });

  it('links the report with a button', () => {
    const actions = buildSlackMessage(buildSampleReport(), { reportUrl: REPORT_URL }).blocks.at(-1);
    assert.equal(actions?.type === 'actions' && actions.elements[0]?.url, REPORT_URL);
  });

  it('drops a report URL over 3000 characters', () => {
    const message = buildSlackMessage(buildSampleReport(), { reportUrl: `${REPORT_URL}?${'a'.repeat(3000)}` });
    assert.ok(!message.blocks.some((block) => block.type === 'actions'));
  });

  it('has no button for a file URL', () => {
    const message = buildSlackMessage(buildSampleReport(), { reportUrl: 'file:///tmp/soak-results/report.html' });
    assert.ok(!message.blocks.some((block) => block.type === 'actions'));
  });

  it('shows a file URL in context', () => {
    const message = buildSlackMessage(buildSampleReport(), { reportUrl: 'file:///tmp/soak-results/report.html' });
    const context = message.blocks.find((block) => block.type === 'context');
    assert.match(context?.type === 'context' ? (context.elements[0]?.text ?? '') : '', / · report: file:\/\/\/tmp\/soak-results\/report\.html$/);
  });

  it('escapes mrkdwn control characters', () => {
    const reasons: Reason[] = [{ code: 'X', verdict: 'FAIL', message: '<!channel> a & b <https://evil.test|click>' }];
    const [text] = reasonSectionTexts(buildSlackMessage(buildSampleReport({ reasons }), {}));
    assert.equal(text, ':x: `X` &lt;!channel&gt; a &amp; b &lt;https://evil.test|click&gt;');
  });

  it('has a plain fallback text', () => {
    const message = buildSlackMessage(buildSampleReport(), { reportUrl: REPORT_URL });
    assert.match(message.text, /^LEAK_SUSPECTED · staging · sigil · run 20261204T010000Z-staging-sigil: LEAK_HEAPUSEDBYTES: /);
  });

  it('puts the report URL in the fallback text', () => {
    assert.ok(buildSlackMessage(buildSampleReport(), { reportUrl: REPORT_URL }).text.endsWith(`\nReport: ${REPORT_URL}`));
  });

  it('adds nothing from the environment', () => {
    process.env.SOAK_TEST_SECRET_MARKER = 'xoxb-secret-marker';
    try {
      const message = buildSlackMessage(buildSampleReport(), { reportUrl: REPORT_URL });
      assert.ok(!JSON.stringify(message).includes('xoxb-secret-marker'));
    } finally {
      delete process.env.SOAK_TEST_SECRET_MARKER;
    }
  });
});

describe('buildSlackMessage with 200 reasons', () => {
  const shortReport = buildSampleReport({ reasons: manyReasons(200, 80) });
  const longReport = buildSampleReport({ reasons: manyReasons(200, 5000) });

  it('stays valid Block Kit', () => {
    assert.doesNotThrow(() => MessageSchema.parse(buildSlackMessage(shortReport, { reportUrl: REPORT_URL })));
  });

  it('stays valid with long messages', () => {
    assert.doesNotThrow(() => MessageSchema.parse(buildSlackMessage(longReport, { reportUrl: REPORT_URL })));
  });

  it('stays within 50 blocks', () => {
    assert.ok(buildSlackMessage(longReport, { reportUrl: REPORT_URL }).blocks.length <= 50);
  });

  it('keeps every text within 3000 characters', () => {
    for (const text of allTexts(buildSlackMessage(longReport, {}))) {
      assert.ok(Array.from(text).length <= 3000, `a text has ${Array.from(text).length} characters`);
    }
  });

  it('caps the reason sections', () => {
    assert.equal(reasonSectionTexts(buildSlackMessage(shortReport, {})).length, MAX_REASON_SECTIONS);
  });

  it('counts the reasons left out', () => {
    const sections = reasonSectionTexts(buildSlackMessage(shortReport, {}));
    const shown = sections.join('\n').split('\n').filter((line) => line.includes('`THRESHOLD_FAILED_')).length;
    assert.ok(sections.at(-1)?.endsWith(`\n… and ${200 - shown} more in the report`));
  });

  it('cuts a long reason line', () => {
    const [first] = reasonSectionTexts(buildSlackMessage(longReport, {}));
    const line = first?.split('\n')[0] ?? '';
    assert.ok(line.endsWith('…'), `line not cut: ${line.slice(-40)}`);
    assert.ok(Array.from(line).length <= 600, `line of ${Array.from(line).length} characters`);
  });

  it('keeps all reasons when they fit', () => {
    const report = buildSampleReport({ reasons: manyReasons(20, 60) });
    assert.ok(!reasonSectionTexts(buildSlackMessage(report, {})).join('\n').includes('more in the report'));
  });
});
