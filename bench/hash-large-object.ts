/**
 * Hashes a large object streamed from S3 (a local moto server) through the code path dataset
 * registration uses (`openObject` → `digestStream`), sampling memory while it runs, then
 * registers a CSV dataset version (hash + parse + profile in one pass) the same way.
 *
 *   npm run bench:datasets                       # 1 GiB object, 256 MiB CSV
 *   BENCH_OBJECT_MB=256 BENCH_CSV_MB=64 npm run bench:datasets
 *
 * Memory flat means: peak RSS and heap do not grow with the object size (compare runs).
 */
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutBucketVersioningCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { digestStream, openObject } from '../lambdas/datasets/objects';
import { registerDatasetVersion } from '../lambdas/datasets/register';
import { createDocumentClient } from '../lambdas/shared/dynamo';
import { TABLE_SCHEMA } from '../lambdas/shared/table-schema';
import { startMotoServer } from '../test/support/moto-server';

const MiB = 1024 * 1024;
const OBJECT_MB = Number(process.env.BENCH_OBJECT_MB ?? 1024);
const CSV_MB = Number(process.env.BENCH_CSV_MB ?? 256);
const PART = 16 * MiB;

interface Peak {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Samples memory every 20 ms while `work` runs. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; before: Peak; peak: Peak }> {
  global.gc?.();
  const m0 = process.memoryUsage();
  const before = { rss: m0.rss, heapUsed: m0.heapUsed, external: m0.external };
  const peak = { ...before };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  }, 20);
  const start = performance.now();
  try {
    const result = await work();
    return { result, seconds: (performance.now() - start) / 1000, before, peak };
  } finally {
    clearInterval(timer);
  }
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Uploads `parts` parts made by `part(i)` as one multipart object; returns its sha256. */
async function upload(s3: S3Client, bucket: string, key: string, parts: number, part: (i: number) => Buffer): Promise<string> {
  const hash = createHash('sha256');
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const done: { ETag: string; PartNumber: number }[] = [];
  for (let i = 0; i < parts; i++) {
    const body = part(i);
    hash.update(body);
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body }));
    done.push({ ETag: ETag!, PartNumber: i + 1 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: done } }));
  return hash.digest('hex');
}

/** A 16 MiB CSV part of whole rows; the header goes in part 0. */
function csvPart(index: number): Buffer {
  const rows: string[] = index === 0 ? ['tenure_months,monthly_charges,contract,churned'] : [];
  let size = rows.join('\n').length + 1;
  let n = index * 400_000;
  while (size < PART - 64) {
    const row = `${n % 72},${(20 + (n % 5000) / 100).toFixed(2)},"${n % 3 === 0 ? 'month, to month' : 'annual'}",${n % 2}`;
    rows.push(row);
    size += row.length + 1;
    n++;
  }
  return Buffer.from(`${rows.join('\n')}\n`);
}

async function main(): Promise<void> {
  const moto = await startMotoServer();
  const config = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    forcePathStyle: true,
  };
  const s3 = new S3Client(config);
  try {
    const bucket = 'bench-datasets';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

    // 1. Hash only: a random 16 MiB block repeated (upload memory stays small too).
    const block = Buffer.alloc(PART);
    for (let i = 0; i < PART; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    const parts = Math.ceil(OBJECT_MB / 16);
    process.stdout.write(`uploading ${parts * 16} MiB to moto… `);
    const expected = await upload(s3, bucket, 'datasets/bench/blob.bin', parts, () => block);
    console.log('done');
    const hashRun = await measured(async () => {
      const opened = await openObject(s3, bucket, 'datasets/bench/blob.bin');
      return digestStream(opened.body);
    });
    if (hashRun.result.sha256 !== expected) throw new Error('sha256 mismatch');
    console.log(
      `hash ${mb(hashRun.result.size)}: ${hashRun.seconds.toFixed(1)} s (${(hashRun.result.size / MiB / hashRun.seconds).toFixed(0)} MiB/s); ` +
        `RSS ${mb(hashRun.before.rss)} → peak ${mb(hashRun.peak.rss)}; heap ${mb(hashRun.before.heapUsed)} → peak ${mb(hashRun.peak.heapUsed)}`,
    );

    // 2. Registration: hash + CSV parse + profile of a CSV object, one pass.
    const csvParts = Math.ceil(CSV_MB / 16);
    process.stdout.write(`uploading a ${csvParts * 16} MiB CSV… `);
    await upload(s3, bucket, 'datasets/bench/data.csv', csvParts, csvPart);
    console.log('done');
    const dynamo = new DynamoDBClient(config);
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'bench',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
    const ports = {
      s3,
      db: createDocumentClient(config),
      tableName: 'bench',
      bucket,
      catalog: {
        bench: {
          columns: [
            { name: 'tenure_months', type: 'integer' as const, nullable: false, min: 0 },
            { name: 'monthly_charges', type: 'number' as const, nullable: false },
            { name: 'contract', type: 'string' as const, nullable: false },
            { name: 'churned', type: 'integer' as const, nullable: false, min: 0, max: 1 },
          ],
          models: [{ name: 'bench' }],
        },
      },
    };
    const registerRun = await measured(() =>
      registerDatasetVersion(ports, { dataset: 'bench', objects: [{ key: 'datasets/bench/data.csv' }], registeredBy: 'bench' }),
    );
    const { record } = registerRun.result;
    const bytes = record.objects[0]!.size;
    console.log(
      `register ${mb(bytes)} CSV (${record.rowCount.toLocaleString('en')} rows, ${record.validation.status}): ${registerRun.seconds.toFixed(1)} s ` +
        `(${(bytes / MiB / registerRun.seconds).toFixed(0)} MiB/s); RSS ${mb(registerRun.before.rss)} → peak ${mb(registerRun.peak.rss)}; ` +
        `heap ${mb(registerRun.before.heapUsed)} → peak ${mb(registerRun.peak.heapUsed)}`,
    );
  } finally {
    s3.destroy();
    await moto.stop();
  }
}

await main();
