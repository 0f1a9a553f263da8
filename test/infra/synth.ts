/**
 * Synthesizes the soak-runner stack for template tests into a temporary folder. The CLI
 * passes the feature flags of cdk.json to bin/cdk.ts, so a test App gets them explicitly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSoakRunnerApp } from '../../infra/app.js';
import { REPO_ROOT } from '../../infra/paths.js';

export const cdkJsonContext = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export const exampleConfig = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(REPO_ROOT, 'config', 'deploy', 'example.json'), 'utf8')) as Record<string, unknown>;

const outdirs: string[] = [];

/** Builds the app of `envName`, from config/deploy or from `config` written to a temporary folder. */
export function synthApp(envName: string, config?: unknown) {
  const outdir = mkdtempSync(join(tmpdir(), 'soak-cdk-out-'));
  outdirs.push(outdir);

  let configDir: string | undefined;
  if (config !== undefined) {
    configDir = mkdtempSync(join(tmpdir(), 'soak-deploy-config-'));
    outdirs.push(configDir);
    writeFileSync(join(configDir, `${envName}.json`), JSON.stringify(config));
  }
  return createSoakRunnerApp({ envName, configDir, appProps: { outdir, context: cdkJsonContext } });
}

/** Removes the output folders of every app built so far. */
export function removeSynthOutputs(): void {
  for (const folder of outdirs.splice(0)) rmSync(folder, { recursive: true, force: true });
}
