/**
 * Local mode publishes registry events: the table stream is drained into the events publisher
 * (local/streams.ts, as Lambda's stream poller would) and the events reach moto's default bus,
 * where a rule a subscriber adds routes them to its queue.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveredEvent } from '../../lambdas/events/catalog';
import { customersToCsv, generateCustomers } from '../../examples/churn/src/data';
import { localConfig } from '../../local/demo';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { motoClientConfig, uniqueName } from '../support/aws';
import { exampleConfig } from '../support/stack';

describe('local mode publishes registry events from the table stream', () => {
  let stack: LocalStack;
  const events = new EventBridgeClient(motoClientConfig());
  const sqs = new SQSClient(motoClientConfig());
  const rule = uniqueName('subscriber');
  let queueUrl: string;
  // The moto server is shared by every test file: this test's events are told apart by who registered.
  const registeredBy = `arn:aws:sts::111122223333:assumed-role/DataScientist/${uniqueName('alice')}`;

  beforeAll(async () => {
    stack = await startLocalStack({ config: localConfig(exampleConfig()), motoEndpoint: motoClientConfig().endpoint, prefix: uniqueName('events') });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: rule }))).QueueUrl!;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await events.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify({ source: ['caretaker'], 'detail-type': ['DatasetVersionRegistered'], detail: { registeredBy: [registeredBy] } }) }));
    await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }));
  }, 120_000);
  afterAll(async () => {
    await events.send(new RemoveTargetsCommand({ Rule: rule, Ids: ['queue'] }));
    await events.send(new DeleteRuleCommand({ Name: rule }));
    await stack.close();
  });

  it('delivers DatasetVersionRegistered once for a registered dataset version', async () => {
    const key = `datasets/churn/${uniqueName('batch')}/part-0000.csv`;
    await new S3Client(stack.clientConfig).send(new PutObjectCommand({ Bucket: stack.names.datasetsBucket, Key: key, Body: customersToCsv(generateCustomers({ rows: 1200, seed: 3 })) }));
    const register = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('datasets/register.handler.ts'))!;
    const result = (await stack.functions.invoke(register.logicalId, { dataset: 'churn', objects: [{ key }], registeredBy })) as { record: { datasetVersion: string } };

    const received: DeliveredEvent[] = [];
    const deadline = Date.now() + 30_000;
    while (received.length === 0 && Date.now() < deadline) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      received.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as DeliveredEvent));
    }
    await stack.streams.drained();
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    received.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as DeliveredEvent));
    expect(received.map((e) => [e['detail-type'], (e.detail as { datasetVersion: string }).datasetVersion])).toEqual([['DatasetVersionRegistered', result.record.datasetVersion]]);
  });
});
