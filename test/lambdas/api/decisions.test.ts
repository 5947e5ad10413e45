import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskTokenGone } from '../../../lambdas/api/ports';
import { approvalOutputSchema, rejectionCauseSchema } from '../../../lambdas/shared/approval';
import { keys } from '../../../lambdas/shared/contracts';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness, OTHER_APPROVER, REQUESTER } from './harness';

describe('approve and reject against DynamoDB on moto', () => {
  let h: Harness;
  let version = 100;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.drop();
  });
  beforeEach(() => {
    h.callbacks.calls.length = 0;
    h.callbacks.behaviour = () => Promise.resolve();
    version += 1;
  });

  const decide = (kind: 'approve' | 'reject', v: number, principal = APPROVER, model = 'churn') =>
    h.handler(apiEvent('POST', `/models/${model}/versions/${v}/${kind}`, { body: { reason: 'looks good' }, principal }));
  const stored = async (v: number, model = 'churn') =>
    (await h.client.send(new GetCommand({ TableName: h.tableName, Key: keys.version(model, v) }))).Item;

  it('approves a pending version, records who, why and when, and resumes the pipeline once', async () => {
    await h.putVersion({ model: 'churn', version });
    const result = await decide('approve', version);
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toMatchObject({ status: 'APPROVED', decision: { decision: 'APPROVED', by: APPROVER, reason: 'looks good' } });
    const decidedAt = bodyOf<{ decision: { at: string } }>(result).decision.at;
    // Exactly the pipeline's contract (lambdas/shared/approval.ts), with the decision's time.
    expect(h.callbacks.calls).toEqual([
      { kind: 'success', token: `token-churn-${version}`, payload: { decision: 'APPROVED', by: APPROVER, reason: 'looks good', at: decidedAt } },
    ]);
    expect(approvalOutputSchema.parse(h.callbacks.calls[0]!.payload)).toEqual(h.callbacks.calls[0]!.payload);
    expect(await stored(version)).toMatchObject({ status: 'APPROVED', gsi1pk: 'MODEL#churn#STATUS#APPROVED', decision: { by: APPROVER } });
    const audit = bodyOf<{ items: { type: string; version: number }[] }>(await h.handler(apiEvent('GET', '/audit', { query: { model: 'churn' } })));
    expect(audit.items).toContainEqual(expect.objectContaining({ type: 'APPROVED', version, actor: APPROVER }));
  });

  it('rejects with the rejection cause {by, reason, at}: who rejected, why and when', async () => {
    await h.putVersion({ model: 'churn', version });
    const result = await decide('reject', version);
    expect(result.statusCode).toBe(200);
    const decidedAt = bodyOf<{ decision: { at: string } }>(result).decision.at;
    expect(h.callbacks.calls).toEqual([
      { kind: 'failure', token: `token-churn-${version}`, payload: { by: APPROVER, reason: 'looks good', at: decidedAt } },
    ]);
    expect(rejectionCauseSchema.parse(h.callbacks.calls[0]!.payload)).toEqual(h.callbacks.calls[0]!.payload);
    expect(await stored(version)).toMatchObject({ status: 'REJECTED' });
  });

  it('row 5: a late approve after the token timed out marks the version EXPIRED and gets 409, never 500', async () => {
    await h.putVersion({ model: 'churn', version });
    h.callbacks.behaviour = () => Promise.reject(new TaskTokenGone('TaskTimedOut'));
    const result = await decide('approve', version);
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'Conflict' });
    expect(await stored(version)).toMatchObject({ status: 'EXPIRED', gsi1pk: 'MODEL#churn#STATUS#EXPIRED' });
    expect(await stored(version)).not.toHaveProperty('decision');
    h.callbacks.behaviour = () => Promise.resolve();
    expect((await decide('approve', version)).statusCode).toBe(409);
    expect(h.callbacks.calls).toHaveLength(0);
  });

  it('row 5: an approve for an already EXPIRED version gets 409 and sends nothing', async () => {
    await h.putVersion({ model: 'churn', version, status: 'EXPIRED' });
    const result = await decide('approve', version);
    expect(result.statusCode).toBe(409);
    expect(h.callbacks.calls).toHaveLength(0);
  });

  it('row 6: approve, reject and approve at once — exactly one wins, one callback, the others 409', async () => {
    await h.putVersion({ model: 'churn', version });
    const results = await Promise.all([decide('approve', version), decide('reject', version, OTHER_APPROVER), decide('approve', version, OTHER_APPROVER)]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 409, 409]);
    expect(h.callbacks.calls).toHaveLength(1);
    const winner = bodyOf<{ status: string }>(results.find((r) => r.statusCode === 200)!);
    expect((await stored(version))?.status).toBe(winner.status);
  });

  it('row 6: 50 concurrent approves — exactly one wins, SendTaskSuccess once, 49 get 409', async () => {
    await h.putVersion({ model: 'churn', version });
    const principals = Array.from({ length: 50 }, (_, i) => `arn:aws:sts::123456789012:assumed-role/approver/person-${i}`);
    const results = await Promise.all(principals.map((p) => decide('approve', version, p)));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(49);
    expect(h.callbacks.calls).toHaveLength(1);
  });

  it('row 7: rejects an approval by the principal who requested the run with 403, nothing written', async () => {
    await h.putVersion({ model: 'churn', version });
    const before = await stored(version);
    const result = await decide('approve', version, REQUESTER);
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result)).toMatchObject({ error: 'Forbidden' });
    expect(await stored(version)).toEqual(before);
    expect(h.callbacks.calls).toHaveLength(0);
  });

  it('row 8: a caller outside the model\'s approver list gets 403, nothing written', async () => {
    await h.putVersion({ model: 'fraud', version });
    const before = await stored(version, 'fraud');
    const items = await h.itemCount();
    const result = await decide('approve', version, OTHER_APPROVER, 'fraud');
    expect(result.statusCode).toBe(403);
    expect(await stored(version, 'fraud')).toEqual(before);
    expect(await h.itemCount()).toBe(items);
    expect(h.callbacks.calls).toHaveLength(0);
    expect((await decide('approve', version, APPROVER, 'fraud')).statusCode).toBe(200);
  });

  it('row 8: a request with no IAM identity gets 403, nothing written', async () => {
    await h.putVersion({ model: 'churn', version });
    const event = apiEvent('POST', `/models/churn/versions/${version}/approve`, { body: { reason: 'x' } });
    event.requestContext.identity.userArn = null;
    expect((await h.handler(event)).statusCode).toBe(403);
    expect((await stored(version))?.status).toBe('PENDING_APPROVAL');
  });

  it('only local mode trusts X-Caretaker-Principal', async () => {
    await h.putVersion({ model: 'churn', version });
    const spoofed = apiEvent('POST', `/models/churn/versions/${version}/approve`, {
      body: { reason: 'x' },
      principal: REQUESTER,
      headers: { 'X-Caretaker-Principal': APPROVER },
    });
    expect((await h.handler(spoofed)).statusCode).toBe(403);
    expect((await h.localHandler(spoofed)).statusCode).toBe(200);
  });

  it('row 14: a DynamoDB error mid-approval is a 5xx, the token is not used, and a retry succeeds', async () => {
    await h.putVersion({ model: 'churn', version });
    const registry = h.ports.registry;
    const original = registry.recordDecision.bind(registry);
    const failure = Object.assign(new Error('Throughput exceeds the current capacity'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    registry.recordDecision = () => Promise.reject(failure);
    try {
      const result = await decide('approve', version);
      expect(result.statusCode).toBe(503);
      expect(result.body).not.toContain('Throughput');
      expect(result.body).not.toContain('at ');
    } finally {
      registry.recordDecision = original;
    }
    expect(h.callbacks.calls).toHaveLength(0);
    expect((await stored(version))?.status).toBe('PENDING_APPROVAL');
    expect((await decide('approve', version)).statusCode).toBe(200);
    expect(h.callbacks.calls).toHaveLength(1);
  });

  it('returns 404 for an unknown version or model and writes nothing', async () => {
    const items = await h.itemCount();
    expect((await decide('approve', 999_999)).statusCode).toBe(404);
    expect((await decide('approve', 1, APPROVER, 'nope')).statusCode).toBe(404);
    expect(await h.itemCount()).toBe(items);
  });
});
