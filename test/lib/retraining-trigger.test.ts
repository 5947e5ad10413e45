import { Duration } from 'aws-cdk-lib';
import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RetrainingTrigger, type RetrainingModel } from '../../lib/constructs/retraining-trigger';
import { intakeEventSchema, normalize } from '../../lambdas/retraining/messages';
import { runIdFor } from '../../lambdas/shared/contracts';
import { synthCaretaker } from '../support/stack';

describe('RetrainingTrigger', () => {
  const { template, stack } = synthCaretaker();
  const machine = stack.pipeline.stateMachine;
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const { retraining } = stack;

  it('queues requests in a KMS-encrypted FIFO queue without content-based deduplication, with a FIFO dead-letter queue', () => {
    const keyArn = { 'Fn::GetAtt': [id(stack.key), 'Arn'] };
    template.hasResource('AWS::SQS::Queue', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        KmsMasterKeyId: keyArn,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [id(retraining.deadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
      }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, KmsMasterKeyId: keyArn, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('denies every queue action without TLS', () => {
    for (const queue of [retraining.queue, retraining.deadLetterQueue, retraining.undeliveredEvents]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('sends only this account\'s ALARM state changes of the models\' alarms to the intake', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        account: [{ Ref: 'AWS::AccountId' }],
        detail: { alarmName: ['Caretaker-Caretaker-churn-drift', 'Caretaker-Caretaker-churn-quality'], state: { value: ['ALARM'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [id(retraining.intake.function), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(retraining.undeliveredEvents), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
  });

  it('ticks each model\'s schedule into the intake with the scheduled window', () => {
    const input = new Capture();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(7 days)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [id(retraining.intake.function), 'Arn'] },
        Input: input,
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RetrainingSchedulerRole'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(retraining.undeliveredEvents), 'Arn'] } },
      }),
    });
    // What Scheduler sends, with the window filled in, is what the intake turns into a request.
    const sent = JSON.parse(input.asString().replaceAll('<aws.scheduler.scheduled-time>', '2026-11-29T10:00:00Z')) as unknown;
    expect(normalize(intakeEventSchema.parse(sent), { alarmNamePrefix: 'Caretaker-Caretaker-', models: ['churn'] })).toMatchObject({
      kind: 'request',
      request: { model: 'churn', runId: runIdFor('churn', 'schedule', '2026-11-29T10:00:00.000Z'), trigger: { kind: 'schedule', id: '2026-11-29T10:00:00.000Z' } },
    });
  });

  it('lets the intake send to the queue and do nothing else', () => {
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: statements },
      Roles: [{ Ref: id(retraining.intake.role) }],
    });
    const actions = (statements.asArray() as { Action: string | string[] }[]).flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
    expect(new Set(actions)).toEqual(
      new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'sqs:SendMessage', 'kms:GenerateDataKey', 'kms:Decrypt']),
    );
  });

  it('releases the lease when a pipeline execution ends', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ Ref: id(machine) }], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id(retraining.releaser.function), 'Arn'] } })],
    });
  });

  it("tells the releaser each model's endpoint (the pipeline's), whose deployment lease an ended execution gives back", () => {
    const resources = (template.toJSON() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, string> } } }> }).Resources;
    const releaser = resources[id(retraining.releaser.function)]!;
    const endpoints = JSON.parse(releaser.Properties.Environment.Variables.DEPLOYMENT_ENDPOINTS ?? '{}') as Record<string, string>;
    const starter = resources[id(retraining.starter.function)]!;
    const models = Object.keys(JSON.parse(starter.Properties.Environment.Variables.RETRAINING_POLICIES ?? '{}') as object);
    expect(models.length).toBeGreaterThan(0);
    expect(endpoints).toEqual(Object.fromEntries(models.map((m) => [m, stack.pipeline.endpointName(m)])));
  });

  it('lets the releaser describe exactly the models\' endpoints and query the status index, to close a version a stopped execution left DEPLOYING', () => {
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: statements },
      Roles: [{ Ref: id(retraining.releaser.role) }],
    });
    const all = statements.asArray() as { Action: string | string[]; Resource: unknown }[];
    const describe = all.filter((s) => s.Action === 'sagemaker:DescribeEndpoint');
    expect(describe).toHaveLength(1);
    expect(JSON.stringify(describe[0]!.Resource)).toContain(`:endpoint/${stack.pipeline.endpointName('churn')}`);
    expect(all.filter((s) => s.Action === 'dynamodb:Query')).toEqual([
      expect.objectContaining({ Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.metadata.table), 'Arn'] }, '/index/gsi1']] } }),
    ]);
    expect(all.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).some((a) => a.endsWith('*'))).toBe(false);
  });

  it('reads the queue with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(retraining.queue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('may start executions of the pipeline only, and touch table items only (no scan, no index)', () => {
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: statements },
      Roles: [{ Ref: id(retraining.starter.role) }],
    });
    const all = statements.asArray() as { Action: string | string[]; Resource: unknown }[];
    const actionsOf = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    const states = all.filter((s) => actionsOf(s).some((a) => a.startsWith('states:')));
    expect(states).toEqual([expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: id(machine) } })]);
    const dynamo = all.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      expect.objectContaining({ Resource: { 'Fn::GetAtt': [id(stack.metadata.table), 'Arn'] } }),
    ]);
    expect(actionsOf(dynamo[0]!)).not.toContain('dynamodb:Scan');
    expect(all.flatMap(actionsOf).some((a) => a.endsWith('*'))).toBe(false);
  });

  it('alarms to the alerts topic when anything lands in a dead-letter queue', () => {
    for (const queue of [retraining.deadLetterQueue, retraining.undeliveredEvents]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }],
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: id(stack.notifications.alerts) }],
      });
    }
  });

  it('sizes the lease from the state machine\'s computed TimeoutSeconds plus a 6 h margin, never below the pipeline\'s nominal limits (2 × 4 h training, 1 h evaluation, 7 d approval, 10 + 10 min rollout)', () => {
    const fn = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ RETRAINING_POLICIES: Match.anyValue() }) } },
    });
    const [starter] = Object.values(fn) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    const policies = JSON.parse(starter!.Properties.Environment.Variables.RETRAINING_POLICIES!) as Record<string, unknown>;
    const leaseSeconds = stack.pipeline.executionTimeout.toSeconds() + 6 * 3600;
    expect(policies).toEqual({ churn: ['churn', 6, 3, leaseSeconds] });
    // The bound counts every retry and the longest polling: at least the nominal limits.
    expect(leaseSeconds).toBeGreaterThan(2 * 4 * 3600 + 3600 + 7 * 24 * 3600 + 600 + 600 + 6 * 3600);
  });

  it('rejects bad props, naming the prop and the value', () => {
    const build = (models: RetrainingModel[]) =>
      synthCaretaker({
        extend: (s) => {
          new RetrainingTrigger(s, 'Bad', {
            models,
            stateMachine: s.pipeline.stateMachine,
            table: s.metadata.table,
            encryptionKey: s.key,
            alertsTopic: s.notifications.alerts,
            alarmNamePrefix: 'Caretaker-X-',
          });
        },
      });
    const model = { name: 'churn', dataset: 'churn', cooldown: Duration.hours(6), maxRunsPerDay: 3, leaseTimeout: Duration.days(8) };
    expect(() => build([model, model])).toThrow('models[1].name: "churn" is listed twice');
    expect(() => build([{ ...model, schedule: 'every day' }])).toThrow('models[0].schedule: must be rate(…) or cron(…), got "every day"');
    expect(() => build([{ ...model, leaseTimeout: Duration.minutes(5) }])).toThrow('models[0].leaseTimeout: must be at least 1 hour');
  });

  it('lets a grantee send requests (the API, the dataset store) and nothing more', () => {
    const { template: granted, stack: s } = synthCaretaker({
      extend: (st) => {
        const api = new iam.Role(st, 'ApiRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
        st.retraining.grantSendRequests(api);
      },
    });
    const queueArn = { 'Fn::GetAtt': [s.getLogicalId(s.retraining.queue.node.defaultChild as never), 'Arn'] };
    granted.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ApiRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sqs:SendMessage', Resource: queueArn }),
          Match.objectLike({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
        ]),
      },
    });
  });

  it('retrains on exactly the drift monitor\'s drift and quality alarms, never on its endpoint-health alarms', () => {
    const pattern = new Capture();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.cloudwatch'], detail: { alarmName: pattern, state: { value: ['ALARM'] } } },
    });
    const alarms = stack.drift.alarms.get('churn')!;
    // The name the alarm is created with (its `alarmName` attribute is a Ref).
    const names = (alarm: cloudwatch.Alarm) => stack.resolve((alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName) as unknown;
    expect(pattern.asArray()).toEqual(expect.arrayContaining([names(alarms.drift)]));
    if (alarms.quality) expect(pattern.asArray()).toContainEqual(names(alarms.quality));
    expect(pattern.asArray()).not.toContainEqual(names(alarms.errors!));
    expect(pattern.asArray()).not.toContainEqual(names(alarms.latency!));
  });
});
