/**
 * The table sections of `report.html`. Every function returns HTML in which each string
 * from the report has been escaped.
 */
import type { RunReport, SeriesAnalysis, ThresholdResult } from './report-schema.js';
import {
  escapeHtml,
  formatCount,
  formatInUnit,
  formatMs,
  formatNumber,
  formatPercent,
  formatPerHour,
  formatPValue,
  formatSignedInUnit,
  formatSignedPercent,
} from './render-html-format.js';

export interface Column<Row> {
  header: string;
  numeric?: boolean;
  /** Extra class of the cell, such as `message` for long text. */
  className?: string;
  /** Returns the cell's HTML, in which the caller has escaped report strings. */
  render: (row: Row) => string;
}

/** Renders a dash for a missing value, with the reason as a tooltip when one is known. */
export function missing(reason?: string | null): string {
  if (reason === undefined || reason === null || reason === '') return '<span class="missing">—</span>';
  return `<span class="missing" title="${escapeHtml(reason)}">—</span>`;
}

/** Formats a value, or renders a dash with `reason` when it is null. */
export function valueOr(value: number | null, format: (value: number) => string, reason?: string | null): string {
  return value === null ? missing(reason) : escapeHtml(format(value));
}

export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], emptyText: string): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(emptyText)}</p>`;

  const head = columns
    .map((column) => `<th${column.numeric ? ' class="num"' : ''} scope="col">${escapeHtml(column.header)}</th>`)
    .join('');
  const body = rows
    .map((row) => {
      const cells = columns.map((column) => {
        const classes = [column.numeric ? 'num' : '', column.className ?? ''].filter(Boolean).join(' ');
        return `<td${classes ? ` class="${classes}"` : ''}>${column.render(row)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

const GOOD_STATUSES = new Set(['pass', 'ok', 'completed']);
/** Statuses that are neither good nor bad: nothing was measured, or a person stopped the run. */
const NEUTRAL_STATUSES = new Set(['unknown', 'insufficient-data', 'no-data', 'stopped']);

/** Colours a status: green when good, grey when neutral, red for anything else (failures, dead segments). */
function statusBadge(status: string, text = status): string {
  const tone = GOOD_STATUSES.has(status) ? 'good' : NEUTRAL_STATUSES.has(status) ? 'neutral' : 'bad';
  return `<span class="status status-${tone}">${escapeHtml(text)}</span>`;
}

// ---------------------------------------------------------------- requests and load

/** Renders failures by kind, status codes and load-generator health side by side. */
export function renderRequestDetails(report: RunReport): string {
  const failures = Object.entries(report.requests.failures).sort(([, a], [, b]) => b - a);
  const statuses = Object.entries(report.requests.statuses).sort(([a], [b]) => a.localeCompare(b));
  const generator = report.load.generator;

  const failureTable = renderTable(
    failures,
    [
      { header: 'Failure kind', render: ([kind]) => escapeHtml(kind) },
      { header: 'Requests', numeric: true, render: ([, count]) => escapeHtml(formatCount(count)) },
    ],
    'No failed requests.',
  );
  const statusTable = renderTable(
    statuses,
    [
      { header: 'HTTP status', render: ([status]) => (status === '0' ? '0 (no response)' : escapeHtml(status)) },
      { header: 'Requests', numeric: true, render: ([, count]) => escapeHtml(formatCount(count)) },
    ],
    'No status codes recorded.',
  );
  const generatorRows: [string, string][] = [
    ['Iterations', `${formatCount(report.load.iterations)} of ${formatCount(report.load.plannedIterations)} planned`],
    ['Shortfall cause', report.load.cause],
    ['Late points', formatCount(generator.latePoints)],
    ['Unparsable lines', formatCount(generator.unparsableLines)],
    ['Unknown metric points', formatCount(generator.unknownMetricPoints)],
    ['Script exceptions', formatCount(generator.scriptExceptions)],
    ['Probe failures', formatCount(generator.probeFailures)],
  ];
  const generatorTable = renderTable(
    [
      ...generatorRows.map(([name, value]) => [name, escapeHtml(value)] as const),
      ['Max stream lag', valueOr(generator.streamLagMsMax, formatMs, 'not measured')] as const,
      ['Max runner CPU', valueOr(generator.runnerCpuMax, (v) => formatNumber(v, 2), 'not measured')] as const,
      ['Generator machine out of CPU', valueOr(generator.cpuSaturatedShare, (v) => `${formatNumber(v * 100, 1)} % of the time`, 'not measured')] as const,
    ],
    [
      { header: 'Load generator', render: ([name]) => escapeHtml(name) },
      { header: 'Value', numeric: true, render: ([, html]) => html },
    ],
    '',
  );

  return `<div class="side-by-side">
<div><h3>Failures by kind</h3>${failureTable}</div>
<div><h3>Status codes</h3>${statusTable}</div>
<div><h3>Load generator</h3>${generatorTable}</div>
</div>`;
}

// ---------------------------------------------------------------- segments

export function renderSegments(report: RunReport): string {
  return renderTable(
    report.segments,
    [
      { header: '#', numeric: true, render: (s) => escapeHtml(String(s.index)) },
      { header: 'Execution segment', render: (s) => `<code>${escapeHtml(s.segment)}</code>` },
      { header: 'Status', render: (s) => statusBadge(s.status) },
      { header: 'Exit code', numeric: true, render: (s) => valueOr(s.exitCode, String, 'k6 did not exit with a code') },
      { header: 'Coverage', numeric: true, render: (s) => valueOr(s.coverage, formatPercent, s.detail) },
      { header: 'Requests', numeric: true, render: (s) => escapeHtml(formatCount(s.requests)) },
      { header: 'Windows', numeric: true, render: (s) => escapeHtml(formatCount(s.windows)) },
      { header: 'Script exceptions', numeric: true, render: (s) => escapeHtml(formatCount(s.scriptExceptions)) },
      { header: 'Detail', className: 'message', render: (s) => escapeHtml(s.detail) },
    ],
    'No segment reported a result.',
  );
}

// ---------------------------------------------------------------- thresholds

const K6_TIME_METRICS = new Set([
  'http_req_duration',
  'http_req_waiting',
  'http_req_connecting',
  'http_req_blocked',
  'http_req_sending',
  'http_req_receiving',
  'http_req_tls_handshaking',
  'iteration_duration',
]);

/** Formats the observed aggregate in the expression's own unit, adding `ms` for k6's built-in timings. */
function formatObserved(threshold: ThresholdResult, observed: number): string {
  const baseMetric = threshold.metric.split('{')[0] ?? threshold.metric;
  const digits = Math.abs(observed) >= 100 ? 1 : 4;
  const text = formatNumber(observed, digits);
  return K6_TIME_METRICS.has(baseMetric) ? `${text} ms` : text;
}

function thresholdResult(threshold: ThresholdResult): string {
  if (threshold.passed === null) return statusBadge('unknown', 'not evaluated');
  return threshold.passed ? statusBadge('pass') : statusBadge('fail');
}

export function renderThresholds(report: RunReport): string {
  return renderTable(
    report.thresholds,
    [
      { header: 'Metric', render: (t) => `<code>${escapeHtml(t.metric)}</code>` },
      { header: 'Expression', render: (t) => `<code>${escapeHtml(t.expression)}</code>` },
      {
        header: 'Observed',
        numeric: true,
        render: (t) => valueOr(t.observed, (v) => formatObserved(t, v), t.note ?? 'no data for this metric'),
      },
      { header: 'Result', render: thresholdResult },
      { header: 'Failed minutes', numeric: true, render: (t) => escapeHtml(formatCount(t.failedMinutes)) },
      { header: 'Source', render: (t) => escapeHtml(t.source) },
      { header: 'Abort on fail', render: (t) => (t.abortOnFail ? 'yes' : 'no') },
      { header: 'Note', className: 'message', render: (t) => (t.note === null ? '' : escapeHtml(t.note)) },
    ],
    'No thresholds were set for this run.',
  );
}

// ---------------------------------------------------------------- analyses

/**
 * Explains a null figure of an analysis: the analysis message when it could not run,
 * else the figure is one this kind of analysis does not compute.
 */
function analysisGap(analysis: SeriesAnalysis): string {
  if (analysis.status === 'no-data' || analysis.status === 'insufficient-data') return analysis.message;
  return 'not computed for this series';
}

/**
 * Renders drift or leak analyses. `withGrowth` adds projected growth in 24 h, and growth per hour
 * where it differs from the slope. The quarter columns are left out when no series has them, as
 * in the leak analyses.
 */
export function renderAnalyses(analyses: readonly SeriesAnalysis[], withGrowth: boolean, emptyText: string): string {
  const inUnit = (analysis: SeriesAnalysis, value: number | null) =>
    valueOr(value, (v) => formatInUnit(v, analysis.unit), analysisGap(analysis));
  const columns: Column<SeriesAnalysis>[] = [
    { header: 'Series', render: (a) => `<code>${escapeHtml(a.series)}</code>` },
    { header: 'Status', render: (a) => statusBadge(a.status) },
    {
      header: 'Slope',
      numeric: true,
      render: (a) => valueOr(a.fit?.slopePerHour ?? null, (v) => formatPerHour(v, a.unit), analysisGap(a)),
    },
    {
      header: 'p-value',
      numeric: true,
      render: (a) => {
        const pValue = a.fit?.pValue ?? null;
        if (pValue === null) return missing(analysisGap(a));
        const marker = a.fit?.significant ? ' <span title="significant at the configured alpha">*</span>' : '';
        return `${escapeHtml(formatPValue(pValue))}${marker}`;
      },
    },
    { header: 'Points', numeric: true, render: (a) => valueOr(a.fit?.points ?? null, formatCount, analysisGap(a)) },
  ];
  if (analyses.some((a) => a.firstQuarter !== null || a.lastQuarter !== null)) {
    columns.push(
      { header: 'First quarter', numeric: true, render: (a) => inUnit(a, a.firstQuarter) },
      { header: 'Last quarter', numeric: true, render: (a) => inUnit(a, a.lastQuarter) },
      {
        header: 'Change',
        numeric: true,
        render: (a) => valueOr(a.relativeChange, formatSignedPercent, analysisGap(a)),
      },
    );
  }
  if (withGrowth && analyses.some((a) => a.growthPerHour !== (a.fit?.slopePerHour ?? null))) {
    columns.push({
      header: 'Growth',
      numeric: true,
      render: (a) => valueOr(a.growthPerHour, (v) => formatPerHour(v, a.unit), analysisGap(a)),
    });
  }
  if (withGrowth) {
    columns.push(
      {
        header: 'Projected in 24 h',
        numeric: true,
        render: (a) => valueOr(a.projected24h, (v) => formatSignedInUnit(v, a.unit), analysisGap(a)),
      },
    );
  }
  columns.push(
    { header: 'Tolerance', className: 'message', render: (a) => escapeHtml(a.tolerance) },
    { header: 'Message', className: 'message', render: (a) => escapeHtml(a.message) },
  );
  return renderTable(analyses, columns, emptyText);
}

// ---------------------------------------------------------------- requests by name

export function renderByName(report: RunReport): string {
  const noSuccess = 'no successful requests with this name';
  return renderTable(
    report.byName,
    [
      { header: 'Name', render: (r) => `<code>${escapeHtml(r.name)}</code>` },
      { header: 'Requests', numeric: true, render: (r) => escapeHtml(formatCount(r.requests)) },
      { header: 'Failed', numeric: true, render: (r) => escapeHtml(formatCount(r.failed)) },
      {
        header: 'Error rate',
        numeric: true,
        render: (r) => (r.requests > 0 ? escapeHtml(formatPercent(r.failed / r.requests)) : missing('no requests')),
      },
      { header: 'p95', numeric: true, render: (r) => valueOr(r.p95, formatMs, r.requests > r.failed ? null : noSuccess) },
      { header: 'p99', numeric: true, render: (r) => valueOr(r.p99, formatMs, r.requests > r.failed ? null : noSuccess) },
    ],
    'No requests were recorded.',
  );
}

// ---------------------------------------------------------------- notes, links, comparison

export function renderNotes(report: RunReport): string {
  if (report.notes.length === 0) return '<p class="empty">No notes.</p>';
  return `<ul class="notes">${report.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`;
}

/**
 * Returns true for web links and relative paths. A link with any other scheme (`javascript:`,
 * `data:`) is shown as text.
 */
function isSafeHref(href: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(href.trim());
  if (scheme === null) return true;
  const name = scheme[1]?.toLowerCase();
  return name === 'http' || name === 'https';
}

export function renderLinks(report: RunReport): string {
  const entries = Object.entries(report.links);
  if (entries.length === 0) return '';
  const items = entries.map(([name, href]) => {
    const target = isSafeHref(href)
      ? `<a href="${escapeHtml(href)}" rel="noopener noreferrer">${escapeHtml(href)}</a>`
      : `<code>${escapeHtml(href)}</code>`;
    return `<li>${escapeHtml(name)}: ${target}</li>`;
  });
  return `<ul class="links">${items.join('')}</ul>`;
}

/**
 * Renders the comparison with earlier runs as indented JSON.
 * NOTE: the regression result and the history have no schema in the report contract yet, so
 * this shows them verbatim. Replace it with tables once `analyses.regression` is typed.
 */
export function renderComparison(regression: unknown, history: unknown): string {
  const parts: string[] = [];
  if (regression !== null && regression !== undefined) {
    parts.push(`<h3>Regression analysis</h3><pre class="json">${escapeHtml(prettyJson(regression))}</pre>`);
  }
  if (history !== null && history !== undefined) {
    parts.push(`<h3>Earlier runs</h3><pre class="json">${escapeHtml(prettyJson(history))}</pre>`);
  }
  if (parts.length === 0) return '<p class="empty">No earlier runs to compare with yet.</p>';
  return parts.join('\n');
}

/** Indents a value as JSON, falling back to `String` for values JSON cannot hold (BigInt, functions, cycles). */
function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}
