import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DETAIL_TYPES, eventJsonSchema } from '../../lambdas/events/catalog';
import { parseConfig } from '../../lib/config';
import { exampleConfigInput, synthCaretaker } from '../support/stack';

describe('RegistryEvents', () => {
  const { template, stack } = synthCaretaker();
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

  it('reads the table stream in order with batch item failures, bisect, retries and a KMS dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(stack.metadata.table), 'StreamArn'] },
      FunctionName: { Ref: id(stack.events.publisher.function) },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [id(stack.events.deadLetterQueue), 'Arn'] } } },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'DATASET#' }, { prefix: 'RUN#' }, { prefix: 'TRIGGER#' }, { prefix: 'MODEL#' }] } } } }) }] },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue(), MessageRetentionPeriod: 1209600 });
  });

  it('lets the publisher put events on the default bus only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: id(stack.events.publisher.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'events:PutEvents',
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default']] },
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: 'default' }) },
      Description: Match.stringLikeRegexp('registry events'),
    });
  });

  it('registers one draft-4 JSON Schema per detail type, generated from the zod definition', () => {
    for (const detailType of DETAIL_TYPES) {
      template.hasResourceProperties('AWS::EventSchemas::Schema', {
        RegistryName: { 'Fn::GetAtt': [stack.getLogicalId(stack.events.schemaRegistry), 'RegistryName'] },
        SchemaName: `caretaker@${detailType}`,
        Type: 'JSONSchemaDraft4',
        Content: JSON.stringify(eventJsonSchema(detailType)),
      });
    }
    expect(Object.keys(template.findResources('AWS::EventSchemas::Schema'))).toHaveLength(DETAIL_TYPES.length);
  });

  it('creates a KMS-encrypted bus of its own when configured, and publishes there', () => {
    const own = synthCaretaker({ config: parseConfig({ ...exampleConfigInput(), events: { bus: 'create', consoleUrl: 'https://caretaker.example.com' } }) });
    own.template.hasResourceProperties('AWS::Events::EventBus', { KmsKeyIdentifier: Match.anyValue() });
    own.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^EventBus') }, CONSOLE_URL: 'https://caretaker.example.com' }) },
    });
  });

  it('gives subscribers a rule on the Caretaker bus for chosen detail types and models (the README\'s example)', () => {
    const extended = synthCaretaker({ extend: (s) => void s.events.rule('DeployFailures', { detailTypes: ['DeploymentFailed', 'RolledBack'], models: ['churn'] }) });
    extended.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: { source: ['caretaker'], 'detail-type': ['DeploymentFailed', 'RolledBack'], detail: { model: ['churn'] } },
    });
  });

  it('refuses a console URL that is not https, naming the field', () => {
    expect(() => parseConfig({ ...exampleConfigInput(), events: { consoleUrl: 'ftp://x' } })).toThrow(/events\.consoleUrl/);
  });
});
