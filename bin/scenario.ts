/** Resolving `--scenario` (a bundled name or a script path) and hashing what a run executes. */
import { stat } from 'node:fs/promises';
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

export { hashScenario } from '../task/scenario-hash.js';
