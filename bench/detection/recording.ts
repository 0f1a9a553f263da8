/** The file format of one recorded real run of the detection benchmark. */
import { z } from 'zod';
import { SeriesPointSchema } from '../../core/report-schema.js';

export const RecordingSchema = z.object({
  caseId: z.string(),
  repeat: z.number().int().nonnegative(),
  /** Every case injected in the same run: more than one for a joined run (see recordRuns). */
  runCases: z.array(z.string()),
  /** The example API's switches for this run. */
  apiArgs: z.array(z.string()),
  recordedAt: z.string(),
  runId: z.string(),
  durationS: z.number(),
  rate: z.number(),
  k6Version: z.string().nullable(),
  /** Start of the first window, epoch milliseconds: the origin of the analyses' time axis. */
  runStartMs: z.number(),
  /** The verdict and reason codes of the runner's own report (per-minute analyses). */
  verdict: z.string(),
  reasons: z.array(z.string()),
  /** The machine's 1-minute load average when the run started and when it ended. */
  loadAverage1m: z.object({ start: z.number(), end: z.number() }).optional(),
  series10s: z.array(SeriesPointSchema),
  series60s: z.array(SeriesPointSchema),
});
export type Recording = z.infer<typeof RecordingSchema>;
