/**
 * Hashes a large object streamed from S3 (a local moto server) through the code path dataset
 * registration uses (`openObject` → `digestStream`), sampling memory while it runs, then
 * registers a CSV dataset version (hash + parse + profile in one pass) the same way.
 *
 *   npm run bench:datasets                       # 1 GiB object, 256 MiB CSV
 *   BENCH_OBJECT_MB=256 BENCH_CSV_MB=64 npm run bench:datasets
 *
 * Each measurement runs in a fresh child process (the parent uploads), so its memory figures
 * hold only the streaming work. Flat means: the same peak RSS and heap for 64 MiB and 1 GiB.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
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
import { table, writeResults } from './support';

const MiB = 1024 * 1024;
const OBJECT_MB = Number(process.env.BENCH_OBJECT_MB ?? 1024);
const CSV_MB = Number(process.env.BENCH_CSV_MB ?? 256);
const PART = 16 * MiB;
const execFileAsync = promisify(execFile);

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

interface Measurement {
  readonly label: string;
  readonly bytes: number;
  readonly seconds: number;
  readonly before: Peak;
  readonly peak: Peak;
}

function clientConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, forcePathStyle: true };
}

const BUCKET = 'bench-datasets';

/** Runs in a fresh child process, so its memory figures hold only the streaming work. */
async function measure(mode: string, endpoint: string, key: string, expected: string): Promise<Measurement> {
  const config = clientConfig(endpoint);
  const s3 = new S3Client(config);
  if (mode === 'hash') {
    const run = await measured(async () => digestStream((await openObject(s3, BUCKET, key)).body));
    if (run.result.sha256 !== expected) throw new Error(`sha256 mismatch: ${run.result.sha256} != ${expected}`);
    return { label: `hash ${mb(run.result.size)}`, bytes: run.result.size, seconds: run.seconds, before: run.before, peak: run.peak };
  }
  const ports = {
    s3,
    db: createDocumentClient(config),
    tableName: 'bench',
    bucket: BUCKET,
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
  const run = await measured(() => registerDatasetVersion(ports, { dataset: 'bench', objects: [{ key }], registeredBy: 'bench' }));
  const { record } = run.result;
  if (record.objects[0]?.sha256 !== expected) throw new Error('sha256 mismatch');
  return {
    label: `register ${mb(record.objects[0].size)} CSV (${record.rowCount.toLocaleString('en')} rows, ${record.validation.status})`,
    bytes: record.objects[0].size,
    seconds: run.seconds,
    before: run.before,
    peak: run.peak,
  };
}

async function inChild(mode: string, endpoint: string, key: string, expected: string): Promise<Measurement> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--expose-gc', '--no-warnings', '--import', 'tsx', fileURLToPath(import.meta.url), 'measure', mode, endpoint, key, expected],
    { maxBuffer: 1024 * 1024 },
  );
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Measurement;
}

const measurements: Measurement[] = [];

function report(m: Measurement): void {
  measurements.push(m);
  console.log(
    `${m.label}: ${m.seconds.toFixed(1)} s (${(m.bytes / MiB / m.seconds).toFixed(0)} MiB/s); ` +
      `RSS ${mb(m.before.rss)} → peak ${mb(m.peak.rss)}; heap ${mb(m.before.heapUsed)} → peak ${mb(m.peak.heapUsed)}`,
  );
}

async function main(): Promise<void> {
  const moto = await startMotoServer();
  const config = clientConfig(moto.endpoint);
  const s3 = new S3Client(config);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    await new DynamoDBClient(config).send(
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

    // Hash only, a small and the large object, each in a fresh process: same memory = flat.
    const block = Buffer.alloc(PART);
    for (let i = 0; i < PART; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    for (const size of [...new Set([64, OBJECT_MB])]) {
      const key = `datasets/bench/blob-${size}.bin`;
      process.stdout.write(`uploading ${size} MiB to moto… `);
      const sha = await upload(s3, BUCKET, key, Math.ceil(size / 16), () => block);
      console.log('done');
      report(await inChild('hash', moto.endpoint, key, sha));
    }

    // Registration: hash + CSV parse + profile in one pass.
    process.stdout.write(`uploading a ${CSV_MB} MiB CSV… `);
    const csvSha = await upload(s3, BUCKET, 'datasets/bench/data.csv', Math.ceil(CSV_MB / 16), csvPart);
    console.log('done');
    report(await inChild('register', moto.endpoint, 'datasets/bench/data.csv', csvSha));
    writeResults('datasets', { objectMiB: OBJECT_MB, csvMiB: CSV_MB, measurements });
    console.log(
      `\n${table(
        measurements.map((m) => ({
          run: m.label,
          seconds: m.seconds,
          throughput: m.bytes / MiB / m.seconds,
          rss: `${mb(m.before.rss)} → ${mb(m.peak.rss)}`,
          heap: `${mb(m.before.heapUsed)} → ${mb(m.peak.heapUsed)}`,
        })),
        [
          ['run', 'run'],
          ['seconds', 'time s', 1],
          ['throughput', 'MiB/s', 0],
          ['rss', 'RSS before → peak'],
          ['heap', 'heap before → peak'],
        ],
      )}`,
    );
  } finally {
    s3.destroy();
    await moto.stop();
  }
}

if (process.argv[2] === 'measure') {
  const [, , , mode = '', endpoint = '', key = '', expected = ''] = process.argv;
  console.log(JSON.stringify(await measure(mode, endpoint, key, expected)));
} else {
  await main();
}
