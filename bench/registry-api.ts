/**
 * `npm run bench:api`: DynamoDB round trips and latency per registry API request with 10,
 * 1 000 and 10 000 versions of a model, against a moto server on 127.0.0.1. Round trips are
 * counted by a middleware on the DynamoDB client (one per HTTP attempt), so the figures are
 * what the handler really sends, not what the code intends.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { datasetsDomain } from '../lambdas/api/datasets';
import { DynamoAuditLog, DynamoRegistry } from '../lambdas/api/dynamo-registry';
import type { ModelSummary } from '../lambdas/api/ports';
import { fromLocalHeader } from '../lambdas/api/principal';
import { createHandler } from '../lambdas/api/router';
import { keys, type ModelVersionRecord, type VersionStatus } from '../lambdas/shared/contracts';
import { startMotoServer } from '../test/support/moto-server';
import { createMetadataTable } from '../test/support/table';
import { writeResults } from './support';

const SIZES = [10, 1_000, 10_000] as const;
/** Requests per line; `npm run bench` uses fewer (BENCH_API_ITERATIONS) to stay in its time budget. */
const ITERATIONS = Number(process.env.BENCH_API_ITERATIONS ?? 40);
const REQUESTER = 'arn:aws:iam::123456789012:role/data-scientist';
const APPROVER = 'arn:aws:iam::123456789012:role/approver';

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

function statusOf(version: number, size: number): VersionStatus {
  if (version === size) return 'PENDING_APPROVAL';
  if (version === size - 1) return 'LIVE';
  return version % 10 === 0 ? 'REJECTED' : 'RETIRED';
}

function versionItem(model: string, version: number, size: number): Record<string, unknown> {
  const status = statusOf(version, size);
  const record: ModelVersionRecord = {
    model,
    version,
    status,
    runId: `${model}-run-${version}`,
    requestedBy: REQUESTER,
    datasetName: 'bench',
    datasetVersion: `2026-11-${String((version % 28) + 1).padStart(2, '0')}`,
    trainingJobName: `${model}-job-${version}`,
    modelArtifactUri: `s3://artifacts/models/${model}/run-${version}/model.tar.gz`,
    imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1',
    instanceType: 'ml.g5.xlarge',
    hyperparameters: { eta: '0.2', max_depth: '6' },
    metrics: { 'validation:auc': 0.7 + (version % 100) / 1000 },
    comparison: { metricName: 'validation:auc', direction: 'maximize', candidate: 0.8, champion: 0.79, championVersion: 1 },
    evaluationReportUri: `s3://artifacts/evaluations/${model}/run-${version}/report.json`,
    createdAt: new Date(Date.UTC(2026, 0, 1) + version * 60_000).toISOString(),
    updatedAt: new Date(Date.UTC(2026, 0, 1) + version * 60_000).toISOString(),
    taskToken: `token-${model}-${version}`,
  };
  return { ...keys.version(model, version), ...keys.versionByStatus(model, status, version), ...record };
}


const event = (method: string, path: string, query?: Record<string, string>, body?: unknown) =>
  ({
    httpMethod: method,
    path,
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    headers: { 'x-caretaker-principal': APPROVER, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    queryStringParameters: query ?? null,
    requestContext: { identity: { userArn: null } },
  }) as unknown as APIGatewayProxyEvent;

async function main(): Promise<void> {
  const moto = await startMotoServer();
  try {
    const config = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
    const raw = new DynamoDBClient(config);
    let roundTrips = 0;
    raw.middlewareStack.add(
      (next) => (args) => {
        roundTrips += 1;
        return next(args);
      },
      { step: 'finalizeRequest', name: 'countRoundTrips', priority: 'low' },
    );
    const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });

    const rows: string[] = [];
    const measured: unknown[] = [];
    const record = (size: number, name: string, trips: readonly number[], latencies: readonly number[]) => {
      measured.push({ versions: size, request: name, roundTrips: [Math.min(...trips), Math.max(...trips)], p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95) });
      rows.push(row(size, name, trips, latencies));
    };
    for (const size of SIZES) {
      const model = `m${size}`;
      // A table per size, so each registry size is measured alone.
      const { tableName } = await createMetadataTable(config);
      const items = Array.from({ length: size }, (_, i) => versionItem(model, i + 1, size));
      for (let start = 0; start < items.length; start += 25 * 8) {
        await Promise.all(
          Array.from({ length: 8 }, (_, j) => items.slice(start + j * 25, start + (j + 1) * 25))
            .filter((batch) => batch.length > 0)
            .map((batch) => client.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch.map((Item) => ({ PutRequest: { Item } })) } }))),
        );
      }
      const models: ModelSummary[] = [
        { name: model, datasetName: 'bench', objective: { metricName: 'validation:auc', direction: 'maximize' }, approvalTimeoutSeconds: 3600 },
      ];
      let ids = 0;
      const handler = createHandler({
        principal: fromLocalHeader,
        models,
        ports: {
          registry: new DynamoRegistry(client, tableName),
          audit: new DynamoAuditLog(client, tableName),
          // The dataset routes are not benchmarked here; the datasets part's functions answer them.
          datasets: datasetsDomain({ s3: new S3Client({ ...config, forcePathStyle: true }), db: client, tableName, bucket: 'bench-datasets', catalog: {} }),
          callbacks: { approve: () => Promise.resolve(), reject: () => Promise.resolve() },
          retraining: { assertWired: () => undefined, send: () => Promise.resolve() },
          deployments: { startRollback: (r) => Promise.resolve({ deploymentId: r.deploymentId }) },
          leases: { get: () => Promise.resolve(undefined) },
          groundTruth: { put: () => Promise.resolve({ key: 'unused' }) },
          metrics: { driftMetrics: () => Promise.reject(new Error('not benchmarked')), alarm: () => Promise.resolve(undefined) },
          evaluations: { read: () => Promise.resolve(undefined) },
          driftReports: { listWindows: () => Promise.reject(new Error('not benchmarked')), read: () => Promise.resolve(undefined) },
          executions: { read: () => Promise.reject(new Error('not benchmarked')) },
          clock: { now: () => new Date() },
          newId: () => `bench-${++ids}`,
        },
      });

      const firstPage = JSON.parse((await handler(event('GET', `/models/${model}/versions`, { limit: '25' }))).body) as { nextToken?: string };
      const requests: (readonly [string, () => APIGatewayProxyEvent])[] = [
        ['GET /models', () => event('GET', '/models')],
        ['GET /models/{m}', () => event('GET', `/models/${model}`)],
        ['GET /models/{m}/versions?limit=25', () => event('GET', `/models/${model}/versions`, { limit: '25' })],
        ['GET /models/{m}/versions?status=LIVE', () => event('GET', `/models/${model}/versions`, { status: 'LIVE' })],
        ['GET /models/{m}/versions/{v}', () => event('GET', `/models/${model}/versions/${Math.ceil(size / 2)}`)],
        ['GET /audit?model={m}', () => event('GET', '/audit', { model, limit: '25' })],
      ];
      if (firstPage.nextToken) {
        const nextToken = firstPage.nextToken;
        requests.splice(3, 0, ['GET /models/{m}/versions (2nd page)', () => event('GET', `/models/${model}/versions`, { limit: '25', nextToken })]);
      }
      for (const [name, make] of requests) {
        const latencies: number[] = [];
        const trips: number[] = [];
        for (let i = 0; i < ITERATIONS; i += 1) {
          const before = roundTrips;
          const started = performance.now();
          const result = await handler(make());
          latencies.push(performance.now() - started);
          trips.push(roundTrips - before);
          if (result.statusCode !== 200) throw new Error(`${name} at ${size}: ${result.statusCode} ${result.body}`);
        }
        record(size, name, trips, latencies);
      }
      // One decision per size: the single conditional write plus the audit append.
      const before = roundTrips;
      const started = performance.now();
      const decided = await handler(event('POST', `/models/${model}/versions/${size}/approve`, undefined, { reason: 'bench' }));
      if (decided.statusCode !== 200) throw new Error(`approve at ${size}: ${decided.body}`);
      record(size, 'POST …/approve (one decision)', [roundTrips - before], [performance.now() - started]);
    }

    console.log(`registry API against moto (${ITERATIONS} requests per line; latency is handler time including moto round trips)\n`);
    console.log('| versions of the model | request | DynamoDB round trips | p50 ms | p95 ms |');
    console.log('|---:|---|---:|---:|---:|');
    for (const line of rows) console.log(line);
    writeResults('registry-api', { iterations: ITERATIONS, requests: measured });
  } finally {
    await moto.stop();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function row(size: number, name: string, trips: readonly number[], latencies: readonly number[]): string {
  const tripText = Math.min(...trips) === Math.max(...trips) ? String(trips[0]) : `${Math.min(...trips)}–${Math.max(...trips)}`;
  return `| ${size.toLocaleString('en-US')} | ${name} | ${tripText} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 95).toFixed(1)} |`;
}

await main();
