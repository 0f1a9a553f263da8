import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  formatBytes,
  formatElapsed,
  formatMs,
  formatPercent,
  formatPerHour,
  formatTimestamp,
} from '../../core/render-html-format.js';
import { listProbeCharts, renderReportHtml, serializeJsonForScript } from '../../core/render-html.js';
import { loadReportAssets, type ReportAssets } from '../../core/report-assets.js';
import { RunReportSchema, type RunReport } from '../../core/report-schema.js';
import type { RegressionAnalysis } from '../../core/baseline.js';
import {
  HEAP_GROWTH_PER_HOUR,
  buildErrorReport,
  buildRegressionReport,
  buildSampleRegression,
  buildSampleReport,
} from '../support/sample-report.js';

const MALICIOUS = '<script>alert(1)</script>';

let assets: ReportAssets;
before(async () => {
  assets = await loadReportAssets();
});

function render(report: RunReport): string {
  return renderReportHtml(report, assets);
}

/** Returns the HTML of one `<section>` of the page, or '' when it is missing. */
function sectionHtml(html: string, id: string): string {
  return html.split(`<section id="${id}">`)[1]?.split('</section>')[0] ?? '';
}

function embeddedJson(html: string): string {
  const match = /<script type="application\/json" id="soak-report">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(match, 'the report JSON script element is missing');
  return match[1] ?? '';
}

function countMatches(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}

describe('sample report', () => {
  it('passes the RunReport schema', () => {
    const report = buildSampleReport();
    assert.deepEqual(RunReportSchema.parse(report), report);
  });

  it('has 30 minutes of series', () => {
    assert.equal(buildSampleReport().series.length, 30);
  });

  it('has a growing heap', () => {
    const series = buildSampleReport().series;
    const first = series[0]?.probes.heapUsedBytes ?? 0;
    const last = series.at(-1)?.probes.heapUsedBytes ?? 0;
    assert.ok(last - first > HEAP_GROWTH_PER_HOUR * 0.4, `heap grew only ${last - first} bytes`);
  });

  it('error variant has no series', () => {
    assert.equal(buildErrorReport().series.length, 0);
  });

  it('rejects an override that breaks the contract', () => {
    assert.throws(() => buildSampleReport({ verdict: 'MAYBE' as RunReport['verdict'] }));
  });
});

describe('loadReportAssets', () => {
  it('reads the uPlot script', () => {
    assert.match(assets.chartJs, /var uPlot=/);
  });

  it('reads the uPlot stylesheet', () => {
    assert.match(assets.chartCss, /\.uplot/);
  });
});

describe('renderReportHtml', () => {
  it('puts the verdict in the page heading', () => {
    assert.match(render(buildSampleReport()), /<h1 id="verdict">LEAK_SUSPECTED<\/h1>/);
  });

  it('colours the banner by verdict', () => {
    assert.match(render(buildSampleReport({ verdict: 'FAIL' })), /class="verdict-banner verdict-FAIL"/);
  });

  it('lists the reasons right after the header', () => {
    const html = render(buildSampleReport());
    const header = html.indexOf('</header>');
    const reasons = html.indexOf('<section id="reasons">');
    const figures = html.indexOf('<section id="figures">');
    assert.ok(header < reasons, 'the reasons section comes before the header ends');
    assert.ok(reasons < figures, 'the reasons section comes after the key figures');
  });

  it('shows each reason code and message', () => {
    const html = render(buildSampleReport());
    assert.match(html, /<code>LEAK_HEAPUSEDBYTES<\/code>/);
    assert.match(html, /heapUsedBytes grows 40 MiB\/h \(Mann–Kendall p &lt; 0\.0001/);
  });

  it('orders reasons by verdict precedence', () => {
    const html = render(
      buildSampleReport({
        reasons: [
          { code: 'P95_DRIFT', verdict: 'DRIFT', message: 'drift' },
          { code: 'THRESHOLD_FAILED', verdict: 'FAIL', message: 'fail' },
          { code: 'HEAP_LEAK', verdict: 'LEAK_SUSPECTED', message: 'leak' },
        ],
      }),
    );
    const order = ['THRESHOLD_FAILED', 'HEAP_LEAK', 'P95_DRIFT'].map((code) => html.indexOf(`<code>${code}</code>`));
    assert.ok(!order.includes(-1), 'a reason code is missing');
    assert.deepEqual([...order].sort((a, b) => a - b), order);
  });

  it('shows the run facts', () => {
    const html = render(buildSampleReport());
    for (const fact of ['20261204T010000Z-staging-sigil', 'staging', 'http://127.0.0.1:3000', '2026-12-04 01:00:00 UTC', 'v1.3.0', '30 min of 30 min planned']) {
      assert.ok(html.includes(fact), `missing run fact ${fact}`);
    }
  });

  it('formats key figures with units', () => {
    const html = render(buildSampleReport());
    assert.match(html, /<div class="value">90,008<\/div>/);
    assert.match(html, /<div class="value">123 ms<\/div>/);
    assert.match(html, /<div class="value">0\.048%<\/div>/);
    assert.match(html, /<div class="value">1\.84 s<\/div>/);
  });

  it('never rounds a failing check rate to 100%', () => {
    assert.match(render(buildSampleReport()), /<div class="value">99\.976%<\/div>/);
  });

  it('shows leak growth per hour', () => {
    assert.match(render(buildSampleReport()), /<td class="num">\+40 MiB\/h<\/td>/);
  });

  it('adds lasting growth where it differs from the slope', () => {
    const base = buildSampleReport();
    const leaksOf = (report: RunReport) => render(report).split('<section id="leaks">')[1]?.split('</section>')[0] ?? '';
    assert.ok(!leaksOf(base).includes('Lasting growth'), 'no column while growth equals the slope');
    const plateau = structuredClone(base);
    const heap = plateau.analyses.leaks.find((analysis) => analysis.series === 'heapUsedBytes')!;
    heap.growthPerHour = 2 * 1024 * 1024;
    heap.projected24h = heap.growthPerHour * 24;
    const leaks = leaksOf(plateau);
    assert.match(leaks, /<th class="num" scope="col">Lasting growth<\/th>/);
    assert.match(leaks, /<td class="num">\+2 MiB\/h<\/td>/);
  });

  it('shows projected growth in 24 h', () => {
    assert.match(render(buildSampleReport()), /<td class="num">\+960 MiB<\/td>/);
  });

  it('leaves out quarter columns without values', () => {
    const leaks = render(buildSampleReport()).split('<section id="leaks">')[1]?.split('</section>')[0] ?? '';
    assert.ok(!leaks.includes('First quarter'));
  });

  it('shows drift quarter medians', () => {
    const drift = render(buildSampleReport()).split('<section id="drift">')[1]?.split('</section>')[0] ?? '';
    assert.match(drift, /<th class="num" scope="col">First quarter<\/th>/);
  });

  it('renders a figure per chart and probe', () => {
    const html = render(buildSampleReport());
    assert.equal(countMatches(html, /<figure class="chart"/g), 7);
    assert.match(html, /data-probe="eventLoopLagP99Seconds" data-unit="s"/);
    assert.match(html, /data-probe="heapUsedBytes" data-unit="bytes"/);
  });

  it('charts probes without a leak analysis', () => {
    const report = buildSampleReport();
    const series = report.series.map((point) => ({ ...point, probes: { ...point.probes, dbPoolConnections: 12 } }));
    const probes = listProbeCharts(buildSampleReport({ series }));
    assert.deepEqual(probes.at(-1), { name: 'dbPoolConnections', unit: 'count', analysis: null });
  });

  it('states the warm-up length', () => {
    assert.match(render(buildSampleReport()), /Shaded: warm-up \(first 3 min\)/);
  });

  it('shows thresholds with their result', () => {
    const html = render(buildSampleReport());
    assert.match(html, /<code>p\(95\)&lt;800<\/code>/);
    assert.match(html, /not evaluated/);
  });

  it('explains a null observed value', () => {
    assert.match(render(buildSampleReport()), /<span class="missing" title="The scenario emitted no sample of this metric\.">—<\/span>/);
  });

  it('colours a dead segment red', () => {
    const report = buildSampleReport();
    const segments = [{ ...report.segments[0]!, status: 'no result (died?)' }];
    assert.match(render(buildSampleReport({ segments })), /<span class="status status-bad">no result \(died\?\)<\/span>/);
  });

  it('colours a completed segment green', () => {
    assert.match(render(buildSampleReport()), /<span class="status status-good">completed<\/span>/);
  });

  it('shows requests by name', () => {
    assert.match(render(buildSampleReport()), /<code>invalid sigil \(expect 400\)<\/code>/);
  });

  it('shows notes', () => {
    assert.match(render(buildSampleReport()), /One probe scrape of \/metrics timed out/);
  });

  it('is deterministic', () => {
    const report = buildSampleReport();
    assert.equal(render(report), render(report));
  });

  it('embeds the report as JSON', () => {
    const report = buildSampleReport();
    assert.deepEqual(JSON.parse(embeddedJson(render(report))), report);
  });

});

describe('sample regression', () => {
  it('passes the RunReport schema', () => {
    const report = buildRegressionReport();
    assert.deepEqual(RunReportSchema.parse(report), report);
  });

  it('leads to REGRESSION', () => {
    assert.equal(buildRegressionReport().verdict, 'REGRESSION');
  });

  it('has every metric status but no-data', () => {
    const statuses = buildSampleRegression().metrics.map((metric) => [metric.metric, metric.status]);
    assert.deepEqual(statuses, [
      ['p95', 'ok'],
      ['p99', 'regressed'],
      ['errorRate', 'improved'],
      ['slope:heapUsedBytes', 'regressed'],
    ]);
  });

  it('charts 14 nights with this run last', () => {
    const chart = buildSampleRegression().chart;
    assert.equal(chart.length, 14);
    assert.equal(chart.at(-1)?.current, true);
  });
});

describe('comparison with earlier nights', () => {
  function withRegression(change: (regression: RegressionAnalysis) => RegressionAnalysis | null): RunReport {
    const report = buildRegressionReport();
    const regression = change(report.analyses.regression!);
    return buildRegressionReport({ analyses: { ...report.analyses, regression } });
  }

  function metricRow(html: string, label: string): string {
    const rows = sectionHtml(html, 'comparison').split('<tr>');
    return rows.find((row) => row.startsWith(`<td>${label}</td>`)) ?? '';
  }

  it('replaces the raw JSON', () => {
    assert.ok(!sectionHtml(render(buildRegressionReport()), 'comparison').includes('"baselineRunIds"'));
  });

  it('is titled for earlier nights', () => {
    assert.match(render(buildRegressionReport()), /<section id="comparison">\n<h2>Compared with earlier nights<\/h2>/);
  });

  it('links the section from the contents', () => {
    assert.match(render(buildRegressionReport()), /<a href="#comparison">Earlier nights<\/a>/);
  });

  it('puts the message first', () => {
    const section = sectionHtml(render(buildRegressionReport()), 'comparison');
    const message = section.indexOf('p99, slope:heapUsedBytes regressed against the baseline of the last 7 runs that passed');
    assert.ok(message > 0, 'the message is missing');
    assert.ok(message < section.indexOf('<dl class="comparison-facts">'), 'the message comes after the facts');
    assert.ok(message < section.indexOf('<table>'), 'the message comes after the table');
  });

  it('marks the overall result as regressed', () => {
    assert.match(sectionHtml(render(buildRegressionReport()), 'comparison'), /<span class="status status-bad">REGRESSED<\/span> p99,/);
  });

  it('states the mode', () => {
    assert.match(render(buildRegressionReport()), /<dt>Baseline<\/dt><dd>rolling: the last comparable runs that passed<\/dd>/);
  });

  it('lists the baseline runs', () => {
    const html = render(buildRegressionReport());
    assert.match(html, /<dt>Baseline runs<\/dt><dd>7: <code>20261124T010000Z-staging-sigil<\/code>, /);
    assert.match(html, /<code>20261203T010000Z-staging-sigil<\/code> <span class="hint-inline">\(3 needed\)<\/span>/);
  });

  it('has one table row per metric', () => {
    const section = sectionHtml(render(buildRegressionReport()), 'comparison');
    assert.equal(countMatches(section, /<tr><td>/g), 4);
  });

  it('has the expected columns', () => {
    const section = sectionHtml(render(buildRegressionReport()), 'comparison');
    const headers = [...section.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((match) => match[1]);
    assert.deepEqual(headers, ['Metric', 'This run', 'Baseline median', 'Spread (MAD)', 'Change', 'Tolerance', 'Baseline runs', 'Result']);
  });

  it('shows the p99 row with its figures', () => {
    const row = metricRow(render(buildRegressionReport()), 'p99 latency');
    for (const cell of ['268 ms', '205 ms', '1.93 ms', '+63.5 ms (+31%)', 'up to +51.2 ms', '>7<']) {
      assert.ok(row.includes(cell), `the p99 row lacks ${cell}: ${row}`);
    }
  });

  it('marks a regressed metric', () => {
    assert.match(metricRow(render(buildRegressionReport()), 'p99 latency'), /<span class="status status-bad" title="p99 is worse: [^"]*">REGRESSED<\/span>/);
  });

  it('marks a metric within tolerance', () => {
    assert.match(metricRow(render(buildRegressionReport()), 'p95 latency'), /<span class="status status-good" title="[^"]*">ok<\/span>/);
  });

  it('marks an improved metric', () => {
    assert.match(metricRow(render(buildRegressionReport()), 'Error rate'), /<span class="status status-improved" title="[^"]*">improved<\/span>/);
  });

  it('shows an error rate change in points', () => {
    const row = metricRow(render(buildRegressionReport()), 'Error rate');
    for (const cell of ['0.048%', '0.3%', '0.015 pp', '-0.252 pp (-84.1%)', 'up to +0.2 pp']) {
      assert.ok(row.includes(cell), `the error rate row lacks ${cell}: ${row}`);
    }
  });

  it('shows a heap growth row per hour', () => {
    const row = metricRow(render(buildRegressionReport()), '<code>heapUsedBytes</code> growth');
    assert.ok(row.includes('40 MiB/h'), `the heap row lacks 40 MiB/h: ${row}`);
    assert.ok(row.includes('+35 MiB/h (+700%)'), `the heap row lacks the change: ${row}`);
  });

  it('explains a metric without data', () => {
    const html = render(
      withRegression((regression) => ({
        ...regression,
        metrics: [
          {
            ...regression.metrics[0]!,
            current: null,
            delta: null,
            relativeDelta: null,
            allowedRise: null,
            status: 'no-data',
            message: 'p95: no value in this run',
          },
        ],
      })),
    );
    const row = metricRow(html, 'p95 latency');
    assert.match(row, /<span class="missing" title="no value in this run">—<\/span>/);
    assert.match(row, />no data<\/span>/);
  });

  it('collapses the incomparable runs', () => {
    const section = sectionHtml(render(buildRegressionReport()), 'comparison');
    assert.match(section, /<details class="incomparable"><summary>1 earlier run left out because it differs from this run \(newest first\)<\/summary>/);
    assert.match(section, /<li><code>20261201T010000Z-staging-sigil<\/code>: rate 100\/s differs from 50\/s<\/li>/);
  });

  it('lists the excluded runs', () => {
    assert.match(render(buildRegressionReport()), /<dt>Excluded runs<\/dt><dd><code>20261128T010000Z-staging-sigil<\/code>/);
  });

  it('shows the previous verdict', () => {
    assert.match(
      render(buildRegressionReport()),
      /<dt>Previous run<\/dt><dd><code>20261203T010000Z-staging-sigil<\/code> <span class="verdict-chip verdict-PASS">PASS<\/span>/,
    );
  });

  it('renders the nights chart figure', () => {
    const section = sectionHtml(render(buildRegressionReport()), 'comparison');
    assert.match(section, /<figure class="chart" id="chart-nights" data-chart="nights">/);
    assert.match(section, /p99, error rate and heap growth per hour of 14 runs/);
  });

  it('escapes run ids and reasons', () => {
    const html = render(
      withRegression((regression) => ({
        ...regression,
        baselineRunIds: [MALICIOUS],
        excludedRunIds: [MALICIOUS],
        incomparable: [{ runId: MALICIOUS, reasons: [`k6 ${MALICIOUS} differs from v1.3.0`] }],
        previous: { runId: MALICIOUS, verdict: 'PASS' },
        message: MALICIOUS,
        metrics: regression.metrics.map((metric) => ({ ...metric, metric: MALICIOUS, message: `"${MALICIOUS}` })),
        chart: regression.chart.map((point) => ({ ...point, runId: MALICIOUS })),
      })),
    );
    assert.ok(!html.includes(MALICIOUS), 'a raw <script> from the regression analysis reached the page');
    assert.match(html, /<li><code>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/code>: k6 &lt;script&gt;/);
    assert.equal(countMatches(html, /<script\b/gi), 3);
  });

  it('explains a missing analysis', () => {
    const section = sectionHtml(render(buildSampleReport()), 'comparison');
    assert.match(section, /<p class="empty" id="no-comparison">This run was not compared with earlier nights/);
    assert.ok(!section.includes('<figure'), 'a chart without an analysis');
  });

  it('shows no baseline change without analysis', () => {
    assert.ok(!render(buildSampleReport()).includes('vs baseline'));
  });

  it('shows a no-baseline analysis', () => {
    const html = render(
      withRegression((regression) => ({
        ...regression,
        status: 'no-baseline',
        message: 'no baseline yet (2 of 3 runs): a baseline needs 3 earlier passing runs',
        baselineRunIds: regression.baselineRunIds.slice(0, 2),
        available: 2,
        metrics: [],
      })),
    );
    const section = sectionHtml(html, 'comparison');
    assert.match(section, /<span class="status status-neutral">no baseline<\/span> no baseline yet \(2 of 3 runs\)/);
    assert.match(section, /<dd>2: <code>/);
    assert.ok(!section.includes('<table>'), 'a metric table without a baseline');
    assert.ok(!html.includes('vs baseline'), 'a key figure shows a change without a baseline');
    assert.match(section, /id="chart-nights"/);
  });

  it('shows a skipped analysis', () => {
    const html = render(
      withRegression((regression) => ({
        ...regression,
        status: 'skipped',
        message: 'not compared with earlier runs: the run is ERROR, so its figures are not a fair measure of the target',
        metrics: [],
      })),
    );
    assert.match(sectionHtml(html, 'comparison'), /<span class="status status-neutral">not compared<\/span> not compared with earlier runs/);
  });

  it('shows a pinned baseline', () => {
    const html = render(withRegression((regression) => ({ ...regression, mode: 'pinned' })));
    assert.match(html, /<dt>Baseline<\/dt><dd>pinned with soak baseline pin<\/dd>/);
  });

  it('shows a first run without a previous one', () => {
    const html = render(withRegression((regression) => ({ ...regression, previous: null, excludedRunIds: [], incomparable: [] })));
    const section = sectionHtml(html, 'comparison');
    assert.match(section, /<dt>Previous run<\/dt><dd>none<\/dd>/);
    assert.ok(!section.includes('Excluded runs'), 'an empty excluded list');
    assert.ok(!section.includes('<details'), 'an empty incomparable list');
  });

  it('replaces a chart of one night with a sentence', () => {
    const html = render(withRegression((regression) => ({ ...regression, chart: regression.chart.slice(-1) })));
    const section = sectionHtml(html, 'comparison');
    assert.match(section, /<p class="empty" id="no-nights-chart">No chart of the last nights: it needs at least two runs with a start time, and the history has 1\.<\/p>/);
    assert.ok(!section.includes('<figure'), 'a chart of one night');
  });

  it('counts nights without a start time', () => {
    const html = render(
      withRegression((regression) => ({
        ...regression,
        chart: regression.chart.map((point, index) => (index === 0 ? { ...point, startedAt: null } : point)),
      })),
    );
    assert.match(sectionHtml(html, 'comparison'), /of 13 runs; the vertical line and rings mark this run\. 1 run has no start time and cannot be placed\./);
  });

  it('leaves heap out of a chart without heap', () => {
    const html = render(
      withRegression((regression) => ({ ...regression, chart: regression.chart.map((point) => ({ ...point, heapSlopePerHour: null })) })),
    );
    assert.match(sectionHtml(html, 'comparison'), /p99 and error rate of 14 runs/);
  });
});

describe('key figures against the baseline', () => {
  function card(html: string, label: string): string {
    return html.split(`<div class="label">${label}</div>`)[1]?.split('<div class="figure">')[0] ?? '';
  }

  it('shows a p99 regression', () => {
    assert.match(
      card(render(buildRegressionReport()), 'p99 latency'),
      /<div class="detail baseline-change"><span class="status-bad" title="p99 is worse: [^"]*">\+31% vs baseline, REGRESSED<\/span><\/div>/,
    );
  });

  it('shows a p95 change within tolerance', () => {
    assert.match(card(render(buildRegressionReport()), 'p95 latency'), /<span class="status-good" title="[^"]*">\+3\.72% vs baseline<\/span>/);
  });

  it('shows an error rate change in points', () => {
    assert.match(card(render(buildRegressionReport()), 'Error rate'), />-0\.252 pp vs baseline, improved<\/span>/);
  });

  it('adds no change to other cards', () => {
    assert.ok(!card(render(buildRegressionReport()), 'p50 latency').includes('baseline-change'));
  });
});

describe('renderReportHtml escaping', () => {
  function maliciousReport(): RunReport {
    const report = buildSampleReport();
    return buildSampleReport({
      runId: MALICIOUS,
      env: MALICIOUS,
      scenario: MALICIOUS,
      target: `http://127.0.0.1/"${MALICIOUS}`,
      labels: { [MALICIOUS]: MALICIOUS },
      reasons: [{ code: MALICIOUS, verdict: 'FAIL', message: MALICIOUS }],
      byName: [{ name: MALICIOUS, requests: 10, failed: 0, p95: 1, p99: 2 }],
      thresholds: [{ ...report.thresholds[0]!, metric: MALICIOUS, expression: MALICIOUS, note: MALICIOUS }],
      segments: [{ ...report.segments[0]!, segment: MALICIOUS, status: MALICIOUS, detail: MALICIOUS }],
      series: report.series.map((point) => ({ ...point, probes: { [`"><img src=x onerror=alert(1)>`]: 1 } })),
      notes: [MALICIOUS, '</script><!-- <script>'],
      links: { [MALICIOUS]: 'javascript:alert(1)', report: `report.html?"${MALICIOUS}` },
    });
  }

  it('escapes every report string', () => {
    assert.ok(!render(maliciousReport()).includes(MALICIOUS), 'a raw <script> from the report reached the page');
  });

  it('contains only its own script elements', () => {
    assert.equal(countMatches(render(maliciousReport()), /<script\b/gi), 3);
  });

  it('contains no injected image', () => {
    assert.equal(countMatches(render(maliciousReport()), /<img\b/gi), 0);
  });

  it('shows the escaped run id', () => {
    assert.ok(render(maliciousReport()).includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  });

  it('links no javascript URL', () => {
    assert.ok(!/href="javascript:/i.test(render(maliciousReport())));
  });

  it('keeps script terminators out of the JSON', () => {
    const json = embeddedJson(render(maliciousReport()));
    assert.ok(!/<\/script|<!--/i.test(json), 'the JSON contains </script or <!--');
  });

  it('round-trips the escaped JSON', () => {
    const report = maliciousReport();
    assert.deepEqual(JSON.parse(embeddedJson(render(report))), report);
  });

  it('escapes line and paragraph separators', () => {
    const text = serializeJsonForScript({ note: 'a\u2028b\u2029c&<>' });
    assert.equal(text, '{"note":"a\\u2028b\\u2029c\\u0026\\u003c\\u003e"}');
  });
});

describe('renderReportHtml offline', () => {
  it('loads no external script', () => {
    assert.ok(!/<script[^>]*\bsrc\s*=/i.test(render(buildSampleReport())));
  });

  it('has no stylesheet link', () => {
    assert.ok(!/<link\b/i.test(render(buildSampleReport())));
  });

  it('has no remote src attribute', () => {
    assert.ok(!/\bsrc\s*=\s*["']?(https?:)?\/\//i.test(render(buildSampleReport())));
  });

  it('imports no remote CSS', () => {
    const html = render(buildSampleReport());
    assert.ok(!/@import|url\(\s*["']?(https?:)?\/\//i.test(html));
  });

  it('forbids network fetches by policy', () => {
    assert.match(render(buildSampleReport()), /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  });

  it('inlines the chart library', () => {
    assert.ok(render(buildSampleReport()).includes(assets.chartJs.slice(0, 200)));
  });
});

describe('renderReportHtml empty series', () => {
  it('renders the verdict', () => {
    assert.match(render(buildErrorReport()), /<h1 id="verdict">ERROR<\/h1>/);
  });

  it('explains the missing charts', () => {
    assert.match(render(buildErrorReport()), /<p class="empty" id="no-series">No per-minute data/);
  });

  it('renders no chart figure', () => {
    assert.equal(countMatches(render(buildErrorReport()), /<figure class="chart"/g), 0);
  });

  it('explains null latency', () => {
    assert.match(render(buildErrorReport()), /<div class="value"><span class="missing" title="no successful requests">—<\/span><\/div>/);
  });

  it('explains null analysis values', () => {
    assert.match(render(buildErrorReport()), /title="no heapUsedBytes values in the run">—/);
  });

  it('states that no request was recorded', () => {
    assert.match(render(buildErrorReport()), /No requests were recorded\./);
  });
});

describe('report formatting', () => {
  it('formats milliseconds', () => {
    assert.deepEqual([0.42, 8.456, 123.4, 1843.5].map(formatMs), ['0.42 ms', '8.46 ms', '123 ms', '1.84 s']);
  });

  it('formats bytes in binary units', () => {
    assert.deepEqual([512, 2048, 82 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes), ['512 B', '2 KiB', '82 MiB', '3 GiB']);
  });

  it('formats percentages', () => {
    assert.deepEqual([0, 0.00048, 0.0123, 0.5, 0.99976, 1].map(formatPercent), ['0%', '0.048%', '1.23%', '50%', '99.976%', '100%']);
  });

  it('formats growth per hour with sign', () => {
    assert.deepEqual(
      [formatPerHour(40 * 1024 * 1024, 'bytes'), formatPerHour(-2, 'count'), formatPerHour(0.002, 's')],
      ['+40 MiB/h', '-2/h', '+2 ms/h'],
    );
  });

  it('formats elapsed time', () => {
    assert.deepEqual([45, 1770, 1800, 28_800].map(formatElapsed), ['45 s', '29 min 30 s', '30 min', '8 h 0 min']);
  });

  it('formats timestamps in UTC', () => {
    assert.equal(formatTimestamp('2026-12-04T01:00:00.000+02:00'), '2026-12-03 23:00:00 UTC');
  });

  it('keeps an unparsable timestamp', () => {
    assert.equal(formatTimestamp('yesterday'), 'yesterday');
  });
});
