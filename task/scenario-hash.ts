/** Hash of what a run executes: the script, its local imports and its resolved options. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

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
