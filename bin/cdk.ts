/**
 * CDK app entry: `npx cdk synth -c env=NAME` or `npx cdk deploy -c env=NAME` builds the
 * `SoakRunner-NAME` stack from config/deploy/NAME.json.
 */
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../core/config.js';
import { listDeployEnvs } from '../core/deploy-config.js';
import { createSoakRunnerApp } from '../infra/app.js';
import { REPO_ROOT } from '../infra/paths.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const app = new App();
const envName: unknown = app.node.tryGetContext('env');
if (typeof envName !== 'string' || envName.length === 0) {
  const known = listDeployEnvs(join(REPO_ROOT, 'config', 'deploy'));
  fail(
    `Missing environment: pass -c env=NAME, for example "npx cdk synth -c env=${known[0] ?? 'staging'}". ` +
      `Files in config/deploy: ${known.map((name) => `${name}.json`).join(', ') || 'none; docs/deploy.md shows how to write one'}.`,
  );
}

try {
  createSoakRunnerApp({ envName, app });
  app.synth();
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
