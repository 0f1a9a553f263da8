/**
 * Escaping and human formatting shared by the HTML report and the Slack message.
 * Every formatter takes a finite number, so callers handle `null` themselves.
 */
import type { RunReport } from './report-schema.js';

const BYTES_PER_KIB = 1024;
const BYTES_PER_MIB = 1024 * 1024;
const BYTES_PER_GIB = 1024 * 1024 * 1024;

/** Escapes text for HTML element content and for quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Formats with `en-US` grouping and at most `maxFractionDigits` decimals. */
export function formatNumber(value: number, maxFractionDigits = 2): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: maxFractionDigits });
}

export function formatCount(value: number): string {
  return formatNumber(value, 0);
}

/** Formats milliseconds: `0.42 ms`, `8.5 ms`, `123 ms`, `1.23 s`. */
export function formatMs(ms: number): string {
  const magnitude = Math.abs(ms);
  if (magnitude >= 1000) return `${formatNumber(ms / 1000, 2)} s`;
  if (magnitude >= 100) return `${formatNumber(ms, 0)} ms`;
  if (magnitude >= 10) return `${formatNumber(ms, 1)} ms`;
  return `${formatNumber(ms, 2)} ms`;
}

/** Formats seconds below one second as milliseconds, else as seconds. */
export function formatSeconds(seconds: number): string {
  if (Math.abs(seconds) < 1) return formatMs(seconds * 1000);
  return `${formatNumber(seconds, 2)} s`;
}

/** Formats a ratio (0.0123) as a percentage (`1.23%`), keeping two significant digits below 1 %. */
export function formatPercent(ratio: number): string {
  const percent = ratio * 100;
  const magnitude = Math.abs(percent);
  if (magnitude === 0) return '0%';
  if (magnitude < 0.0001) return `${percent < 0 ? '-' : ''}<0.0001%`;
  // Keep enough decimals that a rate just short of 100 % never reads as 100 %.
  if (magnitude > 99 && magnitude < 100) {
    const digits = Math.min(6, Math.ceil(-Math.log10(100 - magnitude)) + 1);
    return `${formatNumber(percent, Math.max(1, digits))}%`;
  }
  if (magnitude >= 10) return `${formatNumber(percent, 1)}%`;
  if (magnitude >= 1) return `${formatNumber(percent, 2)}%`;
  return `${Number(percent.toPrecision(2))}%`;
}

/** Formats bytes in binary units (KiB, MiB, GiB), the units of the default leak tolerances. */
export function formatBytes(bytes: number): string {
  const magnitude = Math.abs(bytes);
  if (magnitude >= BYTES_PER_GIB) return `${formatNumber(bytes / BYTES_PER_GIB, 2)} GiB`;
  if (magnitude >= BYTES_PER_MIB) return `${formatNumber(bytes / BYTES_PER_MIB, 1)} MiB`;
  if (magnitude >= BYTES_PER_KIB) return `${formatNumber(bytes / BYTES_PER_KIB, 1)} KiB`;
  return `${formatNumber(bytes, 0)} B`;
}

/** Formats iterations or requests per second: `49.8/s`. */
export function formatRatePerSecond(perSecond: number): string {
  return `${formatNumber(perSecond, perSecond >= 100 ? 0 : 1)}/s`;
}

/**
 * Formats a value in a series unit as configured for probes (`bytes`, `count`, `s`) or as
 * used by the drift analyses (`ms`, `ratio`). Unknown units follow the number verbatim.
 */
export function formatInUnit(value: number, unit: string): string {
  switch (unit) {
    case 'bytes':
      return formatBytes(value);
    case 's':
    case 'seconds':
      return formatSeconds(value);
    case 'ms':
      return formatMs(value);
    case 'ratio':
      return formatPercent(value);
    case '%':
      return `${formatNumber(value, 2)}%`;
    case '':
    case 'count':
      return formatNumber(value, 1);
    default:
      return `${formatNumber(value, 2)} ${unit}`;
  }
}

/** Formats a growth per hour with its sign: `+12.3 MiB/h`, `-0.5/h` for counts. */
export function formatPerHour(value: number, unit: string): string {
  return `${formatSignedInUnit(value, unit)}/h`;
}

/** Formats an amount in a series unit with its sign: `+960 MiB`. */
export function formatSignedInUnit(value: number, unit: string): string {
  return `${value > 0 ? '+' : ''}${formatInUnit(value, unit)}`;
}

/** Formats a relative change with its sign: `+12.5%`. */
export function formatSignedPercent(ratio: number): string {
  return `${ratio > 0 ? '+' : ''}${formatPercent(ratio)}`;
}

export function formatPValue(pValue: number): string {
  if (pValue < 0.001) return '<0.001';
  return String(Number(pValue.toPrecision(2)));
}

/** Formats whole seconds as `8 h 0 min`, `29 min 30 s` or `45 s`. */
export function formatElapsed(totalSeconds: number): string {
  const rounded = Math.round(totalSeconds);
  const hours = Math.floor(rounded / 3600);
  const minutes = Math.floor((rounded % 3600) / 60);
  const seconds = rounded % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}

/** Formats an ISO timestamp as `2026-12-04 01:00:00 UTC`, or returns an unparsable one unchanged. */
export function formatTimestamp(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Seconds between `startedAt` and `endedAt`, or null when either is missing or unparsable. */
export function actualDurationSeconds(report: RunReport): number | null {
  if (report.startedAt === null || report.endedAt === null) return null;
  const started = Date.parse(report.startedAt);
  const ended = Date.parse(report.endedAt);
  if (Number.isNaN(started) || Number.isNaN(ended)) return null;
  return Math.max(0, (ended - started) / 1000);
}

/** Describes the run's length as `7 h 58 min of 8 h 0 min planned`, or the plan alone. */
export function describeDuration(report: RunReport): string {
  const planned = formatElapsed(report.plannedDurationS);
  const actual = actualDurationSeconds(report);
  if (actual === null) return `${planned} planned`;
  return `${formatElapsed(actual)} of ${planned} planned`;
}

