/** Summaries of V8 CPU profiles (`node --cpu-prof` output) by self time per function. */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  location: string;
  selfMs: number;
  share: number;
}

/** Returns the functions with the most self time, merged by name and location. */
export function topFunctions(profilePath: string, count: number, root = process.cwd()): FunctionTime[] {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { name: string; location: string; us: number }>();
  let totalUs = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id);
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
    const location = file === '' ? '' : `${file}:${lineNumber + 1}`;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const key = `${name}@${location}`;
    const entry = selfUs.get(key) ?? { name, location, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
    totalUs += delta;
  });
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((entry) => ({ name: entry.name, location: entry.location, selfMs: entry.us / 1000, share: totalUs === 0 ? 0 : entry.us / totalUs }));
}

export function formatTopFunctions(functions: readonly FunctionTime[]): string {
  return functions
    .map((entry) => `${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.selfMs.toFixed(0).padStart(7)} ms  ${entry.name}  ${entry.location}`)
    .join('\n');
}
