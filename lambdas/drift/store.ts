/**
 * The analyzer's ports on AWS: baselines, data capture and ground truth in the artifacts
 * bucket (prefixes from `shared/layout.ts`), the live version from the metadata table.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../shared/contracts';
import { artifactPrefixes, hourPartition } from '../shared/layout';
import { BASELINE_FILE, buildBaseline, mergeBaselines, parseBaseline, type Baseline, type BaselineOptions } from './baseline';
import type { DriftPorts } from './analyze';

const HOUR = 3_600_000;

export const baselineKey = (model: string, version: number) => `${artifactPrefixes.baselines(model, String(version))}${BASELINE_FILE}`;

/** Stores a version's baseline where the analyzer looks for it. The pipeline's record-deployment step calls this. */
export async function writeBaseline(s3: S3Client, bucket: string, model: string, version: number, baseline: Baseline): Promise<string> {
  const key = baselineKey(model, version);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(baseline), ContentType: 'application/json' }));
  return key;
}

/**
 * The baseline of a dataset version: each of its objects (exact S3 version ids, as the dataset
 * registry records them) summarized on its own, then merged. Each object is read whole, one at
 * a time, so memory follows the largest object, not the dataset.
 */
export async function baselineFromObjects(
  s3: S3Client,
  objects: readonly { readonly bucket: string; readonly key: string; readonly versionId?: string }[],
  options: BaselineOptions = {},
): Promise<Baseline> {
  const parts: Baseline[] = [];
  for (const object of objects) {
    const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, VersionId: object.versionId }));
    if (!response.Body) throw new Error(`s3://${object.bucket}/${object.key} has no body`);
    parts.push(buildBaseline({ name: `s3://${object.bucket}/${object.key}`, bytes: await response.Body.transformToByteArray() }, options));
  }
  return mergeBaselines(parts, { seed: options.seed });
}

export async function readBaseline(s3: S3Client, bucket: string, model: string, version: number): Promise<Baseline | undefined> {
  const key = baselineKey(model, version);
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) return undefined;
    return parseBaseline(await object.Body.transformToString(), `s3://${bucket}/${key}`);
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

export interface AwsPortsOptions {
  readonly s3: S3Client;
  readonly documents: DynamoDBDocumentClient;
  readonly bucket: string;
  readonly tableName: string;
  readonly emit: (document: string) => void;
  readonly log: DriftPorts['log'];
}

/** The S3 half of the analyzer's ports: baselines, capture lines, ground truth and report writes (what the Distributed Map's shard and reducer functions need too). */
export type DriftObjectPorts = Pick<DriftPorts, 'readBaseline' | 'lines' | 'groundTruthObjects' | 'putObject'>;

export function s3DriftObjects(s3: S3Client, bucket: string): DriftObjectPorts {
  return {
    readBaseline: (model, version) => readBaseline(s3, bucket, model, version),

    async *lines(key) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) return;
      const lines = createInterface({ input: object.Body as Readable, crlfDelay: Infinity });
      for await (const line of lines) yield line;
    },

    async putObject(key, body, contentType) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },

    /** By the time S3 stamped each object (LastModified), under the hour partitions of [from, to]. */
    async *groundTruthObjects(model, from, to) {
      for (const hour of hours(from, to)) {
        for await (const page of list(s3, bucket, `${artifactPrefixes.groundTruth(model)}${hour}`)) {
          for (const o of page.Contents ?? []) {
            const modified = o.LastModified?.getTime() ?? Number.NaN;
            if (o.Key && modified >= from.getTime() && modified < to.getTime()) yield o.Key;
          }
        }
      }
    },
  };
}

/** A capture object as a listing names it. */
export interface CaptureObject {
  readonly key: string;
  /** Bytes (ListObjectsV2 `Size`). */
  readonly size: number;
}

/**
 * Capture objects that may hold records with inference times in [from, to):
 * capture/<model>/<endpoint>/<variant>/yyyy/mm/dd/hh/, one hour of slack before the window.
 */
export async function* listCaptureObjects(s3: S3Client, bucket: string, model: string, from: Date, to: Date): AsyncIterable<CaptureObject> {
  for await (const endpoint of subPrefixes(s3, bucket, artifactPrefixes.capture(model))) {
    for await (const variant of subPrefixes(s3, bucket, endpoint)) {
      for (const hour of hours(new Date(from.getTime() - HOUR), to)) {
        for await (const page of list(s3, bucket, `${variant}${hour}`)) for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0 };
      }
    }
  }
}

async function* list(s3: S3Client, bucket: string, prefix: string, delimiter?: string) {
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix, Delimiter: delimiter })) {
    yield page;
  }
}

async function* subPrefixes(s3: S3Client, bucket: string, prefix: string): AsyncIterable<string> {
  for await (const page of list(s3, bucket, prefix, '/')) for (const p of page.CommonPrefixes ?? []) if (p.Prefix) yield p.Prefix;
}

export function awsDriftPorts(options: AwsPortsOptions): DriftPorts {
  const { s3, bucket } = options;

  return {
    async liveVersion(model) {
      const result = await options.documents.send(
        new QueryCommand({
          TableName: options.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.versionByStatus(model, 'LIVE', 1).gsi1pk },
          ScanIndexForward: false,
          Limit: 1,
        }),
      );
      const version = (result.Items?.[0] as { version?: unknown } | undefined)?.version;
      return typeof version === 'number' ? version : undefined;
    },

    ...s3DriftObjects(s3, bucket),

    async *captureObjects(model, from, to) {
      for await (const object of listCaptureObjects(s3, bucket, model, from, to)) yield object.key;
    },

    async *objectsUnder(prefix) {
      for await (const page of list(s3, bucket, prefix)) for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
    },

    emit: options.emit,
    log: options.log,
  };
}

/** Hour partitions from the hour of `from` to the hour of `to` (inclusive, as `to` may be mid-hour). */
export function hours(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = Math.floor(from.getTime() / HOUR) * HOUR; t <= to.getTime(); t += HOUR) out.push(hourPartition(new Date(t)));
  return out;
}
