import { Capture } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SUPPRESSION_REASONS } from '../../lambdas/retraining/policy';
import { METRICS_NAMESPACE, RETRAINING_DIMENSIONS, RETRAINING_METRICS } from '../../lambdas/shared/metrics';
import { synthCaretaker } from '../support/stack';

describe('OpsDashboard', () => {
  const { template, stack } = synthCaretaker();
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

  it('is the stack\'s one dashboard, its own construct, named by the DriftDashboardName output', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(stack.dashboard.dashboard.node.path).toBe('Caretaker/Ops/Dashboard');
    template.hasOutput('DriftDashboardName', { Value: { Ref: id(stack.dashboard.dashboard) } });
  });

  it('shows every alarm the drift monitor raises and the pipeline\'s runs', () => {
    const body = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardBody: body });
    const text = JSON.stringify(body.asObject());
    for (const alarm of stack.drift.allAlarms) expect(text).toContain(id(alarm));
    expect(text).toContain('Training pipeline runs');
    expect(text).toContain(id(stack.pipeline.stateMachine));
  });

  it('builds an ops dashboard with drift, quality, endpoint health and trigger widgets', () => {
    const body = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardBody: body });
    const text = JSON.stringify(body.asObject());
    for (const needle of ['Drift score (max PSI)', 'Model quality', 'Invocation5XXErrors', 'ModelLatency', 'RetrainingStarted', 'RetrainingSuppressed', 'Alarms']) {
      expect(text).toContain(needle);
    }
  });

  it('graphs suppressed triggers by the dimensions the starter publishes them with (Model and Reason), summed per model', () => {
    const body = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardBody: body });
    // The body is an Fn::Join of JSON text and tokens (which stand inside JSON strings).
    const parts = (body.asObject() as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const dashboard = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'token')).join('')) as {
      widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
    };
    const widget = dashboard.widgets.find((w) => w.properties.title?.startsWith('Retraining triggers'));
    const metrics = widget?.properties.metrics ?? [];
    const suppressed = metrics.filter((m) => m.includes(RETRAINING_METRICS.suppressed));
    // A metric with the Model dimension alone would be another metric: CloudWatch matches the exact dimension set.
    expect(suppressed.map((m) => m.slice(0, 6))).toEqual(
      SUPPRESSION_REASONS.map((reason) => [METRICS_NAMESPACE, RETRAINING_METRICS.suppressed, RETRAINING_DIMENSIONS.model, 'churn', RETRAINING_DIMENSIONS.reason, reason]),
    );
    expect(metrics).toContainEqual([expect.objectContaining({ expression: `SUM([${SUPPRESSION_REASONS.map((_, i) => `s0_${i}`).join(', ')}])`, label: 'churn suppressed' })]);
    expect(metrics.filter((m) => m.includes(RETRAINING_METRICS.started)).map((m) => m.slice(0, 4))).toEqual([
      [METRICS_NAMESPACE, RETRAINING_METRICS.started, RETRAINING_DIMENSIONS.model, 'churn'],
    ]);
  });

});
