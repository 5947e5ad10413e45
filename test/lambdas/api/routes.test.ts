import { GetObjectCommand } from '@aws-sdk/client-s3';
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
    const result = await h.handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'x', datasetVersion: 'v-missing' } }));
    expect(result.statusCode).toBe(404);
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
    expect(key).toMatch(/^ground-truth\/churn\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.jsonl$/);
    const object = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key }));
    const lines = (await object.Body!.transformToString()).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(records);
  });

  it('datasets: lists configured datasets, registers a version and reads it back', async () => {
    expect((await get('/datasets')).body).toEqual({ datasets: [{ name: 'churn', models: ['churn'] }, { name: 'payments', models: ['fraud'] }] });
    const objects = [{ bucket: 'data', key: 'datasets/churn/a.csv', versionId: 'v1', sha256: 'a'.repeat(64) }];
    const created = await h.handler(apiEvent('POST', '/datasets/churn/versions', { body: { version: '2026-11-22', objects } }));
    expect(created.statusCode).toBe(201);
    const again = await h.handler(apiEvent('POST', '/datasets/churn/versions', { body: { version: '2026-11-22', objects } }));
    expect(again.statusCode).toBe(409);
    expect((await get('/datasets/churn/versions/2026-11-22')).body).toMatchObject({ datasetVersion: '2026-11-22', objects, validation: { status: 'PENDING' } });
    expect((await get<{ items: unknown[] }>('/datasets/churn/versions')).body.items).toHaveLength(1);
    expect((await get('/datasets/unknown/versions')).status).toBe(404);
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
