import { Capture, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, RUNBOOK } from '../../lib/constructs/drift-monitor';
import { parseConfig } from '../../lib/config';
import { exampleConfig, exampleConfigInput, synthCaretaker } from '../support/stack';

describe('DriftMonitor', () => {
  const { template, stack } = synthCaretaker();
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const analyzerId = id(stack.drift.analyzer.function);
  const bucketId = id(stack.artifacts.bucket);
  const alertsRef = { Ref: id(stack.notifications.alerts) };

  it('names every alarm with the stable prefix and exposes it', () => {
    expect(stack.drift.alarmNamePrefix).toBe('Caretaker-Caretaker');
    const names = stack.drift.allAlarms.map((a) => stack.resolve(a.alarmName) as unknown);
    expect(names).toHaveLength(4);
    for (const kind of ['drift', 'quality', '5xx', 'latency']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `Caretaker-Caretaker-churn-${kind}` });
    }
  });

  it('alarms on DriftScore above the PSI threshold for the configured evaluation periods, notifying alerts', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Caretaker-Caretaker-churn-drift',
      Namespace: 'Caretaker',
      MetricName: 'DriftScore',
      Dimensions: [{ Name: 'Model', Value: 'churn' }],
      Statistic: 'Maximum',
      Period: 900,
      Threshold: 0.2,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [alertsRef],
      OKActions: [alertsRef],
    });
    const alarm = stack.drift.alarms.get('churn')!.drift;
    expect(JSON.stringify(stack.resolve((alarm.node.defaultChild as { alarmDescription?: unknown }).alarmDescription))).toContain('Runbook: README.md#runbook-drift-alarm');
  });

  it('alarms when the objective metric falls below the gate threshold (maximize)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Caretaker-Caretaker-churn-quality',
      MetricName: 'ModelQuality',
      Threshold: 0.7,
      ComparisonOperator: 'LessThanThreshold',
      AlarmActions: [alertsRef],
      AlarmDescription: Match.stringLikeRegexp('#runbook-model-quality-alarm'),
    });
  });

  it('alarms on endpoint 5XX errors and p99 latency (in microseconds)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Caretaker-Caretaker-churn-5xx',
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocation5XXErrors',
      Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'caretaker-churn' }, { Name: 'VariantName', Value: 'AllTraffic' }]),
      AlarmDescription: Match.stringLikeRegexp('#runbook-endpoint-5xx-alarm'),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Caretaker-Caretaker-churn-latency',
      MetricName: 'ModelLatency',
      ExtendedStatistic: 'p99',
      Threshold: 1_000_000,
      AlarmDescription: Match.stringLikeRegexp('#runbook-endpoint-latency-alarm'),
    });
  });

  it('follows drift settings and an explicit quality threshold; minimizing metrics alarm above it', () => {
    const input = exampleConfigInput();
    const model = input.models[0]!;
    const config = parseConfig({
      ...input,
      models: [
        {
          ...model,
          objective: { metricName: 'validation:rmse', direction: 'minimize' },
          gate: {},
          drift: { psiThreshold: 0.3, evaluationPeriods: 4, scheduleMinutes: 30, qualityThreshold: 2.5 },
        },
        { ...model, name: 'fraud', objective: { metricName: 'validation:custom', direction: 'maximize' }, gate: {} },
      ],
    });
    const { template: t } = synthCaretaker({ config });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Caretaker-Caretaker-churn-drift',
      Threshold: 0.3,
      EvaluationPeriods: 4,
      Period: 1800,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Caretaker-Caretaker-churn-quality',
      Threshold: 2.5,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    // No threshold known and a metric Caretaker cannot compute: no quality alarm for fraud.
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'Caretaker-Caretaker-fraud-quality' } }))).toEqual([]);
    t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(30 minutes)' });
  });

  it('runs the analyzer per model on a schedule with the model settings and the scheduled time', () => {
    const input = new Capture();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      KmsKeyArn: { 'Fn::GetAtt': [id(stack.key), 'Arn'] },
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [analyzerId, 'Arn'] }, Input: input }),
    });
    expect(JSON.parse(input.asString())).toEqual({
      model: 'churn',
      windowEnd: '<aws.scheduler.scheduled-time>',
      windowMinutes: 15,
      psiThreshold: 0.2,
      minRecords: 100,
      objectiveMetric: 'validation:auc',
    });
  });

  it('points the drift alarm\'s notification at the window reports of the model', () => {
    const alarm = stack.drift.alarms.get('churn')!.drift;
    const description = JSON.stringify(stack.resolve((alarm.node.defaultChild as { alarmDescription?: unknown }).alarmDescription));
    expect(description).toContain(`{"Ref":"${bucketId}"}`);
    expect(description).toContain('/reports/churn/latest.json names its report.html');
    expect(description).toContain('/reports/churn/<window>/');
  });

  it('lets the analyzer read only capture, ground truth and baselines, write only reports, and query only the gsi1 index', () => {
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: id(stack.drift.analyzer.role) }],
      PolicyDocument: { Statement: statements },
    });
    const all = statements.asArray() as { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
    const actions = all.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.some((a) => a.endsWith('*') && !a.startsWith('kms:'))).toBe(false);
    expect(all).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 's3:GetObject',
          Resource: ['baselines/*', 'capture/*', 'ground-truth/*'].map((p) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${p}`]] })),
        }),
        expect.objectContaining({
          Action: 's3:ListBucket',
          Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
          Condition: { StringLike: { 's3:prefix': ['capture/*', 'ground-truth/*'] } },
        }),
        expect.objectContaining({ Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/reports/*']] } }),
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.metadata.table), 'Arn'] }, '/index/gsi1']] },
        }),
      ]),
    );
    // The bucket's key: decrypt what it reads, a data key for what it writes (SSE-KMS PutObject).
    const kms = all.filter((s) => JSON.stringify(s.Action).includes('kms:'));
    expect(kms.flatMap((s) => s.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    for (const s of kms) expect(s.Resource).toEqual({ 'Fn::GetAtt': [id(stack.key), 'Arn'] });
    const writes = all.filter((s) => JSON.stringify(s.Action).includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(all)).not.toMatch(/s3:DeleteObject|dynamodb:PutItem/);
  });


  it('links runbook sections that exist in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    // GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as hyphens.
    const anchors = new Set(
      [...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')),
    );
    for (const link of Object.values(RUNBOOK)) expect(anchors).toContain(link.replace('README.md#', ''));
  });

  it('rejects props it cannot honour, naming the prop and the value', () => {
    const props = {
      models: exampleConfig().models,
      artifactsBucket: stack.artifacts.bucket,
      metadataTable: stack.metadata.table,
      encryptionKey: stack.key,
      alertsTopic: stack.notifications.alerts,
    };
    expect(() => new DriftMonitor(stack, 'NoModels', { ...props, models: [] })).toThrow(/props\.models must name at least one model/);
    expect(() => new DriftMonitor(stack, 'BadPrefix', { ...props, alarmNamePrefix: 'has spaces' })).toThrow(/alarmNamePrefix .* got "has spaces"/);
  });

  it('grants a serverless model\'s caller exactly PutObject under capture/<model>/ (its drift window), and refuses an unknown model', () => {
    const { template: own } = synthCaretaker({
      extend: (s) => {
        const app = new iam.Role(s, 'CallerApp', { assumedBy: new iam.AccountRootPrincipal() });
        s.drift.grantCaptureWrite(app, 'churn');
        expect(() => s.drift.grantCaptureWrite(app, 'nope')).toThrow(/nope is not a configured model/);
      },
    });
    const policies = own.findResources('AWS::IAM::Policy');
    const caller = Object.values(policies).find((p) => JSON.stringify(p).includes('CallerApp')) as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } };
    const put = caller.Properties.PolicyDocument.Statement.find((st) => st.Action === 's3:PutObject')!;
    expect(JSON.stringify(put.Resource)).toContain('/capture/churn/*');
    expect(caller.Properties.PolicyDocument.Statement.flatMap((st) => [st.Action].flat())).toEqual(expect.arrayContaining(['s3:PutObject', 'kms:GenerateDataKey']));
    expect(caller.Properties.PolicyDocument.Statement.flatMap((st) => [st.Action].flat())).not.toContain('s3:GetObject');
  });
});
