/**
 * The DynamoDB document client, built once per process. Endpoint and region come from the
 * standard AWS SDK environment (`AWS_ENDPOINT_URL[_DYNAMODB]`, `AWS_REGION`), so the same code
 * talks to DynamoDB, to moto in tests, and to local mode.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}
