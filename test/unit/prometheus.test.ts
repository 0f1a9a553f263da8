import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseEnvConfig } from '../../core/config.js';
import { extractProbeValues, findLabel, parsePrometheusText } from '../../core/prometheus.js';

const TEXT = `# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 42
nodejs_heap_size_used_bytes 1.5e+07
db_pool_connections{pool="main",state="busy"} 3
db_pool_connections{pool="main",state="idle"} 7
db_pool_connections{pool="other",state="busy"} 100
app_info{version="1.2.3",label="a \\"quoted\\" value"} 1 1700000000000
broken line here
`;

test('prometheus parser reads values, labels and timestamps', () => {
  const samples = parsePrometheusText(TEXT);
  assert.equal(samples.find((sample) => sample.name === 'process_open_fds')?.value, 42);
  assert.equal(samples.find((sample) => sample.name === 'nodejs_heap_size_used_bytes')?.value, 15_000_000);
  assert.equal(samples.find((sample) => sample.name === 'app_info')?.labels.label, 'a "quoted" value');
});

test('probe series sum samples whose labels match', () => {
  const config = parseEnvConfig(
    { probe: { series: [{ name: 'mainPool', metric: 'db_pool_connections', labels: { pool: 'main' } }, { name: 'fds', metric: 'process_open_fds' }, { name: 'absent', metric: 'nope' }] } },
    null,
  );
  const values = extractProbeValues(TEXT, config.probe.series);
  assert.deepEqual(values, { mainPool: 10, fds: 42 });
});

test('version label is found', () => {
  assert.equal(findLabel(TEXT, 'app_info', 'version'), '1.2.3');
});

test('default probe series read a real target scrape', () => {
  const text = readFileSync(new URL('../fixtures/k6/metrics-sample.txt', import.meta.url), 'utf8');
  const values = extractProbeValues(text, parseEnvConfig({}, null).probe.series);
  assert.ok((values.heapUsedBytes ?? 0) > 1_000_000);
  assert.ok((values.openFds ?? 0) > 0);
});
