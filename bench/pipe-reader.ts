/**
 * A reader of k6's `--out json` stream that does nothing with it: it reads the named
 * pipe given as the first argument the way run-segment does (a net.Socket on the
 * pipe), counts newlines, and prints `{"lines":N}` when k6 closes the pipe. The
 * overhead benchmark uses it to tell the cost of moving the stream through a pipe
 * from the cost of parsing it.
 */
import { openSync } from 'node:fs';
import { Socket } from 'node:net';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: pipe-reader.ts <path of the k6 --out json pipe>\n');
  process.exit(2);
}

// Blocks until k6 opens the pipe for writing, which the benchmark starts right after this process.
const reader = new Socket({ fd: openSync(path, 'r'), readable: true, writable: false });
let lines = 0;
reader.on('data', (chunk: Buffer) => {
  for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines += 1;
});
reader.on('end', () => process.stdout.write(`${JSON.stringify({ lines })}\n`));
