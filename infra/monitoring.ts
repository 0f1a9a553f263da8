/**
 * Alerting and the dashboard: an encrypted SNS topic with e-mail subscriptions, the
 * alarms ("no report", Lambda errors, verdict not PASS) and a dashboard of run metrics.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { LoadGenerator } from './load-generator.js';
import { METRICS_NAMESPACE, MetricDimension, MetricName } from '../core/metric-names.js';

export interface AlertTopicProps {
  envName: string;
  emails: string[];
}

/** The topic that alarms and finish-run publish to; e-mail subscribers confirm once. */
export class AlertTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // A customer managed key, because CloudWatch alarms cannot publish to a topic
    // encrypted with the AWS managed SNS key: its key policy cannot be changed.
    const key = new kms.Key(this, 'Key', {
      description: `soak-runner ${props.envName} alert topic`,
      enableKeyRotation: true,
    });
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    key.grant(cloudwatchPrincipal, 'kms:Decrypt', 'kms:GenerateDataKey*');

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `soak-runner ${props.envName}`,
      masterKey: key,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, so CloudWatch needs its own grant.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [cloudwatchPrincipal],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );

    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
}

export interface RunMonitoringProps {
  envName: string;
  topic: sns.ITopic;
  functions: lambda.IFunction[];
  loadGenerator: LoadGenerator;
  /** Hours without a finalized scheduled run before the "no report" alarm fires; undefined when no schedule runs. */
  noReportHours: number | undefined;
  /** The environment's SLOs; the live alarms compare each minute of a running soak with them. */
  slo?: { p99Ms: number | null; errorRate: number | null };
}

export class RunMonitoring extends Construct {
  readonly noReportAlarm: cloudwatch.Alarm | undefined;
  readonly verdictAlarm: cloudwatch.Alarm;
  readonly errorAlarms: cloudwatch.Alarm[];
  readonly liveAlarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RunMonitoringProps) {
    super(scope, id);
    const action = new cloudwatchActions.SnsAction(props.topic);
    const metric = (name: string, statistic: string, period: Duration, label?: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { [MetricDimension.Env]: props.envName },
        statistic,
        period,
        label,
      });

    if (props.noReportHours !== undefined) {
      // Hourly sums over the last N hours; the alarm fires only when every one of them is
      // missing or zero. Missing data counts as breaching, because the failure this alarm
      // exists for (the schedule, start-run or finish-run broken) publishes nothing. Right
      // after the first deploy it is in ALARM until the first scheduled run is finalized.
      this.noReportAlarm = new cloudwatch.Alarm(this, 'NoReport', {
        alarmDescription: `soak-runner ${props.envName}: no scheduled run was finalized in the last ${props.noReportHours} hours. Check the schedule, the start-run and finish-run logs, and the ECS tasks.`,
        metric: metric(MetricName.ScheduledRunsFinalized, 'Sum', Duration.hours(1)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: props.noReportHours,
        datapointsToAlarm: props.noReportHours,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      this.noReportAlarm.addAlarmAction(action);
      this.noReportAlarm.addOkAction(action);
    }

    this.verdictAlarm = new cloudwatch.Alarm(this, 'VerdictNotPass', {
      alarmDescription: `soak-runner ${props.envName}: a run finished with a verdict other than PASS. Open its report; the Slack message and the report list the reasons.`,
      metric: metric(MetricName.RunsNotPassed, 'Sum', Duration.minutes(5)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.verdictAlarm.addAlarmAction(action);

    // Live alarms fire during a run, from the per-window metrics every task publishes:
    // three consecutive bad minutes over all tasks together. Stopping the run is the
    // abort rules' job (segment 0 evaluates them on the merged windows); these page.
    if (props.slo?.errorRate != null) {
      const errorRate = new cloudwatch.MathExpression({
        expression: 'failed / IF(requests > 0, requests, 1)',
        usingMetrics: {
          failed: metric(MetricName.LiveFailedRequests, 'Sum', Duration.minutes(1)),
          requests: metric(MetricName.LiveRequests, 'Sum', Duration.minutes(1)),
        },
        period: Duration.minutes(1),
        label: 'live error rate',
      });
      const alarm = new cloudwatch.Alarm(this, 'LiveErrorRate', {
        alarmDescription: `soak-runner ${props.envName}: the running soak's error rate is above the SLO of ${props.slo.errorRate} for 3 minutes.`,
        metric: errorRate,
        threshold: props.slo.errorRate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.liveAlarms.push(alarm);
    }
    if (props.slo?.p99Ms != null) {
      const alarm = new cloudwatch.Alarm(this, 'LiveLatencyP99', {
        alarmDescription: `soak-runner ${props.envName}: the running soak's p99 of successful requests is above the SLO of ${props.slo.p99Ms} ms for 3 minutes.`,
        metric: metric(MetricName.LiveLatencyMs, 'p99', Duration.minutes(1)),
        threshold: props.slo.p99Ms,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.liveAlarms.push(alarm);
    }

    this.errorAlarms = props.functions.map((fn, index) => {
      const alarm = new cloudwatch.Alarm(this, `LambdaErrors${index}`, {
        alarmDescription: `soak-runner ${props.envName}: ${fn.node.id} failed. Read its log group for the error.`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      return alarm;
    });

    this.dashboard = this.#createDashboard(props, metric);
  }

  #createDashboard(
    props: RunMonitoringProps,
    metric: (name: string, statistic: string, period: Duration, label?: string) => cloudwatch.Metric,
  ): cloudwatch.Dashboard {
    const day = Duration.days(1);
    const hour = Duration.hours(1);
    const minute = Duration.minutes(1);
    const containerInsights = (name: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName: name,
        dimensionsMap: {
          ClusterName: props.loadGenerator.cluster.clusterName,
          TaskDefinitionFamily: props.loadGenerator.taskDefinition.family,
        },
        statistic: 'Maximum',
        period: minute,
        label,
      });

    const alarms = [this.noReportAlarm, this.verdictAlarm, ...this.errorAlarms].filter((alarm) => alarm !== undefined);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(14) });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# soak-runner ${props.envName}\nOne point per finalized run; live panels show the last runs minute by minute.`,
        width: 24,
        height: 2,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 }),
      new cloudwatch.GraphWidget({
        title: 'Runs per day',
        left: [metric(MetricName.RunsFinalized, 'Sum', day, 'finalized'), metric(MetricName.RunsNotPassed, 'Sum', day, 'not PASS')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Latency of successful requests per run (ms)',
        left: [metric(MetricName.RunLatencyP95Ms, 'Maximum', hour, 'p95'), metric(MetricName.RunLatencyP99Ms, 'Maximum', hour, 'p99')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Error rate per run',
        left: [metric(MetricName.RunErrorRate, 'Maximum', hour, 'error rate')],
        leftYAxis: { min: 0 },
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Achieved request rate per run (requests/s)',
        left: [metric(MetricName.RunAchievedRate, 'Maximum', hour, 'achieved rate')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Live requests per minute',
        left: [metric(MetricName.LiveRequests, 'Sum', minute, 'requests'), metric(MetricName.LiveFailedRequests, 'Sum', minute, 'failed')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Load generator CPU and memory (Container Insights)',
        left: [containerInsights('CpuUtilized', 'CPU units used')],
        right: [containerInsights('MemoryUtilized', 'memory used (MiB)')],
        width: 12,
      }),
      ...props.functions.map(
        (fn) =>
          new cloudwatch.GraphWidget({
            title: `${fn.node.id}: invocations, errors, throttles`,
            left: [fn.metricInvocations({ period: Duration.minutes(5) }), fn.metricErrors({ period: Duration.minutes(5) }), fn.metricThrottles({ period: Duration.minutes(5) })],
            right: [fn.metricDuration({ period: Duration.minutes(5), statistic: 'Maximum' })],
            width: 12,
          }),
      ),
    );
    return dashboard;
  }
}
