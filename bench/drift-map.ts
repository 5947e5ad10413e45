/**
 * `npm run bench:drift-map`: drift analysis of one window, single pass vs the Distributed Map
 * path, on this machine (moto S3, the local Step Functions runner, every function in-process),
 * over 1, 8 and 64 capture objects holding the same records. Prints records/s and capture
 * bytes/s of each path, the CPU per record of one function (what `SINGLE_PASS_MAX_BYTES` is
 * derived from), and the cost per million records on each path from bench/prices.json.
 *
 *   npm run bench:drift-map -- --records 100000
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeWindow, type DriftPorts } from '../lambdas/drift/analyze';
import { buildBaseline } from '../lambdas/drift/baseline';
import { createReduceHandler, createShardHandler } from '../lambdas/drift/map-handler';
import { mapExecutionInput, SHARD_BATCH_OBJECTS } from '../lambdas/drift/map';
import { listCaptureObjects, s3DriftObjects, writeBaseline } from '../lambdas/drift/store';
import { artifactPrefixes, hourPartition } from '../lambdas/shared/layout';
import { startMotoServer } from '../local/moto';
import { runPipelineLocally, substitute } from '../local/stepfunctions/runner';
import { taskHandlersFor } from '../local/stepfunctions/tasks';
import { DRIFT_MAP_DEFINITION } from '../lib/constructs/drift-monitor';
import { table, writeResults } from './support';

const { values: args } = parseArgs({ options: { records: { type: 'string', default: '100000' } } });
const RECORDS = Number(args.records);
const SHARDS = [1, 8, 64];
const MINUTE = 60_000;
const ROOT = join(import.meta.dirname, '..');
const SHARD_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:shard';
const REDUCE_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:reduce';

const baseline = buildBaseline({ name: 'baseline.csv', bytes: readFileSync(join(ROOT, 'test/fixtures/drift/stable/baseline.csv')) });
const rows = readFileSync(join(ROOT, 'test/fixtures/drift/shifted/current.csv'), 'utf8').trimEnd().split('\n').slice(1);

const moto = await startMotoServer();
const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, forcePathStyle: true });
const bucket = 'drift-map-bench';
const cpuSeconds = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

interface Row extends Record<string, unknown> {
  path: string;
  shards: number;
  children: number;
  records: number;
  wallSeconds: number;
  cpuSeconds: number;
  recordsPerSecond: number;
  recordsPerCpuSecond: number;
  mbPerCpuSecond: number;
}

const results: Row[] = [];
let captureBytes = 0;
try {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await writeBaseline(s3, bucket, 'churn', 3, baseline);
  const objects = { ...s3DriftObjects(s3, bucket), emit: () => undefined, log: () => undefined };
  const shard = createShardHandler(objects);
  const reduce = createReduceHandler(objects, bucket);
  const asl = substitute(readFileSync(DRIFT_MAP_DEFINITION, 'utf8'), { ArtifactsBucket: bucket, ShardFunctionArn: SHARD_ARN, ReduceFunctionArn: REDUCE_ARN });
  const taskHandlers = taskHandlersFor(asl, {
    invokeFunction: (arn, payload) => (arn === SHARD_ARN ? shard(payload) : reduce(payload)),
    isFunction: (arn) => arn === SHARD_ARN || arn === REDUCE_ARN,
    sagemaker: {} as never,
    sns: {} as never,
    parameters: new Map(),
  });

  for (const [day, shards] of SHARDS.entries()) {
    const windowEnd = new Date(Date.UTC(2026, 10, 10 + day, 10, 0, 0));
    const windowStart = new Date(windowEnd.getTime() - 30 * MINUTE);
    const prefix = `${artifactPrefixes.capture('churn')}bench-endpoint/AllTraffic/${hourPartition(windowStart)}`;
    const parts: string[][] = Array.from({ length: shards }, () => []);
    for (let i = 0; i < RECORDS; i++) {
      const at = new Date(windowStart.getTime() + (i % 1_800_000));
      parts[i % shards]!.push(
        JSON.stringify({
          captureData: { endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: rows[i % rows.length], encoding: 'CSV' } },
          eventMetadata: { eventId: `e-${i}`, inferenceId: `id-${i}`, inferenceTime: at.toISOString() },
          eventVersion: '0',
        }),
      );
    }
    captureBytes = 0;
    for (const [i, lines] of parts.entries()) {
      const body = `${lines.join('\n')}\n`;
      captureBytes += Buffer.byteLength(body);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}part-${i}.jsonl`, Body: body }));
    }

    const ports: DriftPorts = {
      liveVersion: () => Promise.resolve(3),
      ...objects,
      captureObjects: async function* (model, from, to) {
        for await (const o of listCaptureObjects(s3, bucket, model, from, to)) yield o.key;
      },
      groundTruthObjects: async function* () {},
    };
    let cpu = process.cpuUsage();
    let started = performance.now();
    const single = await analyzeWindow({ model: 'churn', windowStart, windowEnd, psiThreshold: 0.2, labelLookbackMs: 0, maxLabels: 0 }, ports);
    let wall = (performance.now() - started) / 1000;
    let used = cpuSeconds(cpu);
    if (single.status !== 'analyzed' || single.capturedRecords !== RECORDS) throw new Error(`single pass read ${JSON.stringify(single).slice(0, 200)}`);
    results.push({ path: 'single pass', shards, children: 1, records: RECORDS, wallSeconds: wall, cpuSeconds: used, recordsPerSecond: RECORDS / wall, recordsPerCpuSecond: RECORDS / used, mbPerCpuSecond: captureBytes / 1e6 / used });

    const keys: string[] = [];
    for await (const o of listCaptureObjects(s3, bucket, 'churn', windowStart, windowEnd)) keys.push(o.key);
    const input = mapExecutionInput({ model: 'churn', version: 3, windowStart: windowStart.toISOString(), windowEnd: windowEnd.toISOString(), psiThreshold: 0.2 }, keys);
    cpu = process.cpuUsage();
    started = performance.now();
    const execution = await runPipelineLocally({ definition: asl, substitutions: {}, taskHandlers, input, executionName: `bench-${shards}`, executionArn: `arn:aws:states:us-east-1:000000000000:execution:drift-map:bench-${shards}`, skipWaits: true, s3 });
    wall = (performance.now() - started) / 1000;
    used = cpuSeconds(cpu);
    const output = execution.output as { capturedRecords?: number; shards?: number } | undefined;
    if (execution.status !== 'SUCCEEDED' || output?.capturedRecords !== RECORDS) throw new Error(`map path: ${execution.status} ${execution.error ?? ''} ${execution.cause ?? ''}`);
    results.push({ path: 'Distributed Map (local)', shards, children: output.shards ?? 0, records: RECORDS, wallSeconds: wall, cpuSeconds: used, recordsPerSecond: RECORDS / wall, recordsPerCpuSecond: RECORDS / used, mbPerCpuSecond: captureBytes / 1e6 / used });
    console.error(`${shards} shards done`);
  }
} finally {
  s3.destroy();
  await moto.stop();
}

const bytesPerRecord = captureBytes / RECORDS;
console.log(`drift window of ${RECORDS} capture records (${(captureBytes / 1e6).toFixed(1)} MB, ${bytesPerRecord.toFixed(0)} bytes a record), moto S3, one process\n`);
console.log(
  table(results, [
    ['path', 'path'],
    ['shards', 'capture objects', 0],
    ['children', 'map children', 0],
    ['wallSeconds', 'wall s', 2],
    ['cpuSeconds', 'CPU s', 2],
    ['recordsPerSecond', 'records/s (wall)', 0],
    ['recordsPerCpuSecond', 'records/s (CPU)', 0],
    ['mbPerCpuSecond', 'MB/s (CPU)', 1],
  ]),
);

// Cost per million records, from bench/prices.json. Lambda time from the single pass's CPU rate
// (best of the runs) at Lambda's CPU share: 1024 MB ≈ 0.58 vCPU, 1769 MB = 1 vCPU.
const prices = (JSON.parse(readFileSync(join(ROOT, 'bench/prices.json'), 'utf8')) as { prices: Record<string, { usd: number }> }).prices;
const price = (name: string) => prices[name]?.usd ?? Number.NaN;
const cpuRate = Math.max(...results.filter((r) => r.path === 'single pass').map((r) => r.recordsPerCpuSecond));
const M = 1_000_000;
const recordsPerObject = 10_000;
const objectsPerM = M / recordsPerObject;
const children = Math.ceil(objectsPerM / SHARD_BATCH_OBJECTS);
const single = {
  lambda: (M / (cpuRate * 0.58)) * 1.0 * price('lambda.arm64.gbSecond') + price('lambda.request'),
  s3: objectsPerM * price('s3.request.get') + Math.ceil(objectsPerM / 1000 + 3) * price('s3.request.putOrList') + 3 * price('s3.request.putOrList'),
  states: 0,
};
const map = {
  // Children at 1769 MB (1 vCPU) do the same parsing; the reducer merges (assumed 2 s at 1769 MB).
  lambda: (M / cpuRate) * 1.769 * price('lambda.arm64.gbSecond') + 2 * 1.769 * price('lambda.arm64.gbSecond') + (children + 2) * price('lambda.request'),
  // GETs: capture objects, baseline per child, partials, manifest and result file; PUTs/LISTs: listing pages, partials, ResultWriter files, reports.
  s3: (objectsPerM + children + children + 3) * price('s3.request.get') + (Math.ceil(objectsPerM / 1000) * 2 + children + 3 + 3) * price('s3.request.putOrList'),
  // Standard transitions: the parent (start, AnalyzeShards, Reduce, end ≈ 4) and per child (start, AnalyzeShard, end ≈ 3).
  states: (4 + 3 * children) * price('stepfunctions.standard.transition'),
};
const costRows = [
  { path: 'single pass', lambda: single.lambda, s3: single.s3, states: single.states, total: single.lambda + single.s3 + single.states },
  { path: 'Distributed Map', lambda: map.lambda, s3: map.s3, states: map.states, total: map.lambda + map.s3 + map.states },
];
console.log(`\ncost per million capture records (${recordsPerObject} records an object, ${children} children of ${SHARD_BATCH_OBJECTS} objects), USD, bench/prices.json\n`);
console.log(table(costRows, [['path', 'path'], ['lambda', 'Lambda', 5], ['s3', 'S3 requests', 5], ['states', 'Step Functions', 5], ['total', 'total', 5]]));
writeResults('drift-map', { records: RECORDS, captureBytes, bytesPerRecord, results, cost: costRows });
