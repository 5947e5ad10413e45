/**
 * RELIABILITY row 24 after an execution stops where it stood, against DynamoDB on moto: a run
 * aborted (StopExecution) or timed out (the state machine's TimeoutSeconds) while it held its
 * endpoint's deployment lease never reaches RecordDeployment/FinishRun, so the releaser frees the
 * lease when Step Functions' "Execution Status Change" event says the execution ended — only
 * while the lease still names that run, never another run's.
 */
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentLeases } from '../../../lambdas/pipeline/deployment-lease';
import { keys, runIdFor } from '../../../lambdas/shared/contracts';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { createReleaseHandler, dynamoReleasePorts, releaseRun, sagemakerDescribeEndpoint } from '../../../lambdas/retraining/release';
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

/**
 * The version an execution left DEPLOYING when Step Functions stopped it (ABORTED, TIMED_OUT):
 * the releaser closes it as FinishRun would, from DescribeEndpoint (lambdas/retraining/reconcile-version.ts).
 * DescribeEndpoint is scripted with the shapes SageMaker answers: `{ EndpointStatus, EndpointConfigName }`,
 * or ValidationException "Could not find endpoint" for a name it does not have.
 */
describe('the releaser closes the version a stopped execution left DEPLOYING (DescribeEndpoint decides)', () => {
  const at = '2026-11-22T09:00:00.000Z';
  const documents = createDocumentClient(serializedMotoConfig());

  async function putVersion(model: string, version: number, status: string, extra: Record<string, unknown> = {}) {
    await documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.version(model, version),
          ...keys.versionByStatus(model, status as never, version),
          model,
          version,
          status,
          runId: `${model}-train-${version}`,
          modelArtifactUri: `s3://artifacts-bucket/models/${model}/${model}-train-${version}/job/output/model.tar.gz`,
          createdAt: at,
          updatedAt: at,
          ...extra,
        },
      }),
    );
  }
  const version = async (model: string, v: number) =>
    (await documents.send(new GetCommand({ TableName: table.tableName, Key: keys.version(model, v), ConsistentRead: true }))).Item;
  async function audit(model: string) {
    const { Items } = await documents.send(
      new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `AUDIT#${model}` } }),
    );
    return Items ?? [];
  }
  async function openRun(runId: string, model: string) {
    await documents.send(new PutCommand({ TableName: table.tableName, Item: { ...keys.run(runId), runId, model, status: 'RUNNING', startedAt: at } }));
  }
  const run = async (runId: string) => (await documents.send(new GetCommand({ TableName: table.tableName, Key: keys.run(runId), ConsistentRead: true }))).Item;
  /** DescribeEndpoint answering as SageMaker does for these endpoints. */
  const describing = (endpoints: Record<string, { EndpointStatus: string; EndpointConfigName: string }>) => (name: string) => {
    const found = endpoints[name];
    return Promise.resolve(found);
  };

  it('TIMED_OUT mid-rollout while the endpoint already serves the new config → the version is LIVE with a note, the champion RETIRED, the run SUCCEEDED with the stop kept', async () => {
    const model = 'stopped-live';
    const endpoint = `caretaker-${model}`;
    const runId = runIdFor(model, 'api', 'live');
    const config = `caretaker-${model}-v2-abc123`;
    await putVersion(model, 1, 'LIVE', { endpointConfigName: `caretaker-${model}-v1-000000` });
    await putVersion(model, 2, 'DEPLOYING', { deployingRunId: runId, deployingEndpointConfigName: config });
    await openRun(runId, model);
    const ports = dynamoReleasePorts(documents, table.tableName, () => new Date(), { [model]: endpoint }, describing({ [endpoint]: { EndpointStatus: 'InService', EndpointConfigName: config } }));

    const result = await releaseRun({ model, runId, status: 'TIMED_OUT', endedAt: '2026-11-22T12:00:00.000Z' }, ports);

    expect(result.version).toMatchObject({ outcome: 'LIVE', version: 2, note: expect.stringContaining(`DescribeEndpoint says ${endpoint} serves ${config}`) as unknown });
    expect(await version(model, 2)).toMatchObject({ status: 'LIVE', endpointConfigName: config, liveNote: expect.stringContaining('after the execution TIMED_OUT') as unknown });
    expect(await version(model, 2)).not.toHaveProperty('deployingRunId');
    expect(await version(model, 1)).toMatchObject({ status: 'RETIRED' });
    expect(await run(runId)).toMatchObject({ status: 'SUCCEEDED', failure: { state: 'Execution', error: 'States.TIMED_OUT' } });
    expect(await audit(model)).toContainEqual(expect.objectContaining({ type: 'DEPLOYED', version: 2 }));
  });

  it('ABORTED rollback whose target the endpoint does not serve → the target gets back RETIRED (it can be rolled back to again), with its audit event; the live version is untouched', async () => {
    const model = 'stopped-rollback';
    const endpoint = `caretaker-${model}`;
    const deploymentId = `${model}-rollback-0123456789abcdef01234567`;
    await putVersion(model, 1, 'DEPLOYING', { deployingRunId: deploymentId, deployingEndpointConfigName: `caretaker-${model}-v1-def456`, statusBeforeDeploy: 'RETIRED' });
    await putVersion(model, 2, 'LIVE', { endpointConfigName: `caretaker-${model}-v2-000000` });
    // Aborted while SageMaker was still Updating: the endpoint shows the config it serves, v2's.
    const ports = dynamoReleasePorts(documents, table.tableName, () => new Date(), { [model]: endpoint }, describing({ [endpoint]: { EndpointStatus: 'Updating', EndpointConfigName: `caretaker-${model}-v2-000000` } }));

    const result = await releaseRun({ model, runId: deploymentId, status: 'ABORTED', endedAt: '2026-11-22T12:00:00.000Z' }, ports);

    expect(result.version).toMatchObject({ outcome: 'RETIRED', version: 1 });
    const target = await version(model, 1);
    expect(target).toMatchObject({ status: 'RETIRED', lastFailedDeployment: { runId: deploymentId, error: 'States.ABORTED' } });
    expect(target).not.toHaveProperty('statusBeforeDeploy');
    expect(target).not.toHaveProperty('deployingRunId');
    expect(await version(model, 2)).toMatchObject({ status: 'LIVE' });
    expect(await audit(model)).toContainEqual(expect.objectContaining({ type: 'DEPLOY_FAILED', version: 1, details: { restoredTo: 'RETIRED' }, reason: expect.stringContaining(`${endpoint} is Updating serving caretaker-${model}-v2-000000`) as unknown }));
  });

  it('ABORTED first rollout, the endpoint never created → DEPLOY_FAILED with its audit event, the run FAILED; a version DEPLOYING for another run is left alone', async () => {
    const model = 'stopped-first';
    const endpoint = `caretaker-${model}`;
    const runId = runIdFor(model, 'api', 'first');
    await putVersion(model, 1, 'DEPLOYING', { deployingRunId: runId, deployingEndpointConfigName: `caretaker-${model}-v1-aaaaaa` });
    await putVersion(model, 2, 'DEPLOYING', { deployingRunId: 'another-run', deployingEndpointConfigName: `caretaker-${model}-v2-bbbbbb` });
    await openRun(runId, model);
    const ports = dynamoReleasePorts(documents, table.tableName, () => new Date(), { [model]: endpoint }, describing({}));

    const result = await releaseRun({ model, runId, status: 'ABORTED', endedAt: '2026-11-22T12:00:00.000Z' }, ports);

    expect(result.version).toMatchObject({ outcome: 'DEPLOY_FAILED', version: 1, note: expect.stringContaining(`${endpoint} does not exist`) as unknown });
    expect(await version(model, 1)).toMatchObject({ status: 'DEPLOY_FAILED', endedBy: 'ABORTED' });
    expect(await version(model, 2)).toMatchObject({ status: 'DEPLOYING', deployingRunId: 'another-run' });
    expect(await run(runId)).toMatchObject({ status: 'FAILED' });
    expect(await audit(model)).toContainEqual(expect.objectContaining({ type: 'DEPLOY_FAILED', version: 1 }));
  });

  it('DescribeEndpoint failing (throttled) → the leases are freed and the run closed, then the event fails so it is retried; the retry closes the version', async () => {
    const model = 'stopped-throttled';
    const endpoint = `caretaker-${model}`;
    const runId = runIdFor(model, 'api', 'throttled');
    const leases = new DeploymentLeases(documents, table.tableName);
    await leases.acquire({ endpointName: endpoint, holder: runId, model, version: 1, kind: 'training', acquiredAt: at, leaseSeconds: 7200 });
    await putVersion(model, 1, 'DEPLOYING', { deployingRunId: runId, deployingEndpointConfigName: `caretaker-${model}-v1-cccccc` });
    await openRun(runId, model);
    let throttled = true;
    const describe = (name: string) => {
      if (throttled) return Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      return describing({ [endpoint]: { EndpointStatus: 'InService', EndpointConfigName: `caretaker-${model}-v1-cccccc` } })(name);
    };
    const ports = dynamoReleasePorts(documents, table.tableName, () => new Date(), { [model]: endpoint }, describe);
    const ended = { model, runId, status: 'ABORTED', endedAt: '2026-11-22T12:00:00.000Z' } as const;

    await expect(releaseRun(ended, ports)).rejects.toThrow('Rate exceeded');
    expect(await leases.get(endpoint)).toBeUndefined();
    expect(await version(model, 1)).toMatchObject({ status: 'DEPLOYING' });
    expect(await run(runId)).toMatchObject({ status: 'FAILED' });

    throttled = false;
    const retried = await releaseRun(ended, ports);
    expect(retried).toMatchObject({ freedDeployment: false, closedRun: false, version: { outcome: 'LIVE', version: 1 } });
    expect(await version(model, 1)).toMatchObject({ status: 'LIVE' });
  });

  it('sagemakerDescribeEndpoint: SageMaker\'s "Could not find endpoint" ValidationException is "no endpoint"; other errors are thrown', async () => {
    const answering = (error: Error) => sagemakerDescribeEndpoint({ send: () => Promise.reject(error) } as never);
    const missing = Object.assign(new Error('Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/caretaker-x".'), { name: 'ValidationException' });
    await expect(answering(missing)('caretaker-x')).resolves.toBeUndefined();
    const refused = Object.assign(new Error('User is not authorized to perform: sagemaker:DescribeEndpoint'), { name: 'AccessDeniedException' });
    await expect(answering(refused)('caretaker-x')).rejects.toThrow('not authorized');
  });
});
