/**
 * Minimal keep-alive HTTP target for the load-path benchmarks.
 *
 * Listens on 127.0.0.1 only, on a free port unless `--port` is given, and prints
 * `{"port":N}` on stdout once it listens. Every path responds `200 ok` except:
 *   GET /healthz           200, for run-segment's health check
 *   GET /metrics           a few Prometheus lines, for segment 0's target probe
 *   GET /__bench/requests  `{"requests":N}`: load requests served so far
 * Only load requests are counted, so the count is the benchmark's measure of k6's
 * throughput whatever output k6 writes. The server exits on SIGTERM or SIGINT, after
 * `--max-seconds` (default 3600), and with `--exit-with-stdin` when its standard input
 * closes, which happens when the benchmark that started it dies.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'max-seconds': { type: 'string', default: '3600' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

const BODY = Buffer.from('ok');
let requests = 0;

const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (request, response) => {
  const url = request.url ?? '/';
  if (url === '/__bench/requests') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ requests }));
    return;
  }
  if (url === '/healthz') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ok');
    return;
  }
  if (url === '/metrics') {
    const memory = process.memoryUsage();
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`process_resident_memory_bytes ${memory.rss}\nnodejs_heap_size_used_bytes ${memory.heapUsed}\n`);
    return;
  }
  requests += 1;
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  response.end(BODY);
});
server.keepAliveTimeout = 60_000;

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, Number(values['max-seconds']) * 1000).unref();
if (values['exit-with-stdin']) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
