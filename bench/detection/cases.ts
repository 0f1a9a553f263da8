/**
 * The injected faults of the detection benchmark, as switches of the example API
 * (examples/sigil-api) for a 5-minute run at 100 iterations/s with a 60 s warm-up.
 *
 * Strengths are total changes over the run after the warm-up (4 minutes), so a
 * rate per minute of uptime is the total divided by 4. The error rate starts at 0
 * and rises by the total over the whole run (5 minutes).
 */

/** Expected conclusion of the analyses for a case. */
export interface Expectation {
  /** The verdict the run must reach; PASS for faults that must not be flagged. */
  verdict: 'PASS' | 'LEAK_SUSPECTED' | 'DRIFT';
  /** Reason codes of a detection; a case that expects PASS must have none. */
  reasons: string[];
  /**
   * `all` when every reason must be found, `any` when one is enough. Latency drift
   * delays every response, so it shows in p50 and p95 as well as in p99.
   */
  match: 'all' | 'any';
  /** Findings the fault causes for real besides its own, such as resident memory growing with a heap leak. */
  alsoCauses?: string[];
}

export interface DetectionCase {
  /** Stable name used in file names and the table, such as `heap-leak/strong`. */
  id: string;
  fault: string;
  strength: 'none' | 'weak' | 'strong' | 'fixed';
  /** Command-line switches of examples/sigil-api/server.ts. */
  apiArgs: string[];
  expect: Expectation;
}

export const RUN_DURATION_S = 300;
/**
 * Delay of every API response in every recorded run (`--base-latency-ms`), so the example
 * API responds like a real one. Without it the API responds in about 0.5 ms, a p99 rise of
 * 20 % is well under a millisecond, and the drift analysis's 5 ms floor hides it. At 100 ms
 * the weak drift adds about 20 ms to p99 by the end of the run, 15 ms between the quarter
 * medians the drift analysis compares, three times the floor.
 */
export const BASE_LATENCY_MS = 100;
/** Switches every recorded run starts the example API with, before those of its faults. */
export const BASE_API_ARGS: readonly string[] = ['--base-latency-ms', String(BASE_LATENCY_MS)];
export const RUN_RATE = 100;
const MINUTES_AFTER_WARMUP = 4;
const MINUTES_OF_RUN = 5;

function perMinute(total: number, minutes: number): string {
  return String(Number((total / minutes).toFixed(4)));
}

export const DETECTION_CASES: readonly DetectionCase[] = [
  { id: 'clean', fault: 'none', strength: 'none', apiArgs: [], expect: { verdict: 'PASS', reasons: [], match: 'all' } },
  {
    id: 'heap-leak/weak',
    fault: 'heap leak',
    strength: 'weak',
    apiArgs: ['--leak-heap-mb-per-min', perMinute(20, MINUTES_AFTER_WARMUP)],
    expect: { verdict: 'LEAK_SUSPECTED', reasons: ['LEAK_HEAPUSEDBYTES'], match: 'all', alsoCauses: ['LEAK_RESIDENTMEMORYBYTES'] },
  },
  {
    id: 'heap-leak/strong',
    fault: 'heap leak',
    strength: 'strong',
    apiArgs: ['--leak-heap-mb-per-min', perMinute(100, MINUTES_AFTER_WARMUP)],
    expect: { verdict: 'LEAK_SUSPECTED', reasons: ['LEAK_HEAPUSEDBYTES'], match: 'all', alsoCauses: ['LEAK_RESIDENTMEMORYBYTES'] },
  },
  {
    id: 'fd-leak/weak',
    fault: 'descriptor leak',
    strength: 'weak',
    apiArgs: ['--leak-fds-per-min', perMinute(50, MINUTES_AFTER_WARMUP)],
    expect: { verdict: 'LEAK_SUSPECTED', reasons: ['LEAK_OPENFDS'], match: 'all' },
  },
  {
    id: 'fd-leak/strong',
    fault: 'descriptor leak',
    strength: 'strong',
    apiArgs: ['--leak-fds-per-min', perMinute(300, MINUTES_AFTER_WARMUP)],
    expect: { verdict: 'LEAK_SUSPECTED', reasons: ['LEAK_OPENFDS'], match: 'all' },
  },
  // Latency strengths are relative to the clean p99; the recorder measures it first and
  // fills in --drift-ms-per-min (see driftArgs in record.ts).
  { id: 'latency-drift/weak', fault: 'latency drift', strength: 'weak', apiArgs: [], expect: { verdict: 'DRIFT', reasons: ['DRIFT_P50', 'DRIFT_P95', 'DRIFT_P99'], match: 'any' } },
  { id: 'latency-drift/strong', fault: 'latency drift', strength: 'strong', apiArgs: [], expect: { verdict: 'DRIFT', reasons: ['DRIFT_P50', 'DRIFT_P95', 'DRIFT_P99'], match: 'any' } },
  {
    id: 'error-rise/weak',
    fault: 'rising error rate',
    strength: 'weak',
    apiArgs: ['--error-rate-rise-per-min', perMinute(0.02, MINUTES_OF_RUN)],
    expect: { verdict: 'DRIFT', reasons: ['DRIFT_ERRORRATE'], match: 'all' },
  },
  {
    id: 'error-rise/strong',
    fault: 'rising error rate',
    strength: 'strong',
    apiArgs: ['--error-rate-rise-per-min', perMinute(0.1, MINUTES_OF_RUN)],
    expect: { verdict: 'DRIFT', reasons: ['DRIFT_ERRORRATE'], match: 'all' },
  },
  {
    id: 'stall',
    fault: 'one-off stall (10 s at 150 s)',
    strength: 'fixed',
    apiArgs: ['--stall-at-s', '150', '--stall-for-s', '10'],
    expect: { verdict: 'PASS', reasons: [], match: 'all' },
  },
  {
    id: 'restart/clean',
    fault: 'restart at 180 s, no leak',
    strength: 'fixed',
    apiArgs: ['--restart-every-s', '180'],
    expect: { verdict: 'PASS', reasons: [], match: 'all' },
  },
  {
    id: 'restart/heap-leak',
    fault: 'restart at 180 s with a strong heap leak',
    strength: 'strong',
    apiArgs: ['--restart-every-s', '180', '--leak-heap-mb-per-min', perMinute(100, MINUTES_AFTER_WARMUP)],
    expect: { verdict: 'LEAK_SUSPECTED', reasons: ['LEAK_HEAPUSEDBYTES'], match: 'all', alsoCauses: ['LEAK_RESIDENTMEMORYBYTES'] },
  },
  {
    id: 'warmup-plateau',
    fault: 'heap +60 MB over the first 90 s, then flat',
    strength: 'fixed',
    apiArgs: ['--warmup-growth-mb', '60', '--warmup-s', '90'],
    expect: { verdict: 'PASS', reasons: [], match: 'all' },
  },
];
