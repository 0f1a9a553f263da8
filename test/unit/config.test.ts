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
  assert.throws(() => parseEnvConfig({ sloo: {} }, 'x.json'), /^ {2}sloo: unknown field; did you mean "slo"\? \(got \{\}\)$/m);
});

test('unknown field in another case names the field meant', () => {
  assert.throws(() => parseEnvConfig({ leak: { floorpoints: 3 } }, 'x.json'), /^ {2}leak\.floorpoints: unknown field; did you mean "floorPoints"\? \(got 3\)$/m);
});

test('unknown field far from any other lists the fields allowed', () => {
  assert.throws(
    () => parseEnvConfig({ probe: { series: [{ name: 'heap', metric: 'm', reduce: 'min' }] } }, 'x.json'),
    /^ {2}probe\.series\.0\.reduce: unknown field; the fields here are name, metric, labels, unit, perMinute, leakTolerancePerHour, leakMinGrowth \(got "min"\)$/m,
  );
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
