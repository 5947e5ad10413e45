/** The audit items of the metadata table, by time: the `AUDIT` partition of gsi1 (`gsi1sk = <at>#<eventId>`). */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../shared/contracts';
import { queryPages } from '../shared/dynamo';
import type { AuditItemSource } from './reconcile';

export function tableAuditSource(client: DynamoDBDocumentClient, tableName: string): AuditItemSource {
  return {
    since: (from) =>
      queryPages(client, {
        TableName: tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :audit AND gsi1sk >= :from',
        ExpressionAttributeValues: { ':audit': keys.auditIndex.gsi1pk, ':from': from },
      }),
  };
}

