/** Resolving `--scenario` (a bundled name or a script path) and hashing what a run executes. */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const BUNDLED_SCENARIOS_DIR = join(PACKAGE_ROOT, 'scenarios');

export interface ResolvedScenario {
  name: string;
  path: string;
  bundled: boolean;
}

export class ScenarioNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioNotFoundError';
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A name (a folder under scenarios/ with a script.js) or a path to any k6 script. */
export async function resolveScenario(value: string): Promise<ResolvedScenario> {
  const looksLikePath = value.includes('/') || value.endsWith('.js') || value.endsWith('.ts');
  if (!looksLikePath) {
    const bundled = join(BUNDLED_SCENARIOS_DIR, value, 'script.js');
    if (await isFile(bundled)) return { name: value, path: bundled, bundled: true };
    throw new ScenarioNotFoundError(
      `--scenario: "${value}" is not a bundled scenario (no ${bundled}). Use the name of a folder under scenarios/, or a path to a k6 script such as ./my-test.js.`,
    );
  }
  const path = resolve(value);
  if (!(await isFile(path))) throw new ScenarioNotFoundError(`--scenario: the script ${path} does not exist. Check the path.`);
  const base = path.split('/').pop()!.replace(/\.(js|ts|mjs)$/, '');
  return { name: base.replace(/[^A-Za-z0-9._-]/g, '-'), path, bundled: false };
}

const LOCAL_IMPORT = /(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*['"](\.{1,2}\/[^'"]+)['"]|open\(\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/**
 * Hashes the script, the local files it imports or opens (recursively), and its
 * resolved options, so two runs compare only when they executed the same test.
 */
export async function hashScenario(scriptPath: string, resolvedOptions: unknown): Promise<string> {
  const hash = createHash('sha256');
  const seen = new Set<string>();
  const queue = [resolve(scriptPath)];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    hash.update(`${file.slice(dirname(resolve(scriptPath)).length)}\n${text}\n`);
    for (const match of text.matchAll(LOCAL_IMPORT)) {
      const relative = match[1] ?? match[2] ?? match[3];
      if (relative) queue.push(resolve(dirname(file), relative));
    }
  }
  hash.update(JSON.stringify(resolvedOptions ?? null));
  return hash.digest('hex').slice(0, 16);
}
