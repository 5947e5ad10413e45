/**
 * RELIABILITY row 21 against DynamoDB and S3 on moto: a rollback request and a ground-truth
 * upload are recorded together with their audit event, or not at all; when the act after the
 * record fails, the answer says so truthfully and repeating the request finishes that one act —
 * never a second rollback, never a second object or audit event.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRegistry } from '../../../lambdas/api/dynamo-registry';
import type { DeploymentStarter, GroundTruthStore, Ports, RollbackRequest } from '../../../lambdas/api/ports';
import { fromIamContext } from '../../../lambdas/api/principal';
import { createHandler } from '../../../lambdas/api/router';
import type { AuditEvent } from '../../../lambdas/shared/contracts';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness, MODELS } from './harness';

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });

/**
 * StartExecution as Step Functions treats execution names (API Reference, StartExecution): a
 * name starts one execution; the same name again with the same input returns it, anything else
 * is ExecutionAlreadyExists — either way no second execution. `fail` refuses before starting.
 */
class Executions implements DeploymentStarter {
  readonly started = new Map<string, RollbackRequest>();
  fail = false;
  startRollback(request: RollbackRequest): Promise<{ deploymentId: string }> {
    if (this.fail) return Promise.reject(throttled());
    if (!this.started.has(request.deploymentId)) this.started.set(request.deploymentId, request);
    return Promise.resolve({ deploymentId: request.deploymentId });
  }
}

describe('row 21: the act and its audit event commit together, or neither does', () => {
  let h: Harness;
  let executions: Executions;
  let registry: DynamoRegistry;
  let store: GroundTruthStore & { fail: boolean };
  let handler: ReturnType<typeof createHandler>;
  beforeAll(async () => {
    h = await createHarness();
    executions = new Executions();
    registry = new DynamoRegistry(h.client, h.tableName);
    const real = h.ports.groundTruth;
    store = { fail: false, put: (...args) => (store.fail ? Promise.reject(throttled()) : real.put(...args)) };
    const ports: Ports = { ...h.ports, registry, deployments: executions, groundTruth: store };
    handler = createHandler({ principal: fromIamContext, ports, models: MODELS });
    await h.putVersion({ model: 'churn', version: 1, status: 'RETIRED' });
  });
  afterAll(async () => {
    await h.drop();
  });

  const audit = async (type: AuditEvent['type']) => (await h.ports.audit.list({ model: 'churn' }, { limit: 100 })).items.filter((e) => e.type === type);
  const rollback = (key?: string) =>
    handler(apiEvent('POST', '/models/churn/rollback', { body: { toVersion: 1, reason: 'latency regression' }, principal: APPROVER, ...(key ? { headers: { 'Idempotency-Key': key } } : {}) }));
  const upload = () =>
    handler(apiEvent('POST', '/models/churn/ground-truth', { body: { records: [{ inferenceId: 'i-1', label: 1 }, { inferenceId: 'i-2', label: 0 }] }, principal: APPROVER }));
  const objects = async () => (await h.s3.send(new ListObjectsV2Command({ Bucket: h.bucket, Prefix: 'ground-truth/churn/' }))).KeyCount ?? 0;

  it('rollback: the audit write fails → 503, no execution started, no audit item', async () => {
    const original = registry.recordRequest.bind(registry);
    registry.recordRequest = () => Promise.reject(throttled());
    try {
      const result = await rollback('rb-audit-fails');
      expect(result.statusCode).toBe(503);
    } finally {
      registry.recordRequest = original;
    }
    expect(executions.started.size).toBe(0);
    expect(await audit('ROLLBACK_REQUESTED')).toEqual([]);
  });

  it('rollback: the start fails after the record → 503 naming the key; repeating with it starts exactly one execution, audited once', async () => {
    executions.fail = true;
    const failed = await rollback();
    executions.fail = false;
    expect(failed.statusCode).toBe(503);
    const message = bodyOf<{ message: string }>(failed).message;
    expect(message).toMatch(/is recorded \(audited\) but its deployment could not be started; repeat the request with Idempotency-Key: (\S+) to start it/);
    expect(executions.started.size).toBe(0);
    const recorded = await audit('ROLLBACK_REQUESTED');
    expect(recorded).toHaveLength(1);
    const key = /Idempotency-Key: (\S+)/.exec(message)?.[1] ?? '';

    const retried = await rollback(key);
    expect(retried.statusCode).toBe(202);
    expect(bodyOf(retried)).toMatchObject({ deploymentId: recorded[0]?.details?.deploymentId, version: 1, replayed: true });
    const again = await rollback(key);
    expect(bodyOf(again)).toMatchObject({ deploymentId: recorded[0]?.details?.deploymentId });
    expect([...executions.started.keys()]).toEqual([recorded[0]?.details?.deploymentId]);
    expect(await audit('ROLLBACK_REQUESTED')).toHaveLength(1);
  });

  it('ground truth: the audit write fails → 503, no object, no audit item', async () => {
    const original = registry.recordRequest.bind(registry);
    registry.recordRequest = () => Promise.reject(throttled());
    try {
      expect((await upload()).statusCode).toBe(503);
    } finally {
      registry.recordRequest = original;
    }
    expect(await objects()).toBe(0);
    expect(await audit('GROUND_TRUTH_UPLOADED')).toEqual([]);
  });

  it('ground truth: the object write fails after the record → 503 saying so; sending the same records again stores one object, audited once', async () => {
    store.fail = true;
    const failed = await upload();
    store.fail = false;
    expect(failed.statusCode).toBe(503);
    expect(bodyOf<{ message: string }>(failed).message).toMatch(/recorded \(audited\) but its object could not be stored; send the same records again/);
    expect(await objects()).toBe(0);
    expect(await audit('GROUND_TRUTH_UPLOADED')).toHaveLength(1);
    const stored = await upload();
    expect(stored.statusCode).toBe(201);
    const again = await upload();
    expect(bodyOf(again)).toMatchObject({ key: bodyOf<{ key: string }>(stored).key, records: 2, replayed: true });
    expect(await objects()).toBe(1);
    expect(await audit('GROUND_TRUTH_UPLOADED')).toHaveLength(1);
  });
});
