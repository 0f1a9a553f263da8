/**
 * One soak-runner environment: results bucket, load generators, run lifecycle,
 * nightly schedule, alarms and dashboard.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ConfigError } from '../core/config.js';
import { scheduledRunRequest, type LoadedDeployConfig } from '../core/deploy-config.js';
import { LoadGenerator } from './load-generator.js';
import { AlertTopic, RunMonitoring } from './monitoring.js';
import { NightlySchedule } from './nightly-schedule.js';
import { ResultsBucket } from './results-bucket.js';
import { bundledScenarioNames, RunLifecycle } from './run-lifecycle.js';

export interface SoakRunnerStackProps extends StackProps {
  envName: string;
  loaded: LoadedDeployConfig;
  repoRoot: string;
}

export class SoakRunnerStack extends Stack {
  readonly results: ResultsBucket;
  readonly loadGenerator: LoadGenerator;
  readonly lifecycle: RunLifecycle;
  readonly schedule: NightlySchedule | undefined;
  readonly monitoring: RunMonitoring;

  constructor(scope: Construct, id: string, props: SoakRunnerStackProps) {
    super(scope, id, props);
    const { envName, repoRoot } = props;
    const { config, runConfigInput, file } = props.loaded;
    const { deploy } = config;

    this.results = new ResultsBucket(this, 'Results', { envName, results: deploy.results });
    this.loadGenerator = new LoadGenerator(this, 'LoadGenerator', { envName, deploy, results: this.results, repoRoot });
    const alerts = new AlertTopic(this, 'Alerts', { envName, emails: deploy.alarms.emails });

    this.lifecycle = new RunLifecycle(this, 'RunLifecycle', {
      envName,
      deploy,
      runConfigInput,
      configFile: file,
      repoRoot,
      results: this.results,
      loadGenerator: this.loadGenerator,
      topic: alerts.topic,
    });

    const request = scheduledRunRequest(config, envName);
    if (request !== undefined && deploy.schedule !== null) {
      const bundled = bundledScenarioNames(repoRoot);
      if (!bundled.includes(request.scenario)) {
        const field = deploy.schedule.scenario === undefined ? 'defaults.scenario' : 'deploy.schedule.scenario';
        const message = `Invalid nightly scenario in ${file}: ${field} is "${request.scenario}", which the load-generator image does not contain. Use one of ${bundled.join(', ')}, or add scenarios/${request.scenario}/script.js.`;
        throw new ConfigError(message, file, [message]);
      }

      this.schedule = new NightlySchedule(this, 'Nightly', {
        envName,
        startRun: this.lifecycle.startRun,
        request,
        cron: deploy.schedule.cron,
        timeZone: deploy.schedule.timeZone,
      });
    }

    this.monitoring = new RunMonitoring(this, 'Monitoring', {
      envName,
      topic: alerts.topic,
      functions: [this.lifecycle.startRun, this.lifecycle.finishRun],
      loadGenerator: this.loadGenerator,
      noReportHours: this.schedule === undefined ? undefined : deploy.alarms.noReportHours,
      slo: config.slo,
    });

    new CfnOutput(this, 'ResultsBucketName', { value: this.results.bucket.bucketName, description: 'Bucket with manifests, windows, reports and history' });
    new CfnOutput(this, 'StartRunFunctionName', { value: this.lifecycle.startRun.functionName, description: 'Invoke with a run request to start an ad-hoc run' });
    new CfnOutput(this, 'FinishRunFunctionName', { value: this.lifecycle.finishRun.functionName });
    new CfnOutput(this, 'ClusterArn', { value: this.loadGenerator.cluster.clusterArn });
    new CfnOutput(this, 'AlertTopicArn', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
