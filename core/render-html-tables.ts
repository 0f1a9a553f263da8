/**
 * The table sections of `report.html`. Every function returns HTML in which each string
 * from the report has been escaped.
 */
import type { MetricComparison, RegressionAnalysis } from './baseline.js';
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
 * Renders drift or leak analyses. `withGrowth` adds projected growth in 24 h, and the lasting
 * growth per hour (the smaller of the slope and the late slope) where it differs from the
 * slope. The quarter columns are left out when no series has them, as in the leak analyses.
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
      header: 'Lasting growth',
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

// ---------------------------------------------------------------- comparison with earlier nights

/** Display names of the compared metrics. A probe slope is named after its series. */
const METRIC_LABELS: Record<string, string> = { p95: 'p95 latency', p99: 'p99 latency', errorRate: 'Error rate' };

const SLOPE_PREFIX = 'slope:';

function metricLabel(metric: string): string {
  if (metric.startsWith(SLOPE_PREFIX)) return `<code>${escapeHtml(metric.slice(SLOPE_PREFIX.length))}</code> growth`;
  return escapeHtml(METRIC_LABELS[metric] ?? metric);
}

/**
 * Formats a value in a comparison unit: `ms`, `ratio`, or a probe unit per hour such as
 * `bytes/h`, which the probe slopes use.
 */
function formatComparisonValue(value: number, unit: string): string {
  if (unit.endsWith('/h')) return `${formatInUnit(value, unit.slice(0, -'/h'.length))}/h`;
  return formatInUnit(value, unit);
}

/**
 * Formats an amount by which a metric moves (a change, a spread, a tolerance): percentage
 * points for ratios, else the unit of the metric.
 */
function formatComparisonAmount(amount: number, unit: string): string {
  if (unit === 'ratio') return `${formatNumber(amount * 100, 3)} pp`;
  return formatComparisonValue(amount, unit);
}

/** Formats a signed change, such as `+63.5 ms` or `-0.252 pp`. */
function formatComparisonChange(delta: number, unit: string): string {
  let sign = '';
  if (delta > 0) sign = '+';
  else if (delta < 0) sign = '-';
  return `${sign}${formatComparisonAmount(Math.abs(delta), unit)}`;
}

const COMPARISON_MARKERS: Record<MetricComparison['status'], { text: string; tone: string }> = {
  regressed: { text: 'REGRESSED', tone: 'bad' },
  ok: { text: 'ok', tone: 'good' },
  improved: { text: 'improved', tone: 'improved' },
  'no-data': { text: 'no data', tone: 'neutral' },
};

/** Renders the result of one compared metric, with the comparison's message as a tooltip. */
function comparisonMarker(comparison: MetricComparison): string {
  const marker = COMPARISON_MARKERS[comparison.status];
  return `<span class="status status-${marker.tone}" title="${escapeHtml(comparison.message)}">${escapeHtml(marker.text)}</span>`;
}

/**
 * Describes the change of a key figure against the baseline median, such as `+31% vs baseline`
 * or `-0.252 pp vs baseline` for ratios, coloured by the comparison's result. Returns '' when
 * the run was not compared or the metric has no change, like `formatBaselineDelta` in
 * core/baseline.ts does for the Slack message.
 */
export function renderBaselineChange(regression: RegressionAnalysis | null, metric: string): string {
  if (regression === null || regression.status !== 'compared') return '';
  const comparison = regression.metrics.find((item) => item.metric === metric);
  if (comparison === undefined || comparison.delta === null) return '';

  const change =
    comparison.unit !== 'ratio' && comparison.relativeDelta !== null
      ? formatSignedPercent(comparison.relativeDelta)
      : formatComparisonChange(comparison.delta, comparison.unit);
  let verdict = '';
  if (comparison.status === 'regressed') verdict = ', REGRESSED';
  else if (comparison.status === 'improved') verdict = ', improved';
  const tone = COMPARISON_MARKERS[comparison.status].tone;
  return `<span class="status-${tone}" title="${escapeHtml(comparison.message)}">${escapeHtml(`${change} vs baseline${verdict}`)}</span>`;
}

const MODE_DESCRIPTIONS: Record<RegressionAnalysis['mode'], string> = {
  rolling: 'rolling: the last comparable runs that passed',
  pinned: 'pinned with soak baseline pin',
  named: 'named in the request',
};

/** Labels the overall result: regressed when any metric regressed. */
function comparisonStatus(regression: RegressionAnalysis): { text: string; tone: string } {
  if (regression.status === 'no-baseline') return { text: 'no baseline', tone: 'neutral' };
  if (regression.status === 'skipped') return { text: 'not compared', tone: 'neutral' };
  if (regression.metrics.some((metric) => metric.status === 'regressed')) return { text: 'REGRESSED', tone: 'bad' };
  return { text: 'no regression', tone: 'good' };
}

function runIdList(runIds: readonly string[]): string {
  return runIds.map((runId) => `<code>${escapeHtml(runId)}</code>`).join(', ');
}

function renderMetricComparisons(metrics: readonly MetricComparison[]): string {
  const inUnit = (comparison: MetricComparison, value: number | null, reason: string) =>
    valueOr(value, (v) => formatComparisonValue(v, comparison.unit), reason);
  const noBaselineValue = 'no baseline run has a value of this metric';
  return renderTable(
    metrics,
    [
      { header: 'Metric', render: (m) => metricLabel(m.metric) },
      { header: 'This run', numeric: true, render: (m) => inUnit(m, m.current, 'no value in this run') },
      { header: 'Baseline median', numeric: true, render: (m) => inUnit(m, m.baselineMedian, noBaselineValue) },
      {
        header: 'Spread (MAD)',
        numeric: true,
        render: (m) => valueOr(m.baselineSpread, (v) => formatComparisonAmount(v, m.unit), noBaselineValue),
      },
      {
        header: 'Change',
        numeric: true,
        render: (m) => {
          if (m.delta === null) return missing('not compared: a value is missing');
          const relative = m.relativeDelta === null ? '' : ` (${formatSignedPercent(m.relativeDelta)})`;
          return escapeHtml(`${formatComparisonChange(m.delta, m.unit)}${relative}`);
        },
      },
      {
        header: 'Tolerance',
        numeric: true,
        render: (m) => valueOr(m.allowedRise, (v) => `up to +${formatComparisonAmount(v, m.unit)}`, 'not compared: a value is missing'),
      },
      { header: 'Baseline runs', numeric: true, render: (m) => escapeHtml(formatCount(m.baselineRuns)) },
      { header: 'Result', render: comparisonMarker },
    ],
    'No metric is enabled for the comparison.',
  );
}

function renderIncomparable(incomparable: RegressionAnalysis['incomparable']): string {
  if (incomparable.length === 0) return '';
  const items = incomparable.map(
    (run) => `<li><code>${escapeHtml(run.runId)}</code>: ${escapeHtml(run.reasons.join('; '))}</li>`,
  );
  const count = `${incomparable.length} earlier run${incomparable.length === 1 ? '' : 's'}`;
  return `<details class="incomparable"><summary>${count} left out because ${incomparable.length === 1 ? 'it differs' : 'they differ'} from this run (newest first)</summary>
<ul>${items.join('')}</ul>
</details>`;
}

/**
 * Renders the comparison with earlier nights: the result, where the baseline comes from, one
 * row per compared metric, the chart of the last nights, and the runs left out of the baseline.
 */
export function renderComparison(regression: RegressionAnalysis | null, chartHtml: string): string {
  if (regression === null) {
    return '<p class="empty" id="no-comparison">This run was not compared with earlier nights: the report has no regression analysis. When the history could not be read, the notes say why.</p>';
  }

  const status = comparisonStatus(regression);
  const parts = [
    `<p class="comparison-message"><span class="status status-${status.tone}">${escapeHtml(status.text)}</span> ${escapeHtml(regression.message)}</p>`,
  ];

  const baselineRuns =
    regression.baselineRunIds.length === 0
      ? 'none'
      : `${formatCount(regression.baselineRunIds.length)}: ${runIdList(regression.baselineRunIds)}`;
  const facts: [string, string][] = [
    ['Baseline', escapeHtml(MODE_DESCRIPTIONS[regression.mode])],
    ['Baseline runs', `${baselineRuns} <span class="hint-inline">(${escapeHtml(formatCount(regression.required))} needed)</span>`],
  ];
  if (regression.excludedRunIds.length > 0) {
    facts.push(['Excluded runs', `${runIdList(regression.excludedRunIds)} <span class="hint-inline">(excluded with soak baseline exclude)</span>`]);
  }
  const previous = regression.previous;
  facts.push([
    'Previous run',
    previous === null
      ? 'none'
      : `<code>${escapeHtml(previous.runId)}</code> <span class="verdict-chip verdict-${escapeHtml(previous.verdict)}">${escapeHtml(previous.verdict)}</span>`,
  ]);
  const factList = facts.map(([name, html]) => `<div><dt>${escapeHtml(name)}</dt><dd>${html}</dd></div>`).join('\n');
  parts.push(`<dl class="comparison-facts">\n${factList}\n</dl>`);

  if (regression.status === 'compared') parts.push(renderMetricComparisons(regression.metrics));
  parts.push(renderIncomparable(regression.incomparable));
  parts.push(chartHtml);
  return parts.filter((part) => part !== '').join('\n');
}
