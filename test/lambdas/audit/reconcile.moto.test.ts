/**
 * RELIABILITY row 22: the stream copier to the write-once bucket is down for longer than the
 * stream keeps records (24 h). Decisions are made through the API while it is down; it comes
 * back reading only what the stream still holds (the older records are gone: its iterator starts
 * at LATEST, where Lambda's mapping would find the trimmed shard); the reconciler, run a day
 * later, copies every event that is missing from the Object Lock bucket, from the table.
 * DynamoDB, its stream and S3 (Object Lock, governance default retention) on moto.
 */
import { DynamoDBStreamsClient, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { CreateBucketCommand, GetObjectCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditObjectKey, copyAuditRecords, type AuditObjectStore } from '../../../lambdas/audit/copy';
import { tableAuditSource } from '../../../lambdas/audit/table-source';
import { reconcileAuditCopy } from '../../../lambdas/audit/reconcile';
import { s3AuditStore } from '../../../lambdas/audit/store';
import type { AuditEvent } from '../../../lambdas/shared/contracts';
import { lambdaRecordOf } from '../../../local/streams';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { APPROVER, apiEvent, createHarness, type Harness, REQUESTER } from '../api/harness';

describe('row 22: a copier outage longer than the stream\'s retention loses no audit event', () => {
  let h: Harness;
  const s3 = new S3Client(motoClientConfig());
  const streams = new DynamoDBStreamsClient(motoClientConfig());
  const bucket = uniqueName('audit-trail');
  let store: AuditObjectStore;

  beforeAll(async () => {
    h = await createHarness({ stream: true });
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
      }),
    );
    store = s3AuditStore(s3, bucket);
  });
  afterAll(async () => {
    await h.drop();
  });

  const approve = (v: number) => h.handler(apiEvent('POST', `/models/churn/versions/${v}/approve`, { body: { reason: 'ok' }, principal: APPROVER }));
  const reject = (v: number) => h.handler(apiEvent('POST', `/models/churn/versions/${v}/reject`, { body: { reason: 'no' }, principal: APPROVER }));

  async function streamFromLatest(): Promise<() => Promise<ReturnType<typeof lambdaRecordOf>[]>> {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: h.streamArn }));
    const iterators = await Promise.all(
      (StreamDescription?.Shards ?? []).map(
        async (shard) => (await streams.send(new GetShardIteratorCommand({ StreamArn: h.streamArn, ShardId: shard.ShardId, ShardIteratorType: 'LATEST' }))).ShardIterator,
      ),
    );
    return async () => {
      const records = [];
      for (const [i, iterator] of iterators.entries()) {
        if (!iterator) continue;
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        records.push(...(page.Records ?? []).map((r) => lambdaRecordOf(r, h.streamArn ?? '', 'us-east-1')));
        iterators[i] = page.NextShardIterator;
      }
      return records;
    };
  }

  async function auditItems(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of tableAuditSource(h.client, h.tableName).since('2000-01-01T00:00:00.000Z')) items.push(...page);
    return items;
  }

  it('copies, after the outage, every event the restarted copier can no longer read; the copy is exact, locked and idempotent', async () => {
    // The copier is down: decisions and a retrain request are made, nothing reaches the bucket.
    for (const v of [1, 2, 3]) await h.putVersion({ model: 'churn', version: v });
    expect((await approve(1)).statusCode).toBe(200);
    expect((await reject(2)).statusCode).toBe(200);
    expect((await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'weekly' }, principal: REQUESTER }))).statusCode).toBe(202);

    // It restarts after the stream has trimmed those records: it reads only what comes next.
    const readNew = await streamFromLatest();
    expect((await approve(3)).statusCode).toBe(200);
    const copied = await copyAuditRecords(await readNew(), store);
    expect(copied.failedAt).toBeUndefined();
    expect(copied.written).toHaveLength(1);

    const items = await auditItems();
    expect(items.map((i) => i.type).sort()).toEqual(['APPROVED', 'APPROVED', 'REJECTED', 'RUN_REQUESTED']);

    // The reconciler runs a day later over its 3-day window.
    const later = new Date(Date.now() + 25 * 3600_000);
    const first = await reconcileAuditCopy({ source: tableAuditSource(h.client, h.tableName), store, now: later, windowDays: 3 });
    expect(first).toMatchObject({ checked: 4, copied: 3, late: 3 });

    // Every audit item of the table is in the bucket, byte for byte the event without its keys, under governance retention.
    for (const item of items) {
      const event = item as unknown as AuditEvent;
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: auditObjectKey(event) }));
      const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...expected } = item;
      expect(JSON.parse(await object.Body!.transformToString())).toEqual(expected);
      expect(object.ObjectLockMode).toBe('GOVERNANCE');
    }

    // Again: nothing to copy. And a late stream redelivery of the last records writes nothing either.
    expect(await reconcileAuditCopy({ source: tableAuditSource(h.client, h.tableName), store, now: later, windowDays: 3 })).toMatchObject({ checked: 4, copied: 0, late: 0 });
  });

  it('a missing event younger than the grace period is copied but not counted late (the stream may still bring it)', async () => {
    await h.putVersion({ model: 'churn', version: 4 });
    expect((await approve(4)).statusCode).toBe(200);
    const result = await reconcileAuditCopy({ source: tableAuditSource(h.client, h.tableName), store, now: new Date(), windowDays: 3 });
    expect(result).toMatchObject({ copied: 1, late: 0 });
  });

  it('the copier reports the first record it cannot copy, so the stream retries from it in order', async () => {
    const readNew = await streamFromLatest();
    for (const v of [5, 6]) {
      await h.putVersion({ model: 'churn', version: v });
      expect((await approve(v)).statusCode).toBe(200);
    }
    const records = (await readNew()).filter((r) => r.eventName === 'INSERT' && r.dynamodb?.Keys?.pk?.S?.startsWith('AUDIT#'));
    expect(records).toHaveLength(2);
    let puts = 0;
    const failing: AuditObjectStore = {
      listKeys: (prefix) => store.listKeys(prefix),
      putOnce: async (key, body) => {
        puts += 1;
        if (puts === 2) throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' });
        return store.putOnce(key, body);
      },
    };
    const result = await copyAuditRecords(records, failing);
    expect(result.written).toHaveLength(1);
    expect(result.failedAt).toBe(records[1]?.dynamodb?.SequenceNumber);
    // The retry from that record copies it, and the first one is not written twice.
    const retried = await copyAuditRecords(records, store);
    expect(retried).toMatchObject({ written: [expect.any(String)] });
  });
});
