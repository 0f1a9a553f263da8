/**
 * The browser side of `report.html`: reads the embedded report JSON and draws one uPlot chart
 * into each `<figure data-chart>` that the server rendered.
 *
 * The script is plain ES2017 in a string, because it runs in the reader's browser and is inlined
 * verbatim. It publishes `window.__soakCharts` (per chart: id, title, number of x points, non-null
 * values of the first series, series labels) so browser tests can check that every chart received data.
 */
export const REPORT_CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';

  var charts = [];
  window.__soakCharts = charts;

  var report = JSON.parse(document.getElementById('soak-report').textContent);
  var points = Array.isArray(report.series) ? report.series : [];
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure[data-chart]'));
  if (points.length === 0 || figures.length === 0) return;
  if (typeof window.uPlot !== 'function') {
    showMessage(figures, 'The chart library is missing from this file, so no chart can be drawn.');
    return;
  }

  var HOUR_MS = 3600 * 1000;
  var firstMs = points[0].t;
  var parsedStart = report.startedAt ? Date.parse(report.startedAt) : NaN;
  var runStartMs = isNaN(parsedStart) ? firstMs : parsedStart;
  var warmupEndMs = runStartMs + (report.analyses.warmupS || 0) * 1000;
  var xs = points.map(function (p) { return p.t / 1000; });

  var COLORS = { p50: '#4e79a7', p95: '#f28e2b', p99: '#e15759', rate: '#59a14f', errors: '#e15759',
    probe: '#4e79a7', trend: '#222222', plan: '#8c8c8c' };

  function field(name) {
    return points.map(function (p) { return typeof p[name] === 'number' ? p[name] : null; });
  }

  function probe(name) {
    return points.map(function (p) {
      var value = p.probes ? p.probes[name] : null;
      return typeof value === 'number' ? value : null;
    });
  }

  // The fit's x is hours since the run start; the line is drawn only after the warm-up,
  // because the analyses ignore the warm-up minutes.
  // NOTE: for a probe series with restarts, the leak analysis fits the piece after the last drop.
  // The report does not say where that piece starts, so the line spans the whole time after
  // warm-up and sits off the data before the last drop.
  function trend(analysis) {
    var fit = analysis && analysis.fit;
    if (!fit || typeof fit.slopePerHour !== 'number' || typeof fit.intercept !== 'number') return null;
    return points.map(function (p) {
      if (p.t < warmupEndMs) return null;
      return fit.intercept + fit.slopePerHour * (p.t - runStartMs) / HOUR_MS;
    });
  }

  function findAnalysis(list, name) {
    if (!Array.isArray(list)) return null;
    for (var i = 0; i < list.length; i++) {
      if (list[i].series === name) return list[i];
    }
    return null;
  }

  function maxAbs(arrays) {
    var max = 0;
    arrays.forEach(function (values) {
      if (!values) return;
      values.forEach(function (v) { if (v !== null && Math.abs(v) > max) max = Math.abs(v); });
    });
    return max;
  }

  // Picks the display unit of a chart from the series unit and the largest value.
  function displayScale(unit, largest) {
    if (unit === 'bytes') {
      if (largest >= 1073741824) return { factor: 1 / 1073741824, suffix: ' GiB' };
      if (largest >= 1048576) return { factor: 1 / 1048576, suffix: ' MiB' };
      if (largest >= 1024) return { factor: 1 / 1024, suffix: ' KiB' };
      return { factor: 1, suffix: ' B' };
    }
    if (unit === 's' || unit === 'seconds') {
      return largest < 1 ? { factor: 1000, suffix: ' ms' } : { factor: 1, suffix: ' s' };
    }
    if (unit === 'ms') return { factor: 1, suffix: ' ms' };
    if (unit === 'ratio') return { factor: 100, suffix: '%' };
    if (unit === '/s') return { factor: 1, suffix: '/s' };
    if (unit === '' || unit === 'count') return { factor: 1, suffix: '' };
    return { factor: 1, suffix: ' ' + unit };
  }

  function scaled(values, factor) {
    if (!values) return null;
    return values.map(function (v) { return v === null ? null : v * factor; });
  }

  function formatNumber(value) {
    var digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    return value.toLocaleString('en-US', { maximumFractionDigits: digits });
  }

  // Tick labels in UTC on a 24-hour clock, with the date on the first tick and where the day changes.
  function timeTicks(u, splits) {
    var previousDay = null;
    return splits.map(function (seconds) {
      var iso = new Date(seconds * 1000).toISOString();
      var day = iso.slice(5, 10);
      var label = iso.slice(11, 16);
      if (day !== previousDay) label += '\n' + day;
      previousDay = day;
      return label;
    });
  }

  function countValues(values) {
    return values.filter(function (v) { return v !== null; }).length;
  }

  function shadeWarmup(u) {
    var warmupEndS = warmupEndMs / 1000;
    if (warmupEndS <= u.scales.x.min) return;
    var left = u.valToPos(u.scales.x.min, 'x', true);
    var right = u.valToPos(Math.min(warmupEndS, u.scales.x.max), 'x', true);
    var ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(140, 140, 140, 0.16)';
    ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
    ctx.fillStyle = '#666666';
    ctx.font = Math.round(11 * devicePixelRatio) + 'px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    if (right - left > 50 * devicePixelRatio) ctx.fillText('warm-up', left + 4 * devicePixelRatio, u.bbox.top + 4 * devicePixelRatio);
    ctx.restore();
  }

  // Returns { unit, lines: [{ label, values, color, dash, trend }] } for one figure.
  function describe(figure) {
    var kind = figure.getAttribute('data-chart');
    if (kind === 'latency') {
      var p95Trend = latencyTrend('p95');
      var p99Trend = latencyTrend('p99');
      return { unit: 'ms', zero: true, lines: [
        { label: 'p50', values: field('p50'), color: COLORS.p50 },
        { label: 'p95', values: field('p95'), color: COLORS.p95 },
        { label: 'p99', values: field('p99'), color: COLORS.p99 },
        p95Trend && { label: 'p95 trend', values: p95Trend, color: COLORS.p95, dash: [6, 4], trend: true },
        p99Trend && { label: 'p99 trend', values: p99Trend, color: COLORS.p99, dash: [6, 4], trend: true }
      ].filter(Boolean) };
    }
    if (kind === 'throughput') {
      var planned = report.load.plannedRate;
      return { unit: '/s', zero: true, lines: [
        { label: 'requests/s', values: field('rate'), color: COLORS.rate },
        { label: 'planned iterations/s', values: points.map(function () { return planned; }), color: COLORS.plan, dash: [4, 4], trend: true }
      ] };
    }
    if (kind === 'errors') {
      var drift = findAnalysis(report.analyses.drift, 'errorRate');
      var errorTrend = drift && drift.unit === 'ratio' ? trend(drift) : null;
      return { unit: 'ratio', zero: true, lines: [
        { label: 'error rate', values: field('errorRate'), color: COLORS.errors },
        errorTrend && { label: 'trend', values: errorTrend, color: COLORS.trend, dash: [6, 4], trend: true }
      ].filter(Boolean) };
    }
    if (kind === 'probe') {
      var name = figure.getAttribute('data-probe');
      var leak = findAnalysis(report.analyses.leaks, name);
      var probeTrend = trend(leak);
      return { unit: figure.getAttribute('data-unit') || '', zero: false, lines: [
        { label: name, values: probe(name), color: COLORS.probe },
        probeTrend && { label: 'trend after warm-up', values: probeTrend, color: COLORS.trend, dash: [6, 4], trend: true }
      ].filter(Boolean) };
    }
    throw new Error('Unknown chart kind ' + kind);
  }

  function latencyTrend(name) {
    var analysis = findAnalysis(report.analyses.drift, name);
    return analysis && analysis.unit === 'ms' ? trend(analysis) : null;
  }

  function plotWidth(target) {
    return Math.max(280, Math.floor(target.getBoundingClientRect().width));
  }

  function draw(figure) {
    var target = figure.querySelector('.chart-plot');
    var spec = describe(figure);
    var scale = displayScale(spec.unit, maxAbs(spec.lines.map(function (line) { return line.values; })));
    var data = [xs].concat(spec.lines.map(function (line) { return scaled(line.values, scale.factor); }));
    var format = function (u, value) { return value === null || value === undefined ? '—' : formatNumber(value) + scale.suffix; };

    var options = {
      width: plotWidth(target),
      height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      cursor: { sync: { key: 'soak' } },
      scales: spec.zero ? { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } } : {},
      axes: [
        { stroke: '#444444', grid: { stroke: '#eeeeee' }, ticks: { stroke: '#dddddd' }, values: timeTicks },
        { stroke: '#444444', size: 72, grid: { stroke: '#eeeeee' }, ticks: { stroke: '#dddddd' },
          values: function (u, splits) { return splits.map(function (v) { return formatNumber(v) + scale.suffix; }); } }
      ],
      series: [{ label: 'UTC', value: '{YYYY}-{MM}-{DD} {HH}:{mm}' }].concat(spec.lines.map(function (line) {
        return { label: line.label, stroke: line.color, width: line.trend ? 1.5 : 2, dash: line.dash,
          points: { show: !line.trend && points.length <= 60 ? undefined : false }, value: format };
      })),
      hooks: { drawClear: [shadeWarmup] }
    };

    target.textContent = '';
    var chart = new uPlot(options, data, target);
    charts.push({
      id: figure.id,
      title: figure.querySelector('figcaption .chart-title').textContent,
      points: chart.data[0].length,
      values: countValues(chart.data[1] || []),
      series: spec.lines.map(function (line) { return line.label; })
    });
    return { chart: chart, target: target };
  }

  function showMessage(list, text) {
    list.forEach(function (figure) {
      var target = figure.querySelector('.chart-plot');
      target.textContent = text;
      target.className += ' chart-message';
    });
  }

  var drawn = [];
  figures.forEach(function (figure) {
    try {
      drawn.push(draw(figure));
    } catch (error) {
      showMessage([figure], 'This chart failed to draw: ' + error.message);
      console.error('Chart ' + figure.id + ' failed to draw', error);
    }
  });

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      drawn.forEach(function (entry) { entry.chart.setSize({ width: plotWidth(entry.target), height: 220 }); });
    }, 150);
  });
})();
`;
