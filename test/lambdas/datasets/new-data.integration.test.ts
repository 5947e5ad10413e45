import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetCatalog } from '../../../lambdas/datasets/catalog';
import { createNewDataHandler } from '../../../lambdas/datasets/handlers';
import { countNewObject, type NewDataPorts } from '../../../lambdas/datasets/new-data';
import { keys, retrainingRequestSchema, runIdFor } from '../../../lambdas/shared/contracts';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { createMetadataTable } from '../../support/table';

function objectCreated(key: string, versionId: string) {
  return {
    version: '0',
    id: `event-${key}-${versionId}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2026-11-22T12:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:s3:::datasets-bucket'],
    detail: {
      version: '0',
      bucket: { name: 'datasets-bucket' },
      object: { key, size: 10, etag: 'abc', 'version-id': versionId, sequencer: '00' },
      'request-id': 'r',
      requester: '123456789012',
      reason: 'PutObject',
    },
  };
}

describe('the "enough new data" counter against DynamoDB and SQS FIFO (moto)', () => {
  const db = createDocumentClient(motoClientConfig());
  const sqs = new SQSClient(motoClientConfig());
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let queueUrl: string;
  let ports: NewDataPorts;
  const catalog: DatasetCatalog = {
    churn: { models: [{ name: 'churn', newObjectsThreshold: 3 }, { name: 'churn-lite', newObjectsThreshold: 5 }, { name: 'manual' }] },
    quiet: { models: [{ name: 'quiet' }] },
  };

  async function drain(): Promise<unknown[]> {
    const bodies: unknown[] = [];
    for (;;) {
      const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
      if (!result.Messages?.length) return bodies;
      for (const m of result.Messages) bodies.push({ body: JSON.parse(m.Body!) as unknown, group: m.Attributes?.MessageGroupId, dedup: m.Attributes?.MessageDeduplicationId });
    }
  }

  beforeAll(async () => {
    table = await createMetadataTable();
    const queue = await sqs.send(
      new CreateQueueCommand({ QueueName: `${uniqueName('retraining')}.fifo`, Attributes: { FifoQueue: 'true', VisibilityTimeout: '300' } }),
    );
    queueUrl = queue.QueueUrl!;
    ports = { db, sqs, tableName: table.tableName, queueUrl, catalog, now: () => new Date('2026-11-22T12:00:00.000Z') };
  });
  afterAll(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    await table.drop();
    sqs.destroy();
  });

  it('asks for one run per model each time its threshold of new objects is reached', async () => {
    const handler = createNewDataHandler(ports);
    const results = [];
    for (let i = 1; i <= 6; i++) results.push(await handler(objectCreated(`datasets/churn/day-${i}.csv`, `v${i}`)));
    expect(results.map((r) => r.total)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => r.requests.map((q) => q.model))).toEqual([[], [], ['churn'], [], ['churn-lite'], ['churn']]);

    const messages = await drain();
    expect(messages).toEqual([
      {
        body: {
          runId: runIdFor('churn', 'new-data', 'churn#1'),
          model: 'churn',
          trigger: { kind: 'new-data', id: 'churn#1', reason: '3 new objects under datasets/churn/ (threshold 3; batch 1)' },
          requestedBy: 'caretaker:new-data',
          requestedAt: '2026-11-22T12:00:00.000Z',
        },
        group: 'churn',
        dedup: runIdFor('churn', 'new-data', 'churn#1'),
      },
      expect.objectContaining({ group: 'churn-lite', dedup: runIdFor('churn-lite', 'new-data', 'churn#1') }),
      expect.objectContaining({ group: 'churn', dedup: runIdFor('churn', 'new-data', 'churn#2') }),
    ]);
    for (const m of messages) expect(() => retrainingRequestSchema.parse((m as { body: unknown }).body)).not.toThrow();
  });

  it('counts a redelivered event once', async () => {
    const before = await db.send(new GetCommand({ TableName: table.tableName, Key: keys.datasetNewObjects('churn') }));
    const again = await countNewObject(ports, { key: 'datasets/churn/day-6.csv', versionId: 'v6' });
    expect(again).toMatchObject({ counted: false, total: Number(before.Item?.objects), requests: [] });
    // A new version of the same key is a new object.
    const next = await countNewObject(ports, { key: 'datasets/churn/day-6.csv', versionId: 'v6-b' });
    expect(next).toMatchObject({ counted: true, total: Number(before.Item?.objects) + 1 });
    await drain();
  });

  it('resends a batch whose message was not accepted, when the event is redelivered', async () => {
    const counter = await db.send(new GetCommand({ TableName: table.tableName, Key: keys.datasetNewObjects('churn'), ConsistentRead: true }));
    const total = Number(counter.Item?.objects);
    const toNextBatch = 3 - (total % 3);
    for (let i = 1; i < toNextBatch; i++) await countNewObject(ports, { key: `datasets/churn/fill-${i}.csv`, versionId: 'f' });
    const failing: NewDataPorts = { ...ports, queueUrl: `${queueUrl}-missing` };
    await expect(countNewObject(failing, { key: 'datasets/churn/crossing.csv', versionId: 'c' })).rejects.toThrow();
    const retried = await countNewObject(ports, { key: 'datasets/churn/crossing.csv', versionId: 'c' });
    expect(retried.counted).toBe(false);
    expect(retried.requests.map((r) => r.trigger.id)).toContain(`churn#${(total + toNextBatch) / 3}`);
  });

  it('counts objects whose keys use the full 1,024 bytes S3 allows', async () => {
    const key = `datasets/churn/${'k'.repeat(1024 - 'datasets/churn/'.length)}`;
    const result = await countNewObject(ports, { key, versionId: 'a-version-id-of-32-characters-xx' });
    expect(result.counted).toBe(true);
    await drain();
  });

  it('ignores objects outside watched datasets and the prefix object itself', async () => {
    expect(await countNewObject(ports, { key: 'datasets/quiet/a.csv', versionId: '1' })).toEqual({ counted: false, requests: [] });
    expect(await countNewObject(ports, { key: 'elsewhere/a.csv', versionId: '1' })).toEqual({ counted: false, requests: [] });
    expect(await countNewObject(ports, { key: 'datasets/churn/', versionId: '1' })).toEqual({ counted: false, requests: [] });
  });

  it('rejects an event that is not an S3 Object Created event', async () => {
    await expect(createNewDataHandler(ports)({ 'detail-type': 'Object Deleted', detail: {} })).rejects.toMatchObject({ name: 'Invalid' });
  });
});
