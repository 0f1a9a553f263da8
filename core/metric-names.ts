/**
 * CloudWatch metric names that the alarms and the dashboard (infra/) read and that
 * finish-run and the task publish through the MetricsSink port.
 *
 * An alarm matches a metric by namespace, name and the exact set of dimensions. Publish
 * each metric below with the `Env` dimension alone, or no alarm matches it.
 */
export const METRICS_NAMESPACE = 'SoakRunner';

export const MetricDimension = {
  Env: 'Env',
} as const;

export const MetricName = {
  /** 1 per finalized run, whatever its trigger and verdict (Count). */
  RunsFinalized: 'RunsFinalized',
  /** 1 per finalized run started by the nightly schedule, watched by the "no report" alarm (Count). */
  ScheduledRunsFinalized: 'ScheduledRunsFinalized',
  /** 1 per finalized run whose verdict is not PASS, and 0 for PASS (Count). */
  RunsNotPassed: 'RunsNotPassed',
  /** Merged-histogram latency quantiles of successful requests over the run (Milliseconds). */
  RunLatencyP95Ms: 'RunLatencyP95Ms',
  RunLatencyP99Ms: 'RunLatencyP99Ms',
  /** Failed requests over all requests of the run, 0 to 1 (None). */
  RunErrorRate: 'RunErrorRate',
  /** Requests per second achieved over the run (Count/Second). */
  RunAchievedRate: 'RunAchievedRate',
  /** Requests sent during the run (Count). */
  RunRequests: 'RunRequests',
  /** Requests and failed requests per minute while a run is live, summed over segments (Count). */
  LiveRequests: 'LiveRequests',
  LiveFailedRequests: 'LiveFailedRequests',
  /** Latency of successful requests while a run is live, as a distribution (Milliseconds). */
  LiveLatencyMs: 'LiveLatencyMs',
} as const;
