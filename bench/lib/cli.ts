/** Command-line parsing shared by the benchmark scripts. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Parses the arguments with `node:util` parseArgs. Returns the exit code when the script
 * should stop: 0 after `--help` printed the usage to stdout, and 2 after an unknown or
 * malformed option, when `<program>: <error>` and the usage go to stderr instead of a
 * stack trace.
 */
export function parseArgsOrExit<T extends ParseArgsConfig>(config: T, program: string, usage: string): ReturnType<typeof parseArgs<T>> | number {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    process.stderr.write(`${program}: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  if ((parsed.values as Record<string, unknown>).help === true) {
    process.stdout.write(usage);
    return 0;
  }
  return parsed;
}
