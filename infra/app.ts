/**
 * Builds the CDK app of one environment, with cdk-nag's AWS Solutions checks. Used by
 * bin/cdk.ts and by the tests, so both synthesize the same stack.
 */
import { join } from 'node:path';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeployConfig } from '../core/deploy-config.js';
import { REPO_ROOT } from './paths.js';
import { SoakRunnerStack } from './soak-runner-stack.js';

export interface SoakRunnerAppOptions {
  envName: string;
  /** Folder with `<env>.json` files. @default config/deploy in the repository */
  configDir?: string;
  /** @default the repository root */
  repoRoot?: string;
  /** An app to add the stack to; bin/cdk.ts passes the one that read the CLI context. */
  app?: App;
  /** Props of the app created when `app` is not given. */
  appProps?: AppProps;
}

export function stackNameFor(envName: string): string {
  return `SoakRunner-${envName}`;
}

export function createSoakRunnerApp(options: SoakRunnerAppOptions): { app: App; stack: SoakRunnerStack } {
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const loaded = loadDeployConfig(options.envName, options.configDir ?? join(repoRoot, 'config', 'deploy'));

  const app = options.app ?? new App(options.appProps);
  const stack = new SoakRunnerStack(app, stackNameFor(options.envName), {
    envName: options.envName,
    loaded,
    repoRoot,
    env: { account: loaded.config.deploy.account, region: loaded.config.deploy.region },
    description: `soak-runner ${options.envName}: scheduled and on-demand k6 soak tests`,
    tags: { 'soak-runner:env': options.envName },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
