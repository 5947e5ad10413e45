/**
 * Creates a metadata table on the moto server with the key schema the stack deploys
 * (`TABLE_SCHEMA`), under a unique name, for integration tests.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMA } from '../../lambdas/shared/table-schema';
import { motoClientConfig, uniqueName } from './aws';

export async function createMetadataTable(
  clientConfig: DynamoDBClientConfig = motoClientConfig(),
  options: { readonly stream?: boolean } = {},
): Promise<{ tableName: string; streamArn?: string; drop: () => Promise<void> }> {
  const client = new DynamoDBClient(clientConfig);
  const tableName = uniqueName('caretaker');
  const attributes = new Set<string>([TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey]);
  for (const index of TABLE_SCHEMA.indexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  const created = await client.send(
    new CreateTableCommand({
      TableName: tableName,
      // The stack's table streams NEW_AND_OLD_IMAGES (MetadataTable); only tests of stream consumers ask for it.
      ...(options.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_SCHEMA.indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
  return {
    tableName,
    ...(created.TableDescription?.LatestStreamArn ? { streamArn: created.TableDescription.LatestStreamArn } : {}),
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
