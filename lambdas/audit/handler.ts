/**
 * DynamoDB stream → write-once (Object Lock, governance) audit bucket. The event source only
 * delivers INSERTs of `AUDIT#` items; a failed batch is retried, bisected, then sent to a DLQ.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../shared/powertools';
import { type AuditObjectStore, copyAuditRecords } from './copy';

const bucket = process.env.AUDIT_BUCKET ?? '';
const s3 = new S3Client({});

export function s3AuditStore(client: S3Client, bucketName: string): AuditObjectStore {
  return {
    async putOnce(key, body) {
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucketName, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }),
        );
      } catch (error) {
        // Already copied by an earlier delivery of the same record: the bucket is write-once anyway.
        if (error instanceof Error && error.name === 'PreconditionFailed') return;
        throw error;
      }
    },
  };
}

export const handler = async (event: DynamoDBStreamEvent): Promise<void> => {
  const written = await copyAuditRecords(event.Records, s3AuditStore(s3, bucket));
  logger.info('copied audit events', { count: written.length });
};
