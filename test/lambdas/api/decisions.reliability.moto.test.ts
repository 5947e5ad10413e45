/**
 * RELIABILITY rows 19 and 20 against DynamoDB on moto: a decision is delivered to the pipeline
 * exactly once whatever fails, and a TaskTimedOut for a task the pipeline already closed never
 * turns into a false EXPIRED. Faults are injected at each step of a decision: before the write,
 * between the write and the delivery, after the delivery with its response lost, and TaskTimedOut
 * on a closed token. Each test asserts the version's final status, the callbacks Step Functions
 * accepted (exactly one, or none) and the audit items.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, finishOwedDeliveries, DELIVERY_GRACE_MS } from '../../../lambdas/api/domain';
import { DynamoRegistry } from '../../../lambdas/api/dynamo-registry';
import { type ApprovalCallbacks, type Ports, TaskTokenGone } from '../../../lambdas/api/ports';
import { fromIamContext } from '../../../lambdas/api/principal';
import { createHandler } from '../../../lambdas/api/router';
import { keys, type AuditEvent, type ModelVersionRecord } from '../../../lambdas/shared/contracts';
import { finishRun } from '../../../lambdas/pipeline/steps/run';
import type { StepPorts } from '../../../lambdas/pipeline/steps/ports';
import { PipelineStore } from '../../../lambdas/pipeline/store';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness, MODELS } from './harness';

/**
 * Step Functions' task tokens as SendTaskSuccess / SendTaskFailure treat them (AWS Step Functions
 * API Reference, SendTaskSuccess "Errors"; botocore `SFN.Client.exceptions.TaskTimedOut`: "The
 * task token has either expired or the task associated with the token has already been
 * closed"): the first answer closes the task; any later answer on that token, or one after the
 * task timed out, fails TaskTimedOut (surfaced by `SfnApprovalCallbacks` as `TaskTokenGone`).
 * Faults: `throttle` refuses before anything happens (ThrottlingException); `lose-response`
 * closes the task and then loses the response (the SDK's TimeoutError).
 */
class TaskTokens implements ApprovalCallbacks {
  readonly accepted: { kind: 'success' | 'failure'; token: string }[] = [];
  readonly closed = new Set<string>();
  fault: 'none' | 'throttle' | 'lose-response' = 'none';
  attempts = 0;

  approve(token: string): Promise<void> {
    return this.answer('success', token);
  }
  reject(token: string): Promise<void> {
    return this.answer('failure', token);
  }
  /** The task's HeartbeatSeconds/TimeoutSeconds passed: Step Functions closed it. */
  timeOut(token: string): void {
    this.closed.add(token);
  }
  acceptedFor(token: string) {
    return this.accepted.filter((a) => a.token === token);
  }
  private answer(kind: 'success' | 'failure', token: string): Promise<void> {
    this.attempts += 1;
    if (this.fault === 'throttle') return Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    if (this.closed.has(token)) return Promise.reject(new TaskTokenGone('TaskTimedOut'));
    this.closed.add(token);
    this.accepted.push({ kind, token });
    if (this.fault === 'lose-response') return Promise.reject(Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} }));
    return Promise.resolve();
  }
}

describe('decisions delivered exactly once (RELIABILITY rows 19, 20), DynamoDB on moto', () => {
  let h: Harness;
  let version = 500;
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.drop();
  });

  /** A fresh version waiting for a decision, with its own registry, tokens and a clock that can move. */
  async function setUp() {
    version += 1;
    offset = 0;
    await h.putVersion({ model: 'churn', version });
    const tokens = new TaskTokens();
    const registry = new DynamoRegistry(h.client, h.tableName);
    const ports: Ports = { ...h.ports, registry, callbacks: tokens, clock };
    const handler = createHandler({ principal: fromIamContext, ports, models: MODELS });
    const token = `token-churn-${version}`;
    const v = version;
    return {
      v,
      token,
      tokens,
      registry,
      ports,
      approve: () => handler(apiEvent('POST', `/models/churn/versions/${v}/approve`, { body: { reason: 'auc up' }, principal: APPROVER })),
      reject: () => handler(apiEvent('POST', `/models/churn/versions/${v}/reject`, { body: { reason: 'worse on segment B' }, principal: APPROVER })),
      sweep: () => finishOwedDeliveries(ports),
    };
  }
  const stored = async (v: number) =>
    (await h.client.send(new GetCommand({ TableName: h.tableName, Key: keys.version('churn', v), ConsistentRead: true }))).Item as (ModelVersionRecord & Record<string, unknown>) | undefined;
  const auditOf = async (v: number): Promise<AuditEvent[]> =>
    (await h.ports.audit.list({ model: 'churn' }, { limit: 100 })).items.filter((e) => e.version === v);
  const later = () => {
    offset += DELIVERY_GRACE_MS + 1_000;
  };

  describe('row 19: SendTaskSuccess times out, or its response is lost after it succeeded', () => {
    it('fault before the write: 503 (retry is safe), the version stays PENDING_APPROVAL, no callback, no audit item; the retry delivers once', async () => {
      const t = await setUp();
      const original = t.registry.recordDecision.bind(t.registry);
      t.registry.recordDecision = () =>
        Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } }));
      const failed = await t.approve();
      expect(failed.statusCode).toBe(503);
      expect(bodyOf(failed).message).toMatch(/may not have been recorded — retry it/);
      expect(await stored(t.v)).toMatchObject({ status: 'PENDING_APPROVAL' });
      expect(await stored(t.v)).not.toHaveProperty('deliveryState');
      expect(t.tokens.attempts).toBe(0);
      expect(await auditOf(t.v)).toEqual([]);

      t.registry.recordDecision = original;
      const retried = await t.approve();
      expect(retried.statusCode).toBe(200);
      expect(bodyOf(retried)).toMatchObject({ status: 'APPROVED', delivery: 'DELIVERED' });
      expect(t.tokens.acceptedFor(t.token)).toEqual([{ kind: 'success', token: t.token }]);
      expect((await auditOf(t.v)).map((e) => e.type)).toEqual(['APPROVED']);
      expect(await stored(t.v)).toMatchObject({ status: 'APPROVED', deliveryState: 'DELIVERED' });
      expect(await stored(t.v)).not.toHaveProperty('gsi2pk');
    });

    it('fault between the write and the delivery (Step Functions throttles): recorded with its audit event and owed, never undone; the sweep delivers it once, a second sweep and the retry send nothing', async () => {
      const t = await setUp();
      t.tokens.fault = 'throttle';
      const result = await t.approve();
      expect(result.statusCode).toBe(200);
      expect(bodyOf(result)).toMatchObject({ status: 'APPROVED', delivery: 'OWED' });
      expect(await stored(t.v)).toMatchObject({ status: 'APPROVED', deliveryState: 'OWED', gsi2pk: 'DELIVERY#OWED' });
      expect(t.tokens.accepted).toEqual([]);
      expect((await auditOf(t.v)).map((e) => e.type)).toEqual(['APPROVED']);

      // The sweep leaves a decision alone while the request that recorded it may still deliver it.
      t.tokens.fault = 'none';
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([]);
      later();
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([{ model: 'churn', version: t.v, delivery: 'DELIVERED' }]);
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([]);
      const retried = await t.approve();
      expect(retried.statusCode).toBe(200);
      expect(bodyOf(retried)).toMatchObject({ status: 'APPROVED', delivery: 'DELIVERED' });
      expect(t.tokens.acceptedFor(t.token)).toHaveLength(1);
      expect(await stored(t.v)).toMatchObject({ status: 'APPROVED', deliveryState: 'DELIVERED' });
      expect((await auditOf(t.v)).map((e) => e.type)).toEqual(['APPROVED']);
    });

    it('the function is cut off right after the write (no delivery attempt): the sweep delivers the decision once', async () => {
      const t = await setUp();
      const current = await t.registry.readForDecision('churn', t.v);
      const decision = { decision: 'APPROVED' as const, by: APPROVER, reason: 'auc up', at: clock.now().toISOString() };
      // Exactly what decide() writes before it calls Step Functions; then the process dies.
      expect(await t.registry.recordDecision({ model: 'churn', version: t.v, decision, requestedBy: current!.requestedBy }, t.token, {
        eventId: `${current!.runId}#DECISION`, model: 'churn', at: decision.at, type: 'APPROVED', actor: APPROVER, version: t.v, runId: current!.runId, reason: 'auc up',
      })).toEqual({ kind: 'won' });
      later();
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([{ model: 'churn', version: t.v, delivery: 'DELIVERED' }]);
      expect(t.tokens.acceptedFor(t.token)).toEqual([{ kind: 'success', token: t.token }]);
      expect(await stored(t.v)).toMatchObject({ status: 'APPROVED', deliveryState: 'DELIVERED' });
    });

    it('fault after the delivery, its response lost: the decision is never undone; the retry gets 200 for the same decision, one callback in all, the version stays APPROVED', async () => {
      const t = await setUp();
      t.tokens.fault = 'lose-response';
      const first = await t.approve();
      expect(first.statusCode).toBe(200);
      expect(bodyOf(first)).toMatchObject({ status: 'APPROVED', delivery: 'OWED' });
      expect(t.tokens.acceptedFor(t.token)).toHaveLength(1);
      expect(await stored(t.v)).toMatchObject({ status: 'APPROVED', deliveryState: 'OWED' });

      t.tokens.fault = 'none';
      // Within the grace the retry answers from the record and sends nothing.
      const soon = await t.approve();
      expect(soon.statusCode).toBe(200);
      expect(bodyOf(soon)).toMatchObject({ status: 'APPROVED', decision: bodyOf<{ decision: unknown }>(first).decision });
      expect(t.tokens.attempts).toBe(1);
      // After it, the retry finishes the delivery: Step Functions says the task is closed (by the first attempt).
      later();
      const retried = await t.approve();
      expect(retried.statusCode).toBe(200);
      expect(bodyOf(retried)).toMatchObject({ status: 'APPROVED', delivery: 'CLOSED', decision: bodyOf<{ decision: unknown }>(first).decision });
      expect(t.tokens.acceptedFor(t.token)).toHaveLength(1);
      expect(await stored(t.v)).toMatchObject({ status: 'APPROVED', deliveryState: 'CLOSED', decision: { by: APPROVER } });
      const audit = await auditOf(t.v);
      expect(audit.map((e) => e.type).sort()).toEqual(['APPROVED', 'DELIVERY_CLOSED']);
      expect(audit.find((e) => e.type === 'DELIVERY_CLOSED')?.reason).toMatch(/already closed .*earlier delivery of this decision.*stays APPROVED/);
      expect(audit.map((e) => e.type)).not.toContain('EXPIRED');
      // Nothing is owed any more: the sweep sends nothing.
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([]);
      expect(t.tokens.attempts).toBe(2);
    });
  });

  describe('row 20: Step Functions answers TaskTimedOut for a token the pipeline already closed', () => {
    it('the pipeline deployed after an approval whose response was lost: the sweep records it delivered without a callback; the version stays DEPLOYING, no EXPIRED', async () => {
      const t = await setUp();
      t.tokens.fault = 'lose-response';
      expect((await t.approve()).statusCode).toBe(200);
      // The pipeline resumed on that SendTaskSuccess: its Deploy step moves the version on.
      const store = new PipelineStore(h.client, h.tableName);
      expect(await store.transitionVersion('churn', t.v, ['APPROVED'], 'DEPLOYING', { at: new Date().toISOString(), remove: ['taskToken'] })).toBe(true);
      t.tokens.fault = 'none';
      later();
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([{ model: 'churn', version: t.v, delivery: 'DELIVERED' }]);
      expect(t.tokens.attempts).toBe(1);
      expect(t.tokens.acceptedFor(t.token)).toHaveLength(1);
      expect(await stored(t.v)).toMatchObject({ status: 'DEPLOYING', deliveryState: 'DELIVERED' });
      expect((await auditOf(t.v)).map((e) => e.type)).toEqual(['APPROVED']);
    });

    it('a rejection delivered with its response lost: the sweep\'s repeat gets TaskTimedOut; the version stays REJECTED, the delivery CLOSED, audited as such, never EXPIRED', async () => {
      const t = await setUp();
      t.tokens.fault = 'lose-response';
      const first = await t.reject();
      expect(first.statusCode).toBe(200);
      t.tokens.fault = 'none';
      later();
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([{ model: 'churn', version: t.v, delivery: 'CLOSED' }]);
      expect(t.tokens.acceptedFor(t.token)).toEqual([{ kind: 'failure', token: t.token }]);
      expect(await stored(t.v)).toMatchObject({ status: 'REJECTED', deliveryState: 'CLOSED', gsi1pk: 'MODEL#churn#STATUS#REJECTED' });
      const audit = await auditOf(t.v);
      expect(audit.map((e) => e.type).sort()).toEqual(['DELIVERY_CLOSED', 'REJECTED']);
      expect(audit.find((e) => e.type === 'DELIVERY_CLOSED')).toMatchObject({ actor: 'caretaker:api', details: { decision: 'REJECTED', statusLeft: 'REJECTED' } });
      // The approver asking again is told the same.
      const again = await t.reject();
      expect(again.statusCode).toBe(200);
      expect(bodyOf(again)).toMatchObject({ status: 'REJECTED', delivery: 'CLOSED' });
      expect(t.tokens.attempts).toBe(2);
    });

    it('a real expiry (the task timed out before any delivery): the first attempt\'s TaskTimedOut makes the version EXPIRED with one EXPIRED event (409); the pipeline\'s own expiry after it writes nothing more', async () => {
      const t = await setUp();
      t.tokens.timeOut(t.token);
      const result = await t.approve();
      expect(result.statusCode).toBe(409);
      expect(bodyOf(result).message).toMatch(/timed out before the decision reached the pipeline; the version is EXPIRED/);
      expect(await stored(t.v)).toMatchObject({ status: 'EXPIRED', deliveryState: 'CLOSED', gsi1pk: 'MODEL#churn#STATUS#EXPIRED' });
      expect(await stored(t.v)).not.toHaveProperty('taskToken');
      expect(t.tokens.accepted).toEqual([]);
      // The pipeline's Catch → FinishRun EXPIRED runs next.
      const ports = { store: new PipelineStore(h.client, h.tableName), now: () => new Date() } as unknown as StepPorts;
      await finishRun(finishRunInputFor(t.v), ports);
      expect((await auditOf(t.v)).map((e) => e.type).sort()).toEqual(['APPROVED', 'EXPIRED']);
      expect((await t.approve()).statusCode).toBe(409);
      expect(t.tokens.accepted).toEqual([]);
    });

    it('the pipeline\'s expiry reaches an undelivered decision first: the version becomes EXPIRED (audited once) and the sweep closes the delivery without a callback', async () => {
      const t = await setUp();
      t.tokens.fault = 'throttle';
      expect(bodyOf(await t.approve())).toMatchObject({ delivery: 'OWED' });
      t.tokens.timeOut(t.token);
      const ports = { store: new PipelineStore(h.client, h.tableName), now: () => new Date() } as unknown as StepPorts;
      await finishRun(finishRunInputFor(t.v), ports);
      expect(await stored(t.v)).toMatchObject({ status: 'EXPIRED' });
      t.tokens.fault = 'none';
      later();
      expect((await t.sweep()).filter((r) => r.version === t.v)).toEqual([{ model: 'churn', version: t.v, delivery: 'CLOSED' }]);
      expect(t.tokens.accepted).toEqual([]);
      expect(await stored(t.v)).toMatchObject({ status: 'EXPIRED', deliveryState: 'CLOSED' });
      const types = (await auditOf(t.v)).map((e) => e.type).sort();
      expect(types).toEqual(['APPROVED', 'DELIVERY_CLOSED', 'EXPIRED']);
    });
  });

  it('the domain function answers like the route: a decision of another approver on a decided version is 409', async () => {
    const t = await setUp();
    expect((await t.approve()).statusCode).toBe(200);
    const other = fromIamContext(apiEvent('POST', '/', { principal: 'arn:aws:sts::123456789012:assumed-role/approver/dora' }));
    await expect(decide({ ports: t.ports, models: MODELS }, { model: 'churn', version: t.v, decision: 'APPROVED', reason: 'x', caller: other })).rejects.toMatchObject({ name: 'Conflict' });
    expect(t.tokens.attempts).toBe(1);
  });
});

/** What the pipeline's Catch of WaitForApproval passes to FinishRun when the wait timed out (States.Timeout). */
function finishRunInputFor(v: number) {
  return {
    step: 'finishRun' as const,
    status: 'EXPIRED' as const,
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:pipeline:run-churn-${v}`,
    run: {
      runId: `run-churn-${v}`,
      model: 'churn',
      datasetVersion: 'v000001',
      requestedBy: 'arn:aws:sts::123456789012:assumed-role/data-scientist/bob',
      trigger: { kind: 'api' as const, id: 'x', reason: 'weekly' },
      failure: {},
      registered: { version: v },
    },
  };
}
