/**
 * The training pipeline ASL executed offline on every path (aws-local-stepfunctions), with the
 * real steps Lambda writing to the moto DynamoDB table and S3, and scripted SageMaker responses.
 * Test names carry the RELIABILITY.md row they cover.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLineage } from '../../lambdas/datasets';
import { parseBaseline } from '../../lambdas/drift/baseline';
import { rollbackInputSchema, SAGEMAKER_NAME } from '../../lambdas/pipeline/steps';
import { PipelineStore } from '../../lambdas/pipeline/store';
import { keys } from '../../lambdas/shared/contracts';
import { sendTaskSuccess } from '../../local/stepfunctions/runner';
import { uniqueName } from '../support/aws';
import { APPROVER, PipelineWorld, REQUESTER, type BeforeRun } from '../support/pipeline';
import { createMetadataTable } from '../support/table';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };

/** A lifecycle rule (or a person) removed one registered object version after registration. */
const deleteFirstObjectVersion: BeforeRun = async (world, { datasetObjects: [first] }) => {
  await world.s3.send(new DeleteObjectCommand({ Bucket: first!.bucket, Key: first!.key, VersionId: first!.versionId }));
};

describe('training pipeline, executed offline', () => {
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

  it('takes a validated dataset version to a live endpoint on first deploy (no champion: thresholds only)', async () => {
    const { execution, model, runId, sagemaker, approvals, alerts, datasets, dataset, datasetVersion } = await world.execute({ evaluation: { candidate: GOOD } });

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states.at(-1)).toBe('Deployed');
    const run = await world.run(runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', model, version: 1, requestedBy: REQUESTER, comparison: { candidate: 0.91 } });
    expect(run?.comparison).not.toHaveProperty('champion');
    expect(run?.endedAt).toBeDefined();

    const version = await world.version(model, 1);
    expect(version).toMatchObject({
      status: 'LIVE',
      requestedBy: REQUESTER,
      trainingJobName: expect.stringMatching(SAGEMAKER_NAME) as unknown,
      modelArtifactUri: expect.stringMatching(/\/output\/model\.tar\.gz$/) as unknown,
      metrics: GOOD,
      decision: { decision: 'APPROVED' },
      baselineUri: `s3://${world.artifactsBucket}/baselines/${model}/1/`,
      evaluationReportUri: `s3://${world.artifactsBucket}/evaluations/${model}/${runId}/evaluation.json`,
    });
    expect(version).not.toHaveProperty('taskToken');
    expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 1, versionCounter: 1 });
    const [deployment] = await world.itemsUnder(`MODEL#${model}`, 'DEPLOYMENT#');
    expect(deployment).toMatchObject({ version: 1, runId, endpointName: `caretaker-${model}` });
    // Lineage through the datasets part: the dataset version lists the model version trained on it.
    expect(await listLineage(datasets, dataset, datasetVersion)).toEqual([expect.objectContaining({ model, modelVersion: 1, runId, datasetVersion })]);

    // First deploy creates the endpoint; the evaluation had no champion input.
    expect(sagemaker.callsTo('createEndpoint')).toHaveLength(1);
    expect(sagemaker.callsTo('updateEndpoint')).toHaveLength(0);
    const [processing] = sagemaker.callsTo('createProcessingJob');
    // The example evaluates with its own script in SageMaker's XGBoost image: the script is one more input, run by python3.
    expect((processing!.ProcessingInputs as { InputName: string }[]).map((i) => i.InputName)).toEqual(['candidate', 'holdout', 'code']);
    expect(processing!.AppSpecification).toEqual({ ImageUri: 'sagemaker-xgboost:1.7-1', ContainerEntrypoint: ['python3', '/opt/ml/processing/input/code/0123abcd.py'] });
    const [endpointConfig] = sagemaker.callsTo('createEndpointConfig');
    expect(endpointConfig!.DataCaptureConfig).toMatchObject({
      EnableCapture: true,
      InitialSamplingPercentage: 20,
      DestinationS3Uri: `s3://${world.artifactsBucket}/capture/${model}/`,
      KmsKeyId: expect.stringContaining(':key/') as unknown,
    });
    // The example serves from ml.m5.large, whose volumes are EBS: encrypted with the stack key. (NVMe
    // instance-storage types get no storage-volume key: test/lib/training-pipeline.test.ts.)
    expect(endpointConfig!.KmsKeyId).toEqual((endpointConfig!.DataCaptureConfig as { KmsKeyId: string }).KmsKeyId);
    expect(approvals[0]?.body).toContain(`npx caretaker approve ${model} 1 --reason`);
    expect(alerts).toHaveLength(0);
  });

  it('registers the version with the dataset version\'s canonical id when the run was asked for "1"', async () => {
    const { execution, model, datasetVersion } = await world.execute({ evaluation: { candidate: GOOD }, requestedDatasetVersion: '1' });
    expect(execution.status).toBe('SUCCEEDED');
    expect(datasetVersion).toBe('v000001');
    expect(await world.version(model, 1)).toMatchObject({ datasetVersion: 'v000001' });
  });

  it('trains and evaluates on the run\'s staged copy of the exact registered object versions, not the live dataset prefix', async () => {
    const { execution, model, runId, sagemaker, datasetObjects } = await world.execute({ evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('SUCCEEDED');
    const staged = `models/${model}/${runId}/input/`;
    const channels = `models/${model}/${runId}/channels/`;
    const [job] = sagemaker.callsTo('createTrainingJob');
    // SageMaker's XGBoost reads the algorithm CSV channels encoded from the staged copy.
    const channel = (name: string, prefix: string) => ({
      ChannelName: name,
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${world.artifactsBucket}/${channels}${prefix}`, S3DataDistributionType: 'FullyReplicated' } },
    });
    expect(job!.InputDataConfig).toEqual([channel('train', 'train/'), channel('validation', 'holdout/validation/')]);
    const [processing] = sagemaker.callsTo('createProcessingJob');
    const holdout = (processing!.ProcessingInputs as { InputName: string; S3Input: { S3Uri: string } }[]).find((i) => i.InputName === 'holdout');
    expect(holdout?.S3Input.S3Uri).toBe(`s3://${world.artifactsBucket}/${channels}holdout/`);
    const encoded = await world.s3.send(new ListObjectsV2Command({ Bucket: world.artifactsBucket, Prefix: channels }));
    const encodedKeys = (encoded.Contents ?? []).map((o) => o.Key!.slice(channels.length));
    expect(encodedKeys).toContain('holdout/encoding.json');
    expect(encodedKeys.filter((k) => k.startsWith('train/')).length).toBe(datasetObjects.length);

    // The keys under datasets/ were overwritten after registration; the staged bytes are the registered ones.
    const listed = await world.s3.send(new ListObjectsV2Command({ Bucket: world.artifactsBucket, Prefix: staged }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(datasetObjects.map((o) => `${staged}${o.key.slice(o.key.indexOf('/', 'datasets/'.length) + 1)}`).sort());
    for (const object of datasetObjects) {
      const copy = await world.s3.send(new GetObjectCommand({ Bucket: world.artifactsBucket, Key: `${staged}${object.key.slice(object.key.indexOf('/', 'datasets/'.length) + 1)}` }));
      const bytes = await copy.Body!.transformToByteArray();
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(object.sha256);
      const current = await world.s3.send(new HeadObjectCommand({ Bucket: world.datasetsBucket, Key: object.key }));
      expect(current.VersionId).not.toBe(object.versionId);
    }
    expect(await world.run(runId)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('writes the deployed version\'s drift baseline from its training objects, label excluded, declared types', async () => {
    const { execution, model } = await world.execute({ evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('SUCCEEDED');
    const object = await world.s3.send(new GetObjectCommand({ Bucket: world.artifactsBucket, Key: `baselines/${model}/1/baseline.json` }));
    const baseline = parseBaseline(await object.Body!.transformToString(), 'baseline.json');
    // 80 registered rows (the 6 rows written over the keys later are not training data).
    expect(baseline.rows).toBe(80);
    expect(baseline.features.map((f) => [f.name, f.type])).toEqual([
      ['tenure_months', 'numeric'],
      ['monthly_charges', 'numeric'],
      ['support_calls', 'numeric'],
      ['contract', 'categorical'],
    ]);
  });

  it('ends the run before training when a registered object version no longer exists in S3', async () => {
    const { execution, runId, sagemaker } = await world.execute({ evaluation: { candidate: GOOD }, beforeRun: deleteFirstObjectVersion });
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('Caretaker.DatasetNotValidated');
    expect(await world.run(runId)).toMatchObject({ status: 'FAILED', failure: { state: 'StartRun', cause: expect.stringContaining('no longer exists') as unknown } });
    expect(sagemaker.calls).toEqual([]);
  });

  it('RELIABILITY 2: trains on managed spot with MaxWait ≥ MaxRuntime, KMS, isolation, tags and a per-run checkpoint URI', async () => {
    const { sagemaker, model, runId, datasetVersion } = await world.execute({ evaluation: { candidate: GOOD } });
    const [job] = sagemaker.callsTo('createTrainingJob');
    const stopping = job!.StoppingCondition as { MaxRuntimeInSeconds: number; MaxWaitTimeInSeconds: number };
    expect(job).toMatchObject({
      EnableManagedSpotTraining: true,
      EnableNetworkIsolation: true,
      CheckpointConfig: { S3Uri: `s3://${world.artifactsBucket}/checkpoints/${model}/${runId}/`, LocalPath: '/opt/ml/checkpoints' },
      OutputDataConfig: { S3OutputPath: `s3://${world.artifactsBucket}/models/${model}/${runId}/`, KmsKeyId: expect.stringContaining(':key/') as unknown },
      // g5 storage is NVMe instance storage: SageMaker refuses a VolumeKmsKeyId there.
      ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
      // 1.7-1's GPU tree method, derived because every instance type of the model has a GPU.
      HyperParameters: { objective: 'binary:logistic', eval_metric: 'auc', max_depth: '6', eta: '0.2', num_round: '200', tree_method: 'gpu_hist' },
      InputDataConfig: [
        { ChannelName: 'train', DataSource: { S3DataSource: { S3Uri: `s3://${world.artifactsBucket}/models/${model}/${runId}/channels/train/` } } },
        { ChannelName: 'validation', DataSource: { S3DataSource: { S3Uri: `s3://${world.artifactsBucket}/models/${model}/${runId}/channels/holdout/validation/` } } },
      ],
      Tags: [
        { Key: 'caretaker:model', Value: model },
        { Key: 'caretaker:run-id', Value: runId },
        { Key: 'caretaker:dataset-version', Value: datasetVersion },
      ],
    });
    expect(job!.ResourceConfig).not.toHaveProperty('VolumeKmsKeyId');
    expect(stopping.MaxWaitTimeInSeconds).toBeGreaterThanOrEqual(stopping.MaxRuntimeInSeconds);
  });

  it('RELIABILITY 3: retries capacity errors with backoff, a new valid job name per attempt, the same checkpoint URI, then falls back to the next instance type', async () => {
    const { execution, sagemaker, runId, model } = await world.execute({
      evaluation: { candidate: GOOD },
      training: [
        // CreateTrainingJob refused four times (1 + 3 retries with backoff): no job exists, the name is reusable.
        ...Array.from({ length: 4 }, () => ({ kind: 'rejected', code: 'ResourceLimitExceeded' }) as const),
        // A fresh attempt on the same type is created but cannot be provisioned …
        { kind: 'capacity-error' },
        // … so the next instance type in training.instanceTypes runs it.
        { kind: 'completed' },
      ],
    });

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.retries.TrainModel).toBe(3);
    const jobs = sagemaker.callsTo('createTrainingJob');
    const names = jobs.map((j) => String(j.TrainingJobName));
    const types = jobs.map((j) => (j.ResourceConfig as { InstanceType: string }).InstanceType);
    expect(types).toEqual(['ml.g5.xlarge', 'ml.g5.xlarge', 'ml.g5.xlarge', 'ml.g5.xlarge', 'ml.g5.xlarge', 'ml.g4dn.xlarge']);
    // The three jobs SageMaker created (or tried to: attempts 1, 2, 3) have distinct names.
    expect(new Set(names)).toEqual(new Set([names[0], names[4], names[5]]));
    expect(new Set([names[0], names[4], names[5]]).size).toBe(3);
    for (const name of names) {
      expect(name).toMatch(SAGEMAKER_NAME);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    // Spot interruption or not, every attempt of the run resumes from the same checkpoints.
    expect(new Set(jobs.map((j) => (j.CheckpointConfig as { S3Uri: string }).S3Uri))).toEqual(
      new Set([`s3://${world.artifactsBucket}/checkpoints/${model}/${runId}/`]),
    );
    expect(await world.version(model, 1)).toMatchObject({ instanceType: 'ml.g4dn.xlarge', status: 'LIVE' });
  });

  it('RELIABILITY 3: fails the run once every instance type is out of capacity', async () => {
    const { execution, runId, model, sagemaker, alerts } = await world.execute({
      evaluation: { candidate: GOOD },
      training: Array.from({ length: 4 }, () => ({ kind: 'capacity-error' }) as const),
    });
    expect(execution.status).toBe('FAILED');
    // Each type: one job, then one more after a backoff, then the next type; none left.
    const types = sagemaker.callsTo('createTrainingJob').map((j) => (j.ResourceConfig as { InstanceType: string }).InstanceType);
    expect(types).toEqual(['ml.g5.xlarge', 'ml.g5.xlarge', 'ml.g4dn.xlarge', 'ml.g4dn.xlarge']);
    expect(await world.run(runId)).toMatchObject({ status: 'FAILED', failure: { state: 'TrainModel', cause: expect.stringContaining('CapacityError') as unknown } });
    expect(await world.version(model, 1)).toBeUndefined();
    expect(alerts).toHaveLength(1);
  });

  it('RELIABILITY 28: throttling raised as SageMaker.AmazonSageMakerException (ThrottlingException in the Cause) is retried with backoff under a new job name', async () => {
    const { execution, sagemaker, model } = await world.execute({
      evaluation: { candidate: GOOD },
      training: [{ kind: 'rejected', code: 'ThrottlingException' }, { kind: 'rejected', code: 'InternalFailure', message: 'An internal error occurred.' }, { kind: 'completed' }],
    });
    expect(execution.status).toBe('SUCCEEDED');
    const jobs = sagemaker.callsTo('createTrainingJob');
    expect(jobs.map((j) => (j.ResourceConfig as { InstanceType: string }).InstanceType)).toEqual(['ml.g5.xlarge', 'ml.g5.xlarge', 'ml.g5.xlarge']);
    // A job may exist after an internal error: every attempt has a name of its own.
    expect(new Set(jobs.map((j) => j.TrainingJobName)).size).toBe(3);
    expect(execution.states.filter((s) => s === 'BackOffAfterTrainingApiError')).toHaveLength(2);
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
  });

  it('RELIABILITY 28: a SageMaker validation error ends the run FAILED with SageMaker\'s message, without retrying', async () => {
    const message = "1 validation error detected: Value 'ml.g5.xlarge' at 'resourceConfig.instanceType' failed to satisfy constraint";
    const { execution, sagemaker, runId, model, alerts } = await world.execute({
      evaluation: { candidate: GOOD },
      training: [{ kind: 'rejected', code: 'ValidationException', message }],
    });
    expect(execution.status).toBe('FAILED');
    expect(sagemaker.callsTo('createTrainingJob')).toHaveLength(1);
    expect(await world.run(runId)).toMatchObject({
      status: 'FAILED',
      failure: { state: 'TrainModel', error: 'SageMaker.AmazonSageMakerException', cause: expect.stringContaining(`${message} (Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException;`) as unknown },
    });
    expect(await world.version(model, 1)).toBeUndefined();
    expect(alerts).toHaveLength(1);
  });

  it('RELIABILITY 28: throttling that outlasts the retries ends the run FAILED after a bounded number of attempts', async () => {
    const { execution, sagemaker, runId } = await world.execute({
      evaluation: { candidate: GOOD },
      training: Array.from({ length: 8 }, () => ({ kind: 'rejected', code: 'ThrottlingException' }) as const),
    });
    expect(execution.status).toBe('FAILED');
    expect(sagemaker.callsTo('createTrainingJob')).toHaveLength(5);
    expect(await world.run(runId)).toMatchObject({ status: 'FAILED', failure: { state: 'TrainModel', cause: expect.stringContaining('Error Code: ThrottlingException;') as unknown } });
  });

  it('RELIABILITY 28: a throttled evaluation is retried as a new processing job; a refused one ends the run with SageMaker\'s message', async () => {
    const retried = await world.execute({ evaluation: { candidate: GOOD }, evaluationErrors: [{ code: 'ThrottlingException', message: 'Rate exceeded' }] });
    expect(retried.execution.status).toBe('SUCCEEDED');
    const names = retried.sagemaker.callsTo('createProcessingJob').map((j) => String(j.ProcessingJobName));
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    for (const name of names) expect(name).toMatch(SAGEMAKER_NAME);

    const refused = await world.execute({ evaluation: { candidate: GOOD }, evaluationErrors: [{ code: 'AccessDeniedException', message: 'not authorized to perform: sagemaker:CreateProcessingJob' }] });
    expect(refused.execution.status).toBe('FAILED');
    expect(refused.sagemaker.callsTo('createProcessingJob')).toHaveLength(1);
    expect(await world.run(refused.runId)).toMatchObject({ status: 'FAILED', failure: { state: 'Evaluate', cause: expect.stringContaining('Error Code: AccessDeniedException;') as unknown } });
  });

  it('RELIABILITY 1: a failed training job ends the run FAILED with SageMaker\'s reason, registers nothing, alerts, leaves the endpoint alone', async () => {
    const { execution, runId, model, sagemaker, alerts } = await world.execute({
      evaluation: { candidate: GOOD },
      champion: { score: 0.8 },
      training: [{ kind: 'failed', reason: 'AlgorithmError: ExecuteUserScriptError: ValueError: could not convert string to float' }],
    });

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('States.TaskFailed');
    const run = await world.run(runId);
    expect(run).toMatchObject({
      status: 'FAILED',
      failure: { state: 'TrainModel', error: 'States.TaskFailed', cause: expect.stringMatching(/ Failed: AlgorithmError: ExecuteUserScriptError/) as unknown },
    });
    expect(run?.version).toBeUndefined();
    expect(await world.version(model, 2)).toBeUndefined();
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
    expect(sagemaker.calls.filter((c) => /Endpoint|Model$/.test(c.api))).toEqual([]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.Message).toMatchObject({ runId, model, failure: { TrainModel: { Error: 'States.TaskFailed' } } });
  });

  it('RELIABILITY 1: a training job stopped at its max runtime ends the run FAILED with the stop reason', async () => {
    const { execution, runId, model, alerts } = await world.execute({ evaluation: { candidate: GOOD }, training: [{ kind: 'stopped-max-runtime' }] });
    expect(execution.status).toBe('FAILED');
    expect(await world.run(runId)).toMatchObject({
      status: 'FAILED',
      failure: { state: 'TrainModel', cause: expect.stringMatching(/ Stopped \(MaxRuntimeExceeded\)/) as unknown },
    });
    expect(await world.version(model, 1)).toBeUndefined();
    expect(alerts).toHaveLength(1);
  });

  it('never trains on a dataset version that did not pass validation', async () => {
    const { execution, runId, sagemaker, alerts } = await world.execute({ evaluation: { candidate: GOOD }, datasetValidation: 'FAILED' });
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('Caretaker.DatasetNotValidated');
    expect(await world.run(runId)).toMatchObject({
      status: 'FAILED',
      failure: { state: 'StartRun', error: 'Caretaker.DatasetNotValidated', cause: expect.stringMatching(/failed validation: .*tenure_months/) as unknown },
    });
    expect(sagemaker.calls).toEqual([]);
    expect(alerts).toHaveLength(1);
  });

  it('RELIABILITY 4: a candidate that does not beat the champion ends "rejected by gate" with both scores, nothing registered or deployed', async () => {
    const { execution, runId, model, sagemaker, alerts } = await world.execute({
      champion: { score: 0.9 },
      // Better than the champion, but by less than gate.minImprovement (0.005).
      evaluation: { candidate: { 'validation:auc': 0.903 }, champion: { 'validation:auc': 0.9 } },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states.at(-1)).toBe('RejectedByGate');
    const run = await world.run(runId);
    expect(run).toMatchObject({
      status: 'REJECTED_BY_GATE',
      comparison: { metricName: 'validation:auc', direction: 'maximize', candidate: 0.903, champion: 0.9, championVersion: 1 },
      reason: expect.stringContaining('does not beat the champion') as unknown,
    });
    expect(run?.version).toBeUndefined();
    expect(await world.get(keys.model(model))).toMatchObject({ versionCounter: 1 });
    expect(await world.version(model, 2)).toBeUndefined();
    const [processing] = sagemaker.callsTo('createProcessingJob');
    expect((processing!.ProcessingInputs as { InputName: string }[]).map((i) => i.InputName)).toEqual(['candidate', 'champion', 'holdout', 'code']);
    expect(sagemaker.calls.filter((c) => /Endpoint|Model$/.test(c.api))).toEqual([]);
    expect(alerts).toHaveLength(0);
  });

  it('deploys a challenger that beats the champion with blue/green canary and auto-rollback alarms, retiring the champion', async () => {
    const { execution, runId, model, sagemaker } = await world.execute({
      champion: { score: 0.85 },
      evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(sagemaker.callsTo('createEndpoint')).toHaveLength(0);
    const [update] = sagemaker.callsTo('updateEndpoint');
    expect(update).toMatchObject({
      EndpointName: `caretaker-${model}`,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
          TerminationWaitInSeconds: 600,
        },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: `caretaker-${model}-5xx` }, { AlarmName: `caretaker-${model}-latency` }] },
      },
    });
    // Polled with backoff, not in a tight loop.
    expect(execution.states.filter((s) => s === 'BackOffPolling')).toHaveLength(2);
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE', comparison: { candidate: 0.91, champion: 0.85, championVersion: 1 } });
    expect(await world.version(model, 1)).toMatchObject({ status: 'RETIRED', gsi1pk: `MODEL#${model}#STATUS#RETIRED` });
    expect(await world.run(runId)).toMatchObject({ status: 'SUCCEEDED', version: 2 });
    const [deployment] = await world.itemsUnder(`MODEL#${model}`, 'DEPLOYMENT#');
    expect(deployment).toMatchObject({ version: 2, previousVersion: 1 });
  });

  it('ends the run REJECTED with the approver\'s reason when the version is rejected, and deploys nothing', async () => {
    const { execution, runId, model, sagemaker } = await world.execute({
      evaluation: { candidate: GOOD },
      approver: { kind: 'rejects', reason: 'holdout is from before the price change' },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states.at(-1)).toBe('Rejected');
    expect(await world.run(runId)).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining('holdout is from before the price change') as unknown,
    });
    // The run records who rejected, why and when: the rejection cause the API sends.
    expect(await world.run(runId)).toMatchObject({
      reason: `rejected by ${APPROVER}: holdout is from before the price change`,
      rejection: { by: APPROVER, reason: 'holdout is from before the price change', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown },
    });
    expect(await world.version(model, 1)).toMatchObject({ status: 'REJECTED' });
    expect(sagemaker.calls.filter((c) => /Endpoint|Model$/.test(c.api))).toEqual([]);
  });

  it('RELIABILITY 5: an approval that times out expires the version and the run; a late approve finds nothing to act on', async () => {
    const { execution, runId, model, alerts, sagemaker } = await world.execute({ evaluation: { candidate: GOOD }, approver: { kind: 'never-answers' } });
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('States.Timeout');
    expect(await world.run(runId)).toMatchObject({ status: 'EXPIRED', failure: { state: 'WaitForApproval', error: 'States.Timeout' } });
    const version = await world.version(model, 1);
    expect(version).toMatchObject({ status: 'EXPIRED', gsi1pk: `MODEL#${model}#STATUS#EXPIRED` });
    expect(version).not.toHaveProperty('taskToken');
    expect(alerts).toHaveLength(1);
    expect(sagemaker.calls.filter((c) => /Endpoint|Model$/.test(c.api))).toEqual([]);

    // What the approval API's late approve meets: the conditional move fails (its 409), the token is dead.
    const store = new PipelineStore(world.dynamo, world.tableName);
    const at = new Date().toISOString();
    expect(await store.transitionVersion(model, 1, ['PENDING_APPROVAL'], 'APPROVED', { at })).toBe(false);
    expect(sendTaskSuccess(`local-token-${runId}`, {})).toBe(false);
  });

  it('RELIABILITY 11: an endpoint update that fails marks the deployment DEPLOY_FAILED and keeps the old version live', async () => {
    const { execution, runId, model, alerts } = await world.execute({
      champion: { score: 0.85 },
      evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } },
      endpoint: { kind: 'fails', reason: 'The primary container for production variant AllTraffic did not pass the ping health check.' },
    });
    expect(execution.status).toBe('FAILED');
    expect(await world.run(runId)).toMatchObject({
      status: 'DEPLOY_FAILED',
      failure: { state: 'DescribeEndpoint', error: 'Caretaker.EndpointFailed' },
    });
    expect(await world.version(model, 2)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
    expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 1 });
    expect(await world.itemsUnder(`MODEL#${model}`, 'DEPLOYMENT#')).toEqual([]);
    expect(alerts).toHaveLength(1);
  });

  it('RELIABILITY 11: a silent rollback (InService on the old config) is a failed deployment; the old version stays live', async () => {
    const { execution, runId, model, liveConfig, alerts } = await world.execute({
      champion: { score: 0.85 },
      evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } },
      endpoint: { kind: 'rolls-back-silently' },
    });
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('Caretaker.SilentRollback');
    const run = await world.run(runId);
    expect(run).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'VerifyLiveConfig', error: 'Caretaker.SilentRollback' } });
    expect(run?.failure?.cause).toContain(`InService with ${liveConfig!} instead of the requested caretaker-${model}-v2-`);
    expect(await world.version(model, 2)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
    expect(alerts).toHaveLength(1);
  });

  describe('rollback (the registry API\'s { kind: "rollback" } input takes the deploy path only)', () => {
    const BETTER = { 'validation:auc': 0.95, 'validation:logloss': 0.2 };
    /** v1 deployed, then v2 deployed over it (v1 RETIRED), both trained on registered data. */
    async function twoDeployedVersions() {
      const first = await world.execute({ evaluation: { candidate: GOOD } });
      const continues = { model: first.model, dataset: first.dataset };
      const second = await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD } });
      expect([first.execution.status, second.execution.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      const v2 = await world.version(continues.model, 2);
      return { ...continues, liveConfig: v2?.endpointConfigName };
    }

    it('the API\'s rollback input is what the pipeline accepts', () => {
      const request = { model: 'churn', version: 2, requestedBy: REQUESTER, reason: 'v3 regressed', requestedAt: new Date().toISOString(), deploymentId: 'churn-rollback-0123456789abcdef01234567' };
      // What SfnDeploymentStarter sends.
      expect(rollbackInputSchema.parse({ kind: 'rollback', ...request })).toMatchObject({ kind: 'rollback', version: 2 });
    });

    it('redeploys a RETIRED version blue/green with its own artifact, retires the current one, and trains nothing', async () => {
      const { model, dataset, liveConfig } = await twoDeployedVersions();
      const v1 = await world.version(model, 1);
      const { execution, runId, sagemaker, alerts } = await world.rollback({ model, dataset, version: 1, reason: 'v2 regressed on weekends', liveConfig });

      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.states.at(-1)).toBe('Deployed');
      expect(sagemaker.callsTo('createTrainingJob')).toEqual([]);
      expect(sagemaker.callsTo('createProcessingJob')).toEqual([]);
      const [createModel] = sagemaker.callsTo('createModel');
      expect(createModel).toMatchObject({ PrimaryContainer: { ModelDataUrl: v1!.modelArtifactUri } });
      const [update] = sagemaker.callsTo('updateEndpoint');
      expect(update).toMatchObject({ EndpointName: `caretaker-${model}`, EndpointConfigName: expect.stringMatching(new RegExp(`^caretaker-${model}-v1-`)) as unknown });
      expect(update!.DeploymentConfig).toMatchObject({ AutoRollbackConfiguration: { Alarms: [{ AlarmName: `caretaker-${model}-5xx` }, { AlarmName: `caretaker-${model}-latency` }] } });

      expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', endpointConfigName: update!.EndpointConfigName });
      expect(await world.version(model, 2)).toMatchObject({ status: 'RETIRED' });
      expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 1, versionCounter: 2 });
      expect(await world.run(runId)).toMatchObject({
        status: 'SUCCEEDED',
        version: 1,
        requestedBy: APPROVER,
        trigger: { kind: 'api', id: runId, reason: 'rollback to version 1: v2 regressed on weekends' },
      });
      const deployments = await world.itemsUnder(`MODEL#${model}`, 'DEPLOYMENT#');
      expect(deployments).toContainEqual(expect.objectContaining({ version: 1, previousVersion: 2, runId }));
      // The drift baseline is (re)written for the version now live.
      const baseline = await world.s3.send(new GetObjectCommand({ Bucket: world.artifactsBucket, Key: `baselines/${model}/1/baseline.json` }));
      expect(parseBaseline(await baseline.Body!.transformToString(), 'baseline.json').rows).toBe(80);
      expect(alerts).toEqual([]);
    });

    it('refuses to roll back to the version already live: nothing deployed, nothing moved, an alert', async () => {
      const { model, dataset, liveConfig } = await twoDeployedVersions();
      const { execution, runId, sagemaker, alerts } = await world.rollback({ model, dataset, version: 2, reason: 'oops', liveConfig });
      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('Conflict');
      expect(execution.states).toContain('RollbackRefused');
      expect(sagemaker.calls).toEqual([]);
      expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE' });
      expect(await world.version(model, 1)).toMatchObject({ status: 'RETIRED' });
      expect(await world.run(runId)).toBeUndefined();
      expect(alerts).toHaveLength(1);
    });

    it('refuses a version that does not exist', async () => {
      const { execution, sagemaker, alerts } = await world.rollback({ model: uniqueName('churn'), dataset: 'churn', version: 9, reason: 'typo' });
      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('NotFound');
      expect(sagemaker.calls).toEqual([]);
      expect(alerts).toHaveLength(1);
    });

    it('a rollback whose endpoint update fails is DEPLOY_FAILED and the current version stays live', async () => {
      const { model, dataset, liveConfig } = await twoDeployedVersions();
      const failing = await world.rollback({ model, dataset, version: 1, reason: 'try', liveConfig, endpoint: { kind: 'fails', reason: 'ping health check failed' } });
      expect(failing.execution.status).toBe('FAILED');
      expect(await world.run(failing.runId)).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'DescribeEndpoint' } });
      expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE' });
      expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 2 });
    });
  });
});
