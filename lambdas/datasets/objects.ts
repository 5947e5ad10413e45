/**
 * Reading dataset objects from S3 as streams: exact versions, sha256 computed chunk by chunk
 * (memory stays flat whatever the object size), the same chunks optionally handed on to a
 * parser in the same pass.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { NotFound } from '../shared/errors';

export interface OpenedObject {
  readonly body: AsyncIterable<Uint8Array>;
  /** The S3 version id actually read (the latest one when none was asked for). */
  readonly versionId: string | undefined;
  readonly contentLength: number | undefined;
}

export interface StreamDigest {
  readonly sha256: string;
  readonly size: number;
}

function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;
}

/** The S3 errors that mean "this key or version is not there", as `NotFound` naming it. */
export function missingObject(error: unknown, bucket: string, key: string, versionId?: string): NotFound | undefined {
  const name = errorName(error);
  const where = `s3://${bucket}/${key}`;
  if (versionId !== undefined && (name === 'NoSuchVersion' || name === 'InvalidArgument' || name === 'NoSuchKey' || name === 'NotFound')) {
    return new NotFound(`version "${versionId}" of ${where} does not exist`, [{ field: 'versionId', message: 'no such version' }]);
  }
  if (name === 'NoSuchKey' || name === 'NotFound') {
    return new NotFound(`${where} does not exist`, [{ field: 'key', message: 'no such object' }]);
  }
  return undefined;
}

/** Opens one object (one exact version when `versionId` is given) as a byte stream. */
export async function openObject(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<OpenedObject> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    if (!response.Body) throw new Error(`S3 returned no body for s3://${bucket}/${key}`);
    return {
      body: response.Body as unknown as AsyncIterable<Uint8Array>,
      versionId: response.VersionId,
      contentLength: response.ContentLength,
    };
  } catch (error) {
    throw missingObject(error, bucket, key, versionId) ?? error;
  }
}

/** Whether this exact object version still exists (lifecycle rules may expire old versions). */
export async function objectVersionExists(s3: S3Client, bucket: string, key: string, versionId: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    return true;
  } catch (error) {
    if (missingObject(error, bucket, key, versionId)) return false;
    throw error;
  }
}

/**
 * Hashes a byte stream as it flows, passing each chunk to `onChunk` before the next is read.
 * Nothing is buffered beyond the chunk in hand.
 */
export async function digestStream(body: AsyncIterable<Uint8Array>, onChunk?: (chunk: Uint8Array) => void): Promise<StreamDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.byteLength;
    onChunk?.(chunk);
  }
  return { sha256: hash.digest('hex'), size };
}

/** S3 copies up to 5 GiB in one request; larger objects are copied in parts of this size. */
const COPY_PART_BYTES = 512 * 1024 * 1024;
const SINGLE_COPY_LIMIT = 5 * 1024 * 1024 * 1024;

/**
 * Server-side copy of one exact object version (no bytes pass through this process), in parts
 * above 5 GiB. Returns the destination's version id, if the bucket is versioned.
 */
export async function copyObjectVersion(
  s3: S3Client,
  source: { readonly bucket: string; readonly key: string; readonly versionId: string; readonly size: number },
  destination: { readonly bucket: string; readonly key: string },
  limits: { readonly singleCopyBytes?: number; readonly partBytes?: number } = {},
): Promise<string | undefined> {
  const singleCopyBytes = limits.singleCopyBytes ?? SINGLE_COPY_LIMIT;
  const partBytes = limits.partBytes ?? COPY_PART_BYTES;
  const copySource = `${source.bucket}/${encodeURIComponent(source.key)}?versionId=${encodeURIComponent(source.versionId)}`;
  try {
    if (source.size <= singleCopyBytes) {
      const copied = await s3.send(new CopyObjectCommand({ Bucket: destination.bucket, Key: destination.key, CopySource: copySource }));
      return copied.VersionId;
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: destination.bucket, Key: destination.key }));
    try {
      const parts: { ETag: string | undefined; PartNumber: number }[] = [];
      for (let start = 0, part = 1; start < source.size; start += partBytes, part++) {
        const end = Math.min(start + partBytes, source.size) - 1;
        const result = await s3.send(
          new UploadPartCopyCommand({
            Bucket: destination.bucket,
            Key: destination.key,
            UploadId,
            PartNumber: part,
            CopySource: copySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ ETag: result.CopyPartResult?.ETag, PartNumber: part });
      }
      const done = await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: destination.bucket, Key: destination.key, UploadId, MultipartUpload: { Parts: parts } }),
      );
      return done.VersionId;
    } catch (error) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: destination.bucket, Key: destination.key, UploadId }));
      throw error;
    }
  } catch (error) {
    throw missingObject(error, source.bucket, source.key, source.versionId) ?? error;
  }
}
