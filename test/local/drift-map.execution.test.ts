/**
 * The Distributed Map path run offline on the synthesized template's ASL: the analyzer (with its
 * threshold forced down) hands the window to the map; the local runner lists the capture
 * objects (ItemReader on moto S3), batches them, runs each child through the real shard
 * handler, writes the ResultWriter's manifest and result files, and the reducer merges the
 * partials and publishes. Over 1, 8 and 64 capture objects the published report is the single
 * pass's over the same records: counts identical, and with every value in the samples, every
 * statistic.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseline } from '../../lambdas/drift/baseline';
import { createHandler, type AnalyzerResult } from '../../lambdas/drift/handler';
import { createReduceHandler, createShardHandler } from '../../lambdas/drift/map-handler';
import { chooseAnalysisPath, mapExecutionName, SINGLE_PASS_MAX_BYTES } from '../../lambdas/drift/map';
import type { DriftReportDocument } from '../../lambdas/drift/report';
import { awsDriftPorts, listCaptureObjects, s3DriftObjects, writeBaseline } from '../../lambdas/drift/store';
import { keys } from '../../lambdas/shared/contracts';
import { createDocumentClient } from '../../lambdas/shared/dynamo';
import { artifactPrefixes, driftReportKeys, hourPartition } from '../../lambdas/shared/layout';
import { runPipelineLocally, substitute, type LocalExecution } from '../../local/stepfunctions/runner';
import { taskHandlersFor } from '../../local/stepfunctions/tasks';
import { motoClientConfig, uniqueName } from '../support/aws';
import { synthCaretaker } from '../support/stack';
import { createMetadataTable } from '../support/table';

const FIXTURES = join(import.meta.dirname, '../fixtures/drift');
const MINUTE = 60_000;
const SHARD_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:drift-map-shard';
const REDUCE_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:drift-map-reduce';

describe('drift Distributed Map, run offline on the synthesized ASL (moto S3)', () => {
  const s3 = new S3Client(motoClientConfig());
  const documents = createDocumentClient(motoClientConfig());
  const bucket = uniqueName('drift-map');
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  const { template, stack } = synthCaretaker();
  const machine = (template.toJSON() as { Resources: Record<string, { Properties: Record<string, unknown> }> }).Resources[
    stack.getLogicalId(stack.drift.mapStateMachine.node.defaultChild as never)
  ]!.Properties;
  const definition = machine.DefinitionString as string;
  const substitutionKeys = Object.keys(machine.DefinitionSubstitutions as object);

  const baselineBytes = readFileSync(join(FIXTURES, 'stable/baseline.csv'));
  const currentLines = readFileSync(join(FIXTURES, 'shifted/current.csv'), 'utf8').trimEnd().split('\n');
  const rows = currentLines.slice(1, 401);

  const capture = (id: string, at: Date, row: string) =>
    JSON.stringify({
      captureData: { endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: row, encoding: 'CSV' } },
      eventMetadata: { eventId: `event-${id}`, inferenceId: id, inferenceTime: at.toISOString() },
      eventVersion: '0',
    });

  beforeAll(async () => {
    table = await createMetadataTable();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await documents.send(
      new PutCommand({ TableName: table.tableName, Item: { ...keys.version('churn', 3), ...keys.versionByStatus('churn', 'LIVE', 3), model: 'churn', version: 3, status: 'LIVE' } }),
    );
    await writeBaseline(s3, bucket, 'churn', 3, buildBaseline({ name: 'baseline.csv', bytes: baselineBytes }));
  });

  afterAll(async () => {
    await table.drop();
    s3.destroy();
  });

  /** A 30-minute window ending on the hour (so its objects span two hour partitions of one day), and its capture in `shards` objects. */
  async function windowWithShards(shards: number, dayOffset: number) {
    // One day per case, so no case's objects are under another's prefix.
    const windowEnd = new Date(Date.UTC(2026, 10, 22 + dayOffset, 10, 0, 0));
    const windowStart = new Date(windowEnd.getTime() - 30 * MINUTE);
    const model = `churn`;
    const prefix = `${artifactPrefixes.capture(model)}churn-endpoint/AllTraffic/`;
    const objects: string[][] = Array.from({ length: shards }, () => []);
    rows.forEach((row, i) => objects[(i * 7) % shards]!.push(capture(`id-${i}`, new Date(windowStart.getTime() + ((i % 29) + 0.5) * MINUTE), row)));
    for (const [i, lines] of objects.entries()) {
      // Half the objects in the window's first hour, half in the hour before it (the single pass's slack hour).
      const hour = hourPartition(new Date(windowStart.getTime() - (i % 2) * 60 * MINUTE));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${hour}part-${dayOffset}-${i}.jsonl`, Body: `${lines.join('\n')}\nnot json\n` }));
    }
    // Same day, outside the window's hours: under the map's common prefix, skipped by key; the single pass never lists it.
    const far = hourPartition(new Date(windowStart.getTime() - 5 * 60 * MINUTE));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${far}far-${dayOffset}.jsonl`, Body: `${capture('far', windowStart, rows[0]!)}\n` }));
    return { windowEnd, event: { model, windowEnd: windowEnd.toISOString(), windowMinutes: 30, psiThreshold: 0.2, minRecords: 10 } };
  }

  const emitted: string[] = [];
  const ports = () =>
    awsDriftPorts({ s3, documents, bucket, tableName: table.tableName, emit: (line) => emitted.push(line), log: () => undefined });

  async function readReport(model: string, windowEnd: Date): Promise<DriftReportDocument> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: driftReportKeys.window(model, windowEnd).json }));
    return JSON.parse(await object.Body!.transformToString()) as DriftReportDocument;
  }

  function mapPath(executions: LocalExecution[], failShard = false) {
    const objects = { ...s3DriftObjects(s3, bucket), emit: (line: string) => emitted.push(line), log: () => undefined };
    const realShard = createShardHandler(objects);
    let calls = 0;
    // A function error (not a Lambda service error, so not retried by the ASL) in the second child.
    const shard = (payload: unknown) => (failShard && ++calls === 2 ? Promise.reject(new Error('shard broke')) : realShard(payload));
    const reduce = createReduceHandler(objects, bucket);
    const asl = substitute(definition, { ArtifactsBucket: bucket, ShardFunctionArn: SHARD_ARN, ReduceFunctionArn: REDUCE_ARN });
    const taskHandlers = taskHandlersFor(asl, {
      invokeFunction: (arn, payload) => (arn === SHARD_ARN ? shard(payload) : reduce(payload)),
      isFunction: (arn) => arn === SHARD_ARN || arn === REDUCE_ARN,
      sagemaker: {} as never,
      sns: {} as never,
      parameters: new Map(),
    });
    return {
      captureListing: (model: string, from: Date, to: Date) => listCaptureObjects(s3, bucket, model, from, to),
      async startMap(name: string, input: unknown) {
        const execution = await runPipelineLocally({
          definition: asl,
          substitutions: {},
          taskHandlers,
          input,
          executionName: name,
          executionArn: `arn:aws:states:us-east-1:000000000000:execution:drift-map:${name}`,
          skipWaits: true,
          s3,
        });
        executions.push(execution);
        return { executionArn: execution.executionArn, existing: false };
      },
      thresholdBytes: 0,
    };
  }

  it('substitutes exactly the placeholders the template gives', () => {
    expect(substitutionKeys.sort()).toEqual(['ArtifactsBucket', 'ReduceFunctionArn', 'ShardFunctionArn']);
  });

  for (const [offset, shards] of [[0, 1], [1, 8], [2, 64]] as const) {
    it(`over ${shards} capture objects publishes the single pass's report and metrics`, async () => {
      const { windowEnd, event } = await windowWithShards(shards, offset);
      emitted.length = 0;
      const single = (await createHandler({ ports: ports() })(event)) as AnalyzerResult & { status: 'analyzed' };
      expect(single.status).toBe('analyzed');
      const singleReport = await readReport('churn', windowEnd);
      const singleMetrics = emitted.map((line) => JSON.parse(line) as Record<string, unknown>);

      emitted.length = 0;
      const executions: LocalExecution[] = [];
      const delegated = await createHandler({ ports: ports(), map: mapPath(executions) })(event);
      expect(delegated).toMatchObject({ status: 'delegated', version: 3, captureObjects: shards, executionName: mapExecutionName('churn', windowEnd) });
      expect(executions).toHaveLength(1);
      const execution = executions[0]!;
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
      expect(execution.output).toMatchObject({ status: 'analyzed', capturedRecords: 400 });
      const children = (execution.output as { shards: number }).shards;

      const mapReport = await readReport('churn', windowEnd);
      const { generatedAt: _a, ...a } = singleReport as DriftReportDocument & { generatedAt: unknown };
      const { generatedAt: _b, ...b } = mapReport as DriftReportDocument & { generatedAt: unknown };
      expect(b).toEqual(a);
      // The same EMF documents: per-feature metrics and the model's line (DriftScore, CapturedRecords).
      expect(emitted.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual(singleMetrics);

      // The ResultWriter's files, where the guide puts them: <Prefix>/<map run id>/manifest.json and SUCCEEDED_0.json.
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: driftReportKeys.mapFolder('churn', windowEnd) }));
      const names = (listed.Contents ?? []).map((o) => o.Key!.slice(driftReportKeys.mapFolder('churn', windowEnd).length));
      expect(names.filter((n) => /^[0-9a-f-]{36}\/manifest\.json$/.test(n))).toHaveLength(1);
      expect(names.filter((n) => /^[0-9a-f-]{36}\/SUCCEEDED_0\.json$/.test(n))).toHaveLength(1);
      // One partial per child; children are batches of 8 of the listing (the day's far object included when the prefix is the day's).
      expect(names.filter((n) => n.startsWith('partials/'))).toHaveLength(children);
      expect(children).toBeGreaterThanOrEqual(Math.ceil(shards / 8));
      expect(children).toBeLessThanOrEqual(Math.ceil((shards + 1) / 8));
    });
  }

  it('fails the whole window when one child fails (ToleratedFailurePercentage 0): DriftMapFailed, no report, FAILED_0.json in the results', async () => {
    const { windowEnd, event } = await windowWithShards(24, 3);
    emitted.length = 0;
    const executions: LocalExecution[] = [];
    await createHandler({ ports: ports(), map: mapPath(executions, true) })(event);
    const execution = executions[0]!;
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('DriftMapFailed');
    expect(execution.states).toEqual(['AnalyzeShards', 'AnalysisFailed']);
    expect(emitted).toEqual([]);
    await expect(readReport('churn', windowEnd)).rejects.toMatchObject({ name: 'NoSuchKey' });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: driftReportKeys.mapFolder('churn', windowEnd) }));
    expect((listed.Contents ?? []).some((o) => o.Key!.endsWith('/FAILED_0.json'))).toBe(true);
  });

  it('lists items as the guide shows them (Etag, Key, LastModified in epoch seconds, Size, StorageClass)', async () => {
    const key = `${artifactPrefixes.capture('shape')}e/v/2026/01/01/00/one.jsonl`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x\n' }));
    const asl = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: bucket, Prefix: artifactPrefixes.capture('shape') } },
          ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
          End: true,
        },
      },
    };
    const execution = await runPipelineLocally({ definition: JSON.stringify(asl), substitutions: {}, taskHandlers: {}, input: {}, s3, skipWaits: true });
    expect(execution.status).toBe('SUCCEEDED');
    const [item] = execution.output as Record<string, unknown>[];
    expect(Object.keys(item!).sort()).toEqual(['Etag', 'Key', 'LastModified', 'Size', 'StorageClass']);
    expect(item).toMatchObject({ Key: key, Size: 2, StorageClass: 'STANDARD', Etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) as unknown });
    expect(Number.isInteger(item!.LastModified)).toBe(true);
    expect(Math.abs((item!.LastModified as number) - Date.now() / 1000)).toBeLessThan(600);
  });

  it('chooses the single pass up to the threshold and the map above it', () => {
    expect(chooseAnalysisPath(SINGLE_PASS_MAX_BYTES)).toBe('single-pass');
    expect(chooseAnalysisPath(SINGLE_PASS_MAX_BYTES + 1)).toBe('distributed-map');
    expect(chooseAnalysisPath(0)).toBe('single-pass');
  });
});
