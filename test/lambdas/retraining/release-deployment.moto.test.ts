/**
 * RELIABILITY row 24 after an execution stops where it stood, against DynamoDB on moto: a run
 * aborted (StopExecution) or timed out (the state machine's TimeoutSeconds) while it held its
 * endpoint's deployment lease never reaches RecordDeployment/FinishRun, so the releaser frees the
 * lease when Step Functions' "Execution Status Change" event says the execution ended — only
 * while the lease still names that run, never another run's.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentLeases } from '../../../lambdas/pipeline/deployment-lease';
import { keys, runIdFor } from '../../../lambdas/shared/contracts';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { createReleaseHandler, dynamoReleasePorts, releaseRun } from '../../../lambdas/retraining/release';
import { createMetadataTable } from '../../support/table';
import { executionStatusChange } from './events';
import { createStarter, defaultPolicy, serializedMotoConfig, STATE_MACHINE_ARN } from './harness';

let table: Awaited<ReturnType<typeof createMetadataTable>>;
beforeAll(async () => {
  table = await createMetadataTable();
});
afterAll(async () => {
  await table.drop();
});

const quiet = { info: () => undefined, error: () => undefined };
const asEvent = (e: unknown) => e as EventBridgeEvent<string, unknown>;

describe('the releaser frees the deployment lease of an execution that stopped holding it', () => {
  it('TIMED_OUT training run (the event as Step Functions sends it): deployment lease, retraining lease and run all given back', async () => {
    const model = 'timed-out';
    const endpoint = `caretaker-${model}`;
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: `${model}-data` }) });
    await starter.seedDataset(`${model}-data`, [{ version: 'v1', status: 'PASSED' }]);
    await starter.deliver({ runId: runIdFor(model, 'api', 'k1'), model, trigger: { kind: 'api', id: 'k1', reason: 'r' }, requestedBy: 'someone', requestedAt: '2026-11-22T09:00:00.000Z' }, model);
    const started = starter.sfn.calls[0];
    expect(started?.name).toBeDefined();
    const runId = started!.name!;
    // Its StartDeployment took the endpoint (lambdas/pipeline/steps/deployment.ts) before the execution timed out.
    const leases = new DeploymentLeases(starter.documents, table.tableName);
    await leases.acquire({ endpointName: endpoint, holder: runId, model, version: 3, kind: 'training', acquiredAt: '2026-11-22T10:30:00.000Z', leaseSeconds: 7200 });

    const handler = createReleaseHandler(dynamoReleasePorts(starter.documents, table.tableName, () => starter.clock.now, { [model]: endpoint }), quiet);
    const result = await handler(asEvent(executionStatusChange(STATE_MACHINE_ARN, runId, 'TIMED_OUT', JSON.parse(started!.input!), Date.parse('2026-11-22T11:00:00Z'))));

    expect(result).toEqual({ released: true, closedRun: true, freedDeployment: true });
    expect(await leases.get(endpoint)).toBeUndefined();
    expect(await starter.get(keys.deploymentLease(endpoint))).toMatchObject({ lastHolder: runId, releasedAt: '2026-11-22T11:00:00.000Z' });
    expect(await starter.get(keys.run(runId))).toMatchObject({ status: 'FAILED', failure: { error: 'States.TIMED_OUT' } });
    // The endpoint is free for the next deployment at once, not after the lease's bound.
    await expect(
      leases.acquire({ endpointName: endpoint, holder: 'next-run', model, version: 4, kind: 'training', acquiredAt: '2026-11-22T11:01:00.000Z', leaseSeconds: 7200 }),
    ).resolves.toBeUndefined();
  });

  it('ABORTED rollback (execution named by its deploymentId): its lease is freed', async () => {
    const model = 'aborted-rollback';
    const endpoint = `caretaker-${model}`;
    const documents = createDocumentClient(serializedMotoConfig());
    const leases = new DeploymentLeases(documents, table.tableName);
    const deploymentId = `${model}-rollback-0123456789abcdef01234567`;
    await leases.acquire({ endpointName: endpoint, holder: deploymentId, model, version: 1, kind: 'rollback', acquiredAt: '2026-11-22T10:00:00.000Z', leaseSeconds: 7200 });
    const input = { kind: 'rollback', deploymentId, model, version: 1, requestedBy: 'someone', reason: 'r', requestedAt: '2026-11-22T09:59:00.000Z' };

    const handler = createReleaseHandler(dynamoReleasePorts(documents, table.tableName, () => new Date('2026-11-22T10:10:00Z'), { [model]: endpoint }), quiet);
    const result = await handler(asEvent(executionStatusChange(STATE_MACHINE_ARN, deploymentId, 'ABORTED', input, Date.parse('2026-11-22T10:05:00Z'))));

    expect(result).toMatchObject({ freedDeployment: true });
    expect(await leases.get(endpoint)).toBeUndefined();
  });

  it("never frees another run's lease: a late event of a run whose lease expired and was taken over leaves the new holder", async () => {
    const model = 'taken-over';
    const endpoint = `caretaker-${model}`;
    const documents = createDocumentClient(serializedMotoConfig());
    const leases = new DeploymentLeases(documents, table.tableName);
    const lost = runIdFor(model, 'alarm', 'lost');
    const current = runIdFor(model, 'alarm', 'current');
    await leases.acquire({ endpointName: endpoint, holder: lost, model, version: 1, kind: 'training', acquiredAt: '2026-11-20T00:00:00.000Z', leaseSeconds: 3600 });
    // The lost run's lease expired; the next deployment took the endpoint (DeploymentLeases.acquire's expiry rule).
    await leases.acquire({ endpointName: endpoint, holder: current, model, version: 2, kind: 'training', acquiredAt: '2026-11-22T10:00:00.000Z', leaseSeconds: 3600 });

    const ports = dynamoReleasePorts(documents, table.tableName, () => new Date('2026-11-22T10:30:00Z'), { [model]: endpoint });
    const result = await releaseRun({ model, runId: lost, status: 'ABORTED', endedAt: '2026-11-22T10:30:00.000Z' }, ports);

    expect(result.freedDeployment).toBe(false);
    expect(await leases.get(endpoint)).toMatchObject({ holder: current, version: 2 });
  });

  it('a SUCCEEDED run that already freed its lease (RecordDeployment) changes nothing; a model with no endpoint named frees nothing', async () => {
    const model = 'succeeded';
    const endpoint = `caretaker-${model}`;
    const documents = createDocumentClient(serializedMotoConfig());
    const leases = new DeploymentLeases(documents, table.tableName);
    const runId = runIdFor(model, 'schedule', 's1');
    await leases.acquire({ endpointName: endpoint, holder: runId, model, version: 1, kind: 'training', acquiredAt: '2026-11-22T10:00:00.000Z', leaseSeconds: 3600 });
    expect(await leases.release(endpoint, runId, '2026-11-22T10:20:00.000Z')).toBe(true);

    const ports = dynamoReleasePorts(documents, table.tableName, () => new Date('2026-11-22T10:30:00Z'), { [model]: endpoint });
    expect((await releaseRun({ model, runId, status: 'SUCCEEDED', endedAt: '2026-11-22T10:30:00.000Z' }, ports)).freedDeployment).toBe(false);

    const other = `${model}-2`;
    await leases.acquire({ endpointName: `caretaker-${other}`, holder: runId, model: other, version: 1, kind: 'training', acquiredAt: '2026-11-22T10:00:00.000Z', leaseSeconds: 3600 });
    expect((await releaseRun({ model: other, runId, status: 'ABORTED', endedAt: '2026-11-22T10:30:00.000Z' }, ports)).freedDeployment).toBe(false);
    expect(await leases.get(`caretaker-${other}`)).toMatchObject({ holder: runId });
  });
});
