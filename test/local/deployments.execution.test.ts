/**
 * The deploy path of the training pipeline ASL, executed offline against scripted SageMaker
 * endpoints that behave as SageMaker does across runs (test/fixtures/sagemaker.ts: CreateEndpoint
 * refused for an existing name, UpdateEndpoint refused unless InService). SageMaker, not the
 * registry, is the source of truth for what an endpoint serves (RELIABILITY rows 23 and 25).
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../lambdas/shared/contracts';
import { uniqueName } from '../support/aws';
import { PipelineWorld } from '../support/pipeline';
import { createMetadataTable } from '../support/table';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };
const BETTER = { 'validation:auc': 0.95, 'validation:logloss': 0.2 };
const BEST = { 'validation:auc': 0.97, 'validation:logloss': 0.15 };

describe('deploy path: SageMaker is the source of truth', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  beforeAll(async () => {
    table = await createMetadataTable();
    world = new PipelineWorld(table.tableName);
    await world.setUp();
  });
  afterAll(async () => {
    await table.drop();
  });

  it('RELIABILITY 23: a first deployment that fails after CreateEndpoint → the next run updates the existing endpoint (never CreateEndpoint again) and goes LIVE', async () => {
    // CreateEndpoint is accepted and the endpoint goes InService, but every DescribeEndpoint of
    // the run is throttled: the run gives up and records DEPLOY_FAILED.
    const first = await world.execute({ evaluation: { candidate: GOOD }, endpoint: { kind: 'deploys-unseen' } });
    const { model, dataset } = first;
    expect(first.execution.status).toBe('FAILED');
    expect(first.sagemaker.callsTo('createEndpoint')).toHaveLength(1);
    expect(await world.version(model, 1)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(world.endpoints.get(`caretaker-${model}`)).toMatchObject({ status: 'InService', config: expect.stringMatching(new RegExp(`^caretaker-${model}-v1-`)) as unknown });

    const second = await world.execute({ continues: { model, dataset }, evaluation: { candidate: BETTER } });
    expect(second.execution.status).toBe('SUCCEEDED');
    expect(second.sagemaker.callsTo('createEndpoint')).toEqual([]);
    const [update] = second.sagemaker.callsTo('updateEndpoint');
    expect(update).toMatchObject({ EndpointName: `caretaker-${model}`, EndpointConfigName: expect.stringMatching(new RegExp(`^caretaker-${model}-v2-`)) as unknown });
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE' });
    // v1 served traffic: it was reconciled LIVE (with a note saying why), then retired by v2.
    const v1 = await world.version(model, 1);
    expect(v1).toMatchObject({ status: 'RETIRED', liveNote: expect.stringContaining(`DescribeEndpoint says caretaker-${model} serves caretaker-${model}-v1-`) as unknown });
    expect(v1?.liveNote).toContain('the registry had it DEPLOY_FAILED');
    expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 2 });
    const deployments = await world.itemsUnder(`MODEL#${model}`, 'DEPLOYMENT#');
    expect(deployments.map((d) => [d.version, d.previousVersion])).toEqual([
      [1, undefined],
      [2, 1],
    ]);
    const audit = await world.itemsUnder(`AUDIT#${model}`, '20');
    expect(audit).toContainEqual(expect.objectContaining({ type: 'DEPLOYED', version: 1, reason: expect.stringContaining('recorded LIVE by run') as unknown }));
  });

  it('RELIABILITY 23: an endpoint the registry does not know is updated, never created', async () => {
    const model = uniqueName('churn');
    world.endpoints.set(`caretaker-${model}`, { status: 'InService', config: 'made-by-hand-config' });
    const { execution, sagemaker } = await world.execute({ continues: { model, dataset: uniqueName('churn') }, evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('SUCCEEDED');
    expect(sagemaker.callsTo('createEndpoint')).toEqual([]);
    expect(sagemaker.callsTo('updateEndpoint')).toHaveLength(1);
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
  });

  it('RELIABILITY 23: an endpoint still Updating (a change not made by this run) is refused before anything is sent', async () => {
    const model = uniqueName('churn');
    world.endpoints.set(`caretaker-${model}`, { status: 'Updating', config: 'someone-elses-config' });
    const { execution, runId, sagemaker } = await world.execute({ continues: { model, dataset: uniqueName('churn') }, evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('FAILED');
    expect(await world.run(runId)).toMatchObject({
      status: 'DEPLOY_FAILED',
      failure: { state: 'ReconcileEndpoint', error: 'Caretaker.EndpointBusy', cause: expect.stringContaining(`endpoint caretaker-${model} is Updating`) as unknown },
    });
    expect(sagemaker.calls.filter((c) => /^(create|update)(Model|Endpoint|EndpointConfig)$/.test(c.api))).toEqual([]);
  });

  it('RELIABILITY 25: RecordDeployment failing after the endpoint serves the new config → the version is LIVE (DescribeEndpoint says so), never DEPLOY_FAILED', async () => {
    const { execution, model, runId, alerts } = await world.execute({ evaluation: { candidate: GOOD }, failSteps: ['recordDeployment'] });
    // The failure is still reported …
    expect(execution.status).toBe('FAILED');
    expect(alerts).toHaveLength(1);
    // … but the version that serves traffic is LIVE, with the reason.
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', liveNote: expect.stringContaining('recorded LIVE after RecordDeployment failed') as unknown });
    expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 1 });
    expect(await world.run(runId)).toMatchObject({ status: 'SUCCEEDED', failure: { state: 'RecordDeployment' } });
  });

  it('a version DEPLOYING names the endpoint config its run sends (what the releaser asks DescribeEndpoint about if the execution stops there), and LIVE drops it', async () => {
    let during: Record<string, unknown> | undefined;
    let model = '';
    const run = await world.execute({
      champion: { score: 0.85 },
      evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } },
      settings: (settings) => {
        model = settings.model;
        return settings;
      },
      duringRollout: async () => {
        during = await world.version(model, 2);
      },
    });
    expect(run.execution.status).toBe('SUCCEEDED');
    const [update] = run.sagemaker.callsTo('updateEndpoint');
    expect(during).toMatchObject({ status: 'DEPLOYING', deployingRunId: run.runId, deployingEndpointConfigName: update?.EndpointConfigName });
    expect(await world.version(run.model, 2)).not.toHaveProperty('deployingEndpointConfigName');
  });

  it('RELIABILITY 11: a failed update leaves the version DEPLOY_FAILED when DescribeEndpoint shows the old config', async () => {
    const { execution, model } = await world.execute({
      champion: { score: 0.85 },
      evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } },
      endpoint: { kind: 'rolls-back-silently' },
    });
    expect(execution.status).toBe('FAILED');
    expect(await world.version(model, 2)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
  });
});

describe('deploy path API errors, classified by the code in the Cause (RELIABILITY 28)', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  beforeAll(async () => {
    table = await createMetadataTable();
    world = new PipelineWorld(table.tableName);
    await world.setUp();
  });
  afterAll(async () => {
    await table.drop();
  });
  const rollout = { champion: { score: 0.85 }, evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } } } as const;

  it('RELIABILITY 28: a throttled CreateEndpointConfig and an UpdateEndpoint that fails internally are each sent again after a backoff, and the version goes LIVE with no failure recorded', async () => {
    const { execution, model, runId, sagemaker } = await world.execute({
      ...rollout,
      apiErrors: { createEndpointConfig: [{ code: 'ThrottlingException', message: 'Rate exceeded' }], updateEndpoint: [{ code: 'InternalFailure', message: 'An internal error occurred.' }] },
    });
    expect(execution.status).toBe('SUCCEEDED');
    const configs = sagemaker.callsTo('createEndpointConfig');
    expect(configs).toHaveLength(2);
    expect(new Set(configs.map((c) => c.EndpointConfigName)).size).toBe(1);
    expect(sagemaker.callsTo('updateEndpoint')).toHaveLength(2);
    expect(execution.states.filter((s) => s === 'BackOffAfterDeployApiError')).toHaveLength(2);
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE' });
    expect((await world.run(runId))?.failure).toBeUndefined();
  });

  it('RELIABILITY 28: a ValidationException on CreateEndpointConfig is sent once and ends the deployment DEPLOY_FAILED with SageMaker\'s message; the old version stays LIVE', async () => {
    const message = "1 validation error detected: Value 'ml.m5.lrge' at 'productionVariants.1.member.instanceType' failed to satisfy constraint";
    const { execution, model, runId, sagemaker, alerts } = await world.execute({ ...rollout, apiErrors: { createEndpointConfig: [{ code: 'ValidationException', message }] } });
    expect(execution.status).toBe('FAILED');
    expect(sagemaker.callsTo('createEndpointConfig')).toHaveLength(1);
    expect(sagemaker.callsTo('updateEndpoint')).toEqual([]);
    expect(await world.run(runId)).toMatchObject({
      status: 'DEPLOY_FAILED',
      failure: {
        state: 'CreateEndpointConfig',
        error: 'SageMaker.AmazonSageMakerException',
        cause: expect.stringContaining(`${message} (Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException;`) as unknown,
      },
    });
    expect(await world.version(model, 2)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
    expect(alerts).toHaveLength(1);
  });

  it('RELIABILITY 28: a create whose answer was lost to an internal error is not a failure: the retry is refused as already existing, and the rollout goes on to LIVE', async () => {
    // A first deployment: CreateModel and CreateEndpoint are applied, but SageMaker answers InternalFailure.
    const { execution, model, runId, sagemaker } = await world.execute({
      evaluation: { candidate: GOOD },
      apiErrors: { createModel: [{ code: 'InternalFailure', tookEffect: true }], createEndpoint: [{ code: 'InternalFailure', tookEffect: true }] },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(sagemaker.callsTo('createModel')).toHaveLength(2);
    expect(sagemaker.callsTo('createEndpoint')).toHaveLength(2);
    expect(execution.states.filter((s) => s === 'DeployApiCallTookEffect')).toHaveLength(2);
    expect(world.endpoints.get(`caretaker-${model}`)).toMatchObject({ status: 'InService', config: expect.stringMatching(new RegExp(`^caretaker-${model}-v1-`)) as unknown });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
    expect((await world.run(runId))?.failure).toBeUndefined();
  });

  it('RELIABILITY 28: an already-existing refusal on the first attempt is a real refusal (another resource has the name): DEPLOY_FAILED, not skipped', async () => {
    const message = `Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/someone-elses".`;
    const { execution, runId, sagemaker } = await world.execute({ ...rollout, apiErrors: { createEndpointConfig: [{ code: 'ValidationException', message }] } });
    expect(execution.status).toBe('FAILED');
    expect(sagemaker.callsTo('updateEndpoint')).toEqual([]);
    expect(await world.run(runId)).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'CreateEndpointConfig', cause: expect.stringContaining(message) as unknown } });
  });

  it('RELIABILITY 28: throttling that outlasts the retries ends the deployment after a bounded number of calls', async () => {
    const { execution, runId, sagemaker } = await world.execute({
      ...rollout,
      apiErrors: { updateEndpoint: Array.from({ length: 8 }, () => ({ code: 'ThrottlingException', message: 'Rate exceeded' })) },
    });
    expect(execution.status).toBe('FAILED');
    expect(sagemaker.callsTo('updateEndpoint')).toHaveLength(5);
    expect(await world.run(runId)).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'UpdateEndpoint', cause: expect.stringContaining('Error Code: ThrottlingException;') as unknown } });
  });
});

describe('scripted SageMaker refuses what SageMaker refuses', () => {
  it('CreateEndpoint for an existing name, UpdateEndpoint while Updating, and DescribeEndpoint of an unknown name', async () => {
    const { ScriptedSageMaker } = await import('../fixtures/sagemaker');
    const sagemaker = new ScriptedSageMaker({ s3: undefined as never, evaluation: { candidate: {} } });
    await sagemaker.createEndpoint({ EndpointName: 'ep', EndpointConfigName: 'c1' });
    await expect(sagemaker.createEndpoint({ EndpointName: 'ep', EndpointConfigName: 'c2' })).rejects.toMatchObject({
      name: 'SageMaker.AmazonSageMakerException',
      message: expect.stringMatching(/^Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint\/ep"\. \(Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException;/) as unknown,
    });
    await expect(sagemaker.updateEndpoint({ EndpointName: 'ep', EndpointConfigName: 'c2' })).rejects.toMatchObject({
      name: 'SageMaker.AmazonSageMakerException',
      message: expect.stringContaining('Error Code: ValidationException') as unknown,
    });
    await expect(sagemaker.describeEndpoint({ EndpointName: 'nope' })).rejects.toMatchObject({ name: 'SageMaker.ValidationException', message: expect.stringContaining('Could not find endpoint') as unknown });
  });
});

describe('one deployment in flight per endpoint (RELIABILITY 24)', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  beforeAll(async () => {
    table = await createMetadataTable();
    world = new PipelineWorld(table.tableName);
    await world.setUp();
  });
  afterAll(async () => {
    await table.drop();
  });

  /** v1 deployed, then v2 over it: v1 RETIRED, v2 LIVE. */
  async function twoDeployedVersions() {
    const first = await world.execute({ evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    const second = await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD } });
    expect([first.execution.status, second.execution.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    return continues;
  }

  it('RELIABILITY 24: a rollback during a rollout → one deployment, the rollback refused with the reason; its target stays RETIRED', async () => {
    const { model, dataset } = await twoDeployedVersions();
    let rollback: Awaited<ReturnType<PipelineWorld['rollback']>> | undefined;
    const rollout = await world.execute({
      continues: { model, dataset },
      evaluation: { candidate: BEST, champion: BETTER },
      // While v3's UpdateEndpoint is in progress, someone asks to roll back to v1.
      duringRollout: async () => {
        rollback = await world.rollback({ model, dataset, version: 1, reason: 'v2 regressed' });
      },
    });
    expect(rollout.execution.status).toBe('SUCCEEDED');
    expect(await world.version(model, 3)).toMatchObject({ status: 'LIVE' });
    expect(rollout.sagemaker.callsTo('updateEndpoint')).toHaveLength(1);

    expect(rollback?.execution.status).toBe('FAILED');
    expect(rollback?.execution.error).toBe('Caretaker.DeploymentInFlight');
    expect(rollback?.execution.cause).toContain(`deployment ${rollout.runId} of ${model} version 3 holds endpoint caretaker-${model}`);
    expect(rollback?.sagemaker.calls.filter((c) => c.api !== 'describeEndpoint')).toEqual([]);
    expect(rollback?.alerts).toHaveLength(1);
    // The target never moved: it can still be rolled back to, and the lease is free again.
    expect(await world.version(model, 1)).toMatchObject({ status: 'RETIRED' });
    const later = await world.rollback({ model, dataset, version: 1, reason: 'v3 regressed too' });
    expect(later.execution.status).toBe('SUCCEEDED');
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
  });

  it('RELIABILITY 24: a failed rollback gives its target the status it had, so it can be rolled back to again', async () => {
    const { model, dataset } = await twoDeployedVersions();
    const failing = await world.rollback({ model, dataset, version: 1, reason: 'try', endpoint: { kind: 'fails', reason: 'ping health check failed' } });
    expect(failing.execution.status).toBe('FAILED');
    expect(await world.run(failing.runId)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 1)).toMatchObject({ status: 'RETIRED', lastFailedDeployment: { runId: failing.runId } });
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE' });
  });
});

describe('drift baseline out of the critical path (RELIABILITY 25)', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  beforeAll(async () => {
    table = await createMetadataTable();
    world = new PipelineWorld(table.tableName);
    await world.setUp();
  });
  afterAll(async () => {
    await table.drop();
  });

  it('RELIABILITY 25: the training objects deleted once the endpoint is InService → the version is LIVE, its baseline FAILED, the run SUCCEEDED', async () => {
    let objects: readonly { bucket: string; key: string; versionId: string }[] = [];
    const { execution, model, runId, alerts } = await world.execute({
      evaluation: { candidate: GOOD },
      beforeRun: (_world, scenario) => {
        objects = scenario.datasetObjects;
        return Promise.resolve();
      },
      // A lifecycle rule removes the registered object versions while the endpoint is being created.
      duringRollout: async () => {
        for (const o of objects) await world.s3.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: o.key, VersionId: o.versionId }));
      },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toContain('BuildDriftBaseline');
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', baselineStatus: 'FAILED', baselineError: expect.stringContaining('NoSuchVersion') as unknown });
    expect(await world.run(runId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(alerts).toEqual([]);
  });
});
