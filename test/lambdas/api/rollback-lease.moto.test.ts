/**
 * RELIABILITY row 24 at the API, against DynamoDB on moto: a rollback asked for while another
 * deployment holds the endpoint's lease is refused with 409 naming that run, before anything is
 * written (no request, no audit event, no execution). The lease is the pipeline's own
 * (DeploymentLeases, as StartDeployment/StartRollback take it); the API only reads it, and the
 * pipeline's conditional take stays the guard for requests that race past the read.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rollback } from '../../../lambdas/api/domain';
import type { ModelSummary } from '../../../lambdas/api/ports';
import { fromIamContext, parsePrincipal } from '../../../lambdas/api/principal';
import { createHandler } from '../../../lambdas/api/router';
import { DEPLOYMENT_IN_FLIGHT, DeploymentInFlight, DeploymentLeases } from '../../../lambdas/pipeline/deployment-lease';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness, MODELS } from './harness';

const ENDPOINT = 'caretaker-churn';
const WITH_ENDPOINTS: ModelSummary[] = MODELS.map((m) => ({ ...m, endpointName: `caretaker-${m.name}` }));
const TRAINING_RUN = 'churn-drift-0123456789abcdef';

describe('row 24 at the API: a rollback while another deployment holds the endpoint', () => {
  let h: Harness;
  let leases: DeploymentLeases;
  let handler: ReturnType<typeof createHandler>;
  let version = 0;
  beforeAll(async () => {
    h = await createHarness();
    leases = new DeploymentLeases(h.client, h.tableName);
    handler = createHandler({ principal: fromIamContext, ports: h.ports, models: WITH_ENDPOINTS });
  });
  afterAll(async () => {
    await h.drop();
  });
  // Each test rolls back to a RETIRED version of its own and starts with the endpoint free.
  beforeEach(async () => {
    version += 1;
    await h.putVersion({ model: 'churn', version, status: 'RETIRED' });
    const held = await leases.get(ENDPOINT);
    if (held) await leases.release(ENDPOINT, held.holder, new Date().toISOString());
    h.rollbacks.length = 0;
  });

  /** A training run's StartDeployment takes the endpoint, as lambdas/pipeline/steps/deployment.ts does. */
  const trainingDeploys = (at = new Date(), leaseSeconds = 3600) =>
    leases.acquire({ endpointName: ENDPOINT, holder: TRAINING_RUN, model: 'churn', version: 9, kind: 'training', acquiredAt: at.toISOString(), leaseSeconds });
  const post = (headers?: Record<string, string>) =>
    handler(apiEvent('POST', '/models/churn/rollback', { body: { toVersion: version, reason: 'latency regression' }, principal: APPROVER, ...(headers ? { headers } : {}) }));
  const caller = () => {
    const principal = parsePrincipal(APPROVER);
    if (!principal) throw new Error('test caller did not parse');
    return principal;
  };

  it('domain: refuses with DeploymentInFlight naming the holding run, and writes nothing', async () => {
    await trainingDeploys();
    const before = await h.itemCount();
    const refused = rollback({ ports: h.ports, models: WITH_ENDPOINTS }, { model: 'churn', toVersion: version, reason: 'regressed', caller: caller() });
    await expect(refused).rejects.toBeInstanceOf(DeploymentInFlight);
    await expect(refused).rejects.toMatchObject({ name: DEPLOYMENT_IN_FLIGHT, status: 409, holder: { holder: TRAINING_RUN, kind: 'training', version: 9 } });
    await expect(refused).rejects.toThrow(new RegExp(`deployment ${TRAINING_RUN} of churn version 9 holds endpoint ${ENDPOINT}`));
    expect(await h.itemCount()).toBe(before);
    expect(h.rollbacks).toEqual([]);
  });

  it('through the handler: 409 Conflict naming the run, no request, no audit event, no execution', async () => {
    await trainingDeploys();
    const before = await h.itemCount();
    const result = await post();
    expect(result.statusCode).toBe(409);
    const body = bodyOf<{ error: string; message: string; details: { field: string; message: string }[] }>(result);
    expect(body.error).toBe('Conflict');
    expect(body.message).toContain(`deployment ${TRAINING_RUN} of churn version 9 holds endpoint ${ENDPOINT}`);
    expect(body.message).toContain('nothing was changed');
    expect(body.details).toEqual([{ field: 'path.model', message: `run ${TRAINING_RUN} is deploying to endpoint ${ENDPOINT}` }]);
    expect(await h.itemCount()).toBe(before);
    expect(h.rollbacks).toEqual([]);
    expect((await h.ports.audit.list({ model: 'churn' }, { limit: 100 })).items.filter((e) => e.type === 'ROLLBACK_REQUESTED' && e.version === version)).toEqual([]);
  });

  it('accepts once the holder released the endpoint (202, one execution)', async () => {
    await trainingDeploys();
    expect((await post()).statusCode).toBe(409);
    expect(await leases.release(ENDPOINT, TRAINING_RUN, new Date().toISOString())).toBe(true);
    const accepted = await post();
    expect(accepted.statusCode).toBe(202);
    expect(h.rollbacks).toEqual([expect.objectContaining({ model: 'churn', version })]);
  });

  it('treats an expired lease as free, as the pipeline take does (a stopped execution never released it)', async () => {
    await trainingDeploys(new Date(Date.now() - 2 * 3600_000), 3600);
    expect((await post()).statusCode).toBe(202);
    expect(h.rollbacks).toHaveLength(1);
  });

  it('a repeat of a rollback whose own execution holds the lease is not refused by its own lease', async () => {
    const first = await post({ 'Idempotency-Key': `rb-own-${version}` });
    expect(first.statusCode).toBe(202);
    const { deploymentId } = bodyOf<{ deploymentId: string }>(first);
    // Its execution's StartRollback took the endpoint (lambdas/pipeline/steps/rollback.ts).
    await leases.acquire({ endpointName: ENDPOINT, holder: deploymentId, model: 'churn', version, kind: 'rollback', acquiredAt: new Date().toISOString(), leaseSeconds: 3600 });
    const again = await post({ 'Idempotency-Key': `rb-own-${version}` });
    expect(again.statusCode).toBe(202);
    expect(bodyOf(again)).toMatchObject({ deploymentId, replayed: true });
    // Another rollback meanwhile is refused, naming that rollback.
    const other = await post({ 'Idempotency-Key': `rb-other-${version}` });
    expect(other.statusCode).toBe(409);
    expect(bodyOf<{ message: string }>(other).message).toContain(`rollback ${deploymentId} of churn version ${version} holds endpoint ${ENDPOINT}`);
  });

  it('race: two rollbacks that both pass the read start two executions, and the pipeline take lets exactly one deploy', async () => {
    const [a, b] = await Promise.all([post({ 'Idempotency-Key': `rb-race-a-${version}` }), post({ 'Idempotency-Key': `rb-race-b-${version}` })]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    const ids = [a, b].map((r) => bodyOf<{ deploymentId: string }>(r).deploymentId);
    const takes = await Promise.allSettled(
      ids.map((holder) => leases.acquire({ endpointName: ENDPOINT, holder, model: 'churn', version, kind: 'rollback', acquiredAt: new Date().toISOString(), leaseSeconds: 3600 })),
    );
    expect(takes.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
    const lost = takes.find((t): t is PromiseRejectedResult => t.status === 'rejected');
    expect(lost?.reason).toBeInstanceOf(DeploymentInFlight);
  });

  it('a model without a known endpoint is accepted without the check (the pipeline still guards)', async () => {
    await trainingDeploys();
    const unchecked = createHandler({ principal: fromIamContext, ports: h.ports, models: MODELS });
    const result = await unchecked(apiEvent('POST', '/models/churn/rollback', { body: { toVersion: version, reason: 'x' }, principal: APPROVER }));
    expect(result.statusCode).toBe(202);
  });
});
