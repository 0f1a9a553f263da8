/**
 * Builds the Slack message (`message.json`) of a run with Block Kit: verdict header, reasons,
 * key figures, run context and a button to the HTML report. The message contains only report
 * fields and the report URL, and never reads the environment.
 */
import {
  describeDuration,
  formatCount,
  formatMs,
  formatPercent,
  formatPerHour,
  formatRatePerSecond,
  formatTimestamp,
} from './render-html-format.js';
import { formatBaselineDelta } from './baseline.js';
import type { Reason, RunReport, SeriesAnalysis } from './report-schema.js';
import type { Verdict } from './schemas.js';
import { sortReasons } from './verdict.js';

/** Limits from Slack's Block Kit reference for the blocks and elements used here. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  buttonText: 75,
  buttonUrl: 3000,
} as const;

/**
 * Max section blocks of reasons, so the message stays scannable (the 50-block limit alone would
 * allow far more). Past it, a final line counts the reasons left out.
 */
export const MAX_REASON_SECTIONS = 4;
/** One reason line is cut to this many characters, so one long message cannot crowd out the rest. */
export const MAX_REASON_LINE = 600;
/** Characters kept free in each reason section for the "… and N more" line. */
const MORE_LINE_RESERVE = 60;
const FALLBACK_TEXT_MAX = 3000;

export const VERDICT_EMOJI: Record<Verdict, string> = {
  ERROR: ':rotating_light:',
  INCOMPLETE: ':warning:',
  STOPPED: ':octagonal_sign:',
  FAIL: ':x:',
  REGRESSION: ':chart_with_downwards_trend:',
  LEAK_SUSPECTED: ':droplet:',
  DRIFT: ':chart_with_upwards_trend:',
  PASS: ':white_check_mark:',
};

const PROBE_NAMES: Record<string, string> = {
  heapUsedBytes: 'Heap',
  residentMemoryBytes: 'RSS',
  openFds: 'Open fds',
  eventLoopLagP99Seconds: 'Event loop lag p99',
};

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
}
export interface HeaderBlock {
  type: 'header';
  text: PlainText;
}
export interface SectionBlock {
  type: 'section';
  text?: Mrkdwn;
  fields?: Mrkdwn[];
}
export interface ContextBlock {
  type: 'context';
  elements: Mrkdwn[];
}
export interface ActionsBlock {
  type: 'actions';
  elements: { type: 'button'; text: PlainText; url: string; action_id: string }[];
}
export type SlackBlock = HeaderBlock | SectionBlock | ContextBlock | ActionsBlock;

export interface SlackMessage {
  /** Plain fallback for notifications and clients without Block Kit. */
  text: string;
  blocks: SlackBlock[];
}

export interface SlackMessageOptions {
  /** Link to `report.html`. The button is added only when this is set. */
  reportUrl?: string;
}

/** Builds the Block Kit message of a run, within Slack's block and text limits. */
export function buildSlackMessage(report: RunReport, options: SlackMessageOptions = {}): SlackMessage {
  const link = describeReportLink(options.reportUrl);
  const headline = `${VERDICT_EMOJI[report.verdict]} ${report.verdict} · ${report.env} · ${report.scenario}`;

  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, SLACK_LIMITS.headerText), emoji: true } },
    ...reasonSections(report.reasons),
    { type: 'section', fields: keyFigureFields(report) },
    contextBlock(report, link.contextNote),
  ];
  if (link.buttonUrl !== null) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open report', emoji: false },
          url: link.buttonUrl,
          action_id: 'open_report',
        },
      ],
    });
  }

  return { text: fallbackText(report, link.buttonUrl ?? options.reportUrl), blocks };
}

/**
 * Decides how the message links the report. Only an http(s) URL gets a button, because a reader
 * in Slack cannot open a `file://` path on the runner's disk. Such a location goes into the
 * context line as text. A URL over Slack's 3000-character button limit gets no button either.
 */
function describeReportLink(reportUrl: string | undefined): { buttonUrl: string | null; contextNote: string | null } {
  if (reportUrl === undefined || reportUrl === '') return { buttonUrl: null, contextNote: null };
  if (reportUrl.length > SLACK_LIMITS.buttonUrl) {
    return { buttonUrl: null, contextNote: `report link left out: longer than Slack's ${SLACK_LIMITS.buttonUrl} characters` };
  }
  if (!/^https?:\/\//i.test(reportUrl)) return { buttonUrl: null, contextNote: `report: ${reportUrl}` };
  return { buttonUrl: reportUrl, contextNote: null };
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Cuts `text` to at most `max` characters (code points), ending with `…` when cut. */
function truncate(text: string, max: number): string {
  const characters = Array.from(text);
  if (characters.length <= max) return text;
  if (max < 1) return '';
  return `${characters.slice(0, max - 1).join('')}…`;
}

/** Escapes `text` for mrkdwn and cuts it so the escaped form has at most `max` characters. */
function escapeWithin(text: string, max: number): string {
  let limit = max;
  while (limit > 0) {
    const escaped = escapeMrkdwn(truncate(text, limit));
    const length = Array.from(escaped).length;
    if (length <= max) return escaped;
    limit -= length - max;
  }
  return '';
}

function reasonLine(reason: Reason): string {
  const code = reason.code.replaceAll('`', "'");
  const line = `${VERDICT_EMOJI[reason.verdict]} \`${escapeMrkdwn(truncate(code, 80))}\` `;
  return line + escapeWithin(reason.message, MAX_REASON_LINE - Array.from(line).length);
}

/** Packs the reasons, most severe first, into section blocks of at most 3000 characters each. */
function reasonSections(reasons: readonly Reason[]): SectionBlock[] {
  if (reasons.length === 0) return [{ type: 'section', text: { type: 'mrkdwn', text: 'No findings were recorded.' } }];

  const capacity = SLACK_LIMITS.sectionText - MORE_LINE_RESERVE;
  const lines = sortReasons(reasons).map(reasonLine);
  const sections: string[] = [];
  let current = '';
  let included = 0;
  for (const line of lines) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (Array.from(candidate).length <= capacity) {
      current = candidate;
    } else if (sections.length + 1 < MAX_REASON_SECTIONS) {
      sections.push(current);
      current = line;
    } else {
      break;
    }
    included += 1;
  }

  const leftOut = lines.length - included;
  if (leftOut > 0) current += `\n… and ${formatCount(leftOut)} more in the report`;
  sections.push(current);
  return sections.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } }));
}

function field(label: string, value: string): Mrkdwn {
  const title = `*${escapeMrkdwn(label)}*\n`;
  return { type: 'mrkdwn', text: title + escapeWithin(value, SLACK_LIMITS.fieldText - Array.from(title).length) };
}

function orDash(value: number | null, format: (value: number) => string): string {
  return value === null ? '—' : format(value);
}

function growthField(analysis: SeriesAnalysis & { growthPerHour: number }): Mrkdwn {
  const name = PROBE_NAMES[analysis.series] ?? analysis.series;
  const flag = analysis.status === 'flagged' ? ' (flagged)' : '';
  return field(`${name} growth`, `${formatPerHour(analysis.growthPerHour, analysis.unit)}${flag}`);
}

/**
 * Lists latency, errors, volume and load, then probe growth per hour with flagged series
 * first. Latency and errors carry their change against the baseline when there is one.
 */
function keyFigureFields(report: RunReport): Mrkdwn[] {
  const { requests, latencyMs, load } = report;
  const regression = report.analyses.regression;
  const p95 = `${orDash(latencyMs.p95, formatMs)}${formatBaselineDelta(regression, 'p95')}`;
  const p99 = `${orDash(latencyMs.p99, formatMs)}${formatBaselineDelta(regression, 'p99')}`;
  const errors = `${orDash(requests.errorRate, formatPercent)}${formatBaselineDelta(regression, 'errorRate')}`;
  const fields = [
    field('p95 / p99', `${p95} / ${p99}`),
    field('Error rate', `${errors} (${formatCount(requests.failed)} failed)`),
    field('Requests', formatCount(requests.total)),
    field('Achieved rate', `${orDash(load.achievedRate, formatRatePerSecond)} of ${formatRatePerSecond(load.plannedRate)} planned`),
  ];
  const growing = report.analyses.leaks
    .filter((analysis): analysis is SeriesAnalysis & { growthPerHour: number } => analysis.growthPerHour !== null)
    .sort((a, b) => Number(b.status === 'flagged') - Number(a.status === 'flagged'));
  for (const analysis of growing) {
    if (fields.length >= SLACK_LIMITS.fields) break;
    fields.push(growthField(analysis));
  }
  return fields;
}

function contextBlock(report: RunReport, note: string | null): ContextBlock {
  const parts = [
    `Run \`${report.runId.replaceAll('`', "'")}\``,
    describeDuration(report),
    report.startedAt === null ? 'not started' : `started ${formatTimestamp(report.startedAt)}`,
  ];
  if (note !== null) parts.push(note);
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: escapeWithin(parts.join(' · '), SLACK_LIMITS.sectionText) }],
  };
}

function fallbackText(report: RunReport, reportUrl: string | undefined): string {
  const [first] = sortReasons(report.reasons);
  const more = report.reasons.length > 1 ? ` (and ${formatCount(report.reasons.length - 1)} more)` : '';
  const summary = first === undefined ? 'no findings' : `${first.code}: ${first.message}${more}`;
  const link = reportUrl === undefined ? '' : `\nReport: ${escapeMrkdwn(reportUrl)}`;
  const headline = `${report.verdict} · ${report.env} · ${report.scenario} · run ${report.runId}: ${summary}`;
  return escapeWithin(headline, FALLBACK_TEXT_MAX - Array.from(link).length) + link;
}
