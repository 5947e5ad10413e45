/**
 * Scheduled scoring of a batch model through the real `state-machines/batch-scoring.asl.json`,
 * executed offline: the real steps Lambda and drift analyzer against moto (DynamoDB, S3), the
 * scripted Batch Transform (test/fixtures/sagemaker.ts) reading and writing moto S3. The model is
 * first deployed through the training pipeline's batch path, as a user's would be.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentSchema } from '../../lib/config';
import type { DriftReportDocument } from '../../lambdas/drift/report';
import { uniqueName } from '../support/aws';
import { recordedCallErrors } from '../support/botocore';
import { MODEL, PipelineWorld } from '../support/pipeline';
import { createMetadataTable } from '../support/table';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };
const BATCH = deploymentSchema.parse({ mode: 'batch', schedule: 'cron(0 2 * * ? *)', timeoutSeconds: 3600 });

describe('batch scoring on a schedule (batch-scoring.asl.json)', () => {
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

  /** Rows of the training data's shape without the label, as a producer drops them for scoring. */
  const rows = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => `${(i + offset) % 72},${(20 + ((i + offset) % 50)).toFixed(2)},${(i + offset) % 5},${(i + offset) % 3 === 0 ? 'monthly' : 'annual'}`).join('\n') + '\n';

  async function text(key: string): Promise<string> {
    return (await world.s3.send(new GetObjectCommand({ Bucket: world.artifactsBucket, Key: key }))).Body!.transformToString();
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await world.s3.send(new ListObjectsV2Command({ Bucket: world.artifactsBucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key!).sort();
  }

  it('scores the input prefix with the LIVE version\'s model into a folder of its own, moves latest.json to it, and analyzes drift on the job\'s input; a failed run alerts and leaves latest.json and every earlier output in place', async () => {
    const names = { model: uniqueName(MODEL), dataset: uniqueName('churn') };
    await world.putObject(`batch/${names.model}/input/day-1.csv`, rows(60), world.artifactsBucket);
    const deployed = await world.execute({ continues: names, deployment: BATCH, evaluation: { candidate: GOOD } });
    expect(deployed.execution.status).toBe('SUCCEEDED');
    const { model } = names;
    const deployModel = String(deployed.sagemaker.callsTo('createModel')[0]!.ModelName);

    // The nightly run: the schedule's input, as the BatchScoring construct gives it.
    await world.putObject(`batch/${model}/input/day-2.csv`, rows(40, 500), world.artifactsBucket);
    const first = await world.score({ model, dataset: names.dataset, score: () => '0.7' });
    expect(first.execution.status).toBe('SUCCEEDED');
    expect(first.execution.states).toEqual(['LoadSettings', 'IsBatchModel', 'StartScoring', 'HasLiveVersion', 'ScoreBatch', 'RecordScoring', 'AnalyzeDrift', 'Scored']);
    const [job] = first.sagemaker.callsTo('createTransformJob');
    const jobName = String(job!.TransformJobName);
    expect(jobName).toMatch(new RegExp(`^caretaker-${model}-\\d{12}-[0-9a-f]{4}$`));
    expect(job).toMatchObject({
      ModelName: deployModel,
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${world.artifactsBucket}/batch/${model}/input/` } }, SplitType: 'Line' },
      TransformOutput: { S3OutputPath: `s3://${world.artifactsBucket}/batch/${model}/output/${jobName}/`, KmsKeyId: expect.stringMatching(/^arn:aws:kms:/) as unknown },
      TransformResources: { VolumeKmsKeyId: expect.stringMatching(/^arn:aws:kms:/) as unknown },
      Tags: expect.arrayContaining([{ Key: 'caretaker:version', Value: '1' }, { Key: 'caretaker:trigger', Value: 'schedule' }]) as unknown,
    });
    expect(await keysUnder(`batch/${model}/output/${jobName}/`)).toEqual([`batch/${model}/output/${jobName}/day-1.csv.out`, `batch/${model}/output/${jobName}/day-2.csv.out`]);
    expect((await text(`batch/${model}/output/${jobName}/day-2.csv.out`)).split('\n').filter(Boolean)).toHaveLength(40);
    const latest = JSON.parse(await text(`batch/${model}/output/latest.json`)) as Record<string, unknown>;
    expect(latest).toMatchObject({ model, version: 1, transformJobName: jobName, output: `s3://${world.artifactsBucket}/batch/${model}/output/${jobName}/` });

    // The drift window is the job's own input (100 rows), against v1's baseline.
    expect(first.analyses).toHaveLength(1);
    expect(first.analyses[0]).toMatchObject({ status: 'analyzed', version: 1, capturedRecords: 100, malformedRecords: 0 });
    expect(first.metrics.some((m) => m.DriftScore !== undefined && m.Model === model)).toBe(true);
    // The report names what was read: the transform job's input prefix, not the (empty) capture prefix.
    const { reportKeys } = first.analyses[0] as { reportKeys: { json: string } };
    expect((JSON.parse(await text(reportKeys.json)) as DriftReportDocument).current).toEqual({ location: `batch/${model}/input/`, records: 100, malformedRecords: 0 });
    expect(first.alerts).toEqual([]);

    // A failed run: alert with SageMaker's reason; latest.json and the earlier outputs untouched.
    const failed = await world.score({ model, dataset: names.dataset, transform: { kind: 'fails', reason: 'ClientError: See job logs for more information' } });
    expect(failed.execution.status).toBe('FAILED');
    expect(failed.execution.error).toBe('Caretaker.ScoringFailed');
    expect(failed.execution.states).not.toContain('RecordScoring');
    expect(failed.execution.states).not.toContain('AnalyzeDrift');
    expect(failed.alerts).toHaveLength(1);
    expect(failed.alerts[0]!.Subject).toBe(`Caretaker: batch scoring of ${model} failed`);
    expect(JSON.stringify(failed.alerts[0]!.Message)).toContain('ClientError: See job logs for more information');
    expect(JSON.parse(await text(`batch/${model}/output/latest.json`))).toEqual(latest);
    expect(await keysUnder(`batch/${model}/output/${jobName}/`)).toHaveLength(2);
    expect(failed.analyses).toEqual([]);

    expect(recordedCallErrors([...first.sagemaker.calls, ...failed.sagemaker.calls])).toEqual([]);
  });

  it('scores nothing and writes nothing while the model has no LIVE version', async () => {
    const names = { model: uniqueName(MODEL), dataset: uniqueName('churn') };
    world.useDeployment(names.model, BATCH);
    await world.putObject(`batch/${names.model}/input/day-1.csv`, rows(10), world.artifactsBucket);
    const run = await world.score({ model: names.model, dataset: names.dataset });
    expect(run.execution.status).toBe('SUCCEEDED');
    expect(run.execution.states).toEqual(['LoadSettings', 'IsBatchModel', 'StartScoring', 'HasLiveVersion', 'NothingToScore']);
    expect(run.sagemaker.calls).toEqual([]);
    expect(await keysUnder(`batch/${names.model}/output/`)).toEqual([]);
  });

  it('refuses to score a model whose deployment is not batch (a schedule left behind by a mode change)', async () => {
    const names = { model: uniqueName(MODEL), dataset: uniqueName('churn') };
    const run = await world.score({ model: names.model, dataset: names.dataset });
    expect(run.execution.status).toBe('FAILED');
    expect(run.execution.error).toBe('Caretaker.NotABatchModel');
    expect(run.sagemaker.calls).toEqual([]);
  });
});
