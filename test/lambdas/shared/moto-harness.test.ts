import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, runIdFor } from '../../../lambdas/shared/contracts';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { motoClientConfig } from '../../support/aws';
import { createMetadataTable } from '../../support/table';

describe('metadata table on the moto server', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  const client = createDocumentClient(motoClientConfig());
  beforeAll(async () => {
    table = await createMetadataTable();
  });
  afterAll(async () => {
    await table.drop();
  });

  it('refuses a second conditional create of the same key (the primitive leases and decisions rely on)', async () => {
    const item = { ...keys.lease('churn'), holder: 'run-1' };
    const put = () =>
      client.send(
        new PutCommand({ TableName: table.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    await put();
    await expect(put()).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    const stored = await client.send(new GetCommand({ TableName: table.tableName, Key: keys.lease('churn') }));
    expect(stored.Item).toMatchObject({ holder: 'run-1' });
  });
});

describe('runIdFor', () => {
  it('is deterministic, a valid execution name, and differs per trigger', () => {
    const a = runIdFor('churn', 'alarm', 'churn-drift|2026-11-22T10:00:00.000+0000');
    expect(runIdFor('churn', 'alarm', 'churn-drift|2026-11-22T10:00:00.000+0000')).toBe(a);
    expect(runIdFor('churn', 'alarm', 'churn-drift|2026-11-22T10:15:00.000+0000')).not.toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(runIdFor('a-model-name-of-24-chars', 'new-data', 'x').length).toBeLessThanOrEqual(80);
  });
});
