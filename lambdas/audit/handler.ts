/**
 * DynamoDB stream → write-once (Object Lock, governance) audit bucket. The event source only
 * delivers INSERTs of `AUDIT#` items. A record that cannot be copied is reported as the batch's
 * first failure (ReportBatchItemFailures), so the event source retries from it, in order; after
 * its retries the batch's metadata goes to the failure queue (an alarm watches it) and the
 * scheduled reconciler (`reconcile.handler.ts`) copies the events from the table.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ENV, parseEnvironment } from '../shared/env';
import { logger } from '../shared/powertools';
import { copyAuditRecords } from './copy';
import { auditCopierEnvironmentSchema } from './environment';
import { s3AuditStore } from './store';
import { sdkClientConfig } from '../shared/sdk';

const env = parseEnvironment(auditCopierEnvironmentSchema);
const store = s3AuditStore(new S3Client(sdkClientConfig()), env[ENV.auditBucket]);

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const result = await copyAuditRecords(event.Records, store);
  logger.info('copied audit events', { count: result.written.length });
  if (result.failedAt === undefined) return { batchItemFailures: [] };
  logger.error('could not copy an audit event; the stream retries from it', { error: result.error as Error, sequenceNumber: result.failedAt });
  return { batchItemFailures: [{ itemIdentifier: result.failedAt }] };
};
