/**
 * The CLI against a deployed environment: finds the `SoakRunner-<env>` stack's
 * outputs with the standard AWS credential chain and region, and returns the
 * results bucket as a ResultStore and a way to invoke the start-run Lambda.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createS3Client, S3ResultStore } from '../adapters/aws/s3-result-store.js';
import { ConfigError } from '../core/config.js';
import { loadDeployConfig } from '../core/deploy-config.js';
import type { ResultStore } from '../core/ports.js';
import { UsageError } from './io.js';

export const DEPLOY_CONFIG_DIR = join('config', 'deploy');

export interface CloudEnvironment {
  env: string;
  region: string;
  stackName: string;
  store: ResultStore;
  invokeStartRun(payload: unknown): Promise<Record<string, unknown>>;
}

/** True when `env` should be reached in AWS: not `local`, no --results given, and a deploy config exists. */
export function isCloudEnv(env: string, resultsGiven: boolean, dir = DEPLOY_CONFIG_DIR): boolean {
  return env !== 'local' && !resultsGiven && existsSync(resolve(dir, `${env}.json`));
}

export async function openCloudEnvironment(env: string, dir = DEPLOY_CONFIG_DIR): Promise<CloudEnvironment> {
  let region: string;
  try {
    region = loadDeployConfig(env, dir).config.deploy.region;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }

  const stackName = `SoakRunner-${env}`;
  const cloudFormation = new CloudFormationClient({ region });
  let outputs: Record<string, string>;
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries((described.Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } catch (error) {
    throw new UsageError(
      `Could not read stack ${stackName} in ${region}: ${(error as Error).message}. Check your AWS credentials and that the stack is deployed (npx cdk deploy -c env=${env}).`,
    );
  }
  const bucket = outputs.ResultsBucketName;
  const functionName = outputs.StartRunFunctionName;
  if (!bucket || !functionName) {
    throw new UsageError(`Stack ${stackName} has no ResultsBucketName or StartRunFunctionName output; deploy the current version of soak-runner.`);
  }

  const lambda = new LambdaClient({ region });
  return {
    env,
    region,
    stackName,
    store: new S3ResultStore(createS3Client({ region }), { bucket }),
    async invokeStartRun(payload) {
      const response = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
      const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '{}';
      if (response.FunctionError) throw new Error(`start-run failed (${response.FunctionError}): ${text.slice(0, 500)}`);
      return JSON.parse(text) as Record<string, unknown>;
    },
  };
}
