/**
 * The channels SageMaker's built-in algorithms read (text/csv: target first, no header, numbers
 * only; SageMaker Developer Guide "Common Data Formats for Training", XGBoost "Input/Output
 * Interface"), written from a registered dataset version on moto S3.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlgorithmCsvEncoder, channelOf, encodeRequest, featureEncoding, type FeatureEncoding } from '../../../lambdas/datasets/algorithm-csv';
import { baselineViews, buildBaseline } from '../../../lambdas/drift/baseline';
import { addPayload } from '../../../lambdas/drift/capture';
import { CurrentWindow } from '../../../lambdas/drift/window';
import { stageAlgorithmChannels } from '../../../lambdas/datasets/algorithm-channels';
import type { ColumnRule } from '../../../lambdas/datasets/catalog';
import { Invalid } from '../../../lambdas/shared/errors';
import { exampleConfig } from '../../support/stack';
import { motoClientConfig, uniqueName } from '../../support/aws';

const CONTRACTS = ['month-to-month', 'one-year', 'two-year'];
const columns: ColumnRule[] = [
  { name: 'tenure_months', type: 'integer', nullable: false, min: 0 },
  { name: 'monthly_charges', type: 'number', nullable: true },
  { name: 'contract', type: 'string', nullable: false, categories: CONTRACTS },
  { name: 'autopay', type: 'boolean', nullable: false },
  { name: 'churned', type: 'integer', nullable: false, min: 0, max: 1 },
];

function encode(encoding: FeatureEncoding, csv: string) {
  const lines: { channel: string; line: string }[] = [];
  const encoder = new AlgorithmCsvEncoder(encoding, 'part-0000.csv', (channel, line) => lines.push({ channel, line }));
  encoder.push(new TextEncoder().encode(csv));
  encoder.end();
  return lines;
}

describe('requests in the encoding, and the drift window that reads them back', () => {
  // Drop the boolean column: the window reads a boolean's 1/0 field as written, not as the baseline's "true"/"false".
  const features = columns.filter((c) => c.type !== 'boolean');
  const encoding = featureEncoding(features, 'churned');
  const records = Array.from({ length: 300 }, (_, i) => ({
    tenure_months: String(i % 72),
    monthly_charges: i % 17 === 0 ? '' : String(20 + (i % 50)),
    contract: CONTRACTS[(i * 7) % 3]!,
  }));
  const header = 'tenure_months,monthly_charges,contract,churned';
  const baseline = buildBaseline(
    { name: 'train.csv', bytes: new TextEncoder().encode(`${header}\n${records.map((r, i) => `${r.tenure_months},${r.monthly_charges},${r.contract},${i % 2}`).join('\n')}\n`) },
    { exclude: ['churned'], types: { tenure_months: 'numeric', monthly_charges: 'numeric', contract: 'categorical' } },
  );

  it('writes a record as its feature fields without the label, one-hot in declared order, and refuses what the encoding cannot hold', () => {
    const full: Record<string, string | number> = { tenure_months: 3, monthly_charges: 51.5, contract: 'one-year' };
    expect(encodeRequest(encoding, (name) => full[name])).toBe('3,51.5,0,1,0');
    const partial: Record<string, string> = { tenure_months: '3', contract: 'two-year' };
    expect(encodeRequest(encoding, (name) => partial[name])).toBe('3,,0,0,1');
    const unknown: Record<string, string | number> = { tenure_months: 3, monthly_charges: 1, contract: 'lifetime' };
    expect(() => encodeRequest(encoding, (name) => unknown[name])).toThrow(
      'contract: "lifetime" is not one of the declared categories (month-to-month, one-year, two-year)',
    );
  });

  it('with the baseline\'s csvColumns, a window of encoded CSV requests counts what a window of the same records by name counts', () => {
    const byName = new CurrentWindow(baselineViews(baseline), { seed: 1 });
    for (const record of records) byName.addRecord(record);
    const encoded = new CurrentWindow(baselineViews(baseline), { seed: 1, csvColumns: encoding.columns });
    for (const record of records) addPayload(encoded, { contentType: 'text/csv', encoding: 'CSV', data: `${encodeRequest(encoding, (name) => record[name as keyof typeof record])}\n` });
    expect(encoded.partial()).toEqual(byName.partial());
    // Read by position instead, the one-hot fields land on the wrong features.
    const positional = new CurrentWindow(baselineViews(baseline), { seed: 1 });
    for (const record of records) addPayload(positional, { contentType: 'text/csv', encoding: 'CSV', data: `${encodeRequest(encoding, (name) => record[name as keyof typeof record])}\n` });
    expect(positional.partial()).not.toEqual(byName.partial());
  });

  it('a one-hot group with no field or two fields set is a missing category', () => {
    const window = new CurrentWindow(baselineViews(baseline), { csvColumns: encoding.columns });
    addPayload(window, { contentType: 'text/csv', encoding: 'CSV', data: '1,2,0,0,0\n1,2,1,1,0\n1,2,0,0,1\n' });
    const contract = window.partial().features.find((f) => f.name === 'contract');
    expect(contract).toMatchObject({ type: 'categorical', missing: 2, counts: [['two-year', 1]] });
  });
});

describe('featureEncoding / AlgorithmCsvEncoder', () => {
  it('writes the label first, no header, numbers as they are, booleans 1/0 and a string one-hot in its declared category order', () => {
    const encoding = featureEncoding(columns, 'churned');
    expect(encoding.columns).toEqual(['tenure_months', 'monthly_charges', 'contract=month-to-month', 'contract=one-year', 'contract=two-year', 'autopay']);
    // The header's order is not the declared order: columns are found by name.
    const lines = encode(encoding, 'contract,churned,autopay,tenure_months,monthly_charges\none-year,1,true,12,70.5\ntwo-year,0,FALSE,40,\n');
    expect(lines.map((l) => l.line)).toEqual(['1,12,70.5,0,1,0,1', '0,40,,0,0,1,0']);
    for (const { line } of lines) expect(line.split(',').every((v) => v === '' || Number.isFinite(Number(v)))).toBe(true);
  });

  it('refuses what the format cannot hold, naming the file, line and column', () => {
    const encoding = featureEncoding(columns, 'churned');
    const header = 'tenure_months,monthly_charges,contract,autopay,churned\n';
    expect(() => encode(encoding, `${header}3,20,three-year,true,0\n`)).toThrow(/part-0000\.csv line 2, column contract: "three-year" is not one of the declared categories/);
    expect(() => encode(encoding, `${header}3,20,one-year,true,\n`)).toThrow(/line 2, column churned: label "" is not a number/);
    expect(() => encode(encoding, `${header}3,cheap,one-year,true,1\n`)).toThrow(/column monthly_charges: "cheap" is not a number/);
    expect(() => encode(encoding, 'tenure_months,contract,autopay,churned\n1,one-year,true,1\n')).toThrow(/line 1, column monthly_charges: declared column missing from the header/);
    expect(() => featureEncoding(columns.map((c) => (c.name === 'contract' ? { ...c, categories: undefined } : c)), 'churned')).toThrow(Invalid);
    expect(() => featureEncoding(columns, 'contract')).toThrow(/string; the algorithm CSV format takes a numeric label/);
  });

  it('the shipped example\'s columns encode once contract declares its categories', () => {
    const dataset = exampleConfig().models[0]!.dataset;
    const declared = dataset.columns!.map((c) => (c.name === 'contract' && !c.categories ? { ...c, categories: CONTRACTS } : c));
    expect(featureEncoding(declared, dataset.targetColumn!).columns).toHaveLength(6);
  });

  it('splits by content: the same record always lands in the same channel, about the share asked for', () => {
    expect(channelOf('1,2,3', 0.2)).toBe(channelOf('1,2,3', 0.2));
    const validation = Array.from({ length: 5000 }, (_, i) => channelOf(`0,${i}`, 0.2)).filter((c) => c === 'validation').length;
    expect(validation / 5000).toBeGreaterThan(0.17);
    expect(validation / 5000).toBeLessThan(0.23);
  });
});

describe('stageAlgorithmChannels (moto S3)', () => {
  const s3 = new S3Client(motoClientConfig());
  const datasets = uniqueName('datasets');
  const artifacts = uniqueName('artifacts');
  beforeAll(async () => {
    for (const bucket of [datasets, artifacts]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: datasets, VersioningConfiguration: { Status: 'Enabled' } }));
  });
  async function put(key: string, body: string) {
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: datasets, Key: key, Body: body }));
    return { bucket: datasets, key, versionId: VersionId!, sha256: 'unused', size: body.length, rows: 0 };
  }
  const text = async (key: string) => (await s3.send(new GetObjectCommand({ Bucket: artifacts, Key: key }))).Body!.transformToString();

  it('writes train/ and holdout/validation/ from the exact object versions, and holdout/encoding.json beside the validation channel; the channels are InputDataConfig entries', async () => {
    const header = 'tenure_months,monthly_charges,contract,autopay,churned';
    const rows = Array.from({ length: 200 }, (_, i) => `${i % 72},${20 + (i % 50)},${CONTRACTS[i % 3]},${i % 2 === 0},${i % 2}`);
    const first = await put('datasets/churn/b1/part-0000.csv', `${header}\n${rows.slice(0, 100).join('\n')}\n`);
    const second = await put('datasets/churn/b1/part-0001.csv', `${header}\n${rows.slice(100).join('\n')}\n`);
    // Written after registration: the staged channels still read the registered versions.
    await put('datasets/churn/b1/part-0000.csv', `${header}\n1,1,one-year,true,1\n`);
    const encoding = featureEncoding(columns, 'churned');

    const staged = await stageAlgorithmChannels(s3, [first, second], encoding, { bucket: artifacts, prefix: 'models/churn/run-1/channels/' });

    expect(staged.rows.train + staged.rows.validation).toBe(200);
    expect(staged.rows.validation).toBeGreaterThan(10);
    expect(staged.channels).toEqual([
      { ChannelName: 'train', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${artifacts}/models/churn/run-1/channels/train/`, S3DataDistributionType: 'FullyReplicated' } } },
      expect.objectContaining({ ChannelName: 'validation', DataSource: { S3DataSource: expect.objectContaining({ S3Uri: `s3://${artifacts}/models/churn/run-1/channels/holdout/validation/` }) as unknown } }),
    ]);
    expect(staged.holdoutUri).toBe(`s3://${artifacts}/models/churn/run-1/channels/holdout/`);
    const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: artifacts, Prefix: 'models/churn/run-1/channels/' }));
    expect(Contents?.map((o) => o.Key).sort()).toEqual(
      ['holdout/encoding.json', 'holdout/validation/part-0000.csv', 'holdout/validation/part-0001.csv', 'train/part-0000.csv', 'train/part-0001.csv'].map((k) => `models/churn/run-1/channels/${k}`),
    );
    const train = (await text('models/churn/run-1/channels/train/part-0000.csv')).trim().split('\n');
    expect(train[0]).not.toContain('tenure_months');
    for (const line of train) expect(line.split(',')).toHaveLength(1 + encoding.columns.length);
    expect(JSON.parse(await text('models/churn/run-1/channels/holdout/encoding.json'))).toEqual(encoding);
  });

  it('a record the format cannot hold fails the staging naming the object and line; no encoding.json is written', async () => {
    const bad = await put('datasets/churn/b2/part-0000.csv', 'tenure_months,monthly_charges,contract,autopay,churned\n1,2,one-year,true,1\n1,2,lifetime,true,0\n');
    await expect(stageAlgorithmChannels(s3, [bad], featureEncoding(columns, 'churned'), { bucket: artifacts, prefix: 'models/churn/run-2/channels/' })).rejects.toThrow(
      `s3://${datasets}/datasets/churn/b2/part-0000.csv line 3, column contract: "lifetime" is not one of the declared categories`,
    );
    const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: artifacts, Prefix: 'models/churn/run-2/channels/holdout/encoding.json' }));
    expect(Contents ?? []).toEqual([]);
  });
});
