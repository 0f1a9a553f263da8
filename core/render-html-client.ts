/**
 * The browser side of `report.html`: reads the embedded report JSON and draws one uPlot chart
 * into each `<figure data-chart>` that the server rendered. The per-minute charts read
 * `series`; the chart of the last nights (`data-chart="nights"`) reads `analyses.regression.chart`.
 *
 * The script is plain ES2017 in a string, because it runs in the reader's browser and is inlined
 * verbatim. It publishes `window.__soakCharts` so browser tests can check that every chart received
 * data. Each entry has the id, title, number of x points, non-null values of the first series and
 * series labels. The nights chart's entry also has `current`, the index of this run or -1.
 */
export const REPORT_CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';

  var charts = [];
  window.__soakCharts = charts;

  var report = JSON.parse(document.getElementById('soak-report').textContent);
  var points = Array.isArray(report.series) ? report.series : [];
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure[data-chart]'));
  if (figures.length === 0) return;
  if (typeof window.uPlot !== 'function') {
    showMessage(figures, 'The chart library is missing from this file, so no chart can be drawn.');
    return;
  }

  var HOUR_MS = 3600 * 1000;
  var firstMs = points.length > 0 ? points[0].t : 0;
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
    if (figure.getAttribute('data-chart') === 'nights') return drawNights(figure);
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
    return { chart: chart, target: target, height: 220 };
  }

  // ---------------------------------------------------------------- last nights

  // Runs of analyses.regression.chart with a parsable start time, in time order.
  function placedNights() {
    var regression = report.analyses.regression;
    var runs = regression && Array.isArray(regression.chart) ? regression.chart : [];
    return runs
      .map(function (run) { return { run: run, ms: run.startedAt ? Date.parse(run.startedAt) : NaN }; })
      .filter(function (entry) { return !isNaN(entry.ms); })
      .sort(function (a, b) { return a.ms - b.ms; });
  }

  function numberOrNull(value) {
    return typeof value === 'number' && isFinite(value) ? value : null;
  }

  function describeNight(run) {
    var text = run.runId + ' · ' + run.verdict;
    if (run.current) return text + ' · this run';
    if (run.inBaseline) return text + ' · in the baseline';
    if (!run.comparable) return text + ' · not comparable';
    return text;
  }

  // Day labels; a tick off midnight UTC also gets its time.
  function nightTicks(u, splits) {
    return splits.map(function (seconds) {
      var iso = new Date(seconds * 1000).toISOString();
      var time = iso.slice(11, 16);
      return iso.slice(5, 10) + (time === '00:00' ? '' : '\n' + time);
    });
  }

  function drawNights(figure) {
    var target = figure.querySelector('.chart-plot');
    var nights = placedNights();
    var runs = nights.map(function (entry) { return entry.run; });
    var nightXs = nights.map(function (entry) { return entry.ms / 1000; });
    var p99 = runs.map(function (run) { return numberOrNull(run.p99); });
    var errorPercent = runs.map(function (run) {
      var rate = numberOrNull(run.errorRate);
      return rate === null ? null : rate * 100;
    });
    var heapRaw = runs.map(function (run) { return numberOrNull(run.heapSlopePerHour); });
    var hasHeap = countValues(heapRaw) > 0;
    var heapScale = displayScale('bytes', maxAbs([heapRaw]));
    var heap = scaled(heapRaw, heapScale.factor);
    var currentIndex = -1;
    runs.forEach(function (run, index) { if (run.current) currentIndex = index; });

    function axis(scaleKey, side, suffix, color) {
      return { scale: scaleKey, side: side, stroke: color, size: 72, grid: { show: side === 3, stroke: '#eeeeee' },
        ticks: { stroke: '#dddddd' },
        values: function (u, splits) { return splits.map(function (v) { return formatNumber(v) + suffix; }); } };
    }
    function line(label, scaleKey, color, suffix) {
      return { label: label, scale: scaleKey, stroke: color, width: 2, spanGaps: true,
        points: { show: runs.length <= 90, size: 6, fill: '#ffffff' },
        value: function (u, v) { return v === null || v === undefined ? '—' : formatNumber(v) + suffix; } };
    }
    var fromZero = { range: function (u, min, max) { return [Math.min(0, min * 1.1), max > 0 ? max * 1.1 : 1]; } };

    var lines = [
      line('p99', 'ms', COLORS.p99, ' ms'),
      line('error rate', '%', COLORS.rate, '%')
    ];
    var data = [nightXs, p99, errorPercent];
    var axes = [
      { stroke: '#444444', grid: { stroke: '#eeeeee' }, ticks: { stroke: '#dddddd' }, values: nightTicks },
      axis('ms', 3, ' ms', COLORS.p99),
      axis('%', 1, '%', COLORS.rate)
    ];
    if (hasHeap) {
      lines.push(line('heap growth', 'heap', COLORS.probe, heapScale.suffix + '/h'));
      data.push(heap);
      axes.push(axis('heap', 1, heapScale.suffix + '/h', COLORS.probe));
    }

    // A dashed vertical line through this run, and a ring around each of its values.
    function markCurrentRun(u) {
      if (currentIndex < 0) return;
      var ctx = u.ctx;
      var x = u.valToPos(nightXs[currentIndex], 'x', true);
      var ratio = devicePixelRatio;
      ctx.save();
      ctx.strokeStyle = '#1d2127';
      ctx.lineWidth = ratio;
      ctx.setLineDash([4 * ratio, 4 * ratio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#1d2127';
      ctx.font = Math.round(11 * ratio) + 'px system-ui, sans-serif';
      ctx.textAlign = 'right';
      ctx.textBaseline = 'top';
      ctx.fillText('this run', x - 4 * ratio, u.bbox.top + 4 * ratio);
      ctx.lineWidth = 2 * ratio;
      for (var i = 1; i < u.series.length; i++) {
        var value = u.data[i][currentIndex];
        if (value === null || value === undefined) continue;
        ctx.strokeStyle = lines[i - 1].stroke;
        ctx.beginPath();
        ctx.arc(x, u.valToPos(value, u.series[i].scale, true), 7 * ratio, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.restore();
    }

    var first = nightXs[0];
    var last = nightXs[nightXs.length - 1];
    var pad = (last - first) * 0.04 || 3600;
    var options = {
      width: plotWidth(target),
      height: 240,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      scales: { x: { time: true, range: function () { return [first - pad, last + pad]; } }, ms: fromZero, '%': fromZero, heap: fromZero },
      axes: axes,
      series: [{ label: 'Run', value: function (u, v, seriesIndex, index) {
        if (index === null || index === undefined || !runs[index]) return '—';
        return new Date(nightXs[index] * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' · ' + describeNight(runs[index]);
      } }].concat(lines),
      hooks: { draw: [markCurrentRun] }
    };

    target.textContent = '';
    var chart = new uPlot(options, data, target);
    charts.push({
      id: figure.id,
      title: figure.querySelector('figcaption .chart-title').textContent,
      points: chart.data[0].length,
      values: countValues(chart.data[1] || []),
      series: lines.map(function (entry) { return entry.label; }),
      current: currentIndex
    });
    return { chart: chart, target: target, height: 240 };
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
      drawn.forEach(function (entry) { entry.chart.setSize({ width: plotWidth(entry.target), height: entry.height }); });
    }, 150);
  });
})();
`;
