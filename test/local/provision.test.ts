import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { provisionFromTemplate } from '../../local/provision';
import { resolveIntrinsics, synthesizeTemplate, type CfnTemplate } from '../../local/template';
import { motoClientConfig, uniqueName } from '../support/aws';
import { parseConfig } from '../../lib/config';
import { exampleConfig, exampleConfigInput } from '../support/stack';

describe('provisionFromTemplate', () => {
  const config = motoClientConfig();
  const dynamodb = new DynamoDBClient(config);
  const s3 = new S3Client(config);
  const sqs = new SQSClient(config);
  const events = new EventBridgeClient(config);
  afterAll(() => {
    for (const client of [dynamodb, s3, sqs, events]) client.destroy();
  });

  it('creates the synthesized metadata table with the same keys and indexes', async () => {
    const template = synthesizeTemplate(exampleConfig());
    const { resources, skipped } = await provisionFromTemplate(template, { endpoint: config.endpoint, prefix: uniqueName('t') });
    const [tableId] = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::DynamoDB::Table')!;
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: resources.get(tableId)!.ref }));
    expect(Table?.KeySchema).toEqual(template.Resources[tableId]!.Properties!.KeySchema);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['gsi1', 'gsi2']);
    expect(Table?.StreamSpecification?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');

    const artifacts = [...resources.entries()].find(([id]) => id.startsWith('Artifacts'))![1];
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: artifacts.ref }));
    expect(versioning.Status).toBe('Enabled');
    expect(skipped.map((s) => s.type)).toContain('AWS::KMS::Key');
  });

  it('provisions a stack with webhooks, leaving their API destinations (not called locally) out', async () => {
    const withWebhooks = parseConfig({
      ...exampleConfigInput(),
      notifications: { webhooks: [{ name: 'ci', url: 'https://ci.example.com/hook', events: ['VersionApproved'], auth: { type: 'apiKey', header: 'x-api-key', value: { secretId: 'ci' } } }] },
    });
    const template = synthesizeTemplate(withWebhooks);
    const { resources, skipped } = await provisionFromTemplate(template, { endpoint: config.endpoint, prefix: uniqueName('w') });
    const webhookRule = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties?.EventPattern).includes('VersionApproved'))![0];
    expect(resources.has(webhookRule)).toBe(true);
    expect(skipped.map((s) => s.type)).toEqual(expect.arrayContaining(['AWS::Events::ApiDestination', 'AWS::Events::Connection']));
  });

  it('routes a matching event through a synthesized rule to its FIFO queue, and drops a non-matching one', async () => {
    const template: CfnTemplate = {
      Resources: {
        Dlq: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
        Queue: {
          Type: 'AWS::SQS::Queue',
          Properties: {
            FifoQueue: true,
            ContentBasedDeduplication: true,
            RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 3 },
          },
        },
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventPattern: { source: ['aws.cloudwatch'], detail: { state: { value: ['ALARM'] } } },
            Targets: [{ Id: 'q', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, SqsParameters: { MessageGroupId: 'churn' } }],
          },
        },
      },
    };
    const { resources } = await provisionFromTemplate(template, { endpoint: config.endpoint, prefix: uniqueName('r') });
    const queueUrl = resources.get('Queue')!.ref;
    const redrive = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
    expect(JSON.parse(redrive.Attributes!.RedrivePolicy!)).toMatchObject({ deadLetterTargetArn: resources.get('Dlq')!.attributes.Arn });

    const event = (value: string) => ({
      Source: 'aws.cloudwatch',
      DetailType: 'CloudWatch Alarm State Change',
      Detail: JSON.stringify({ alarmName: 'a', state: { value } }),
    });
    await events.send(new PutEventsCommand({ Entries: [event('OK'), event('ALARM')] }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(received.Messages).toHaveLength(1);
    expect(JSON.parse(received.Messages![0]!.Body!)).toMatchObject({ detail: { state: { value: 'ALARM' } } });
  });
});

describe('provisionFromTemplate, rules with Lambda targets', () => {
  it('delivers matching events for a function to a queue of its own, naming the function', async () => {
    const config = motoClientConfig();
    const template: CfnTemplate = {
      Resources: {
        Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
        Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventPattern: { source: ['aws.states'], detail: { stateMachineArn: [{ Ref: 'Machine' }] } },
            Targets: [{ Id: 'fn', Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] } }],
          },
        },
      },
    };
    const { resources, lambdaDeliveries } = await provisionFromTemplate(template, { endpoint: config.endpoint, prefix: uniqueName('l') });
    expect(lambdaDeliveries).toEqual([expect.objectContaining({ ruleLogicalId: 'Rule', functionLogicalId: 'Fn' })]);
    const machineArn = resources.get('Machine')!.ref;
    const events = new EventBridgeClient(config);
    const sqs = new SQSClient(config);
    const event = (arn: string) => ({ Source: 'aws.states', DetailType: 'Step Functions Execution Status Change', Detail: JSON.stringify({ stateMachineArn: arn }) });
    await events.send(new PutEventsCommand({ Entries: [event(`${machineArn}-other`), event(machineArn)] }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: lambdaDeliveries[0]!.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(received.Messages?.map((m) => (JSON.parse(m.Body!) as { detail: unknown }).detail)).toEqual([{ stateMachineArn: machineArn }]);
    events.destroy();
    sqs.destroy();
  });
});

describe('resolveIntrinsics', () => {
  const context = {
    region: 'us-east-1',
    accountId: '123456789012',
    resources: new Map([['Table', { ref: 'local-table', attributes: { Arn: 'arn:aws:dynamodb:us-east-1:123456789012:table/local-table' } }]]),
  };

  it('resolves Ref, GetAtt, Join and Sub against local resources', () => {
    expect(
      resolveIntrinsics(
        {
          A: { Ref: 'Table' },
          B: { 'Fn::GetAtt': ['Table', 'Arn'] },
          C: { 'Fn::Join': ['', [{ Ref: 'AWS::Region' }, ':', { Ref: 'Table' }]] },
          D: { 'Fn::Sub': '${Table.Arn}/index/*' },
        },
        context,
      ),
    ).toEqual({
      A: 'local-table',
      B: 'arn:aws:dynamodb:us-east-1:123456789012:table/local-table',
      C: 'us-east-1:local-table',
      D: 'arn:aws:dynamodb:us-east-1:123456789012:table/local-table/index/*',
    });
  });

  it('names the reference it cannot resolve instead of guessing', () => {
    expect(() => resolveIntrinsics({ Ref: 'Missing' }, context)).toThrow('Ref Missing: no such local resource');
    expect(() => resolveIntrinsics({ 'Fn::ImportValue': 'x' }, context)).toThrow('Fn::ImportValue is not supported locally');
  });
});
