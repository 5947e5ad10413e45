/** The write-once audit bucket as the copier and the reconciler use it. */
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AuditObjectStore } from './copy';

export function s3AuditStore(client: S3Client, bucketName: string): AuditObjectStore {
  return {
    async putOnce(key, body) {
      try {
        // Object Lock buckets require an integrity checksum on PutObject; the SDK sends CRC32.
        await client.send(
          new PutObjectCommand({ Bucket: bucketName, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*', ChecksumAlgorithm: 'CRC32' }),
        );
        return 'written';
      } catch (error) {
        // S3 answers 412 PreconditionFailed when the key exists (conditional writes), and 409
        // ConditionalRequestConflict while a concurrent write of the same key is in flight.
        if (error instanceof Error && (error.name === 'PreconditionFailed' || error.name === 'ConditionalRequestConflict')) return 'exists';
        throw error;
      }
    },
    async listKeys(prefix) {
      const keys = new Set<string>();
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucketName, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key) keys.add(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
  };
}
