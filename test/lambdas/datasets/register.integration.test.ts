import { createHash } from 'node:crypto';
import { CreateBucketCommand, DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetCatalog } from '../../../lambdas/datasets/catalog';
import { createRegisterHandler, createTrainableHandler } from '../../../lambdas/datasets/handlers';
import {
  assertTrainable,
  getDatasetVersion,
  listDatasets,
  listDatasetVersions,
  listLineage,
  recordLineage,
  stageTrainingData,
} from '../../../lambdas/datasets/queries';
import { copyObjectVersion, digestStream, openObject } from '../../../lambdas/datasets/objects';
import { contentAddress, DatasetNotTrainable, type DatasetPorts } from '../../../lambdas/datasets/records';
import { registerDatasetVersion } from '../../../lambdas/datasets/register';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { Invalid, NotFound } from '../../../lambdas/shared/errors';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { createMetadataTable } from '../../support/table';

const HEADER = 'tenure_months,monthly_charges,contract,churned';

function csv(rows: number, options: { offset?: number; header?: string } = {}): string {
  const lines = [options.header ?? HEADER];
  for (let i = 0; i < rows; i++) {
    const n = i + (options.offset ?? 0);
    lines.push(`${n % 72},${(20 + (n % 50)).toFixed(2)},"${n % 3 === 0 ? 'month, to month' : 'annual'}",${n % 2}`);
  }
  return `${lines.join('\n')}\n`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('dataset registration against S3 and DynamoDB (moto)', () => {
  const s3 = new S3Client(motoClientConfig());
  const db = createDocumentClient(motoClientConfig());
  const bucket = uniqueName('datasets');
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let ports: DatasetPorts;
  const catalog: DatasetCatalog = {
    churn: {
      minRows: 10,
      maxRows: 100_000,
      columns: [
        { name: 'tenure_months', type: 'integer', nullable: false, min: 0, max: 600 },
        { name: 'monthly_charges', type: 'number', nullable: false, min: 0 },
        { name: 'contract', type: 'string', nullable: false },
        { name: 'churned', type: 'integer', nullable: false, min: 0, max: 1 },
      ],
      models: [{ name: 'churn' }],
    },
    // No declared columns: the schema is inferred, or declared at registration.
    clicks: { models: [{ name: 'ctr' }] },
    // Only for the FAILED-version tests, so the churn dataset's latest passed version stays put.
    strict: {
      minRows: 5,
      maxPsi: 0.5,
      columns: [
        { name: 'amount', type: 'number', nullable: true, maxNullRate: 0.2, min: 0, max: 100 },
        { name: 'kind', type: 'string', nullable: false },
      ],
      models: [{ name: 'fraud' }],
    },
  };

  async function put(key: string, body: string): Promise<string> {
    const result = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return result.VersionId!;
  }

  async function itemsOf(dataset: string): Promise<number> {
    const result = await db.send(
      new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `DATASET#${dataset}` } }),
    );
    return result.Items?.length ?? 0;
  }

  beforeAll(async () => {
    table = await createMetadataTable();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    ports = { s3, db, tableName: table.tableName, bucket, catalog, now: () => new Date('2026-11-22T12:00:00.000Z') };
  });
  afterAll(async () => {
    await table.drop();
    s3.destroy();
  });

  describe('a valid dataset', () => {
    const a = csv(40);
    const b = csv(30, { offset: 40 });
    let versionA: string;

    it('registers real objects with their S3 version ids, sizes, sha256 and row counts', async () => {
      versionA = await put('datasets/churn/part-a.csv', a);
      const versionB = await put('datasets/churn/part-b.csv', b);
      const { record, created } = await registerDatasetVersion(ports, {
        dataset: 'churn',
        objects: [{ key: 'datasets/churn/part-a.csv', versionId: versionA, sha256: sha256(a) }, { key: 'datasets/churn/part-b.csv' }],
        registeredBy: 'arn:aws:iam::123456789012:role/data-scientist',
      });
      expect(created).toBe(true);
      expect(record).toMatchObject({
        dataset: 'churn',
        datasetVersion: 'v000001',
        sequence: 1,
        rowCount: 70,
        validation: { status: 'PASSED', reasons: [] },
        schema: { source: 'config' },
        registeredBy: 'arn:aws:iam::123456789012:role/data-scientist',
        createdAt: '2026-11-22T12:00:00.000Z',
        objects: [
          { bucket, key: 'datasets/churn/part-a.csv', versionId: versionA, sha256: sha256(a), size: Buffer.byteLength(a), rows: 40 },
          { bucket, key: 'datasets/churn/part-b.csv', versionId: versionB, sha256: sha256(b), size: Buffer.byteLength(b), rows: 30 },
        ],
      });
      expect(record.validation.shift).toBeUndefined();
      expect(Object.keys(record.profile.contract?.categories ?? {}).sort()).toEqual(['__other__', 'annual', 'month, to month']);
      expect(record.profile.tenure_months).toMatchObject({ min: 0, max: 69, nulls: 0 });
      expect(record.contentAddress).toBe(
        `sha256:${sha256(JSON.stringify([['datasets/churn/part-a.csv', sha256(a)], ['datasets/churn/part-b.csv', sha256(b)]]))}`,
      );
      expect(await getDatasetVersion(ports, 'churn', '1')).toEqual(record);
    });

    it('returns the same version for the same bytes, in any order, even re-uploaded as new S3 versions', async () => {
      const before = await itemsOf('churn');
      await put('datasets/churn/part-a.csv', a);
      const { record, created } = await registerDatasetVersion(ports, {
        dataset: 'churn',
        objects: [{ key: 'datasets/churn/part-b.csv' }, { key: 'datasets/churn/part-a.csv' }],
        registeredBy: 'someone-else',
      });
      expect(created).toBe(false);
      expect(record.datasetVersion).toBe('v000001');
      expect(record.objects[0]?.versionId).toBe(versionA);
      expect(await itemsOf('churn')).toBe(before);
    });

    it('makes a new version, compared with the previous one, when one byte changes', async () => {
      const changed = a.replace('0,20.00', '1,20.00');
      expect(changed.length).toBe(a.length);
      await put('datasets/churn/part-a.csv', changed);
      const { record, created } = await registerDatasetVersion(ports, {
        dataset: 'churn',
        objects: [{ key: 'datasets/churn/part-a.csv' }, { key: 'datasets/churn/part-b.csv' }],
        registeredBy: 'someone',
      });
      expect(created).toBe(true);
      expect(record.datasetVersion).toBe('v000002');
      expect(record.objects[0]?.sha256).toBe(sha256(changed));
      expect(record.validation.status).toBe('PASSED');
      expect(record.validation.shift?.comparedWith).toBe('v000001');
      expect(record.validation.shift?.psi.tenure_months).toBeLessThan(0.1);
    });

    // moto does not isolate concurrent transactions, so races are staged deterministically:
    // the other registration runs to completion just before this one's transaction is sent.
    function racedBy(other: () => Promise<unknown>): DatasetPorts {
      let raced = false;
      const send = async (command: Parameters<typeof db.send>[0]) => {
        if (!raced && command instanceof TransactWriteCommand) {
          raced = true;
          await other();
        }
        return db.send(command);
      };
      return { ...ports, db: { send } as unknown as DatasetPorts['db'] };
    }

    it('returns the winner when the same bytes are registered concurrently', async () => {
      await put('datasets/churn/race.csv', csv(12, { offset: 1000 }));
      const request = { dataset: 'churn', objects: [{ key: 'datasets/churn/race.csv' }], registeredBy: 'racer' };
      let winner: Awaited<ReturnType<typeof registerDatasetVersion>> | undefined;
      const loser = await registerDatasetVersion(
        racedBy(async () => (winner = await registerDatasetVersion(ports, { ...request, registeredBy: 'winner' }))),
        request,
      );
      expect(winner?.created).toBe(true);
      expect(loser.created).toBe(false);
      expect(loser.record).toEqual(winner?.record);
      expect(loser.record).toMatchObject({ datasetVersion: 'v000003', registeredBy: 'winner' });
    });

    it('takes the next sequence number when other bytes win the race', async () => {
      await put('datasets/churn/race-a.csv', csv(12, { offset: 2000 }));
      await put('datasets/churn/race-b.csv', csv(12, { offset: 3000 }));
      let other: Awaited<ReturnType<typeof registerDatasetVersion>> | undefined;
      const mine = await registerDatasetVersion(
        racedBy(async () => (other = await registerDatasetVersion(ports, { dataset: 'churn', objects: [{ key: 'datasets/churn/race-b.csv' }], registeredBy: 'b' }))),
        { dataset: 'churn', objects: [{ key: 'datasets/churn/race-a.csv' }], registeredBy: 'a' },
      );
      expect(other?.record.datasetVersion).toBe('v000004');
      expect(mine).toMatchObject({ created: true, record: { datasetVersion: 'v000005', registeredBy: 'a' } });
      expect(mine.record.validation.shift?.comparedWith).toBe('v000004');
    });

    it('lists datasets and pages through versions newest first', async () => {
      const datasets = await listDatasets(ports);
      expect(datasets.find((d) => d.dataset === 'churn')).toMatchObject({ models: ['churn'], versions: 5, latestVersion: 'v000005' });
      expect(datasets.find((d) => d.dataset === 'clicks')).toMatchObject({ versions: 0 });

      const first = await listDatasetVersions(ports, 'churn', { limit: 3 });
      expect(first.items.map((v) => v.datasetVersion)).toEqual(['v000005', 'v000004', 'v000003']);
      expect(first.nextCursor).toBeDefined();
      const second = await listDatasetVersions(ports, 'churn', { limit: 3, cursor: first.nextCursor });
      expect(second.items.map((v) => v.datasetVersion)).toEqual(['v000002', 'v000001']);
      expect(second.items[1]).toMatchObject({ validation: { status: 'PASSED' }, objects: 2, rowCount: 70 });
    });

    it('rejects a cursor it did not issue', async () => {
      await expect(listDatasetVersions(ports, 'churn', { cursor: 'bm9wZQ' })).rejects.toThrow(Invalid);
    });

    it('lets the newest passed version train, returning its exact objects', async () => {
      const trainable = await assertTrainable(ports, { model: 'churn' });
      expect(trainable).toMatchObject({ dataset: 'churn', datasetVersion: 'v000005', objects: [{ key: 'datasets/churn/race-a.csv' }] });
      const pinned = await createTrainableHandler(ports)({ runId: 'r', model: 'churn', datasetVersion: 'v000001', requestedBy: 'x' });
      expect(pinned.objects.map((o) => o.versionId)).toContain(versionA);
    });

    it('links model versions to a dataset version and lists them, idempotently', async () => {
      await recordLineage(ports, { dataset: 'churn', datasetVersion: 'v000002', model: 'churn', modelVersion: 7, runId: 'churn-api-1' });
      await recordLineage(ports, { dataset: 'churn', datasetVersion: '2', model: 'churn', modelVersion: 7 });
      await recordLineage(ports, { dataset: 'churn', datasetVersion: 'v2', model: 'churn', modelVersion: 8 });
      const lineage = await listLineage(ports, 'churn', 'v000002');
      expect(lineage).toMatchObject([
        { model: 'churn', modelVersion: 7, runId: 'churn-api-1', datasetVersion: 'v000002' },
        { model: 'churn', modelVersion: 8 },
      ]);
      expect(await listLineage(ports, 'churn', 'v000001')).toEqual([]);
    });

    it('computes the content address independently of object order', () => {
      const objects = [
        { key: 'datasets/x/b', sha256: 'b'.repeat(64) },
        { key: 'datasets/x/a', sha256: 'a'.repeat(64) },
      ];
      expect(contentAddress(objects)).toBe(contentAddress([...objects].reverse()));
      expect(contentAddress(objects)).not.toBe(contentAddress([{ ...objects[0]!, sha256: 'c'.repeat(64) }, objects[1]!]));
    });
  });

  describe('bad input writes nothing', () => {
    async function expectRefused(
      request: Parameters<typeof registerDatasetVersion>[1],
      error: typeof Invalid | typeof NotFound,
      message: RegExp,
    ): Promise<void> {
      const before = await itemsOf(request.dataset);
      const attempt = registerDatasetVersion(ports, request);
      await expect(attempt).rejects.toThrow(error);
      await expect(attempt).rejects.toThrow(message);
      expect(await itemsOf(request.dataset)).toBe(before);
    }

    it('refuses a missing object, naming it', async () => {
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/clicks/nope.csv' }], registeredBy: 'x' },
        NotFound,
        /s3:\/\/.+\/datasets\/clicks\/nope\.csv does not exist/,
      );
    });

    it('refuses a version id the object does not have, naming key and version', async () => {
      await put('datasets/clicks/day-1.csv', 'user,clicked\nu1,true\n');
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/clicks/day-1.csv', versionId: 'not-a-real-version-id' }], registeredBy: 'x' },
        NotFound,
        /version "not-a-real-version-id" of s3:\/\/.+\/datasets\/clicks\/day-1\.csv does not exist/,
      );
    });

    it('refuses a checksum mismatch, giving both hashes', async () => {
      const body = 'user,clicked\nu1,true\n';
      await put('datasets/clicks/day-2.csv', body);
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/clicks/day-2.csv', sha256: '0'.repeat(64) }], registeredBy: 'x' },
        Invalid,
        new RegExp(`checksum mismatch for s3://.+/datasets/clicks/day-2\\.csv.*expected sha256 0{64}, the object hashes to ${sha256(body)}`),
      );
    });

    it('refuses an unknown dataset, listing the declared ones', async () => {
      await expectRefused(
        { dataset: 'unknown', objects: [{ key: 'datasets/unknown/a.csv' }], registeredBy: 'x' },
        NotFound,
        /unknown dataset "unknown" \(declared in caretaker.config.json: churn, clicks, strict\)/,
      );
    });

    it('refuses keys outside the dataset prefix', async () => {
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/churn/part-a.csv' }], registeredBy: 'x' },
        Invalid,
        /objects\[0\]\.key "datasets\/churn\/part-a\.csv" is not under datasets\/clicks\//,
      );
    });

    it('refuses an empty file, naming file and line', async () => {
      await put('datasets/clicks/empty.csv', '');
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/clicks/empty.csv' }], registeredBy: 'x' },
        Invalid,
        /datasets\/clicks\/empty\.csv line 1: empty file/,
      );
    });

    it('refuses a ragged CSV, naming file and line', async () => {
      await put('datasets/clicks/ragged.csv', 'user,clicked\nu1,true\n"u2, with comma",false\nu3,true,extra\n');
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/clicks/ragged.csv' }], registeredBy: 'x' },
        Invalid,
        /datasets\/clicks\/ragged\.csv line 4: ragged row with 3 fields, the header has 2/,
      );
    });

    it('refuses an unterminated quote, naming the line it opens on', async () => {
      await put('datasets/clicks/open-quote.csv', 'user,clicked\nu1,true\n"u2,false\nu3,true\n');
      await expectRefused(
        { dataset: 'clicks', objects: [{ key: 'datasets/clicks/open-quote.csv' }], registeredBy: 'x' },
        Invalid,
        /open-quote\.csv line 3: a quoted field is never closed/,
      );
    });

    it('rejects malformed input in the domain function as Invalid, naming each field', async () => {
      const attempt = registerDatasetVersion(ports, { dataset: 'clicks', objects: [{ key: 'datasets/clicks/a.csv', sha256: 'xyz' }], registeredBy: '' });
      await expect(attempt).rejects.toThrow(Invalid);
      await expect(attempt).rejects.toMatchObject({
        details: [
          { field: 'objects.0.sha256', message: 'must be 64 hex characters' },
          { field: 'registeredBy', message: 'Too small: expected string to have >=1 characters' },
        ],
      });
    });

    it('rejects a malformed event at the handler with the field named', async () => {
      const attempt = createRegisterHandler(ports)({ dataset: 'clicks', objects: [] });
      await expect(attempt).rejects.toMatchObject({ name: 'Invalid' });
      await expect(attempt).rejects.toThrow(/objects:.*registeredBy:/);
    });
  });

  describe('the training gate', () => {
    it('refuses a version whose object version has since been deleted from S3', async () => {
      const versionId = await put('datasets/clicks/gone.csv', 'user,clicked\nu1,true\nu2,false\n');
      const { record } = await registerDatasetVersion(ports, { dataset: 'clicks', objects: [{ key: 'datasets/clicks/gone.csv' }], registeredBy: 'x' });
      expect(record.validation.status).toBe('PASSED');
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'datasets/clicks/gone.csv', VersionId: versionId }));
      await expect(assertTrainable(ports, { dataset: 'clicks', datasetVersion: record.datasetVersion })).rejects.toThrow(
        new RegExp(`datasets/clicks/gone\\.csv version ${versionId} no longer exists`),
      );
    });

    it('stages the exact registered bytes for a training channel, even after the key was overwritten', async () => {
      const original = 'user,clicked\nu1,true\nu9,false\n';
      await put('datasets/clicks/sub/staged.csv', original);
      const { record } = await registerDatasetVersion(ports, { dataset: 'clicks', objects: [{ key: 'datasets/clicks/sub/staged.csv' }], registeredBy: 'x' });
      await put('datasets/clicks/sub/staged.csv', 'user,clicked\nu1,false\n');
      const trainable = await assertTrainable(ports, { dataset: 'clicks', datasetVersion: record.datasetVersion });
      const staged = await stageTrainingData(ports, trainable, { bucket, prefix: 'runs/run-1/data/' });
      expect(staged).toEqual({ s3Uri: `s3://${bucket}/runs/run-1/data/`, objects: [{ key: 'runs/run-1/data/sub/staged.csv', sha256: sha256(original) }] });
      const copy = await digestStream((await openObject(s3, bucket, 'runs/run-1/data/sub/staged.csv')).body);
      expect(copy.sha256).toBe(sha256(original));
    });

    it('copies objects above the single-copy limit in byte-exact parts', async () => {
      const big = Buffer.alloc(12 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
      const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'datasets/clicks/big.bin', Body: big }));
      await copyObjectVersion(
        s3,
        { bucket, key: 'datasets/clicks/big.bin', versionId: VersionId!, size: big.length },
        { bucket, key: 'runs/run-2/big.bin' },
        { singleCopyBytes: 1, partBytes: 5 * 1024 * 1024 },
      );
      const copy = await digestStream((await openObject(s3, bucket, 'runs/run-2/big.bin')).body);
      expect(copy).toEqual({ sha256: createHash('sha256').update(big).digest('hex'), size: big.length });
    });

    it('names an unknown model, dataset version or malformed version id', async () => {
      await expect(assertTrainable(ports, { model: 'nobody' })).rejects.toThrow(NotFound);
      await expect(assertTrainable(ports, { model: 'nobody' })).rejects.toThrow('unknown model "nobody"');
      await expect(assertTrainable(ports, { dataset: 'churn', datasetVersion: 'v999999' })).rejects.toThrow(/dataset "churn" has no version v999999/);
      await expect(getDatasetVersion(ports, 'churn', 'latest')).rejects.toThrow(/"latest" is not a dataset version/);
      await expect(assertTrainable(ports, { model: 'churn', dataset: 'clicks' })).rejects.toThrow(DatasetNotTrainable);
    });
  });

  describe('schema and statistics violations', () => {
    it('records a FAILED version with every reason, file and line, and never lets it train', async () => {
      const body = ['amount,kind', '10,a', ',b', ',c', 'abc,d', '150,e', '20,', '30,f', '40,g'].join('\n');
      await put('datasets/strict/bad.csv', body);
      const { record } = await registerDatasetVersion(ports, {
        dataset: 'strict',
        objects: [{ key: 'datasets/strict/bad.csv' }],
        registeredBy: 'x',
      });
      expect(record.validation.status).toBe('FAILED');
      expect(record.validation.reasons).toEqual([
        'column "amount": 1 values are not number (first at datasets/strict/bad.csv line 5: "abc")',
        'column "amount": 1 values are not ≥ 0 and ≤ 100 (first at datasets/strict/bad.csv line 6: "150")',
        'column "amount": null rate 0.2500 exceeds maxNullRate 0.2 (first at datasets/strict/bad.csv line 3)',
        'column "kind": 1 empty values in a column that is not nullable (first at datasets/strict/bad.csv line 7)',
      ]);

      await expect(assertTrainable(ports, { dataset: 'strict', datasetVersion: record.datasetVersion })).rejects.toThrow(DatasetNotTrainable);
      await expect(assertTrainable(ports, { model: 'fraud' })).rejects.toThrow(/has no version that passed validation/);
      const gate = createTrainableHandler(ports)({ model: 'fraud', datasetVersion: record.datasetVersion });
      await expect(gate).rejects.toMatchObject({ name: 'DatasetNotTrainable' });
      await expect(gate).rejects.toThrow('failed validation: column "amount"');
      await expect(
        recordLineage(ports, { dataset: 'strict', datasetVersion: record.datasetVersion, model: 'fraud', modelVersion: 1 }),
      ).rejects.toThrow(DatasetNotTrainable);
    });

    it('fails missing and unexpected columns and too few rows', async () => {
      await put('datasets/strict/columns.csv', 'amount,category\n1,a\n');
      const { record } = await registerDatasetVersion(ports, {
        dataset: 'strict',
        objects: [{ key: 'datasets/strict/columns.csv' }],
        registeredBy: 'x',
      });
      expect(record.validation.reasons).toEqual(['missing column "kind"', 'unexpected column "category"', '1 rows, fewer than minRows 5']);
    });

    it('fails files whose headers differ', async () => {
      await put('datasets/strict/h1.csv', 'amount,kind\n1,a\n2,b\n3,c\n');
      await put('datasets/strict/h2.csv', 'kind,amount\na,1\nb,2\n');
      const { record } = await registerDatasetVersion(ports, {
        dataset: 'strict',
        objects: [{ key: 'datasets/strict/h1.csv' }, { key: 'datasets/strict/h2.csv' }],
        registeredBy: 'x',
      });
      expect(record.validation.reasons[0]).toBe(
        'datasets/strict/h2.csv line 1: header "kind", "amount" differs from datasets/strict/h1.csv\'s "amount", "kind"',
      );
    });

    it('fails a version whose distribution shifted beyond maxPsi from the previous passed one', async () => {
      const rows = (f: (i: number) => number) => ['amount,kind', ...Array.from({ length: 200 }, (_, i) => `${f(i)},k${i % 3}`)].join('\n');
      await put('datasets/strict/base.csv', rows((i) => i % 50));
      const base = await registerDatasetVersion(ports, { dataset: 'strict', objects: [{ key: 'datasets/strict/base.csv' }], registeredBy: 'x' });
      expect(base.record.validation.status).toBe('PASSED');
      await put('datasets/strict/shifted.csv', rows((i) => 90 + (i % 10)));
      const { record } = await registerDatasetVersion(ports, {
        dataset: 'strict',
        objects: [{ key: 'datasets/strict/shifted.csv' }],
        registeredBy: 'x',
      });
      expect(record.validation.status).toBe('FAILED');
      expect(record.validation.shift?.comparedWith).toBe(base.record.datasetVersion);
      expect(record.validation.reasons).toEqual([
        expect.stringMatching(new RegExp(`^column "amount": distribution shifted from ${base.record.datasetVersion} \\(PSI [\\d.]+ > maxPsi 0.5\\)$`)),
      ]);
      expect(record.validation.shift?.psi.kind).toBeLessThan(0.01);
      // The gate still trains on the last passed version.
      expect((await assertTrainable(ports, { model: 'fraud' })).datasetVersion).toBe(base.record.datasetVersion);
    });

    it('infers a schema when none is declared, and honours one declared at registration', async () => {
      await put('datasets/clicks/typed.csv', 'user,clicked,score\nu1,true,0.5\nu2,false,1\n');
      const inferred = await registerDatasetVersion(ports, { dataset: 'clicks', objects: [{ key: 'datasets/clicks/typed.csv' }], registeredBy: 'x' });
      expect(inferred.record.schema).toEqual({
        source: 'inferred',
        columns: [
          { name: 'user', type: 'string', nullable: false },
          { name: 'clicked', type: 'boolean', nullable: false },
          { name: 'score', type: 'number', nullable: false },
        ],
      });
      await put('datasets/clicks/declared.csv', 'user,clicked\nu1,maybe\n');
      const declared = await registerDatasetVersion(ports, {
        dataset: 'clicks',
        objects: [{ key: 'datasets/clicks/declared.csv' }],
        registeredBy: 'x',
        schema: [
          { name: 'user', type: 'string' },
          { name: 'clicked', type: 'boolean' },
        ],
      });
      expect(declared.record.schema.source).toBe('declared');
      expect(declared.record.validation.reasons).toEqual([
        'column "clicked": 1 values are not boolean (first at datasets/clicks/declared.csv line 2: "maybe")',
      ]);
      await expect(
        registerDatasetVersion(ports, {
          dataset: 'churn',
          objects: [{ key: 'datasets/churn/part-a.csv' }],
          registeredBy: 'x',
          schema: [{ name: 'a', type: 'string' }],
        }),
      ).rejects.toThrow(/declares its columns in caretaker.config.json/);
    });
  });
});
