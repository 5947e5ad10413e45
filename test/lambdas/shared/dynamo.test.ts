/**
 * The shared DynamoDB toolkit against moto (which implements TransactWriteItems with
 * CancellationReasons, conditional writes and Query's ExclusiveStartKey): condition-failure
 * detection, the page-token codec, and transactions that carry their audit event.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, type AuditEvent } from '../../../lambdas/shared/contracts';
import {
  auditPut,
  createDocumentClient,
  decodePageToken,
  encodePageToken,
  failedConditions,
  isConditionFailure,
  transactWithAudit,
} from '../../../lambdas/shared/dynamo';
import { Invalid } from '../../../lambdas/shared/errors';
import { motoClientConfig } from '../../support/aws';
import { readSources, REPO_ROOT } from '../../support/imports';
import { createMetadataTable } from '../../support/table';

const token = (key: unknown) => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
const ACTOR = 'arn:aws:sts::123456789012:assumed-role/Approver/alice';

describe('the DynamoDB toolkit on moto', () => {
  let db: DynamoDBDocumentClient;
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  beforeAll(async () => {
    table = await createMetadataTable();
    db = createDocumentClient(motoClientConfig());
  });
  afterAll(async () => {
    db.destroy();
    await table.drop();
  });

  const event = (eventId: string, at = '2026-11-22T10:00:00.000Z'): AuditEvent => ({ eventId, model: 'churn', at, type: 'APPROVED', actor: ACTOR, version: 1 });
  const get = async (key: Record<string, string>) => (await db.send(new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }))).Item;

  describe('auditPut: every audit write is create-only', () => {
    it('a second write of the same event key is refused by DynamoDB (ConditionalCheckFailedException), and the first stays as written', async () => {
      const first = event('once-1');
      await db.send(new PutCommand(auditPut(table.tableName, first)));
      const forged = { ...first, actor: 'arn:aws:sts::123456789012:assumed-role/Attacker/mallory', reason: 'rewritten' };
      const refused = await db.send(new PutCommand(auditPut(table.tableName, forged))).catch((error: unknown) => error);
      expect(refused).toMatchObject({ name: 'ConditionalCheckFailedException' });
      expect(isConditionFailure(refused)).toBe(true);
      const { pk, sk } = keys.audit(first.model, first.at, first.eventId);
      expect(await get({ pk, sk })).toMatchObject({ actor: ACTOR });
      expect(await get({ pk, sk })).not.toHaveProperty('reason');
    });

    it('the same refusal inside a transaction: an act carrying an audit event already written is cancelled whole', async () => {
      await db.send(new PutCommand(auditPut(table.tableName, event('once-2'))));
      const outcome = await transactWithAudit(db, {
        tableName: table.tableName,
        items: [{ Put: { TableName: table.tableName, Item: { ...keys.version('churn', 77), status: 'APPROVED' } } }],
        audit: { ...event('once-2'), reason: 'rewritten' },
      });
      expect(outcome).toMatchObject({ written: false, failed: [1] });
      expect(await get(keys.version('churn', 77))).toBeUndefined();
    });

    it('no code builds an audit item but the toolkit: keys.audit and auditItem are used only by auditPut (attribute_not_exists(pk))', () => {
      const offenders = readSources(['lambdas', 'local', 'cli', 'lib'])
        .filter((file) => file.path !== 'lambdas/shared/dynamo.ts' && file.path !== 'lambdas/shared/contracts.ts')
        .flatMap((file) => {
          const text = readFileSync(join(REPO_ROOT, file.path), 'utf8');
          return /\bkeys\.audit\(|\bauditItem\(/.test(text) ? [file.path] : [];
        });
      expect(offenders).toEqual([]);
      const toolkit = readFileSync(join(REPO_ROOT, 'lambdas/shared/dynamo.ts'), 'utf8');
      expect(toolkit.match(/\bauditItem\(/g)).toHaveLength(2); // its definition, and auditPut's one use
      expect(auditPut('t', event('x'))).toMatchObject({ ConditionExpression: 'attribute_not_exists(pk)' });
    });
  });

  describe('transactWithAudit', () => {
    it('writes the act and its audit event together', async () => {
      const outcome = await transactWithAudit(db, {
        tableName: table.tableName,
        items: [{ Put: { TableName: table.tableName, Item: { ...keys.version('churn', 1), status: 'APPROVED' }, ConditionExpression: 'attribute_not_exists(pk)' } }],
        audit: event('e-1'),
      });
      expect(outcome).toEqual({ written: true });
      expect(await get(keys.version('churn', 1))).toMatchObject({ status: 'APPROVED' });
      const audit = await get({ pk: keys.audit('churn', event('e-1').at, 'e-1').pk, sk: keys.audit('churn', event('e-1').at, 'e-1').sk });
      expect(audit).toMatchObject({ eventId: 'e-1', actor: ACTOR, type: 'APPROVED', gsi1pk: 'AUDIT' });
    });

    it('writes neither when the act\'s condition fails, and names the refusing item', async () => {
      const outcome = await transactWithAudit(db, {
        tableName: table.tableName,
        items: [
          { Put: { TableName: table.tableName, Item: { ...keys.version('churn', 2), status: 'NEW' } } },
          { Put: { TableName: table.tableName, Item: { ...keys.version('churn', 1), status: 'REJECTED' }, ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
        audit: event('e-2'),
      });
      expect(outcome.written).toBe(false);
      expect(outcome).toMatchObject({ written: false, failed: [1] });
      expect(await get(keys.version('churn', 2))).toBeUndefined();
      expect(await get(keys.version('churn', 1))).toMatchObject({ status: 'APPROVED' });
      const { pk, sk } = keys.audit('churn', event('e-2').at, 'e-2');
      expect(await get({ pk, sk })).toBeUndefined();
    });

    it('writes an audit event once: replaying the act with the same event cancels it all', async () => {
      const outcome = await transactWithAudit(db, {
        tableName: table.tableName,
        items: [{ Put: { TableName: table.tableName, Item: { ...keys.version('churn', 3), status: 'APPROVED' } } }],
        audit: event('e-1'),
      });
      expect(outcome).toMatchObject({ written: false, failed: [1] });
      expect(await get(keys.version('churn', 3))).toBeUndefined();
    });

    it('throws what is not a condition failure (a malformed item), writing nothing', async () => {
      await expect(
        transactWithAudit(db, {
          tableName: table.tableName,
          items: [{ Update: { TableName: table.tableName, Key: keys.version('churn', 4), UpdateExpression: 'SET #s = :missing', ExpressionAttributeNames: { '#s': 'status' } } }],
          audit: event('e-4'),
        }),
      ).rejects.toThrow();
      const { pk, sk } = keys.audit('churn', event('e-4').at, 'e-4');
      expect(await get({ pk, sk })).toBeUndefined();
    });

    it('refuses more than the 100 items TransactWriteItems takes, before sending', async () => {
      const items = Array.from({ length: 100 }, (_, i) => ({ Put: { TableName: table.tableName, Item: { pk: 'X', sk: String(i) } } }));
      await expect(transactWithAudit(db, { tableName: table.tableName, items, audit: event('e-5') })).rejects.toThrow(/at most 100/);
      expect(await get({ pk: 'X', sk: '0' })).toBeUndefined();
    });
  });

  describe('isConditionFailure', () => {
    it('recognizes a failed single-item condition and a transaction cancelled by one, nothing else', async () => {
      const single = await db.send(new PutCommand(auditPut(table.tableName, event('e-1')))).catch((error: unknown) => error);
      expect(isConditionFailure(single)).toBe(true);
      expect(isConditionFailure(new Error('boom'))).toBe(false);
      const conflict = Object.assign(new Error('cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] });
      expect(isConditionFailure(conflict)).toBe(false);
      const lost = Object.assign(new Error('cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }] });
      expect(isConditionFailure(lost)).toBe(true);
      expect(failedConditions(lost)).toEqual([1]);
    });
  });

  describe('page tokens', () => {
    beforeAll(async () => {
      for (let v = 10; v < 15; v++) {
        await db.send(new PutCommand({ TableName: table.tableName, Item: { ...keys.version('pages', v), ...keys.versionByStatus('pages', 'LIVE', v) } }));
      }
    });

    it('round-trips DynamoDB\'s LastEvaluatedKey through a page of the table and of gsi1', async () => {
      const pk = keys.model('pages').pk;
      const first = await db.send(new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)', ExpressionAttributeValues: { ':pk': pk, ':v': 'VERSION#' }, Limit: 2 }));
      const next = encodePageToken(first.LastEvaluatedKey);
      const start = decodePageToken(next, { partition: pk, sort: { prefix: 'VERSION#' } });
      expect(start).toEqual(first.LastEvaluatedKey);
      const second = await db.send(new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)', ExpressionAttributeValues: { ':pk': pk, ':v': 'VERSION#' }, Limit: 2, ExclusiveStartKey: start }));
      expect(second.Items?.map((i) => i.sk as string)).toEqual([keys.version('pages', 12).sk, keys.version('pages', 13).sk]);

      const gsi1pk = keys.versionByStatus('pages', 'LIVE', 1).gsi1pk;
      const byStatus = await db.send(new QueryCommand({ TableName: table.tableName, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': gsi1pk }, Limit: 2 }));
      expect(decodePageToken(encodePageToken(byStatus.LastEvaluatedKey), { index: 'gsi1', partition: gsi1pk })).toEqual(byStatus.LastEvaluatedKey);
    });

    it('is undefined on the last page and for the first request', () => {
      expect(encodePageToken(undefined)).toBeUndefined();
      expect(decodePageToken(undefined, { partition: 'MODEL#pages' })).toBeUndefined();
    });

    it.each([
      ['not base64url JSON', '!!!'],
      ['JSON that is no key', token(['pk'])],
      ['another partition', token({ pk: 'MODEL#fraud', sk: 'VERSION#0000000001' })],
      ['a sort key outside the key condition', token({ pk: 'MODEL#pages', sk: 'DEPLOYMENT#2026' })],
      ['attributes the query\'s key does not have', token({ pk: 'MODEL#pages', sk: 'VERSION#0000000001', secret: 'x' })],
      ['a table key for an index query', token({ pk: 'MODEL#pages', sk: 'VERSION#0000000001' })],
    ])('RELIABILITY 29: %s is 400 naming the token, never a query', (_, crafted) => {
      const index = _ === 'a table key for an index query' ? ('gsi1' as const) : undefined;
      const partition = index ? 'MODEL#pages#STATUS#LIVE' : 'MODEL#pages';
      let thrown: unknown;
      try {
        decodePageToken(crafted, { index, partition, sort: index ? undefined : { prefix: 'VERSION#' } });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Invalid);
      expect(thrown).toMatchObject({ status: 400, message: expect.stringContaining('nextToken') as unknown, details: [{ field: 'query.nextToken' }] });
    });

    it('names the field the token came in, and checks a range condition too', () => {
      const stale = token({ pk: 'AUDIT#churn', sk: '2026-01-01T00:00:00.000Z#x' });
      expect(() => decodePageToken(stale, { partition: 'AUDIT#churn', sort: { from: '2026-11-01' }, field: 'cursor' })).toThrow(
        expect.objectContaining({ details: [expect.objectContaining({ field: 'cursor' })] }) as Error,
      );
      expect(decodePageToken(stale, { partition: 'AUDIT#churn', sort: { from: '2025-11-01', to: '2026-02-01' } })).toEqual({ pk: 'AUDIT#churn', sk: '2026-01-01T00:00:00.000Z#x' });
    });
  });
});
