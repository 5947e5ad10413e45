/**
 * Creates, on a moto server, the data-plane resources of the synthesized Caretaker template:
 * DynamoDB tables (keys, indexes, streams), S3 buckets (versioning, Object Lock), SQS queues
 * (FIFO, redrive), SNS topics and EventBridge rules with their SQS targets. Control-plane
 * resources local mode runs itself (Lambda, Step Functions, SageMaker) or does not need
 * (IAM, KMS, log groups, alarms, policies) are left out and listed in `skipped`.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand, type Target } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { resolveIntrinsics, type CfnTemplate, type ResolvedResource, type ResolveContext } from './template';

export interface ProvisionOptions {
  readonly endpoint: string;
  readonly region?: string;
  /** moto's default account. */
  readonly accountId?: string;
  /** Prefix of every physical name, so several local stacks can share one moto server. */
  readonly prefix?: string;
}

/** A rule target local mode delivers itself: the rule routes matching events to `queueUrl`. */
export interface LambdaDelivery {
  readonly ruleLogicalId: string;
  readonly functionLogicalId: string;
  readonly queueUrl: string;
}

export interface ProvisionResult {
  /** Every created resource by logical id, as `Ref` / `Fn::GetAtt` resolve to it locally. */
  readonly resources: ReadonlyMap<string, ResolvedResource & { readonly type: string }>;
  /** Resolves intrinsics (e.g. a Lambda's Environment) against the local resources. */
  readonly resolve: (value: unknown) => unknown;
  readonly skipped: readonly { logicalId: string; type: string }[];
  /** Lambda targets of event rules, each behind its own SQS queue that local mode drains. */
  readonly lambdaDeliveries: readonly LambdaDelivery[];
}

const PROVISIONED = ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::SQS::Queue', 'AWS::SNS::Topic', 'AWS::Events::Rule'];

/**
 * Resources local mode runs in-process. They get deterministic local names and ARNs so that
 * references to them (a rule matching the pipeline's executions, a target function) resolve.
 */
export function localArn(type: string, name: string, region: string, accountId: string): string | undefined {
  switch (type) {
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    default:
      return undefined;
  }
}

/** Physical names are derived from logical ids (the stack hard-codes none), shortened with a hash when needed. */
function physicalName(prefix: string, logicalId: string, maxLength: number, lowercase = false): string {
  let name = `${prefix}-${logicalId}`;
  if (lowercase) name = name.toLowerCase();
  if (name.length <= maxLength) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, maxLength - 9)}-${hash}`;
}

export async function provisionFromTemplate(template: CfnTemplate, options: ProvisionOptions): Promise<ProvisionResult> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const prefix = options.prefix ?? 'caretaker';
  const clientConfig = {
    endpoint: options.endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    forcePathStyle: true,
  };
  const dynamodb = new DynamoDBClient(clientConfig);
  const s3 = new S3Client(clientConfig);
  const sqs = new SQSClient(clientConfig);
  const sns = new SNSClient(clientConfig);
  const events = new EventBridgeClient(clientConfig);

  const resources = new Map<string, ResolvedResource & { type: string }>();
  const context: ResolveContext = { region, accountId, resources, mappings: template.Mappings };
  const resolve = (value: unknown) => resolveIntrinsics(value, context);
  const entries = Object.entries(template.Resources);
  const ofType = (type: string) => entries.filter(([, resource]) => resource.Type === type);
  const lambdaDeliveries: LambdaDelivery[] = [];

  for (const [logicalId, resource] of entries) {
    const name = physicalName(prefix, logicalId, 64);
    const arn = localArn(resource.Type, name, region, accountId);
    if (arn) resources.set(logicalId, { type: resource.Type, ref: resource.Type === 'AWS::Lambda::Function' ? name : arn, attributes: { Arn: arn, Name: name } });
  }

  try {
    for (const [logicalId, resource] of ofType('AWS::DynamoDB::Table')) {
      const p = resource.Properties ?? {};
      const tableName = physicalName(prefix, logicalId, 255);
      const input: CreateTableCommandInput = {
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
        GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined,
        StreamSpecification: p.StreamSpecification
          ? { StreamEnabled: true, ...(p.StreamSpecification as { StreamViewType: 'NEW_AND_OLD_IMAGES' }) }
          : undefined,
      };
      const created = await dynamodb.send(new CreateTableCommand(input));
      resources.set(logicalId, {
        type: resource.Type,
        ref: tableName,
        attributes: {
          Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${tableName}`,
          StreamArn: created.TableDescription?.LatestStreamArn ?? '',
        },
      });
    }

    for (const [logicalId, resource] of ofType('AWS::S3::Bucket')) {
      const p = resource.Properties ?? {};
      const bucketName = physicalName(prefix, logicalId, 63, true);
      await s3.send(new CreateBucketCommand({ Bucket: bucketName, ObjectLockEnabledForBucket: p.ObjectLockEnabled === true }));
      if ((p.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled') {
        await s3.send(new PutBucketVersioningCommand({ Bucket: bucketName, VersioningConfiguration: { Status: 'Enabled' } }));
      }
      resources.set(logicalId, {
        type: resource.Type,
        ref: bucketName,
        attributes: {
          Arn: `arn:aws:s3:::${bucketName}`,
          DomainName: `${bucketName}.s3.amazonaws.com`,
          RegionalDomainName: `${bucketName}.s3.${region}.amazonaws.com`,
        },
      });
    }

    // Dead-letter queues first: a queue's RedrivePolicy refers to its DLQ's ARN.
    const queues = ofType('AWS::SQS::Queue').sort(([, a], [, b]) => Number('RedrivePolicy' in (a.Properties ?? {})) - Number('RedrivePolicy' in (b.Properties ?? {})));
    for (const [logicalId, resource] of queues) {
      const p = resource.Properties ?? {};
      const fifo = p.FifoQueue === true;
      const queueName = physicalName(prefix, logicalId, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
      const attributes: Record<string, string> = {};
      if (fifo) attributes.FifoQueue = 'true';
      for (const name of ['ContentBasedDeduplication', 'VisibilityTimeout', 'MessageRetentionPeriod'] as const) {
        const value = p[name];
        if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') attributes[name] = String(value);
      }
      if (p.RedrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(resolve(p.RedrivePolicy));
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      resources.set(logicalId, {
        type: resource.Type,
        ref: QueueUrl ?? '',
        attributes: { Arn: Attributes?.QueueArn ?? '', QueueName: queueName, QueueUrl: QueueUrl ?? '' },
      });
    }

    for (const [logicalId, resource] of ofType('AWS::SNS::Topic')) {
      const p = resource.Properties ?? {};
      const topicName = physicalName(prefix, logicalId, 256) + (p.FifoTopic === true ? '.fifo' : '');
      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: topicName }));
      resources.set(logicalId, { type: resource.Type, ref: TopicArn ?? '', attributes: { TopicName: topicName, TopicArn: TopicArn ?? '' } });
    }

    for (const [logicalId, resource] of ofType('AWS::Events::Rule')) {
      const p = resource.Properties ?? {};
      if (p.EventPattern === undefined) continue; // scheduled rules are run by local mode's own clock
      const ruleName = physicalName(prefix, logicalId, 64);
      await events.send(
        new PutRuleCommand({
          Name: ruleName,
          EventPattern: JSON.stringify(resolve(p.EventPattern)),
          State: (p.State as 'ENABLED' | 'DISABLED' | undefined) ?? 'ENABLED',
          EventBusName: p.EventBusName === undefined ? undefined : String(resolve(p.EventBusName)),
        }),
      );
      const targets: Target[] = [];
      for (const raw of (p.Targets as Record<string, unknown>[] | undefined) ?? []) {
        // API destination targets (webhooks) are not called from local mode: their resources are not created.
        const arn = raw.Arn as { 'Fn::GetAtt'?: [string, string] } | undefined;
        const targetType = arn?.['Fn::GetAtt'] ? template.Resources[arn['Fn::GetAtt'][0]]?.Type : undefined;
        if (targetType === 'AWS::Events::ApiDestination') continue;
        const target = resolve(raw) as Target;
        if (target.Arn?.startsWith('arn:aws:sqs:')) {
          targets.push(target);
          continue;
        }
        // A Lambda target: the rule delivers to a queue of its own, drained by local mode.
        const functionLogicalId = [...resources.entries()].find(
          ([, r]) => r.type === 'AWS::Lambda::Function' && r.attributes.Arn === target.Arn,
        )?.[0];
        if (!functionLogicalId) continue;
        const queueName = physicalName(prefix, `${logicalId}-${target.Id ?? 'target'}`, 80);
        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
        targets.push({ Id: target.Id, Arn: Attributes?.QueueArn, Input: target.Input, InputPath: target.InputPath });
        lambdaDeliveries.push({ ruleLogicalId: logicalId, functionLogicalId, queueUrl: QueueUrl ?? '' });
      }
      if (targets.length > 0) await events.send(new PutTargetsCommand({ Rule: ruleName, Targets: targets }));
      resources.set(logicalId, {
        type: resource.Type,
        ref: ruleName,
        attributes: { Arn: `arn:aws:events:${region}:${accountId}:rule/${ruleName}` },
      });
    }
  } finally {
    for (const client of [dynamodb, s3, sqs, sns, events]) client.destroy();
  }

  const skipped = entries
    .filter(([logicalId, resource]) => !PROVISIONED.includes(resource.Type) || !resources.has(logicalId))
    .map(([logicalId, resource]) => ({ logicalId, type: resource.Type }));
  return { resources, resolve, skipped, lambdaDeliveries };
}
