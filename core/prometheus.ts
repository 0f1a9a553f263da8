/**
 * Reading probe series out of a Prometheus text exposition (format 0.0.4), the
 * format of a target's `/metrics` endpoint.
 */
import type { ProbeSeries } from './config.js';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?\s*$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, char: string) => (char === 'n' ? '\n' : char));
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Parses the sample lines of an exposition; comments and malformed lines are skipped. */
export function parsePrometheusText(text: string, wanted?: ReadonlySet<string>): PromSample[] {
  const samples: PromSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const name = match[1]!;
    if (wanted !== undefined && !wanted.has(name)) continue;

    const labels: Record<string, string> = {};
    if (match[3] !== undefined) {
      for (const pair of match[3].matchAll(LABEL_PAIR)) labels[pair[1]!] = unescapeLabel(pair[2]!);
    }
    samples.push({ name, labels, value: parseValue(match[4]!) });
  }
  return samples;
}

/**
 * Extracts one value per configured probe series: the sum of the samples of its
 * metric whose labels match. A series absent from the exposition is left out.
 */
export function extractProbeValues(text: string, series: readonly ProbeSeries[]): Record<string, number> {
  const samples = parsePrometheusText(text, new Set(series.map((item) => item.metric)));
  const values: Record<string, number> = {};
  for (const item of series) {
    let sum = 0;
    let found = false;
    for (const sample of samples) {
      if (sample.name !== item.metric) continue;
      if (!Object.entries(item.labels).every(([key, value]) => sample.labels[key] === value)) continue;
      if (!Number.isFinite(sample.value)) continue;
      sum += sample.value;
      found = true;
    }
    if (found) values[item.name] = sum;
  }
  return values;
}

/** Returns the value of one label of the first sample of `metric`, such as a version label. */
export function findLabel(text: string, metric: string, label: string): string | null {
  const sample = parsePrometheusText(text, new Set([metric]))[0];
  return sample?.labels[label] ?? null;
}
