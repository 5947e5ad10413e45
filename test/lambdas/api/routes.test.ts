import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, runIdFor } from '../../../lambdas/shared/contracts';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness, REQUESTER } from './harness';

describe('registry API routes against moto', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    for (let v = 1; v <= 7; v += 1) {
      await h.putVersion({ model: 'churn', version: v, status: v === 3 ? 'LIVE' : v === 7 ? 'PENDING_APPROVAL' : 'RETIRED' });
    }
    await h.client.send(
      new PutCommand({
        TableName: h.tableName,
        Item: { ...keys.run('run-churn-3'), runId: 'run-churn-3', model: 'churn', status: 'SUCCEEDED', startedAt: '2026-11-20T09:00:00.000Z' },
      }),
    );
    await h.client.send(
      new PutCommand({
        TableName: h.tableName,
        Item: { ...keys.deployment('churn', '2026-11-20T11:00:00.000Z'), model: 'churn', version: 3, at: '2026-11-20T11:00:00.000Z', status: 'LIVE' },
      }),
    );
  });
  afterAll(async () => {
    await h.drop();
  });

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- tests name the shape they expect
  const get = async <T = Record<string, unknown>>(path: string, query?: Record<string, string>) => {
    const result = await h.handler(apiEvent('GET', path, { query }));
    return { status: result.statusCode, body: bodyOf<T>(result) };
  };

  it('lists configured models with live and latest versions', async () => {
    const { status, body } = await get<{ models: { name: string; liveVersion?: number; latestVersion?: { version: number; status: string } }[] }>('/models');
    expect(status).toBe(200);
    expect(body.models.map((m) => m.name)).toEqual(['churn', 'fraud']);
    expect(body.models[0]).toMatchObject({ liveVersion: 3, latestVersion: { version: 7, status: 'PENDING_APPROVAL' } });
    expect(body.models[1]).not.toHaveProperty('liveVersion');
  });

  it('shows one model with its live version and deployment history', async () => {
    const { body } = await get<{ live: { version: number }; deployments: { version: number }[] }>('/models/churn');
    expect(body.live.version).toBe(3);
    expect(body.deployments).toEqual([expect.objectContaining({ version: 3, status: 'LIVE' })]);
  });

  it('pages versions newest first with an opaque token, and filters by status', async () => {
    const first = await get<{ items: { version: number }[]; nextToken?: string }>('/models/churn/versions', { limit: '3' });
    expect(first.body.items.map((v) => v.version)).toEqual([7, 6, 5]);
    const second = await get<{ items: { version: number }[] }>('/models/churn/versions', { limit: '3', nextToken: first.body.nextToken! });
    expect(second.body.items.map((v) => v.version)).toEqual([4, 3, 2]);
    const retired = await get<{ items: { version: number; status: string }[] }>('/models/churn/versions', { status: 'RETIRED' });
    expect(retired.body.items.map((v) => v.version)).toEqual([6, 5, 4, 2, 1]);
  });

  it('shows a version with its run and never its task token', async () => {
    const { status, body } = await get('/models/churn/versions/3');
    expect(status).toBe(200);
    expect(body).toMatchObject({ version: 3, status: 'LIVE', run: { status: 'SUCCEEDED' }, comparison: { champion: 0.79 } });
    expect(body).not.toHaveProperty('taskToken');
    expect(body).not.toHaveProperty('pk');
    const pending = await get('/models/churn/versions/7');
    expect(JSON.stringify(pending.body)).not.toContain('token-churn-7');
  });

  it('shows a run, and 404 for an unknown one', async () => {
    expect((await get('/runs/run-churn-3')).body).toMatchObject({ status: 'SUCCEEDED' });
    expect((await get('/runs/run-nope')).status).toBe(404);
  });

  it('retrain: 202 with a run id, sends one RetrainingRequest, audits RUN_REQUESTED', async () => {
    const result = await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'drift on tenure' }, principal: REQUESTER }));
    expect(result.statusCode).toBe(202);
    const { runId } = bodyOf<{ runId: string }>(result);
    expect(runId).toMatch(/^churn-api-[a-f0-9]{20}$/);
    expect(h.queue.sent.at(-1)).toMatchObject({ runId, model: 'churn', requestedBy: REQUESTER, trigger: { kind: 'api', reason: 'drift on tenure' } });
    const audit = await get<{ items: { type: string; runId?: string }[] }>('/audit', { model: 'churn' });
    expect(audit.body.items).toContainEqual(expect.objectContaining({ type: 'RUN_REQUESTED', runId, actor: REQUESTER }));
  });

  it('retrain: the same Idempotency-Key gives the same run id and no second message', async () => {
    const sentBefore = h.queue.sent.length;
    const send = () =>
      h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'weekly' }, principal: REQUESTER, headers: { 'Idempotency-Key': 'nb-42' } }));
    const [a, b] = [bodyOf<{ runId: string }>(await send()), bodyOf<{ runId: string }>(await send())];
    expect(a.runId).toBe(runIdFor('churn', 'api', 'nb-42'));
    expect(b.runId).toBe(a.runId);
    expect(h.queue.sent.length - sentBefore).toBe(1);
  });

  it('retrain: an unknown dataset version is 404 and sends nothing', async () => {
    const sentBefore = h.queue.sent.length;
    const result = await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'x', datasetVersion: 'v999' } }));
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ details: [{ field: 'body.datasetVersion' }] });
    expect(h.queue.sent.length).toBe(sentBefore);
  });

  it('retrain: a malformed dataset version is 400 naming the field and sends nothing', async () => {
    const sentBefore = h.queue.sent.length;
    const result = await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'x', datasetVersion: 'latest' } }));
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ details: [{ field: 'body.datasetVersion' }] });
    expect(h.queue.sent.length).toBe(sentBefore);
  });

  it('rollback: starts a deployment of a RETIRED version and audits it', async () => {
    const result = await h.handler(apiEvent('POST', '/models/churn/rollback', { body: { toVersion: 2, reason: 'v3 regressed' } }));
    expect(result.statusCode).toBe(202);
    expect(h.rollbacks).toEqual([expect.objectContaining({ model: 'churn', version: 2, requestedBy: APPROVER, reason: 'v3 regressed' })]);
    const audit = await get<{ items: { type: string }[] }>('/audit', { model: 'churn' });
    expect(audit.body.items).toContainEqual(expect.objectContaining({ type: 'ROLLBACK_REQUESTED', version: 2 }));
  });

  it('rollback: refuses a version that was never approved with 409', async () => {
    const result = await h.handler(apiEvent('POST', '/models/churn/rollback', { body: { toVersion: 7, reason: 'x' } }));
    expect(result.statusCode).toBe(409);
  });

  it('ground truth: writes JSON Lines under ground-truth/<model>/yyyy/mm/dd/hh/', async () => {
    const records = [
      { inferenceId: 'a-1', label: 1 },
      { inferenceId: 'a-2', label: 'no' },
    ];
    const result = await h.handler(apiEvent('POST', '/models/churn/ground-truth', { body: { records } }));
    expect(result.statusCode).toBe(201);
    const { key } = bodyOf<{ key: string }>(result);
    expect(key).toMatch(/^ground-truth\/churn\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f]{32}\.jsonl$/);
    const object = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key }));
    const lines = (await object.Body!.transformToString()).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(records);
  });

  describe('datasets, through the datasets part\'s domain functions', () => {
    const put = async (key: string, body: string) => {
      await h.s3.send(new PutObjectCommand({ Bucket: h.datasetsBucket, Key: key, Body: body }));
    };
    const register = (dataset: string, body: unknown) => h.handler(apiEvent('POST', `/datasets/${dataset}/versions`, { body, principal: REQUESTER }));
    type Registered = { created: boolean; record: { datasetVersion: string; registeredBy: string; rowCount: number; objects: { key: string; versionId: string; sha256: string }[]; validation: { status: string; reasons: string[] } } };

    it('registers exact object versions with checksums and validation, finds the same bytes again, and reads them back', async () => {
      await put('datasets/churn/2026-11-22/a.csv', 'tenure_months,churned\n1,0\n5,1\n9,0\n');
      const created = await register('churn', { objects: [{ key: 'datasets/churn/2026-11-22/a.csv' }] });
      expect(created.statusCode).toBe(201);
      const first = bodyOf<Registered>(created);
      expect(first).toMatchObject({ created: true, record: { datasetVersion: 'v000001', registeredBy: REQUESTER, rowCount: 3, validation: { status: 'PASSED' } } });
      expect(first.record.objects[0]).toMatchObject({ key: 'datasets/churn/2026-11-22/a.csv', versionId: expect.any(String) as unknown, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });

      // The same bytes again are the same version (nothing new written).
      const again = bodyOf<Registered>(await register('churn', { objects: [{ key: 'datasets/churn/2026-11-22/a.csv', sha256: first.record.objects[0]!.sha256.toUpperCase() }] }));
      expect(again).toMatchObject({ created: false, record: { datasetVersion: 'v000001' } });

      expect((await get('/datasets/churn/versions/v1')).body).toMatchObject({ datasetVersion: 'v000001', objects: first.record.objects });
      expect((await get<{ items: unknown[] }>('/datasets/churn/versions')).body.items).toEqual([
        expect.objectContaining({ datasetVersion: 'v000001', objects: 1, validation: { status: 'PASSED' } }),
      ]);
      expect((await get<{ datasets: unknown[] }>('/datasets')).body.datasets).toEqual([
        expect.objectContaining({ dataset: 'churn', models: ['churn'], versions: 1, latestVersion: 'v000001', latestPassedVersion: 'v000001' }),
        expect.objectContaining({ dataset: 'payments', models: ['fraud'], versions: 0 }),
      ]);
    });

    it('a version that breaks the declared schema is recorded FAILED with the reason, and retrain on it is 409', async () => {
      await put('datasets/churn/bad/a.csv', 'tenure_months,churned\n1,0\n-4,7\n9,0\n');
      const result = bodyOf<Registered>(await register('churn', { objects: [{ key: 'datasets/churn/bad/a.csv' }] }));
      expect(result.record.validation.status).toBe('FAILED');
      expect(result.record.validation.reasons.join(' ')).toMatch(/tenure_months|churned/);
      const sentBefore = h.queue.sent.length;
      const retrain = await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'x', datasetVersion: result.record.datasetVersion } }));
      expect(retrain.statusCode).toBe(409);
      expect(h.queue.sent.length).toBe(sentBefore);
    });

    it('retrain names the dataset version canonically (v1 → v000001) in the request it sends', async () => {
      const result = await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'x', datasetVersion: '1' } }));
      expect(result.statusCode).toBe(202);
      expect(h.queue.sent.at(-1)).toMatchObject({ datasetVersion: 'v000001' });
    });

    it('a missing object is 404 naming it, and nothing is written', async () => {
      const before = await h.itemCount();
      const result = await register('churn', { objects: [{ key: 'datasets/churn/nowhere.csv' }] });
      expect(result.statusCode).toBe(404);
      expect(bodyOf<{ message: string }>(result).message).toContain('datasets/churn/nowhere.csv');
      expect(await h.itemCount()).toBe(before);
    });

    it('a checksum mismatch is refused with a 4xx, and nothing is written', async () => {
      await put('datasets/churn/c.csv', 'tenure_months,churned\n1,0\n2,1\n3,0\n');
      const before = await h.itemCount();
      const result = await register('churn', { objects: [{ key: 'datasets/churn/c.csv', sha256: '0'.repeat(64) }] });
      expect(result.statusCode).toBeGreaterThanOrEqual(400);
      expect(result.statusCode).toBeLessThan(500);
      expect(await h.itemCount()).toBe(before);
    });

    it('the old body shape ({ version, objects with bucket }) is 400 naming the unknown field', async () => {
      const result = await register('churn', { version: '2026-11-22', objects: [{ bucket: 'data', key: 'datasets/churn/a.csv', versionId: 'v1', sha256: 'a'.repeat(64) }] });
      expect(result.statusCode).toBe(400);
      expect(JSON.stringify(bodyOf(result))).toMatch(/version|bucket/);
    });

    it('an unknown dataset is 404', async () => {
      expect((await get('/datasets/unknown/versions')).status).toBe(404);
      expect((await register('unknown', { objects: [{ key: 'datasets/unknown/a.csv' }] })).statusCode).toBe(404);
    });
  });

  it('audit: filters by time range with a Query and pages across all models', async () => {
    const all = await get<{ items: { at: string }[] }>('/audit', { from: '2000-01-01T00:00:00Z' });
    expect(all.body.items.length).toBeGreaterThanOrEqual(3);
    const none = await get<{ items: unknown[] }>('/audit', { model: 'churn', to: '2000-01-01T00:00:00Z' });
    expect(none.body.items).toEqual([]);
    const paged = await get<{ items: unknown[]; nextToken?: string }>('/audit', { limit: '1' });
    expect(paged.body.items).toHaveLength(1);
    expect(paged.body.nextToken).toBeDefined();
  });

  it('serves the OpenAPI document', async () => {
    const { status, body } = await get<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.0.3');
    expect(Object.keys(body.paths)).toContain('/models/{model}/versions/{version}/approve');
  });
});
