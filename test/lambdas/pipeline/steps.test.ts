import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLineage, registerDatasetVersion, type DatasetCatalog } from '../../../lambdas/datasets';
import { createHandler, createPorts } from '../../../lambdas/pipeline/handler';
import { describeCause, type StepPorts } from '../../../lambdas/pipeline/steps';
import { readBaseline } from '../../../lambdas/drift/store';
import { keys } from '../../../lambdas/shared/contracts';
import { Invalid } from '../../../lambdas/shared/errors';
import { uniqueName } from '../../support/aws';
import { churnCsv, PipelineWorld } from '../../support/pipeline';
import { exampleConfig } from '../../support/stack';
import { createMetadataTable } from '../../support/table';

const trigger = { kind: 'api', id: 'req-1', reason: 'test' } as const;
/** The one model the catalog says trains on dataset `churn` (StartRun checks that). */
const STARTER_MODEL = 'starter';
const catalog: DatasetCatalog = {
  churn: { columns: exampleConfig().models[0]!.dataset.columns, minRows: 10, models: [{ name: STARTER_MODEL }] },
};

describe('pipeline steps against the moto table', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  let ports: StepPorts;
  beforeAll(async () => {
    table = await createMetadataTable();
    world = new PipelineWorld(table.tableName);
    await world.setUp();
    ports = createPorts({
      tableName: table.tableName,
      approvalsTopicArn: 'unused',
      artifactsBucket: world.artifactsBucket,
      datasetsBucket: world.datasetsBucket,
      catalog,
      dynamo: world.dynamo,
      s3: world.s3,
    });
    // Dataset churn v000001 (PASSED), which the registrations below point their lineage at.
    await world.putObject('datasets/churn/a.csv', churnCsv(20));
    await registerDatasetVersion(ports.datasets, { dataset: 'churn', objects: [{ key: 'datasets/churn/a.csv' }], registeredBy: 'test' });
  });
  afterAll(async () => {
    await table.drop();
  });

  const registration = (model: string, runId: string) => ({
    step: 'registerVersion' as const,
    runId,
    model,
    requestedBy: 'arn:aws:iam::123456789012:role/ds',
    datasetName: 'churn',
    datasetVersion: 'v1',
    trainingJobName: 'caretaker-x-t1',
    modelArtifactUri: 's3://artifacts/models/x/model.tar.gz',
    imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1',
    instanceType: 'ml.g5.xlarge',
    hyperparameters: {},
    metrics: { auc: 0.9 },
    comparison: { metricName: 'auc', direction: 'maximize' as const, candidate: 0.9 },
    evaluationReportUri: 's3://artifacts/evaluations/x/r/evaluation.json',
    trainingDataUri: 's3://datasets/datasets/churn/v1/',
  });

  it('registers one version per run even when the step is retried', async () => {
    const model = uniqueName('m');
    const runId = uniqueName('run');
    await world.put({ ...keys.run(runId), runId, model, status: 'RUNNING' });
    const step = createHandler(ports);
    const first = await step(registration(model, runId));
    const again = await step(registration(model, runId));
    expect(first).toEqual({ version: 1 });
    expect(again).toEqual({ version: 1 });
    expect(await world.get(keys.model(model))).toMatchObject({ versionCounter: 1 });
    expect(await world.version(model, 1)).toMatchObject({ status: 'PENDING_APPROVAL', gsi1pk: `MODEL#${model}#STATUS#PENDING_APPROVAL` });
    expect(await world.itemsUnder(`AUDIT#${model}`, '2')).toHaveLength(1);
    // The datasets part's lineage, recorded once (idempotent) for the one version.
    expect((await listLineage(ports.datasets, 'churn', 'v1')).filter((entry) => entry.model === model)).toEqual([
      expect.objectContaining({ model, modelVersion: 1, runId, datasetVersion: 'v000001' }),
    ]);
  });

  it('records the lineage on a retry when the first attempt registered the version but the lineage write failed', async () => {
    const model = uniqueName('m');
    const runId = uniqueName('run');
    await world.put({ ...keys.run(runId), runId, model, status: 'RUNNING' });
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const failingLineage = createHandler({ ...ports, lineage: { record: () => Promise.reject(throttled) } });
    await expect(failingLineage(registration(model, runId))).rejects.toMatchObject({ name: 'Caretaker.Unavailable' });
    expect(await listLineage(ports.datasets, 'churn', 'v1')).not.toContainEqual(expect.objectContaining({ model }));
    expect(await createHandler(ports)(registration(model, runId))).toEqual({ version: 1 });
    expect((await listLineage(ports.datasets, 'churn', 'v1')).filter((entry) => entry.model === model)).toEqual([
      expect.objectContaining({ model, modelVersion: 1, runId }),
    ]);
  });

  it('numbers versions of a model 1, 2, 3 across runs', async () => {
    const model = uniqueName('m');
    const step = createHandler(ports);
    const versions: unknown[] = [];
    for (const runId of [uniqueName('a'), uniqueName('b'), uniqueName('c')]) {
      await world.put({ ...keys.run(runId), runId, model, status: 'RUNNING' });
      versions.push(await step(registration(model, runId)));
    }
    expect(versions).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
  });

  it('refuses to deploy a version nobody approved', async () => {
    const model = uniqueName('m');
    const runId = uniqueName('run');
    await world.put({ ...keys.run(runId), runId, model, status: 'RUNNING' });
    const step = createHandler(ports);
    await step(registration(model, runId));
    await expect(
      step({ step: 'startDeployment', runId, model, version: 1, resourcePrefix: 'caretaker', endpointName: `caretaker-${model}`, leaseSeconds: 3600 }),
    ).rejects.toMatchObject({ name: 'Conflict', message: expect.stringContaining('PENDING_APPROVAL, not APPROVED') as unknown });
  });

  it('expires a version still waiting for approval when the run fails, dropping its token', async () => {
    const model = uniqueName('m');
    const runId = uniqueName('run');
    await world.put({ ...keys.run(runId), runId, model, status: 'RUNNING' });
    const step = createHandler(ports);
    await step(registration(model, runId));
    await ports.store.transitionVersion(model, 1, ['PENDING_APPROVAL'], 'PENDING_APPROVAL', { at: new Date().toISOString(), set: { taskToken: 't' } });
    const outcome = await step({
      step: 'finishRun',
      status: 'FAILED',
      executionArn: 'arn:aws:states:us-east-1:1:execution:p:x',
      run: {
        runId,
        model,
        datasetVersion: 'v1',
        requestedBy: 'arn:aws:iam::123456789012:role/ds',
        trigger,
        registered: { version: 1 },
        failure: { WaitForApproval: { Error: 'SNS.KMSAccessDeniedException', Cause: 'no access to key' } },
      },
    });
    expect(outcome).toEqual({ status: 'FAILED', Error: 'SNS.KMSAccessDeniedException', Cause: 'no access to key' });
    const version = await world.version(model, 1);
    expect(version).toMatchObject({ status: 'EXPIRED' });
    expect(version).not.toHaveProperty('taskToken');
    expect(await world.run(runId)).toMatchObject({ status: 'FAILED', failure: { state: 'WaitForApproval', error: 'SNS.KMSAccessDeniedException' } });
  });

  it('turns a throttled DynamoDB call into Caretaker.Unavailable, which the state machine retries', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
    const store = Object.assign(Object.create(ports.store) as StepPorts['store'], { getRun: () => Promise.reject(throttled) });
    const failing = createHandler({ ...ports, store });
    await expect(failing(registration('m', 'r'))).rejects.toMatchObject({ name: 'Caretaker.Unavailable' });
  });

  it('starts the run on top of what the retraining starter recorded, keeping its fields', async () => {
    const model = STARTER_MODEL;
    const runId = uniqueName('run');
    await world.put({ ...keys.run(runId), runId, model, status: 'REQUESTED', startedAt: '2026-11-22T08:00:00.000Z', leaseId: 'lease-1' });
    const step = createHandler(ports);
    const start = { step: 'startRun' as const, runId, model, datasetVersion: 'v1', requestedBy: 'caretaker:alarm', trigger, datasetName: 'churn', resourcePrefix: 'caretaker' };
    await step({ ...start, executionArn: 'arn:aws:states:us-east-1:1:execution:p:one' });
    expect(await world.run(runId)).toMatchObject({ status: 'RUNNING', leaseId: 'lease-1', startedAt: '2026-11-22T08:00:00.000Z', executionArn: 'arn:aws:states:us-east-1:1:execution:p:one' });
    // A different execution with the same run id does not take the record over.
    await step({ ...start, executionArn: 'arn:aws:states:us-east-1:1:execution:p:two' });
    expect(await world.run(runId)).toMatchObject({ executionArn: 'arn:aws:states:us-east-1:1:execution:p:one' });
  });

  describe('RecordDeployment\'s drift baseline', () => {
    async function deployingVersion() {
      const model = uniqueName('m');
      const runId = uniqueName('run');
      await world.put({ ...keys.run(runId), runId, model, status: 'RUNNING' });
      const step = createHandler(ports);
      await step(registration(model, runId));
      await ports.store.transitionVersion(model, 1, ['PENDING_APPROVAL'], 'DEPLOYING', { at: new Date().toISOString() });
      return {
        model,
        record: {
          step: 'recordDeployment' as const,
          runId,
          model,
          version: 1,
          endpointName: `caretaker-${model}`,
          endpointConfigName: `caretaker-${model}-v1-abc`,
          modelName: `caretaker-${model}-v1-abc`,
          trainingDataUri: `s3://${world.artifactsBucket}/models/${model}/${runId}/input/`,
          executionArn: 'arn:aws:states:us-east-1:1:execution:p:x',
        },
      };
    }

    const baselineOf = (model: string) => ({ step: 'buildBaseline' as const, model, version: 1, datasetName: 'churn', datasetVersion: 'v1', baseline: { exclude: ['churned'], types: {} } });

    it('RecordDeployment makes the version LIVE with its baseline PENDING; BuildDriftBaseline writes it and marks it READY', async () => {
      const { model, record } = await deployingVersion();
      await createHandler(ports)(record);
      expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', baselineStatus: 'PENDING' });
      expect(await readBaseline(world.s3, world.artifactsBucket, model, 1)).toBeUndefined();
      expect(await createHandler(ports)(baselineOf(model))).toEqual({ baselineStatus: 'READY' });
      expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', baselineStatus: 'READY' });
      const baseline = await readBaseline(world.s3, world.artifactsBucket, model, 1);
      expect(baseline?.features.map((f) => f.name)).toEqual(['tenure_months', 'monthly_charges', 'support_calls', 'contract']);
    });

    it('RecordDeployment retried after it succeeded changes nothing and still answers', async () => {
      const { model, record } = await deployingVersion();
      const first = await createHandler(ports)(record);
      expect(await createHandler(ports)(record)).toEqual(first);
      expect(await world.itemsUnder(`MODEL#${model}`, 'DEPLOYMENT#')).toHaveLength(1);
    });

    it('RELIABILITY 25: a baseline the data cannot give is recorded FAILED on the version, which stays LIVE', async () => {
      const { model, record } = await deployingVersion();
      await createHandler(ports)(record);
      const step = createHandler({ ...ports, baselines: { write: () => Promise.reject(new Invalid('the header row has an empty column name')) } });
      expect(await step(baselineOf(model))).toMatchObject({ baselineStatus: 'FAILED', baselineError: expect.stringContaining('empty column name') as unknown });
      expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', baselineStatus: 'FAILED' });
    });

    it('a throttled baseline write fails the step as Caretaker.Unavailable (retried by its state); the version is LIVE regardless', async () => {
      const { model, record } = await deployingVersion();
      await createHandler(ports)(record);
      const throttled = Object.assign(new Error('Slow Down'), { name: 'ThrottlingException' });
      const step = createHandler({ ...ports, baselines: { write: () => Promise.reject(throttled) } });
      await expect(step(baselineOf(model))).rejects.toMatchObject({ name: 'Caretaker.Unavailable' });
      expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', baselineStatus: 'PENDING' });
    });
  });

  it('rejects a malformed step payload naming the field', async () => {
    await expect(createHandler(ports)({ step: 'gate', runId: 'r' })).rejects.toMatchObject({ name: 'Invalid', message: expect.stringContaining('model') as unknown });
  });
});

describe('describeCause', () => {
  it('keeps SageMaker\'s job status and failure reason from a .sync cause', () => {
    const cause = JSON.stringify({ TrainingJobName: 'j', TrainingJobStatus: 'Failed', SecondaryStatus: 'Failed', FailureReason: 'AlgorithmError: boom' });
    expect(describeCause(cause)).toBe('j Failed: AlgorithmError: boom');
  });

  it('passes plain causes through', () => {
    expect(describeCause('dataset churn has no version v9')).toBe('dataset churn has no version v9');
  });
});

