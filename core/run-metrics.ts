/** The per-run CloudWatch metrics that finish-run publishes, for the dashboard and the alarms. */
import { MetricDimension, MetricName } from './metric-names.js';
import type { MetricDatum } from './ports.js';
import type { RunReport } from './report-schema.js';

export function runMetrics(report: RunReport, options: { scheduled: boolean; nowMs: number }): MetricDatum[] {
  const dimensions = { [MetricDimension.Env]: report.env };
  const data: MetricDatum[] = [
    { name: MetricName.RunsFinalized, value: 1, unit: 'Count' },
    { name: MetricName.RunsNotPassed, value: report.verdict === 'PASS' ? 0 : 1, unit: 'Count' },
    { name: MetricName.RunRequests, value: report.requests.total, unit: 'Count' },
  ];
  if (options.scheduled) data.push({ name: MetricName.ScheduledRunsFinalized, value: 1, unit: 'Count' });
  // Missing values are left out rather than sent as zero, which would draw a false dip.
  if (report.latencyMs.p95 !== null) data.push({ name: MetricName.RunLatencyP95Ms, value: report.latencyMs.p95, unit: 'Milliseconds' });
  if (report.latencyMs.p99 !== null) data.push({ name: MetricName.RunLatencyP99Ms, value: report.latencyMs.p99, unit: 'Milliseconds' });
  if (report.requests.errorRate !== null) data.push({ name: MetricName.RunErrorRate, value: report.requests.errorRate, unit: 'None' });
  if (report.load.achievedRate !== null) data.push({ name: MetricName.RunAchievedRate, value: report.load.achievedRate, unit: 'Count/Second' });
  return data.map((datum) => ({ ...datum, dimensions, timestampMs: options.nowMs }));
}
