/**
 * The Distributed Map path run offline on the synthesized template's ASL: the analyzer (with its
 * threshold forced down) hands the window to the map; the local runner lists the capture
 * objects (ItemReader on moto S3), batches them, runs each child through the real shard
 * handler, writes the ResultWriter's manifest and result files, and the reducer merges the
 * partials and publishes. Over 1, 8 and 64 capture objects the published report is the single
 * pass's over the same records: counts identical, and with every value in the samples, every
 * statistic. With ground truth in the window, the ModelQuality the map publishes is the single
 * pass's to the last bit: the same predictions joined (lookback included, one join per label, the
 * one the single pass meets first) and added in the same order.
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
const HOUR = 60 * MINUTE;
/** The label lookback both paths are given: long enough to reach an object two hours back, short enough to stay clear of the far object. */
const LOOKBACK_HOURS = 2;
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

  const captureWithOutput = (id: string, at: Date, data: string, prediction: string) =>
    JSON.stringify({
      captureData: {
        endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data, encoding: 'CSV' },
        endpointOutput: { observedContentType: 'text/csv; charset=utf-8', mode: 'OUTPUT', data: prediction, encoding: 'CSV' },
      },
      eventMetadata: { eventId: `event-${id}`, inferenceId: id, inferenceTime: at.toISOString() },
      eventVersion: '0',
    });

  /** One model per case, so no case's capture, labels or reports are under another's prefix. */
  const modelOf = (offset: number) => `churn-${offset}`;

  beforeAll(async () => {
    table = await createMetadataTable();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const baseline = buildBaseline({ name: 'baseline.csv', bytes: baselineBytes });
    for (const offset of [0, 1, 2, 3, 4]) {
      const model = modelOf(offset);
      await documents.send(
        new PutCommand({ TableName: table.tableName, Item: { ...keys.version(model, 3), ...keys.versionByStatus(model, 'LIVE', 3), model, version: 3, status: 'LIVE' } }),
      );
      await writeBaseline(s3, bucket, model, 3, baseline);
    }
  });

  afterAll(async () => {
    await table.drop();
    s3.destroy();
  });

  /**
   * A two-hour window starting on this hour, so it holds now and the next hour (ground truth counts
   * by the time S3 stamps its objects: labels written during the test must fall in the window), and
   * its capture in `shards` objects.
   *
   * With `labels`: predictions in every capture record, a label for every fourth window record,
   * and one more object in the lookback range (two hours before the window) whose records are
   * joined but not counted as drift. Some labels are met twice (one join only, the first in the
   * single pass's reading order) and some cannot be joined (a multi-record request, a record before
   * the lookback, an unknown id). `labeled` is the count the single pass should join.
   */
  async function windowWithShards(shards: number, offset: number, labels = false) {
    const windowStart = new Date(Math.floor(Date.now() / HOUR) * HOUR);
    const windowEnd = new Date(windowStart.getTime() + 2 * HOUR);
    const model = modelOf(offset);
    const prefix = `${artifactPrefixes.capture(model)}churn-endpoint/AllTraffic/`;
    const put = (key: string, lines: string[]) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${lines.join('\n')}\n` }));
    // Scores with all their digits: a sum of squared or absolute errors then depends on the order of its terms.
    const prediction = (i: number) => String(Math.sqrt(i + 0.5) % 1);
    const objects: string[][] = Array.from({ length: shards }, () => []);
    rows.forEach((row, i) => {
      const at = new Date(windowStart.getTime() + ((i % 29) + 0.5) * MINUTE);
      objects[(i * 7) % shards]!.push(labels ? captureWithOutput(`id-${i}`, at, row, prediction(i)) : capture(`id-${i}`, at, row));
    });
    const groundTruth: { inferenceId: string; label: number }[] = [];
    let labeled = 0;
    if (labels) {
      rows.forEach((_, i) => {
        if (i % 4 === 0) groundTruth.push({ inferenceId: `id-${i}`, label: (i * 13) % 7 < 3 ? 1 : 0 });
      });
      labeled += groundTruth.length;
      const at = (minutes: number) => new Date(windowStart.getTime() + minutes * MINUTE);
      // Met again in the window, in the last object (the first one the single pass lists when it is in the slack hour): not joined twice.
      objects[shards - 1]!.push(captureWithOutput('id-8', at(10), rows[8]!, '0.77'), captureWithOutput('id-12', at(11), rows[12]!, '0.66'));
      // Two records in one request: a label names one inference, so it is not joined.
      objects[0]!.push(captureWithOutput('multi', at(12), `${rows[1]}\n${rows[2]}`, '0.5'));
      groundTruth.push({ inferenceId: 'multi', label: 1 }, { inferenceId: 'unknown', label: 0 }, { inferenceId: 'too-early', label: 1 });
      // The lookback object: listed first, so its id-0 is the join of id-0's label; its early-* records are joined, not drift; too-early is before the lookback.
      const early = Array.from({ length: 10 }, (_, k) => {
        groundTruth.push({ inferenceId: `early-${k}`, label: k % 2 });
        return captureWithOutput(`early-${k}`, at(-100 + k), rows[k]!, String(k / 20));
      });
      labeled += early.length;
      const lookback = [...early, captureWithOutput('id-0', at(-80), rows[0]!, '0.99'), captureWithOutput('too-early', at(-LOOKBACK_HOURS * 60 - 10), rows[3]!, '0.9'), 'not json'];
      await put(`${prefix}${hourPartition(at(-100))}lookback-${offset}.jsonl`, lookback);
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: `${artifactPrefixes.groundTruth(model)}${hourPartition(new Date())}labels.jsonl`, Body: groundTruth.map((l) => JSON.stringify(l)).join('\n') }),
      );
    }
    for (const [i, lines] of objects.entries()) {
      // Half the objects in the window's first hour, half in the hour before it (the single pass's slack hour).
      const hour = hourPartition(new Date(windowStart.getTime() - (i % 2) * HOUR));
      await put(`${prefix}${hour}part-${offset}-${i}.jsonl`, [...lines, 'not json']);
    }
    // Outside the window's hours and the lookback's: skipped by key when under the map's common prefix; the single pass never lists it.
    const far = hourPartition(new Date(windowStart.getTime() - 5 * HOUR));
    await put(`${prefix}${far}far-${offset}.jsonl`, [capture('far', windowStart, rows[0]!)]);
    const event = { model, windowEnd: windowEnd.toISOString(), windowMinutes: 120, psiThreshold: 0.2, minRecords: 10 };
    return { model, windowEnd, labeled, event };
  }

  const emitted: string[] = [];
  const analyzer = (map?: ReturnType<typeof mapPath>) =>
    createHandler({
      ports: awsDriftPorts({ s3, documents, bucket, tableName: table.tableName, emit: (line) => emitted.push(line), log: () => undefined }),
      map,
      labelLookbackHours: LOOKBACK_HOURS,
    });

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

  for (const [offset, shards, objectiveMetric] of [[0, 1, 'validation:auc'], [1, 8, 'validation:rmse'], [2, 64, 'validation:mae']] as const) {
    it(`over ${shards} capture objects publishes the single pass's report and metrics, ModelQuality (${objectiveMetric}) included`, async () => {
      const { model, windowEnd, labeled, event } = await windowWithShards(shards, offset, true);
      emitted.length = 0;
      const single = (await analyzer()({ ...event, objectiveMetric })) as AnalyzerResult & { status: 'analyzed' };
      expect(single.status).toBe('analyzed');
      // The window's records and the extra ones (id-8, id-12 met twice, the two-record request): the lookback's are joined, not counted.
      expect(single.capturedRecords).toBe(404);
      expect(single.quality).toMatchObject({ metric: objectiveMetric.slice('validation:'.length), labeled });
      const singleReport = await readReport(model, windowEnd);
      const singleMetrics = emitted.map((line) => JSON.parse(line) as Record<string, unknown>);

      emitted.length = 0;
      const executions: LocalExecution[] = [];
      const delegated = await analyzer(mapPath(executions))({ ...event, objectiveMetric });
      // The window's objects and the lookback's: the map reads what the single pass read.
      expect(delegated).toMatchObject({ status: 'delegated', version: 3, captureObjects: shards + 1, executionName: mapExecutionName(model, windowEnd) });
      expect(executions).toHaveLength(1);
      const execution = executions[0]!;
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
      expect(execution.output).toMatchObject({ status: 'analyzed', capturedRecords: 404, quality: single.quality });
      const children = (execution.output as { shards: number }).shards;

      const mapReport = await readReport(model, windowEnd);
      const { generatedAt: _a, ...a } = singleReport as DriftReportDocument & { generatedAt: unknown };
      const { generatedAt: _b, ...b } = mapReport as DriftReportDocument & { generatedAt: unknown };
      expect(b).toEqual(a);
      // The same EMF documents: per-feature metrics and the model's line (DriftScore, CapturedRecords, ModelQuality, LabeledRecords).
      const mapMetrics = emitted.map((line) => JSON.parse(line) as Record<string, unknown>);
      const modelLine = (docs: Record<string, unknown>[]) => docs.find((d) => d.Feature === undefined)!;
      expect(modelLine(mapMetrics)).toMatchObject({ LabeledRecords: labeled, QualityMetric: single.quality!.metric });
      expect(modelLine(mapMetrics).ModelQuality).toBe(modelLine(singleMetrics).ModelQuality);
      expect(mapMetrics).toEqual(singleMetrics);

      // The ResultWriter's files, where the guide puts them: <Prefix>/<map run id>/manifest.json and SUCCEEDED_0.json.
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: driftReportKeys.mapFolder(model, windowEnd) }));
      const names = (listed.Contents ?? []).map((o) => o.Key!.slice(driftReportKeys.mapFolder(model, windowEnd).length));
      expect(names.filter((n) => /^[0-9a-f-]{36}\/manifest\.json$/.test(n))).toHaveLength(1);
      expect(names.filter((n) => /^[0-9a-f-]{36}\/SUCCEEDED_0\.json$/.test(n))).toHaveLength(1);
      // One partial per child; children are batches of 8 of the listing (the far object included when the prefix holds its hour).
      expect(names.filter((n) => n.startsWith('partials/'))).toHaveLength(children);
      expect(children).toBeGreaterThanOrEqual(Math.ceil((shards + 1) / 8));
      expect(children).toBeLessThanOrEqual(Math.ceil((shards + 2) / 8));
    });
  }

  it('without ground truth, reads only the window\'s hours, as the single pass does, and publishes no ModelQuality', async () => {
    const { model, windowEnd, event } = await windowWithShards(8, 3);
    emitted.length = 0;
    const single = (await analyzer()({ ...event, objectiveMetric: 'validation:auc' })) as AnalyzerResult & { status: 'analyzed' };
    expect(single).toMatchObject({ status: 'analyzed', capturedRecords: 400 });
    expect(single.quality).toBeUndefined();
    const singleMetrics = emitted.map((line) => JSON.parse(line) as Record<string, unknown>);
    emitted.length = 0;
    const executions: LocalExecution[] = [];
    expect(await analyzer(mapPath(executions))({ ...event, objectiveMetric: 'validation:auc' })).toMatchObject({ status: 'delegated', captureObjects: 8 });
    expect(executions[0]!.status).toBe('SUCCEEDED');
    const mapMetrics = emitted.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(mapMetrics).toEqual(singleMetrics);
    expect(mapMetrics.find((d) => d.Feature === undefined)).not.toHaveProperty('ModelQuality');
    await expect(readReport(model, windowEnd)).resolves.toMatchObject({ current: { records: 400 } });
  });

  it('fails the whole window when one child fails (ToleratedFailurePercentage 0): DriftMapFailed, no report, FAILED_0.json in the results', async () => {
    const { model, windowEnd, event } = await windowWithShards(24, 4);
    emitted.length = 0;
    const executions: LocalExecution[] = [];
    await analyzer(mapPath(executions, true))(event);
    const execution = executions[0]!;
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('DriftMapFailed');
    expect(execution.states).toEqual(['AnalyzeShards', 'AnalysisFailed']);
    expect(emitted).toEqual([]);
    await expect(readReport(model, windowEnd)).rejects.toMatchObject({ name: 'NoSuchKey' });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: driftReportKeys.mapFolder(model, windowEnd) }));
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
