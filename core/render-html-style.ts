/** The stylesheet of `report.html`: system fonts only, so the file loads nothing from outside. */
import type { Verdict } from './schemas.js';

/** Banner background and text colour per verdict, from alarming (ERROR) to fine (PASS). */
export const VERDICT_COLORS: Record<Verdict, { background: string; text: string }> = {
  ERROR: { background: '#7b1fa2', text: '#ffffff' },
  INCOMPLETE: { background: '#5d4037', text: '#ffffff' },
  STOPPED: { background: '#546e7a', text: '#ffffff' },
  FAIL: { background: '#c62828', text: '#ffffff' },
  REGRESSION: { background: '#d84315', text: '#ffffff' },
  LEAK_SUSPECTED: { background: '#e65100', text: '#ffffff' },
  DRIFT: { background: '#f9a825', text: '#1a1a1a' },
  PASS: { background: '#2e7d32', text: '#ffffff' },
};

const verdictRules = Object.entries(VERDICT_COLORS)
  .map(([verdict, color]) => `.verdict-${verdict} { background: ${color.background}; color: ${color.text}; }`)
  .join('\n');

export const REPORT_STYLES = `
:root { color-scheme: light; --border: #d9dde3; --muted: #5f6670; --panel: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1d2127; background: #ffffff; }
main { max-width: 1320px; margin: 0 auto; padding: 0 20px 40px; }
h1, h2, h3 { line-height: 1.2; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 15px; margin: 18px 0 8px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
a { color: #1a5fb4; }
.verdict-banner { margin: 0 -20px; padding: 18px 20px 16px; }
.verdict-banner h1 { margin: 0; font-size: 30px; letter-spacing: 0.02em; }
.verdict-banner .subtitle { margin-top: 4px; font-size: 15px; opacity: 0.95; word-break: break-all; }
.run-facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 4px 24px; margin: 14px 0 0; }
.run-facts div { display: flex; gap: 8px; min-width: 0; }
.run-facts dt { opacity: 0.8; flex: none; }
.run-facts dt::after { content: ":"; }
.run-facts dd { margin: 0; overflow-wrap: anywhere; }
.labels { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; }
.verdict-banner .missing { color: inherit; opacity: 0.8; }
.verdict-banner .chip { background: rgba(255, 255, 255, 0.18); border-color: rgba(255, 255, 255, 0.45); color: inherit; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 10px; background: var(--panel); border: 1px solid var(--border);
  font-size: 12px; overflow-wrap: anywhere; }
.verdict-chip { display: inline-block; padding: 1px 7px; border-radius: 4px; font-size: 11px; font-weight: 600; white-space: nowrap; }
nav.toc { margin: 10px 0 0; font-size: 13px; color: var(--muted); }
nav.toc a { margin-right: 12px; }
.reasons { list-style: none; padding: 0; margin: 0; }
.reasons li { display: grid; grid-template-columns: minmax(140px, max-content) auto 1fr; gap: 10px; align-items: baseline;
  padding: 6px 0; border-bottom: 1px solid #eef0f3; }
.reasons .message { overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.figure { background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px; }
.figure .label { color: var(--muted); font-size: 12px; }
.figure .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .detail { color: var(--muted); font-size: 12px; }
.side-by-side { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 0 24px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e6e9ee; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; font-size: 12.5px; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.message { min-width: 220px; overflow-wrap: anywhere; }
tbody tr:nth-child(even) td { background: #fbfbfc; }
.status { font-weight: 600; white-space: nowrap; }
.status-good { color: #2e7d32; }
.status-bad { color: #c62828; }
.status-neutral { color: var(--muted); }
.status-improved { color: #1a5fb4; }
.baseline-change { font-weight: 600; }
.comparison-message { font-size: 15px; margin: 6px 0 10px; overflow-wrap: anywhere; }
.comparison-message .status { margin-right: 6px; }
.comparison-facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0 0 12px; }
.comparison-facts div { display: contents; }
.comparison-facts dt { color: var(--muted); }
.comparison-facts dd { margin: 0; overflow-wrap: anywhere; }
/* Keeps each run id on one line unless it is wider than the line itself. */
.comparison-facts code, details.incomparable code { display: inline-block; max-width: 100%; }
.hint-inline { color: var(--muted); font-size: 12.5px; }
details.incomparable { margin: 12px 0; }
details.incomparable summary { cursor: pointer; color: var(--muted); }
details.incomparable ul { margin: 6px 0 0; padding-left: 20px; }
details.incomparable li { overflow-wrap: anywhere; }
.charts.nights { margin-top: 14px; grid-template-columns: 1fr; }
.missing { color: var(--muted); cursor: help; }
.hint { color: var(--muted); font-size: 13px; margin: 4px 0 10px; }
.empty { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
figure.chart { margin: 0; border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px 4px; min-width: 0; }
figure.chart figcaption { margin-bottom: 4px; }
.chart-title { font-weight: 600; }
.chart-detail { color: var(--muted); font-size: 12.5px; margin-left: 8px; }
.chart-plot { min-height: 220px; overflow: hidden; }
.chart-message { display: flex; align-items: center; justify-content: center; color: var(--muted); }
.uplot .u-legend { font-size: 12px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
${verdictRules}
@media (max-width: 700px) {
  .charts { grid-template-columns: 1fr; }
  .reasons li { grid-template-columns: 1fr; gap: 2px; }
}
@media print {
  body { font-size: 11px; }
  main { max-width: none; padding: 0; }
  .verdict-banner { margin: 0; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .verdict-chip { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav.toc { display: none; }
  .charts { grid-template-columns: 1fr 1fr; }
  figure.chart, table, .figure { break-inside: avoid; }
  h2 { break-after: avoid; }
  .uplot canvas { max-width: 100%; height: auto !important; }
  .table-wrap { overflow: visible; }
}
`;
