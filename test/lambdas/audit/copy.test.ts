import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditObjectKey, copyAuditRecords } from '../../../lambdas/audit/copy';
import { s3AuditStore } from '../../../lambdas/audit/store';
import { type AuditEvent, keys } from '../../../lambdas/shared/contracts';
import { motoClientConfig, uniqueName } from '../../support/aws';

describe('audit copier on moto S3', () => {
  const s3 = new S3Client(motoClientConfig());
  const bucket = uniqueName('audit');
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(() => s3.destroy());

  const event: AuditEvent = { eventId: 'e-1', model: 'churn', at: '2026-11-22T10:00:00.000Z', type: 'APPROVED', actor: 'arn:aws:iam::1:role/a', version: 3, reason: 'ok' };
  const insert = (item: Record<string, unknown>, eventName = 'INSERT') => ({ eventName, dynamodb: { NewImage: marshall(item) } });

  it('copies inserted audit items once, without their keys, and ignores everything else', async () => {
    const records = [
      insert({ ...keys.audit(event.model, event.at, event.eventId), ...event }),
      insert({ ...keys.audit(event.model, event.at, event.eventId), ...event }),
      insert({ ...keys.version('churn', 3), status: 'APPROVED' }),
      insert({ ...keys.audit(event.model, event.at, 'e-2'), ...event, eventId: 'e-2' }, 'MODIFY'),
    ];
    await copyAuditRecords(records, s3AuditStore(s3, bucket));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([auditObjectKey(event)]);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: auditObjectKey(event) }))).Body!.transformToString();
    expect(JSON.parse(body)).toEqual(event);
    expect(auditObjectKey(event)).toBe('audit/churn/2026/11/22/2026-11-22T10:00:00.000Z_e-1.json');
  });
});
