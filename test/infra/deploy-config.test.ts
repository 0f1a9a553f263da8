import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../core/config.js';
import { FARGATE_MEMORY_MIB_BY_CPU, loadDeployConfig, parseDeployConfig, scheduledRunRequest } from '../../core/deploy-config.js';
import { exampleConfig } from './synth.js';

type Mutable = Record<string, any>;

/** Returns the issues of the example configuration after `change`, or [] when it stays valid. */
function issuesAfter(change: (config: Mutable) => void): string[] {
  const config = exampleConfig() as Mutable;
  change(config);
  try {
    parseDeployConfig(config, 'config/deploy/test.json');
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
}

describe('DeployConfigSchema', () => {
  test('accepts the example', () => {
    assert.deepEqual(issuesAfter(() => undefined), []);
  });

  test('accepts every Fargate size', () => {
    for (const [cpu, memories] of Object.entries(FARGATE_MEMORY_MIB_BY_CPU)) {
      for (const memoryMiB of memories) {
        assert.deepEqual(issuesAfter((config) => Object.assign(config.deploy.task, { cpu: Number(cpu), memoryMiB })), [], `cpu ${cpu} memory ${memoryMiB}`);
      }
    }
  });

  test('rejects memory outside the cpu range', () => {
    const issues = issuesAfter((config) => Object.assign(config.deploy.task, { cpu: 256, memoryMiB: 4096 }));
    assert.deepEqual(issues, ['deploy.task.memoryMiB: Fargate does not accept this memory with cpu 256; use one of 512, 1024, 2048 (got 4096)']);
  });

  test('rejects an unknown cpu value', () => {
    const issues = issuesAfter((config) => (config.deploy.task.cpu = 3000));
    assert.match(issues[0] ?? '', /^deploy\.task\.cpu: .*\(got 3000\)$/);
  });

  test('rejects a five-field cron', () => {
    const issues = issuesAfter((config) => (config.deploy.schedule.cron = 'cron(0 1 * * *)'));
    assert.match(issues[0] ?? '', /^deploy\.schedule\.cron: a cron expression has 6 fields/);
  });

  test('rejects a cron without "?"', () => {
    const issues = issuesAfter((config) => (config.deploy.schedule.cron = 'cron(0 1 * * * *)'));
    assert.match(issues[0] ?? '', /^deploy\.schedule\.cron: exactly one of day-of-month and day-of-week must be "\?"/);
  });

  test('rejects an unknown time zone', () => {
    const issues = issuesAfter((config) => (config.deploy.schedule.timeZone = 'Europe/Atlantis'));
    assert.deepEqual(issues, ['deploy.schedule.timeZone: use an IANA time zone name such as "Europe/Berlin" or "UTC" (got "Europe/Atlantis")']);
  });

  test('accepts a null schedule', () => {
    assert.deepEqual(issuesAfter((config) => (config.deploy.schedule = null)), []);
  });

  test('rejects a target host outside the allowlist', () => {
    const issues = issuesAfter((config) => (config.defaults.target = 'https://prod.example.com'));
    assert.match(issues[0] ?? '', /^defaults\.target: the host is not in targetAllowlist/);
  });

  test('requires an allowlist', () => {
    const issues = issuesAfter((config) => (config.targetAllowlist = []));
    assert.match(issues.join('\n'), /^targetAllowlist: list the target hosts/m);
  });

  test('requires one route table per subnet', () => {
    const issues = issuesAfter((config) => config.deploy.network.routeTableIds.pop());
    assert.match(issues[0] ?? '', /^deploy\.network\.routeTableIds: list one route table per subnet/);
  });

  test('rejects a scheduled rate above the limit', () => {
    const issues = issuesAfter((config) => (config.deploy.schedule.rate = 5000));
    assert.deepEqual(issues, ['deploy.schedule.rate: exceeds limits.maxRate (2000) (got 5000)']);
  });

  test('rejects a 23-hour nightly run', () => {
    const issues = issuesAfter((config) => (config.deploy.schedule.durationS = 23 * 3600));
    assert.match(issues[0] ?? '', /^deploy\.schedule\.durationS: /);
  });

  test('rejects windows outliving reports', () => {
    const issues = issuesAfter((config) => Object.assign(config.deploy.results, { windowsDays: 500, reportsDays: 400 }));
    assert.match(issues[0] ?? '', /^deploy\.results\.windowsDays: /);
  });

  test('rejects an unknown log retention', () => {
    const issues = issuesAfter((config) => (config.deploy.logRetentionDays = 10));
    assert.match(issues[0] ?? '', /^deploy\.logRetentionDays: .*\(got 10\)$/);
  });

  test('rejects an unknown field', () => {
    const issues = issuesAfter((config) => (config.deploy.vpc = 'vpc-1'));
    assert.match(issues[0] ?? '', /^deploy\.vpc: unknown field; the fields here are .*network.* \(got "vpc-1"\)$/);
  });

  test('rejects a numeric account id', () => {
    const issues = issuesAfter((config) => (config.deploy.account = 111111111111));
    assert.match(issues[0] ?? '', /^deploy\.account: .*\(got 111111111111\)$/);
  });

  test('message names the file and the fix', () => {
    assert.throws(
      () => parseDeployConfig({ ...exampleConfig(), deploy: { ...(exampleConfig().deploy as object), region: 'Ireland' } }, 'config/deploy/test.json'),
      /^ConfigError: Invalid deployment configuration in config\/deploy\/test\.json:\n {2}deploy\.region: use a region code such as "eu-west-1" \(got "Ireland"\)\nFix the fields above/,
    );
  });

  test('keeps the deploy block out of the run configuration', () => {
    const loaded = parseDeployConfig(exampleConfig(), 'config/deploy/example.json');
    assert.deepEqual(Object.keys(loaded.runConfigInput).sort(), ['defaults', 'limits', 'targetAllowlist']);
  });
});

describe('scheduledRunRequest', () => {
  test('overrides defaults with schedule fields', () => {
    const { config } = parseDeployConfig(exampleConfig(), 'example.json');
    assert.deepEqual(scheduledRunRequest(config, 'example'), {
      env: 'example',
      target: 'https://sigil-api.staging.example.com',
      scenario: 'sigil',
      rate: 100,
      durationS: 14400,
      segments: 4,
    });
  });

  test('is undefined when the schedule is disabled', () => {
    const input = exampleConfig() as Mutable;
    input.deploy.schedule.enabled = false;
    assert.equal(scheduledRunRequest(parseDeployConfig(input, 'example.json').config, 'example'), undefined);
  });
});

describe('loadDeployConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-deploy-'));
  writeFileSync(join(dir, 'staging.json'), JSON.stringify(exampleConfig()));
  writeFileSync(join(dir, 'broken.json'), '{ "deploy": ');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a file by environment name', () => {
    assert.equal(loadDeployConfig('staging', dir).config.deploy.region, 'eu-west-1');
  });

  test('lists the known files for a missing one', () => {
    assert.throws(() => loadDeployConfig('prod', dir), /prod\.json not found\. Files in .*: broken\.json, staging\.json\./);
  });

  test('reports invalid JSON with the file', () => {
    assert.throws(() => loadDeployConfig('broken', dir), /broken\.json is not valid JSON/);
  });

  test('rejects an invalid environment name', () => {
    assert.throws(() => loadDeployConfig('Prod_1', dir), /Invalid environment name "Prod_1"/);
  });
});
