/**
 * The README's first command, `npm run demo`, on a machine without k6: it must still
 * run the whole pipeline (through the k6 double) and print the report path.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempResults } from '../support/soak-cli.js';

test('demo without k6 replays a recording to PASS', async () => {
  const results = tempResults();
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/usr/bin:/bin' };
  delete env.K6_BIN;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'bin/demo.ts'), '--duration', '15s', '--results', results], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);

  assert.equal(code, 0, stdout + stderr);
  assert.match(stderr, /no k6 binary found/);
  assert.match(stdout, /^PASS {2}local \/ sigil/m);
  const reportPath = /report: (\S+report\.html)/.exec(stdout)?.[1];
  assert.ok(reportPath !== undefined, 'the report path is printed');
  assert.ok(existsSync(reportPath!));
});
