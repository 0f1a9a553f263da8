/** Loading of `config/<env>.json`, the per-environment configuration of the local mode. */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, parseEnvConfig, type EnvConfig } from '../core/config.js';

export const DEFAULT_CONFIG_DIR = 'config';

/**
 * Reads and validates the configuration of `env`. The `local` environment works
 * without a file (every field has a default); any other needs `config/<env>.json`.
 */
export async function loadEnvConfig(env: string, options: { file?: string; dir?: string } = {}): Promise<{ config: EnvConfig; file: string | null }> {
  const file = options.file ? resolve(options.file) : resolve(options.dir ?? DEFAULT_CONFIG_DIR, `${env}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !options.file && env === 'local') return { config: parseEnvConfig({}, null), file: null };
    if (code === 'ENOENT' && options.file) {
      throw new ConfigError(`The configuration file given with --config, ${file}, does not exist. Check the path, or create the file (an empty object {} takes every default).`, file, []);
    }
    if (code === 'ENOENT') {
      throw new ConfigError(
        `No configuration for env "${env}": ${file} does not exist. Create it (an empty object {} takes every default) or pass --config FILE.`,
        file,
        [],
      );
    }
    throw new ConfigError(`Could not read ${file}: ${(error as Error).message}`, file, []);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}. Fix the syntax and run again.`, file, []);
  }
  return { config: parseEnvConfig(parsed, file), file };
}

export function configPathFor(env: string, dir = DEFAULT_CONFIG_DIR): string {
  return join(dir, `${env}.json`);
}
