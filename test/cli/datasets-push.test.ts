/**
 * `caretaker datasets push` against local mode's API and moto S3: a small file and a
 * multipart-sized one are uploaded and registered as exact S3 versions with their sha256; a bad
 * file is refused locally, naming the file and line, and nothing is uploaded or registered.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { PART_SIZE } from '../../cli/datasets';
import { serveApi } from '../../local/stack';
import { motoClientConfig } from '../support/aws';
import { exampleConfigInput } from '../support/stack';
import { createHarness, REQUESTER, type Harness } from '../lambdas/api/harness';

describe('caretaker datasets push', () => {
  let h: Harness;
  let server: Awaited<ReturnType<typeof serveApi>>;
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-push-'));
  const config = join(dir, 'caretaker.config.json');
  const savedEndpoint = process.env.AWS_ENDPOINT_URL;
  const s3 = new S3Client(motoClientConfig());

  beforeAll(async () => {
    h = await createHarness();
    server = await serveApi(h.localHandler);
    process.env.AWS_ENDPOINT_URL = inject('motoEndpoint');
    // The local check reads the config; the API's catalog (the harness's) declares the same columns.
    const input = exampleConfigInput();
    writeFileSync(
      config,
      JSON.stringify({
        ...input,
        models: [
          {
            ...input.models[0],
            dataset: {
              name: 'churn',
              targetColumn: 'churned',
              minRows: 3,
              columns: [
                { name: 'tenure_months', type: 'integer', min: 0 },
                { name: 'churned', type: 'integer', min: 0, max: 1 },
              ],
            },
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = savedEndpoint;
    await server.close();
    await h.drop();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const code = await main([
        'node', 'caretaker', 'datasets', 'push', ...args,
        '--dataset', 'churn', '--config', config, '--bucket', h.datasetsBucket, '--api-url', server.url, '--principal', REQUESTER,
      ]);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  const versionsUnder = async (prefix: string) =>
    (await s3.send(new ListObjectVersionsCommand({ Bucket: h.datasetsBucket, Prefix: prefix }))).Versions ?? [];

  it('uploads a small file and registers exactly that S3 version', async () => {
    const file = join(dir, 'small.csv');
    writeFileSync(file, 'tenure_months,churned\n1,0\n5,1\n12,0\n30,1\n');
    const { code, out, err } = await cli(file, '--as', '2026-11', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(out) as { uploaded: { key: string; versionId: string }[]; created: boolean; record: { datasetVersion: string; rowCount: number; validation: { status: string }; objects: { key: string; versionId: string }[] } };
    expect(result.uploaded.map((u) => u.key)).toEqual(['datasets/churn/2026-11/small.csv']);
    expect(result.created).toBe(true);
    expect(result.record.validation.status).toBe('PASSED');
    expect(result.record.rowCount).toBe(4);
    expect(result.record.objects[0]?.versionId).toBe(result.uploaded[0]?.versionId);
    const stored = await versionsUnder('datasets/churn/2026-11/');
    expect(stored.map((v) => v.VersionId)).toEqual([result.uploaded[0]?.versionId]);
  });

  it('uploads a file larger than one part as a multipart upload', async () => {
    const file = join(dir, 'large.csv');
    const rows: string[] = ['tenure_months,churned'];
    let size = 0;
    for (let i = 0; size < PART_SIZE + 1024 * 1024; i++) {
      const row = `${i % 600},${i % 2}`;
      rows.push(row);
      size += row.length + 1;
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
    const { code, out, err } = await cli(file, '--as', 'large', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(out) as { uploaded: { key: string; size: number }[]; record: { rowCount: number; validation: { status: string } } };
    expect(result.uploaded[0]?.size).toBeGreaterThan(PART_SIZE);
    expect(result.record.rowCount).toBe(rows.length - 1);
    expect(result.record.validation.status).toBe('PASSED');
    // S3 marks multipart objects' ETags with the part count ("…-2").
    const object = await s3.send(new GetObjectCommand({ Bucket: h.datasetsBucket, Key: 'datasets/churn/large/large.csv' }));
    expect(object.ETag).toMatch(/-2"$/);
    await object.Body?.transformToByteArray();
  });

  it('refuses a bad file locally, naming it and the line; nothing is uploaded or registered', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'tenure_months,churned\n1,0\n5\n12,0\n');
    const before = await h.client.send(new (await import('@aws-sdk/lib-dynamodb')).QueryCommand({
      TableName: h.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'DATASET#churn' },
    }));
    const { code, err } = await cli(file, '--as', 'bad');
    expect(code).toBe(1);
    expect(err).toContain(`${file} line 3`);
    expect(await versionsUnder('datasets/churn/bad/')).toEqual([]);
    const after = await h.client.send(new (await import('@aws-sdk/lib-dynamodb')).QueryCommand({
      TableName: h.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'DATASET#churn' },
    }));
    expect(after.Items?.length).toBe(before.Items?.length);
  });
});
