/**
 * deployment.mode "batch" through the training pipeline's real ASL, executed offline: no endpoint;
 * the approved version's model scores every object under the model's input prefix with a Batch
 * Transform job (`.sync`), its output under `batch/<model>/output/<job>/`, and becomes the LIVE
 * version. The scripted transform (test/fixtures/sagemaker.ts) reads the input from moto S3 and
 * writes one `.out` object per input object, one line per record, as SageMaker documents it.
 * Every SageMaker request is validated against botocore's SageMaker service model.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentSchema } from '../../lib/config';
import { keys } from '../../lambdas/shared/contracts';
import { uniqueName } from '../support/aws';
import { MODEL, PipelineWorld } from '../support/pipeline';
import { recordedCallErrors } from '../support/botocore';
import { createMetadataTable } from '../support/table';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };
const BETTER = { 'validation:auc': 0.95, 'validation:logloss': 0.2 };
const BATCH = deploymentSchema.parse({ mode: 'batch', schedule: 'cron(0 2 * * ? *)', timeoutSeconds: 3600 });

describe('deploy path, deployment.mode batch', () => {
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

  /** A new model with two input files to score (3 and 2 records). */
  async function batchModel() {
    const names = { model: uniqueName(MODEL), dataset: uniqueName('churn') };
    await world.putObject(`batch/${names.model}/input/2026-11-22/part-0.csv`, '12,70.00,1,monthly\n40,20.50,0,annual\n3,99.90,4,monthly\n', world.artifactsBucket);
    await world.putObject(`batch/${names.model}/input/2026-11-22/part-1.csv`, '7,35.00,2,annual\n66,80.10,0,annual\n', world.artifactsBucket);
    return names;
  }

  async function outputsOf(model: string, job: string): Promise<Record<string, string>> {
    const prefix = `batch/${model}/output/${job}/`;
    const listed = await world.s3.send(new ListObjectsV2Command({ Bucket: world.artifactsBucket, Prefix: prefix }));
    const out: Record<string, string> = {};
    for (const object of listed.Contents ?? []) {
      out[object.Key!.slice(prefix.length)] = await (await world.s3.send(new GetObjectCommand({ Bucket: world.artifactsBucket, Key: object.Key }))).Body!.transformToString();
    }
    return out;
  }

  it('first deploy: no endpoint; a transform job scores the input prefix with the approved model, its output under the model\'s output prefix, and the version is LIVE', async () => {
    const continues = await batchModel();
    const { execution, model, runId, sagemaker, alerts } = await world.execute({ continues, deployment: BATCH, evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('SUCCEEDED');
    for (const state of ['DeployTarget', 'CreateModel', 'ServingMode', 'ScoreWithTransform', 'RecordBatchDeployment', 'BuildDriftBaseline', 'Deployed']) expect(execution.states).toContain(state);
    for (const state of ['DescribeLiveEndpoint', 'ReconcileEndpoint', 'CreateEndpoint', 'UpdateEndpoint', 'DescribeEndpoint']) expect(execution.states).not.toContain(state);
    expect(sagemaker.callsTo('createEndpointConfig')).toEqual([]);

    const [job] = sagemaker.callsTo('createTransformJob');
    const jobName = String(job!.TransformJobName);
    expect(jobName).toMatch(new RegExp(`^caretaker-${model}-v1-[0-9a-f]{6}$`));
    expect(job).toMatchObject({
      ModelName: sagemaker.callsTo('createModel')[0]!.ModelName,
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 6,
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${world.artifactsBucket}/batch/${model}/input/` } }, ContentType: 'text/csv', SplitType: 'Line' },
      TransformOutput: { S3OutputPath: `s3://${world.artifactsBucket}/batch/${model}/output/${jobName}/`, Accept: 'text/csv', AssembleWith: 'Line', KmsKeyId: expect.stringMatching(/^arn:aws:kms:/) as unknown },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeKmsKeyId: expect.stringMatching(/^arn:aws:kms:/) as unknown },
    });
    expect(await outputsOf(model, jobName)).toEqual({ '2026-11-22/part-0.csv.out': '0.5\n0.5\n0.5\n', '2026-11-22/part-1.csv.out': '0.5\n0.5\n' });

    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', endpointConfigName: jobName, baselineStatus: 'READY' });
    expect(await world.run(runId)).toMatchObject({ status: 'SUCCEEDED', version: 1 });
    expect(alerts).toEqual([]);
    expect(recordedCallErrors(sagemaker.calls)).toEqual([]);
  });

  it('a new version scores into its own folder and retires the previous one; a failed transform is DEPLOY_FAILED, alerts, and leaves the LIVE version and earlier outputs in place', async () => {
    const continues = await batchModel();
    const first = await world.execute({ continues, deployment: BATCH, evaluation: { candidate: GOOD } });
    const second = await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD }, score: () => '0.9' });
    expect([first.execution.status, second.execution.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const { model } = continues;
    const firstJob = String(first.sagemaker.callsTo('createTransformJob')[0]!.TransformJobName);
    const secondJob = String(second.sagemaker.callsTo('createTransformJob')[0]!.TransformJobName);
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE', endpointConfigName: secondJob });
    expect(await world.version(model, 1)).toMatchObject({ status: 'RETIRED' });
    expect(Object.values(await outputsOf(model, secondJob))).toEqual(['0.9\n0.9\n0.9\n', '0.9\n0.9\n']);

    const failed = await world.execute({
      continues,
      evaluation: { candidate: { 'validation:auc': 0.97, 'validation:logloss': 0.15 }, champion: BETTER },
      transform: { kind: 'fails', reason: 'ClientError: See job logs for more information' },
    });
    expect(failed.execution.status).toBe('FAILED');
    const run = await world.run(failed.runId);
    expect(run).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'ScoreWithTransform', error: 'States.TaskFailed' } });
    expect(run?.failure?.cause).toContain('ClientError: See job logs for more information');
    expect(await world.version(model, 3)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE' });
    expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 2 });
    expect(failed.alerts).toHaveLength(1);
    // Earlier jobs' outputs are where they were.
    expect(Object.keys(await outputsOf(model, firstJob))).toHaveLength(2);
    expect(Object.keys(await outputsOf(model, secondJob))).toHaveLength(2);
    // The failed run retried nothing: a failed job is not an API error.
    expect(failed.sagemaker.callsTo('createTransformJob')).toHaveLength(1);

    // Rollback to v1: its own model scores the input again and it is LIVE.
    const rollback = await world.rollback({ model, dataset: continues.dataset, version: 1, reason: 'v2 scores drifted' });
    expect(rollback.execution.status).toBe('SUCCEEDED');
    const [rollbackModel] = rollback.sagemaker.callsTo('createModel');
    expect(rollbackModel).toMatchObject({ PrimaryContainer: { ModelDataUrl: (await world.version(model, 1))!.modelArtifactUri } });
    expect(rollback.sagemaker.callsTo('createTransformJob')[0]).toMatchObject({ ModelName: rollbackModel!.ModelName });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE' });
    expect(await world.version(model, 2)).toMatchObject({ status: 'RETIRED' });

    expect(recordedCallErrors([...first.sagemaker.calls, ...second.sagemaker.calls, ...failed.sagemaker.calls, ...rollback.sagemaker.calls])).toEqual([]);
  });
});
