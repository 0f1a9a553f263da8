/** A Launcher that starts nothing. It records each launch and stop, and fails the segments listed in `failures`. */
import { createHash } from 'node:crypto';
import type { LaunchedSegment, Launcher, SegmentLaunch } from '../../core/ports.js';

export class RecordingLauncher implements Launcher {
  readonly launches: SegmentLaunch[][] = [];
  readonly stops: Array<{ runId: string; reason: string }> = [];
  /** Segment index to failure reason, for the next launches. */
  failures = new Map<number, string>();

  async launch(launches: SegmentLaunch[]): Promise<{ launched: LaunchedSegment[]; failed: { segment: number; reason: string }[] }> {
    this.launches.push(launches);
    const launched: LaunchedSegment[] = [];
    const failed: { segment: number; reason: string }[] = [];
    for (const { manifest, segment } of launches) {
      const reason = this.failures.get(segment.index);
      if (reason === undefined) launched.push({ segment: segment.index, taskId: taskArnFor(manifest.runId, segment.index) });
      else failed.push({ segment: segment.index, reason });
    }
    return { launched, failed };
  }

  async stop(runId: string, reason: string): Promise<void> {
    this.stops.push({ runId, reason });
  }
}

/** Builds a task ARN shaped like ECS's, unique per run and segment. */
export function taskArnFor(runId: string, segment: number): string {
  const id = createHash('sha256').update(`${runId}/${segment}`).digest('hex').slice(0, 32);
  return `arn:aws:ecs:eu-west-1:111111111111:task/soak-staging/${id}`;
}
