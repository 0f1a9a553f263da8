/**
 * Command-line entry of the example Sigil API:
 *   npx tsx examples/sigil-api/server.ts --port 0 --leak-heap-mb-per-min 2
 * Prints `sigil-api listening on http://HOST:PORT` on stdout once it listens.
 * Exits 2 for an invalid option, 1 when it cannot listen, 0 after SIGINT or SIGTERM.
 */
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { parseCommandLine } from './cli.js';
import { startExampleApi } from './index.js';
import { ExampleApiOptionError, type ExampleApiOptions } from './options.js';

const EXIT_USAGE = 2;

function parseOrExit(args: string[]): ExampleApiOptions {
  try {
    return parseCommandLine(args);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the help or its own message already.
      const shownHelp = error.code === 'commander.helpDisplayed' || error.code === 'commander.help';
      process.exit(shownHelp ? 0 : EXIT_USAGE);
    }
    if (error instanceof ExampleApiOptionError) {
      process.stderr.write(`sigil-api: ${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const options = parseOrExit(process.argv.slice(2));
  const logger = pino({ base: { service: 'sigil-api' } }, pino.destination({ dest: 2, sync: true }));

  let api;
  try {
    api = await startExampleApi({ ...options, logger });
  } catch (error) {
    logger.error({ err: error, host: options.host ?? '127.0.0.1', port: options.port ?? 3000 }, 'sigil-api could not listen; choose another --port or --host');
    process.exit(1);
  }
  process.stdout.write(`sigil-api listening on ${api.url}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping on signal');
    api.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'closing the server failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
