/** Command-line parsing shared by the benchmark scripts. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Parses the arguments with `node:util` parseArgs. On an unknown or malformed option,
 * writes `<program>: <error>` and the usage to stderr and returns null, so that the
 * caller exits with 2 rather than with a stack trace.
 */
export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T, program: string, usage: string): ReturnType<typeof parseArgs<T>> | null {
  try {
    return parseArgs(config);
  } catch (error) {
    process.stderr.write(`${program}: ${(error as Error).message}\n${usage}`);
    return null;
  }
}
