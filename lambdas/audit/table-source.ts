/** The audit items of the metadata table, by time: the `AUDIT` partition of gsi1 (`gsi1sk = <at>#<eventId>`). */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditItemSource } from './reconcile';

export function tableAuditSource(client: DynamoDBDocumentClient, tableName: string): AuditItemSource {
  return {
    async *since(from) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :audit AND gsi1sk >= :from',
            ExpressionAttributeValues: { ':audit': 'AUDIT', ':from': from },
            ExclusiveStartKey: start,
          }),
        );
        yield page.Items ?? [];
        start = page.LastEvaluatedKey;
      } while (start);
    },
  };
}

