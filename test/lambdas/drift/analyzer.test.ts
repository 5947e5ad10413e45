/**
 * The analyzer against the moto server: S3 (baseline, data capture, ground truth) and the
 * metadata table (live version). CloudWatch metrics are EMF log lines, asserted as emitted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseline } from '../../../lambdas/drift/baseline';
import { compareTables } from '../../../lambdas/drift/compare-tables';
import { createHandler } from '../../../lambdas/drift/handler';
import { awsDriftPorts, baselineFromObjects, readBaseline, writeBaseline } from '../../../lambdas/drift/store';
import { parseTable } from '../../../lambdas/drift/table';
import { keys } from '../../../lambdas/shared/contracts';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { artifactPrefixes, driftReportKeys, hourPartition } from '../../../lambdas/shared/layout';
import type { DriftReportDocument } from '../../../lambdas/drift/report';
import { formatNumber } from '../../../lambdas/drift/report-html';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { createMetadataTable } from '../../support/table';

const FIXTURES = join(import.meta.dirname, '../../fixtures/drift');
const MINUTE = 60_000;

interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

describe('drift analyzer on S3 and DynamoDB (moto)', () => {
  const s3 = new S3Client(motoClientConfig());
  const documents = createDocumentClient(motoClientConfig());
  const bucket = uniqueName('artifacts');
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  const emitted: EmfDocument[] = [];
  const logs: string[] = [];
  const windowEnd = new Date(Math.ceil((Date.now() + MINUTE) / MINUTE) * MINUTE);
  const windowStart = new Date(windowEnd.getTime() - 15 * MINUTE);

  const handler = () =>
    createHandler({
      ports: awsDriftPorts({
        s3,
        documents,
        bucket,
        tableName: table.tableName,
        emit: (line) => emitted.push(JSON.parse(line) as EmfDocument),
        log: (level, message) => logs.push(`${level}: ${message}`),
      }),
    });

  const baselineBytes = readFileSync(join(FIXTURES, 'stable/baseline.csv'));
  const currentText = readFileSync(join(FIXTURES, 'shifted/current.csv'), 'utf8');
  const currentLines = currentText.trimEnd().split('\n');
  const rowsInWindow = currentLines.slice(1, 401);

  const capture = (id: string, at: Date, input: { data: string; encoding: string; type: string }, output = '0.5') =>
    JSON.stringify({
      captureData: {
        endpointInput: { observedContentType: input.type, mode: 'INPUT', data: input.data, encoding: input.encoding },
        endpointOutput: { observedContentType: 'text/csv; charset=utf-8', mode: 'OUTPUT', data: output, encoding: 'CSV' },
      },
      eventMetadata: { eventId: `event-${id}`, inferenceId: id, inferenceTime: at.toISOString() },
      eventVersion: '0',
    });

  beforeAll(async () => {
    table = await createMetadataTable();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.version('churn', 3), ...keys.versionByStatus('churn', 'LIVE', 3), model: 'churn', version: 3, status: 'LIVE' },
      }),
    );
    await writeBaseline(s3, bucket, 'churn', 3, buildBaseline({ name: 'baseline.csv', bytes: baselineBytes }));

    // 400 records in the window: CSV as text, CSV as BASE64, and JSON objects, spread over two files.
    const header = currentLines[0]!.split(',');
    const inWindow = rowsInWindow.map((row, i) => {
      const at = new Date(windowStart.getTime() + ((i % 14) + 0.5) * MINUTE);
      const predictions = ['0.9', '0.8', '0.3', '0.1'];
      const output = predictions[i] ?? '0.5';
      if (i % 3 === 1) return capture(`id-${i}`, at, { data: Buffer.from(row).toString('base64'), encoding: 'BASE64', type: 'text/csv' }, output);
      if (i % 3 === 2) {
        const fields = parseTable('row.csv', Buffer.from(`${currentLines[0]}\n${row}\n`));
        const record = Object.fromEntries(
          header.map((name) => {
            const cell = fields.categorical([name]).get(name)!;
            const code = cell.codes[0]!;
            return [name, code < 0 ? null : name === 'plan' || name === 'region' ? cell.categories[code] : Number(cell.categories[code])];
          }),
        );
        return capture(`id-${i}`, at, { data: JSON.stringify(record), encoding: 'JSON', type: 'application/json' }, output);
      }
      return capture(`id-${i}`, at, { data: row, encoding: 'CSV', type: 'text/csv' }, output);
    });
    // Outside the window: an hour before (joined with a late label, not in the drift) and after it.
    const early = capture('id-early', new Date(windowStart.getTime() - 60 * MINUTE), { data: currentLines[1]!, encoding: 'CSV', type: 'text/csv' }, '0.05');
    const late = capture('id-late', new Date(windowEnd.getTime() + MINUTE), { data: currentLines[2]!, encoding: 'CSV', type: 'text/csv' });
    const prefix = `${artifactPrefixes.capture('churn')}churn-endpoint/AllTraffic/`;
    const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put(`${prefix}${hourPartition(windowStart)}a.jsonl`, [...inWindow.slice(0, 200), 'not json at all'].join('\n') + '\n');
    await put(`${prefix}${hourPartition(new Date(windowEnd.getTime() - MINUTE))}b.jsonl`, inWindow.slice(200).join('\n') + '\n');
    await put(`${prefix}${hourPartition(new Date(windowStart.getTime() - 60 * MINUTE))}c.jsonl`, `${early}\n`);
    await put(`${prefix}${hourPartition(new Date(windowEnd.getTime() + MINUTE))}d.jsonl`, `${late}\n`);
    // Labels written now (inside the window): four in-window inferences and the early one.
    const labels = [
      { inferenceId: 'id-0', label: 1 },
      { inferenceId: 'id-1', label: 0 },
      { inferenceId: 'id-2', label: 1 },
      { inferenceId: 'id-3', label: 0 },
      { inferenceId: 'id-early', label: 0 },
      { inferenceId: 'id-unknown', label: 1 },
    ];
    await put(`${artifactPrefixes.groundTruth('churn')}${hourPartition(new Date())}labels.jsonl`, labels.map((l) => JSON.stringify(l)).join('\n'));
  });

  afterAll(async () => {
    await table.drop();
    s3.destroy();
  });

  it('publishes per-feature drift and DriftScore = max PSI for the live version, as EMF', async () => {
    emitted.length = 0;
    const result = await handler()({
      model: 'churn',
      windowEnd: windowEnd.toISOString(),
      windowMinutes: 15,
      psiThreshold: 0.2,
      objectiveMetric: 'validation:auc',
    });
    expect(result).toMatchObject({ status: 'analyzed', version: 3, capturedRecords: 400, malformedRecords: 1 });

    // The same statistics as the CLI computes on the same rows (samples are complete at this size).
    const expected = compareTables(
      parseTable('baseline.csv', baselineBytes),
      parseTable('current.csv', Buffer.from([currentLines[0], ...rowsInWindow].join('\n'))),
      0.2,
    );
    const featureDocs = emitted.filter((d) => d.Feature !== undefined);
    expect(featureDocs.map((d) => d.Feature).sort()).toEqual(Object.keys(expected.features).sort());
    for (const doc of featureDocs) {
      const want = expected.features[doc.Feature as string]!;
      expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Caretaker', Dimensions: [['Model', 'Feature']] });
      expect(doc.Model).toBe('churn');
      expect(doc.PSI).toBeCloseTo(want.psi, 12);
      expect(doc.MissingRate).toBeCloseTo(want.missingRate.current, 12);
      if (want.type === 'numeric') expect(doc.KSStatistic).toBeCloseTo(want.ks.statistic!, 12);
      else expect(doc.ChiSquarePValue).toBeCloseTo(want.chiSquare.pValue!, 12);
      expect(doc._aws.Timestamp).toBe(windowEnd.getTime());
    }
    const modelDoc = emitted.find((d) => d.Feature === undefined)!;
    expect(modelDoc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Model']]);
    expect(modelDoc._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining(['DriftScore', 'CapturedRecords', 'DriftedFeatures', 'ModelQuality', 'LabeledRecords']),
    );
    expect(modelDoc.DriftScore).toBeCloseTo(Math.max(...Object.values(expected.features).map((f) => f.psi)), 12);
    expect(modelDoc.CapturedRecords).toBe(400);
    expect(modelDoc.Drifted).toEqual(expected.drifted);
  });

  const getText = async (key: string) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { text: await object.Body!.transformToString(), contentType: object.ContentType };
  };

  it('writes the window\'s report next to its metrics: report.json as the EMF says, report.html charting every feature, latest.json naming both', async () => {
    emitted.length = 0;
    const result = await handler()({ model: 'churn', windowEnd: windowEnd.toISOString(), windowMinutes: 15, psiThreshold: 0.2 });
    const keys = driftReportKeys.window('churn', windowEnd);
    expect(keys.folder).toBe(`reports/churn/${windowEnd.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z/`);
    expect(result).toMatchObject({ status: 'analyzed', reportKeys: { json: keys.json, html: keys.html }, reportStatus: 'drifted' });

    const json = await getText(keys.json);
    expect(json.contentType).toBe('application/json');
    const doc = JSON.parse(json.text) as DriftReportDocument;
    expect(doc).toMatchObject({
      model: 'churn',
      window: { start: windowStart.toISOString(), end: windowEnd.toISOString() },
      baseline: { version: 3, location: 'baselines/churn/3/baseline.json', rows: 3000 },
      current: { records: 400, malformedRecords: 1 },
      psiThreshold: 0.2,
      status: 'drifted',
    });
    const modelDoc = emitted.find((d) => d.Feature === undefined)!;
    expect(doc.driftScore).toBe(modelDoc.DriftScore);
    expect([...doc.drifted].sort()).toEqual([...(modelDoc.Drifted as string[])].sort());
    expect(modelDoc.Report).toBe(keys.html);
    for (const feature of doc.features) {
      const metrics = emitted.find((d) => d.Feature === feature.name)!;
      expect(feature.psi).toBe(metrics.PSI);
      expect(feature.missingRate.current).toBe(metrics.MissingRate);
    }

    const html = await getText(keys.html);
    expect(html.contentType).toBe('text/html; charset=utf-8');
    for (const feature of doc.features) {
      expect(html.text).toMatch(new RegExp(`data-feature="${feature.name}">\\s*<h2>${feature.name} [\\s\\S]*?<svg class="chart"`));
      expect(html.text).toContain(`<td class="psi">${formatNumber(feature.psi)}</td>`);
    }
    expect(html.text).not.toMatch(/https?:\/\/|@import|url\(|<script|<link/i);

    expect(JSON.parse((await getText(driftReportKeys.latest('churn'))).text)).toMatchObject({
      model: 'churn',
      status: 'drifted',
      report: { json: keys.json, html: keys.html },
      window: { end: windowEnd.toISOString() },
    });
  });

  it('a window with fewer than minRecords records: the report says too few, and no DriftScore reaches the alarm', async () => {
    emitted.length = 0;
    const result = await handler()({ model: 'churn', windowEnd: windowEnd.toISOString(), windowMinutes: 15, psiThreshold: 0.2, minRecords: 401 });
    expect(result).toMatchObject({ status: 'analyzed', capturedRecords: 400, reportStatus: 'too-few-records' });
    expect(result).not.toHaveProperty('driftScore', expect.anything());
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ Model: 'churn', CapturedRecords: 400, ReportStatus: 'too-few-records' });
    expect(emitted[0]).not.toHaveProperty('DriftScore');
    const doc = JSON.parse((await getText(driftReportKeys.window('churn', windowEnd).json)).text) as DriftReportDocument;
    expect(doc).toMatchObject({ status: 'too-few-records', drifted: [], driftScore: null, minRecords: 401 });
    expect(doc.warnings[0]).toMatch(/Only 400 records/);
  });

  it('joins labels with captured predictions, including from before the window, for the objective metric', async () => {
    emitted.length = 0;
    const result = await handler()({ model: 'churn', windowEnd: windowEnd.toISOString(), windowMinutes: 15, psiThreshold: 0.2, objectiveMetric: 'validation:auc' });
    // Scores 0.9/1, 0.8/0, 0.3/1, 0.1/0 and the early 0.05/0: positives outrank 5 of 6 negative pairs.
    expect(result).toMatchObject({ status: 'analyzed', quality: { metric: 'auc', labeled: 5 } });
    const modelDoc = emitted.find((d) => d.Feature === undefined)!;
    expect(modelDoc.ModelQuality).toBeCloseTo(5 / 6, 12);
    expect(modelDoc.LabeledRecords).toBe(5);
    expect(modelDoc.QualityMetric).toBe('auc');
  });

  it('publishes no DriftScore for an empty window (the alarm treats it as missing data)', async () => {
    emitted.length = 0;
    const emptyEnd = new Date(windowStart.getTime() - 3 * 60 * MINUTE);
    const result = await handler()({ model: 'churn', windowEnd: emptyEnd.toISOString(), windowMinutes: 15, psiThreshold: 0.2 });
    expect(result).toMatchObject({ status: 'analyzed', capturedRecords: 0 });
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ Model: 'churn', CapturedRecords: 0 });
    expect(emitted[0]).not.toHaveProperty('DriftScore');
  });

  it('skips a model with no live version and publishes nothing', async () => {
    emitted.length = 0;
    const result = await handler()({ model: 'fraud', windowMinutes: 15, psiThreshold: 0.2 });
    expect(result).toEqual({ status: 'skipped', reason: 'no live version', version: undefined });
    expect(emitted).toEqual([]);
    expect(logs).toContain('warn: drift analysis skipped: no live version');
  });

  it('rejects an event without the model settings, naming the field', async () => {
    await expect(handler()({ model: 'churn', windowMinutes: 15 })).rejects.toMatchObject({
      name: 'Invalid',
      details: [expect.objectContaining({ field: 'psiThreshold' })],
    });
  });

  it('builds a version baseline from a dataset version\'s objects, merged, and reads back what it stored', async () => {
    const lines = baselineBytes.toString('utf8').trimEnd().split('\n');
    const put = async (key: string, rows: string[]) =>
      (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: [lines[0], ...rows].join('\n') }))).VersionId;
    const objects = [
      { bucket, key: 'datasets/churn/part-1.csv', versionId: await put('datasets/churn/part-1.csv', lines.slice(1, 1201)) },
      { bucket, key: 'datasets/churn/part-2.csv', versionId: await put('datasets/churn/part-2.csv', lines.slice(1201)) },
    ];
    const merged = await baselineFromObjects(s3, objects, { exclude: ['plan'] });
    const whole = buildBaseline({ name: 'baseline.csv', bytes: baselineBytes }, { exclude: ['plan'] });
    expect(merged.rows).toBe(whole.rows);
    expect(merged.features.map((f) => f.name)).toEqual(['income', 'age', 'visits', 'score_full', 'region']);
    // 3000 rows fit the sample capacity, so the merge is exact.
    expect(merged.features).toEqual(whole.features);
    await writeBaseline(s3, bucket, 'churn', 4, merged);
    expect(await readBaseline(s3, bucket, 'churn', 4)).toEqual(merged);
    expect(await readBaseline(s3, bucket, 'churn', 99)).toBeUndefined();
  });
});
