// Opens the rendered report.html in headless Chromium from a file:// URL and checks that it runs
// without errors, loads nothing else, and draws every chart with data. Set REPORT_SCREENSHOT to a
// PNG path to keep a full-page screenshot of the sample report compared with earlier nights.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { renderReportHtml } from '../../core/render-html.js';
import { loadReportAssets } from '../../core/report-assets.js';
import type { RunReport } from '../../core/report-schema.js';
import { buildErrorReport, buildRegressionReport, buildSampleRegression, buildSampleReport } from '../support/sample-report.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP_MESSAGE = `chromium not found at ${CHROMIUM}: apt-get install chromium`;

// Without the networking flags Chromium contacts public hosts at start-up.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface ChartInfo {
  id: string;
  title: string;
  points: number;
  values: number;
  series: string[];
  /** Index of this run in the nights chart, -1 when it is not among the points. */
  current?: number;
}

interface PageResult {
  errors: string[];
  foreignRequests: string[];
  charts: ChartInfo[];
  canvases: { id: string; width: number; height: number }[];
  figures: number;
  noSeriesVisible: boolean;
  horizontalOverflow: number;
}

const hasChromium = existsSync(CHROMIUM);

describe('report.html in Chromium', { timeout: 120_000 }, () => {
  let workDir = '';
  let context: BrowserContext | undefined;

  before(async () => {
    if (!hasChromium) return;
    const { chromium } = await import('playwright-core');
    workDir = await mkdtemp(join(tmpdir(), 'soak-report-html-'));
    // A new, empty profile per run: launchPersistentContext owns the --user-data-dir flag.
    context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1366, height: 900 },
    });
  });

  after(async () => {
    await context?.close();
    if (workDir !== '') await rm(workDir, { recursive: true, force: true });
  });

  async function openReport(report: RunReport, name: string, keep?: (page: Page) => Promise<void>): Promise<PageResult> {
    assert.ok(context, 'the browser did not start');
    const file = join(workDir, `${name}.html`);
    await writeFile(file, renderReportHtml(report, await loadReportAssets()));
    const url = pathToFileURL(file).href;

    const page = await context.newPage();
    const errors: string[] = [];
    const foreignRequests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
    page.on('request', (request) => {
      if (request.url() !== url) foreignRequests.push(request.url());
    });

    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => Array.isArray((window as unknown as { __soakCharts?: unknown }).__soakCharts));
    // Let uPlot finish its first layout before measuring.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

    const measured = await page.evaluate(() => ({
      charts: (window as unknown as { __soakCharts: ChartInfo[] }).__soakCharts,
      canvases: Array.from(document.querySelectorAll('figure.chart')).map((figure) => {
        const box = figure.querySelector('canvas')?.getBoundingClientRect();
        return { id: figure.id, width: box?.width ?? 0, height: box?.height ?? 0 };
      }),
      figures: document.querySelectorAll('figure.chart').length,
      noSeriesVisible: (document.getElementById('no-series')?.getBoundingClientRect().height ?? 0) > 0,
      horizontalOverflow: document.documentElement.scrollWidth - window.innerWidth,
    }));
    if (keep) await keep(page);
    await page.close();
    return { errors, foreignRequests, ...measured };
  }

  describe('sample report', () => {
    let result: PageResult;
    before(async () => {
      if (!hasChromium) return;
      result = await openReport(buildSampleReport(), 'sample');
    });

    it('raises no error', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.errors, []);
    });

    it('requests nothing but itself', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.foreignRequests, []);
    });

    it('draws every chart', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(result.charts.length, result.figures);
    });

    it('draws seven charts', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(
        result.charts.map((chart) => chart.title),
        [
          'Latency of successful requests (p50, p95, p99)',
          'Throughput (requests per second)',
          'Error rate',
          'Heap used',
          'Resident memory (RSS)',
          'Open file descriptors',
          'Event loop lag p99',
        ],
      );
    });

    it('gives each chart 30 points', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      for (const chart of result.charts) assert.equal(chart.points, 30, `${chart.id} has ${chart.points} points`);
    });

    it('gives each chart values', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      for (const chart of result.charts) assert.equal(chart.values, 30, `${chart.id} has ${chart.values} values`);
    });

    it('sizes each canvas', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      for (const canvas of result.canvases) {
        assert.ok(canvas.width > 200, `${canvas.id} is ${canvas.width} px wide`);
        assert.ok(canvas.height > 100, `${canvas.id} is ${canvas.height} px high`);
      }
    });

    it('draws the heap trend line', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      const heap = result.charts.find((chart) => chart.title === 'Heap used');
      assert.deepEqual(heap?.series, ['heapUsedBytes', 'trend after warm-up']);
    });

    it('draws latency drift trends', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.charts[0]?.series, ['p50', 'p95', 'p99', 'p95 trend', 'p99 trend']);
    });

    it('fits a laptop screen', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.ok(result.horizontalOverflow <= 0, `the page is ${result.horizontalOverflow} px too wide`);
    });
  });

  describe('report compared with earlier nights', () => {
    let result: PageResult;
    before(async () => {
      if (!hasChromium) return;
      const screenshot = process.env.REPORT_SCREENSHOT;
      result = await openReport(buildRegressionReport(), 'regression', async (page) => {
        if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      });
    });

    function nights(): ChartInfo | undefined {
      return result.charts.find((chart) => chart.id === 'chart-nights');
    }

    it('raises no error', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.errors, []);
    });

    it('requests nothing but itself', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.foreignRequests, []);
    });

    it('draws every chart', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(result.charts.length, 8);
      assert.equal(result.charts.length, result.figures);
    });

    it('draws the last nights', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(nights()?.title, 'Last nights');
    });

    it('gives the nights chart a point per run', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(nights()?.points, 14);
      assert.equal(nights()?.values, 14);
    });

    it('charts p99, error rate and heap', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(nights()?.series, ['p99', 'error rate', 'heap growth']);
    });

    it('marks this run last', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(nights()?.current, 13);
    });

    it('sizes the nights canvas', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      const canvas = result.canvases.find((entry) => entry.id === 'chart-nights');
      assert.ok((canvas?.width ?? 0) > 200, `chart-nights is ${canvas?.width} px wide`);
      assert.ok((canvas?.height ?? 0) > 100, `chart-nights is ${canvas?.height} px high`);
    });

    it('fits a laptop screen', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.ok(result.horizontalOverflow <= 0, `the page is ${result.horizontalOverflow} px too wide`);
    });
  });

  describe('skipped comparison without series', () => {
    let result: PageResult;
    before(async () => {
      if (!hasChromium) return;
      const base = buildErrorReport();
      const regression = {
        ...buildSampleRegression(),
        status: 'skipped' as const,
        message: 'not compared with earlier runs: the run is ERROR, so its figures are not a fair measure of the target',
        metrics: [],
      };
      result = await openReport(buildErrorReport({ analyses: { ...base.analyses, regression } }), 'error-nights');
    });

    it('raises no error', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.errors, []);
    });

    it('draws only the nights chart', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(
        result.charts.map((chart) => chart.id),
        ['chart-nights'],
      );
    });
  });

  describe('report with empty series', () => {
    let result: PageResult;
    before(async () => {
      if (!hasChromium) return;
      result = await openReport(buildErrorReport(), 'error');
    });

    it('raises no error', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.errors, []);
    });

    it('requests nothing but itself', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.foreignRequests, []);
    });

    it('draws no chart', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.charts, []);
    });

    it('shows why there is no chart', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(result.noSeriesVisible, true);
    });
  });

  describe('report of 72 hours', () => {
    let result: PageResult;
    before(async () => {
      if (!hasChromium) return;
      result = await openReport(buildSampleReport({}, { minutes: 72 * 60 }), 'long');
    });

    it('raises no error', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.errors, []);
    });

    it('gives each chart every minute', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      for (const chart of result.charts) assert.equal(chart.points, 4320, `${chart.id} has ${chart.points} points`);
    });
  });

  describe('report with one minute and null values', () => {
    let result: PageResult;
    before(async () => {
      if (!hasChromium) return;
      const sample = buildSampleReport({}, { minutes: 1 });
      const series = sample.series.map((point) => ({
        ...point,
        p50: null,
        p95: null,
        p99: null,
        errorRate: null,
        probes: { ...point.probes, openFds: null },
      }));
      result = await openReport(buildSampleReport({ series }, { minutes: 1 }), 'sparse');
    });

    it('raises no error', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.deepEqual(result.errors, []);
    });

    it('still draws every chart', (t) => {
      if (!hasChromium) return t.skip(SKIP_MESSAGE);
      assert.equal(result.charts.length, result.figures);
    });
  });
});
