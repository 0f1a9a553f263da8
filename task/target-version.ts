/**
 * Reading the version the target reports, for the run's history entry: a response
 * header of its health endpoint, or a label of a series on its Prometheus endpoint.
 */
import type { EnvConfig } from '../core/config.js';
import { findLabel } from '../core/prometheus.js';

export async function readTargetVersionFrom(config: EnvConfig, target: string): Promise<string | null> {
  const { header, metric, label } = config.targetVersion;
  try {
    if (header !== undefined) {
      const response = await fetch(new URL(config.defaults.healthPath, target), { signal: AbortSignal.timeout(5000) });
      await response.body?.cancel();
      const value = response.headers.get(header);
      if (value) return value.slice(0, 200);
    }
    if (metric !== undefined) {
      const url = config.probe.url ?? new URL(config.probe.path, target).toString();
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const value = findLabel(await response.text(), metric, label);
      if (value) return value.slice(0, 200);
    }
  } catch {
    // The version is a label for comparisons; a target that does not report it has none.
  }
  return null;
}
