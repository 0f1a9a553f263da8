import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildRunArgs, K6_API_ADDRESS, k6Environment, otelOutputFromEnv, otelResourceAttributes, systemTagsFor } from '../../task/k6.js';

const BASE_INPUT = {
  scriptPath: '/scenarios/sigil/script.js',
  executionSegment: '0:1/2',
  sequence: '0,1/2,1',
  outPath: '/tmp/soak-k6-x/samples.fifo',
};
const RESOURCE = { env: 'staging', runId: '20261204T010000Z-nightly', segment: 1 };

describe('buildRunArgs', () => {
  test('without otel has one JSON output', () => {
    assert.deepEqual(buildRunArgs(BASE_INPUT), [
      'run',
      '--address',
      K6_API_ADDRESS,
      '--no-thresholds',
      '--summary-mode=disabled',
      '--no-color',
      '--quiet',
      '--execution-segment',
      '0:1/2',
      '--execution-segment-sequence',
      '0,1/2,1',
      '--out',
      'json=/tmp/soak-k6-x/samples.fifo',
      '/scenarios/sigil/script.js',
    ]);
  });

  test('asks for the system tags given', () => {
    const args = buildRunArgs({ ...BASE_INPUT, systemTags: ['name', 'status'] });
    assert.equal(args[args.indexOf('--system-tags') + 1], 'name,status');
    assert.equal(args.at(-1), '/scenarios/sigil/script.js');
  });

  test('otel false adds nothing', () => {
    assert.deepEqual(buildRunArgs({ ...BASE_INPUT, otel: false }), buildRunArgs(BASE_INPUT));
  });

  test('otel adds the OpenTelemetry output', () => {
    const args = buildRunArgs({ ...BASE_INPUT, otel: true });
    const outputs = args.flatMap((arg, index) => (arg === '--out' ? [args[index + 1]] : []));
    assert.deepEqual(outputs, ['json=/tmp/soak-k6-x/samples.fifo', 'experimental-opentelemetry']);
    assert.equal(args.at(-1), '/scenarios/sigil/script.js');
    assert.equal(args.length, buildRunArgs(BASE_INPUT).length + 2);
  });

  test('keeps the API on loopback', () => {
    const args = buildRunArgs({ ...BASE_INPUT, otel: true });
    assert.equal(args[args.indexOf('--address') + 1], '127.0.0.1:0');
  });
});

describe('systemTagsFor', () => {
  test('keeps the tags the runner reads and those thresholds filter on', () => {
    assert.deepEqual(systemTagsFor([]), ['name', 'status', 'expected_response', 'error_code']);
    assert.deepEqual(systemTagsFor(['http_req_duration{method:POST,name:verify}', 'http_reqs{group:::login}', 'checks']), [
      'name',
      'status',
      'expected_response',
      'error_code',
      'method',
      'group',
    ]);
  });

  test('leaves out tags a script sets itself', () => {
    assert.deepEqual(systemTagsFor(['http_req_duration{tier:gold}']), ['name', 'status', 'expected_response', 'error_code']);
  });
});

describe('otelOutputFromEnv', () => {
  test('is undefined without SOAK_K6_OTEL', () => {
    assert.equal(otelOutputFromEnv({ K6_OTEL_GRPC_EXPORTER_ENDPOINT: '127.0.0.1:4317' }, RESOURCE), undefined);
  });

  test('is undefined for an empty value', () => {
    assert.equal(otelOutputFromEnv({ SOAK_K6_OTEL: '' }, RESOURCE), undefined);
  });

  test('rejects an unknown exporter', () => {
    assert.throws(() => otelOutputFromEnv({ SOAK_K6_OTEL: 'grpcs' }, RESOURCE), /^Error: Invalid SOAK_K6_OTEL "grpcs": set it to "grpc" or "http"/);
  });

  test('sets the exporter type', () => {
    for (const exporter of ['grpc', 'http'] as const) {
      const output = otelOutputFromEnv({ SOAK_K6_OTEL: exporter }, RESOURCE);
      assert.equal(output?.exporter, exporter);
      assert.equal(output?.env.K6_OTEL_EXPORTER_TYPE, exporter);
    }
  });

  test('passes K6_OTEL variables only', () => {
    const output = otelOutputFromEnv(
      {
        SOAK_K6_OTEL: 'grpc',
        K6_OTEL_GRPC_EXPORTER_ENDPOINT: '127.0.0.1:4317',
        K6_OTEL_GRPC_EXPORTER_INSECURE: 'true',
        K6_OTEL_SERVICE_NAME: 'soak-runner',
        AWS_SECRET_ACCESS_KEY: 'secret',
        SOAK_TARGET_TOKEN: 'token',
        OTEL_EXPORTER_OTLP_HEADERS: 'x=y',
      },
      RESOURCE,
    );
    assert.deepEqual(Object.keys(output?.env ?? {}).sort(), [
      'K6_OTEL_EXPORTER_TYPE',
      'K6_OTEL_GRPC_EXPORTER_ENDPOINT',
      'K6_OTEL_GRPC_EXPORTER_INSECURE',
      'K6_OTEL_SERVICE_NAME',
      'OTEL_RESOURCE_ATTRIBUTES',
    ]);
    assert.equal(output?.env.K6_OTEL_GRPC_EXPORTER_ENDPOINT, '127.0.0.1:4317');
  });

  test('SOAK_K6_OTEL overrides a given exporter type', () => {
    const output = otelOutputFromEnv({ SOAK_K6_OTEL: 'grpc', K6_OTEL_EXPORTER_TYPE: 'http' }, RESOURCE);
    assert.equal(output?.env.K6_OTEL_EXPORTER_TYPE, 'grpc');
  });

  test('sets the segment resource attributes', () => {
    const output = otelOutputFromEnv({ SOAK_K6_OTEL: 'grpc' }, RESOURCE);
    assert.equal(output?.env.OTEL_RESOURCE_ATTRIBUTES, 'soak.env=staging,soak.run_id=20261204T010000Z-nightly,soak.segment=1');
  });

  test('k6 environment keeps the safe settings', () => {
    const output = otelOutputFromEnv({ SOAK_K6_OTEL: 'grpc', K6_OTEL_GRPC_EXPORTER_ENDPOINT: '127.0.0.1:4317' }, RESOURCE);
    const env = k6Environment({ BASE_URL: 'http://127.0.0.1:3000', ...output?.env }, {});
    assert.equal(env.K6_NO_USAGE_REPORT, 'true');
    assert.equal(env.K6_AUTO_EXTENSION_RESOLUTION, 'false');
    assert.equal(env.K6_OTEL_GRPC_EXPORTER_ENDPOINT, '127.0.0.1:4317');
  });
});

describe('otelResourceAttributes', () => {
  test('percent-encodes separators in values', () => {
    assert.equal(otelResourceAttributes({ env: 'a,b', runId: 'x=y z', segment: 0 }), 'soak.env=a%2Cb,soak.run_id=x%3Dy%20z,soak.segment=0');
  });
});

const K6_BIN = process.env['K6_BIN'];
const SKIP_REASON = 'K6_BIN not set: point it at a k6 v1.3.0 binary to check the OpenTelemetry output';

/** Starts a server on a free loopback port and returns its host:port. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('real k6 OpenTelemetry output', { skip: K6_BIN === undefined ? SKIP_REASON : false }, () => {
  test('sends metrics with the segment attributes', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'soak-k6-otel-'));
    const target = createServer((_request, response) => response.end('ok'));
    // k6's HTTP exporter sends OTLP protobuf; names and attribute strings appear in it verbatim.
    const bodies: Buffer[] = [];
    const collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });

    try {
      const targetAddress = await listen(target);
      const collectorAddress = await listen(collector);
      const script = join(folder, 'script.js');
      await writeFile(
        script,
        `import http from 'k6/http';\nexport const options = { vus: 1, duration: '3s' };\nexport default function () { http.get(__ENV.BASE_URL + '/ok'); }\n`,
      );

      const output = otelOutputFromEnv(
        {
          SOAK_K6_OTEL: 'http',
          K6_OTEL_HTTP_EXPORTER_ENDPOINT: collectorAddress,
          K6_OTEL_HTTP_EXPORTER_INSECURE: 'true',
          K6_OTEL_SERVICE_NAME: 'soak-runner',
          K6_OTEL_EXPORT_INTERVAL: '1s',
        },
        RESOURCE,
      );
      assert.ok(output);
      const args = buildRunArgs({ scriptPath: script, executionSegment: '0:1', sequence: '0,1', outPath: join(folder, 'samples.json'), otel: true });
      const env = k6Environment({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: folder, BASE_URL: `http://${targetAddress}`, ...output.env }, {});

      let stderr = '';
      const exitCode = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(K6_BIN as string, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('error', reject);
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });

      assert.equal(exitCode, 0, stderr.slice(-2000));
      const payload = Buffer.concat(bodies).toString('latin1');
      for (const text of ['soak.env', 'staging', 'soak.run_id', RESOURCE.runId, 'soak.segment', 'soak-runner', 'http_reqs', 'http_req_duration', 'http_req_failed.total', 'vus']) {
        assert.ok(payload.includes(text), `OTLP payload lacks "${text}"`);
      }
      assert.ok((await readFile(join(folder, 'samples.json'), 'utf8')).includes('"metric":"http_reqs"'));
    } finally {
      target.close();
      collector.close();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
