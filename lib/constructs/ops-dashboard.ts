/**
 * The one operations dashboard: alarm states, pipeline runs, drift and model quality, endpoint
 * health, retraining triggers and the analyzer. It draws what other constructs own through their
 * own metric helpers (`DriftMonitor.metricDriftScore`, `RetrainingTrigger.metricStarted`, …), so
 * a metric's name and dimensions are written once, where it is published.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SUPPRESSION_REASONS } from '../../lambdas/retraining/policy';
import { DRIFT_METRICS } from '../../lambdas/shared/metrics';
import type { ModelConfig } from '../config';
import type { DriftMonitor } from './drift-monitor';
import type { RetrainingTrigger } from './retraining-trigger';

export interface OpsDashboardProps {
  readonly models: readonly ModelConfig[];
  /** Alarms, drift and quality metrics, and the analyzer. */
  readonly drift: DriftMonitor;
  /** Runs started and suppressed per model. */
  readonly retraining: RetrainingTrigger;
  /**
   * The training pipeline, for runs started, succeeded, failed and timed out.
   * @default - no pipeline widget
   */
  readonly pipeline?: sfn.IStateMachine;
  /** Endpoint name of a model, for the SageMaker endpoint graphs. */
  readonly endpointName: (model: string) => string;
  /**
   * Production variant of the endpoint graphs (blue/green updates keep the variant name).
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
}

export class OpsDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const { models, drift, retraining } = props;
    const variantName = props.variantName ?? 'AllTraffic';
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    const hourly = { period: Duration.hours(1) };
    const endpointModels = models.filter((m) => m.deployment.mode !== 'batch');
    const endpointMetric = (model: string, metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: props.endpointName(model), VariantName: variantName },
        statistic,
        period: Duration.minutes(5),
        label: `${model} ${metricName}`,
      });
    // RetrainingSuppressed is published per Model *and* Reason: a metric with the Model dimension
    // alone is another metric (CloudWatch matches the exact dimension set), so sum the reasons.
    // Ids are unique per graph (one graph holds every model's expression).
    const suppressed = (model: string, index: number) => {
      const usingMetrics: Record<string, cloudwatch.IMetric> = {};
      SUPPRESSION_REASONS.forEach((reason, i) => {
        usingMetrics[`s${index}_${i}`] = retraining.metricSuppressed(model, reason, hourly);
      });
      return new cloudwatch.MathExpression({ expression: `SUM([${Object.keys(usingMetrics).join(', ')}])`, usingMetrics, ...hourly, label: `${model} suppressed` });
    };

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Caretaker operations\nAlarms are named \`${drift.alarmNamePrefix}-<model>-<kind>\`; each links its runbook in the README.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: drift.allAlarms, width: 24, height: 4 }));
    if (props.pipeline) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Training pipeline runs',
          left: [
            props.pipeline.metricStarted({ ...hourly, label: 'started' }),
            props.pipeline.metricSucceeded({ ...hourly, label: 'succeeded' }),
            props.pipeline.metricFailed({ ...hourly, label: 'failed' }),
            props.pipeline.metricTimedOut({ ...hourly, label: 'timed out' }),
          ],
          width: 24,
        }),
      );
    }
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Drift score (max PSI)',
        left: models.map((m) => drift.metricDriftScore(m.name, Duration.minutes(m.drift.scheduleMinutes)).with({ label: m.name })),
        leftAnnotations: [...new Set(models.map((m) => m.drift.psiThreshold))].map((value) => ({ value, label: `PSI ${value}` })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Model quality (objective metric on labelled traffic)',
        left: models.map((m) => drift.metricModelQuality(m.name, Duration.minutes(m.drift.scheduleMinutes)).with({ label: `${m.name} ${m.objective.metricName}` })),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Endpoint invocations and 5XX errors',
        left: endpointModels.map((m) => endpointMetric(m.name, 'Invocations', cloudwatch.Stats.SUM)),
        right: endpointModels.map((m) => endpointMetric(m.name, 'Invocation5XXErrors', cloudwatch.Stats.SUM)),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Endpoint p99 model latency (µs)',
        left: endpointModels.map((m) => endpointMetric(m.name, 'ModelLatency', cloudwatch.Stats.p(99))),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Retraining triggers: started vs suppressed',
        left: models.map((m) => retraining.metricStarted(m.name, { ...hourly, label: `${m.name} started` })),
        right: models.map((m, index) => suppressed(m.name, index)),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drift analyzer',
        left: [drift.analyzer.function.metricInvocations(hourly), drift.analyzer.function.metricErrors(hourly)],
        right: models.map((m) => drift.metric(DRIFT_METRICS.capturedRecords, m.name, { statistic: cloudwatch.Stats.SUM, ...hourly, label: `${m.name} captured records` })),
        width: 12,
      }),
    );
  }
}
