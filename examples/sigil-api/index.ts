/**
 * Example Sigil API: a stand-in of the Sigil-DNA API with injectable faults, for
 * soak-runner's demo, its tests and its detection benchmark. docs/example-api.md
 * lists the endpoints and the fault switches.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { FaultController } from './faults.js';
import { ApiMetrics } from './metrics.js';
import { resolveOptions, type ExampleApiOptions } from './options.js';
import { createRequestHandler } from './routes.js';
import { SigilStore } from './store.js';
import { TokenIssuer } from './tokens.js';

export { ExampleApiOptionError, resolveOptions, type ExampleApiOptions, type ResolvedOptions } from './options.js';

export interface StartExampleApiOptions extends ExampleApiOptions {
  /** Receives start, stop and fault events; silent by default. */
  logger?: Logger;
}

export interface ExampleApi {
  /** Origin such as `http://127.0.0.1:41234`, without a trailing slash. */
  url: string;
  port: number;
  /** Stops the faults, drops every connection and closes the listener. */
  close(): Promise<void>;
}

/** Idle keep-alive connections stay open longer than k6's clients reuse them, so reuse never races a close. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const REOPEN_RETRY_MS = 500;

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function originOf(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/**
 * Starts the API and resolves once it listens.
 * Throws ExampleApiOptionError for an invalid option, and the listen error (EADDRINUSE, for example) as is.
 */
export async function startExampleApi(input: StartExampleApiOptions = {}): Promise<ExampleApi> {
  const { logger: callerLogger, ...apiOptions } = input;
  const options = resolveOptions(apiOptions, 'property');
  const logger = callerLogger ?? pino({ level: 'silent' });

  const store = new SigilStore();
  const tokens = new TokenIssuer(options.clientId, options.clientSecret, options.staticToken, options.tokenTtlS);
  const server = createServer();
  let port = options.port;
  let closed = false;

  const reopen = (): void => {
    if (closed) return;
    listen(server, port, options.host).catch((error: unknown) => {
      logger.error({ err: error, port, retryInMs: REOPEN_RETRY_MS }, 'reopening the listener after the outage failed; retrying');
      setTimeout(reopen, REOPEN_RETRY_MS);
    });
  };

  const faults = new FaultController(options, logger, {
    onRestart: () => {
      store.clear();
      tokens.clear();
      metrics.countRestart();
    },
    onDown: () => {
      server.close();
      server.closeIdleConnections();
    },
    onUp: reopen,
  });
  const metrics = new ApiMetrics(options.versionLabel, {
    storeSize: () => store.size,
    leakedHeapBytes: () => faults.leakedHeap.retainedBytes,
    warmupHeapBytes: () => faults.warmupHeap.retainedBytes,
    leakedFds: () => faults.leakedFds.count,
  });

  server.on('request', createRequestHandler({ store, tokens, faults, metrics, logger }));
  server.on('clientError', (_error, socket) => {
    // Malformed HTTP, or a client that went away mid-request: there is no request to respond to.
    socket.destroy();
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;

  await listen(server, options.port, options.host);
  port = (server.address() as AddressInfo).port;
  const url = originOf(options.host, port);
  faults.start();
  logger.info({ url, pid: process.pid, options: { ...options, clientSecret: '[redacted]', staticToken: '[redacted]' } }, 'sigil-api started');

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    faults.stop();
    await new Promise<void>((resolve) => {
      // During an outage the listener is already closed and the callback gets
      // ERR_SERVER_NOT_RUNNING, which is fine here.
      server.close(() => resolve());
      server.closeAllConnections();
    });
    logger.info({ url }, 'sigil-api stopped');
  };

  return { url, port, close };
}
