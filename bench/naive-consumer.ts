/**
 * The naive reference consumer of k6's `--out json` stream: reads the named pipe
 * given as the first argument line by line with node:readline, parses every line
 * with JSON.parse, and sums the values per metric. When k6 closes the pipe it
 * prints `{"lines":N,"points":N,"metrics":N}` on stdout.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: naive-consumer.ts <path of the k6 --out json pipe>\n');
  process.exit(2);
}

const sums = new Map<string, number>();
let lines = 0;
let points = 0;
const reader = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
reader.on('line', (line) => {
  lines += 1;
  const record = JSON.parse(line) as { type: string; metric: string; data: { value?: number } };
  if (record.type !== 'Point') return;
  points += 1;
  sums.set(record.metric, (sums.get(record.metric) ?? 0) + (record.data.value ?? 0));
});
reader.on('close', () => {
  process.stdout.write(`${JSON.stringify({ lines, points, metrics: sums.size })}\n`);
});
