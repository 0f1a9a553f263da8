import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseEnvConfig } from '../../core/config.js';
import { loadEnvConfig } from '../../bin/config-loader.js';

test('empty config takes every default', () => {
  const config = parseEnvConfig({}, null);
  assert.equal(config.slo.p99Ms, 1500);
  assert.equal(config.probe.intervalS, 5);
  assert.equal(config.warmup.fraction, 0.1);
  assert.ok(config.probe.series.some((series) => series.name === 'heapUsedBytes' && series.perMinute === 'min'));
});

test('invalid field names the file, the field and the value', () => {
  assert.throws(
    () => parseEnvConfig({ probe: { intervalS: 0 } }, 'config/staging.json'),
    (error: unknown) =>
      error instanceof ConfigError && error.message.includes('config/staging.json') && error.message.includes('probe.intervalS') && error.message.includes('got 0'),
  );
});

test('unknown field is rejected', () => {
  assert.throws(() => parseEnvConfig({ sloo: {} }, 'x.json'), /Unrecognized key|unrecognized/i);
});

test('missing local config falls back to defaults', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-config-'));
  const { config, file } = await loadEnvConfig('local', { dir });
  assert.equal(file, null);
  assert.equal(config.defaults.scenario, 'sigil');
});

test('missing config of another env is an error naming the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-config-'));
  await assert.rejects(loadEnvConfig('staging', { dir }), (error: unknown) => error instanceof ConfigError && error.message.includes(join(dir, 'staging.json')));
});

test('config file with bad JSON is an error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-config-'));
  writeFileSync(join(dir, 'local.json'), '{ "slo": ');
  await assert.rejects(loadEnvConfig('local', { dir }), /local\.json is not valid JSON/);
});
