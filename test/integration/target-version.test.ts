import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startExampleApi } from '../../examples/sigil-api/index.js';
import { parseEnvConfig } from '../../core/config.js';
import { readTargetVersionFrom } from '../../task/target-version.js';

test('target version comes from a metrics label', async (t) => {
  const api = await startExampleApi({ port: 0, versionLabel: '2.4.1' });
  t.after(() => api.close());
  const config = parseEnvConfig({ targetVersion: { metric: 'sigil_app_info' } }, null);
  assert.equal(await readTargetVersionFrom(config, api.url), '2.4.1');
});

test('target without a configured source has no version', async (t) => {
  const api = await startExampleApi({ port: 0 });
  t.after(() => api.close());
  assert.equal(await readTargetVersionFrom(parseEnvConfig({}, null), api.url), null);
});

test('unreachable target has no version', async () => {
  const config = parseEnvConfig({ targetVersion: { metric: 'sigil_app_info' } }, null);
  assert.equal(await readTargetVersionFrom(config, 'http://127.0.0.1:9'), null);
});
