/**
 * The local SageMaker runner driven by an unmodified SageMakerClient, against the moto S3
 * server: training (completed, failed, stopped at max runtime, checkpoint resume, spot
 * interruption, capacity errors), processing (evaluation report), endpoints (serve, capture,
 * blue/green update, failed and silently rolled-back updates) and process clean-up.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  CreateTransformJobCommand,
  DeleteEndpointCommand,
  DescribeTransformJobCommand,
  type CreateTransformJobCommandInput,
  type DescribeTransformJobCommandOutput,
  DescribeEndpointCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
  StopTrainingJobCommand,
  UpdateEndpointCommand,
  type CreateTrainingJobCommandInput,
  type DescribeEndpointCommandOutput,
  type DescribeTrainingJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarGz } from '../../local/sagemaker/tar';
import { defaultImageRegistry } from '../../local/sagemaker/images';
import { startLocalSageMaker, type RunningLocalSageMaker } from '../../local/sagemaker/server';
import { generateCsv } from '../../examples/churn/src/data';
import { motoClientConfig, uniqueName } from '../support/aws';
import { sagemakerRequestErrors, sagemakerShapeConstraints } from '../support/botocore';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/caretaker-churn:1.0.0';
const ROLE = 'arn:aws:iam::123456789012:role/caretaker-sagemaker';
const METRICS = [
  { Name: 'validation:auc', Regex: 'validation:auc=([-+0-9.eE]+)' },
  { Name: 'validation:logloss', Regex: 'validation:logloss=([-+0-9.eE]+)' },
];

let s3: S3Client;
let cloudWatch: CloudWatchClient;
let bucket: string;
let local: RunningLocalSageMaker;
let sagemaker: SageMakerClient;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls until `done` holds; the bound only guards against a hang, it asserts nothing about speed. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, boundMs = 45_000): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const trainingJob = (name: string) =>
  until(
    () => sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })),
    (job: DescribeTrainingJobCommandOutput) => TERMINAL.has(job.TrainingJobStatus ?? ''),
    `training job ${name}`,
  );
const endpointSettled = (name: string) =>
  until(
    () => sagemaker.send(new DescribeEndpointCommand({ EndpointName: name })),
    (e: DescribeEndpointCommandOutput) => ['InService', 'Failed'].includes(e.EndpointStatus ?? ''),
    `endpoint ${name}`,
  );

async function getText(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

async function getBytes(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

function trainingRequest(name: string, overrides: Partial<CreateTrainingJobCommandInput> = {}): CreateTrainingJobCommandInput {
  return {
    TrainingJobName: name,
    RoleArn: ROLE,
    AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File', MetricDefinitions: METRICS },
    HyperParameters: { eta: '0.2', num_round: '60', max_depth: '6' },
    InputDataConfig: [
      { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/datasets/churn/v1/train/` } } },
      { ChannelName: 'validation', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/datasets/churn/v1/validation/` } } },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${bucket}/models/churn/run-1/` },
    ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    ...overrides,
  };
}

beforeAll(async () => {
  s3 = new S3Client(motoClientConfig());
  cloudWatch = new CloudWatchClient(motoClientConfig());
  bucket = uniqueName('sagemaker-runner');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const csv = generateCsv({ rows: 1000, seed: 7 });
  const [header, ...lines] = csv.trim().split('\n');
  await put('datasets/churn/v1/train/train.csv', [header, ...lines.slice(0, 800)].join('\n') + '\n');
  await put('datasets/churn/v1/validation/validation.csv', [header, ...lines.slice(800)].join('\n') + '\n');
  await put('datasets/churn/bad/train/train.csv', `${header}\n1,20.5,0,one-year,1\n2,30.5,1,two-year,2\n`);
  const node = process.execPath;
  local = await startLocalSageMaker({
    s3,
    cloudWatch,
    images: {
      ...defaultImageRegistry(),
      // A container that never finishes, and one whose server never comes up.
      'caretaker-test-sleeper': { train: [node, '-e', 'setInterval(() => {}, 1000)'], entrypoints: { sleep: [node, '-e', 'setInterval(() => {}, 1000)'] } },
      'caretaker-test-broken-serve': { serve: [node, '-e', 'process.exit(3)'] },
    },
    // Blue/green waits run at 1/100 of their configured length.
    // Serverless variants scale to zero 500 ms after their last request.
    settings: { stopGraceMs: 2_000, captureFlushMs: 3_600_000, healthCheckTimeoutMs: 20_000, deploymentTimeScale: 0.01, serverlessIdleMs: 500 },
  });
  sagemaker = new SageMakerClient({ ...motoClientConfig(), endpoint: local.endpoint });
});

afterAll(async () => {
  const pids = local.runner.pids();
  await local.close();
  // Every process the runner started is gone once it closes.
  expect(pids.filter(isAlive)).toEqual([]);
  s3.destroy();
  cloudWatch.destroy();
  sagemaker.destroy();
});

describe('training jobs', () => {
  let completed: DescribeTrainingJobCommandOutput;

  beforeAll(async () => {
    await sagemaker.send(new CreateTrainingJobCommand(trainingRequest('churn-train-ok')));
    completed = await trainingJob('churn-train-ok');
  });

  it('completes a training job and reports its metrics through MetricDefinitions', () => {
    expect(completed.TrainingJobStatus).toBe('Completed');
    expect(completed.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    const metrics = new Map((completed.FinalMetricDataList ?? []).map((m) => [m.MetricName, m.Value ?? Number.NaN]));
    expect(metrics.get('validation:auc')).toBeGreaterThan(0.7);
    expect(metrics.get('validation:logloss')).toBeGreaterThan(0);
    expect(completed.TrainingStartTime).toBeInstanceOf(Date);
  });

  it('uploads the model directory as <output path>/<job>/output/model.tar.gz', async () => {
    expect(completed.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${bucket}/models/churn/run-1/churn-train-ok/output/model.tar.gz`);
    const files = readTarGz(await getBytes('models/churn/run-1/churn-train-ok/output/model.tar.gz'));
    const model = JSON.parse(files.get('model.json')!.toString('utf8')) as { epochs: number; hyperparameters: Record<string, string> };
    expect(model.epochs).toBe(60);
    expect(model.hyperparameters).toEqual({ eta: '0.2', num_round: '60', max_depth: '6' });
    const output = readTarGz(await getBytes('models/churn/run-1/churn-train-ok/output/output.tar.gz'));
    expect(JSON.parse(output.get('metrics.json')!.toString('utf8'))).toHaveProperty('validation:auc');
  });

  it('rejects a second job with the same name', async () => {
    await expect(sagemaker.send(new CreateTrainingJobCommand(trainingRequest('churn-train-ok')))).rejects.toMatchObject({ name: 'ResourceInUse' });
  });

  it('rejects an invalid job name and spot training whose MaxWait is below MaxRuntime', async () => {
    await expect(sagemaker.send(new CreateTrainingJobCommand(trainingRequest('bad_name')))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      sagemaker.send(
        new CreateTrainingJobCommand(
          trainingRequest('churn-spot-bad-wait', {
            EnableManagedSpotTraining: true,
            StoppingCondition: { MaxRuntimeInSeconds: 600, MaxWaitTimeInSeconds: 300 },
          }),
        ),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('MaxWaitTimeInSeconds') as unknown });
  });

  it('fails a job whose algorithm fails, with the reason from /opt/ml/output/failure', async () => {
    await sagemaker.send(
      new CreateTrainingJobCommand(
        trainingRequest('churn-train-bad-label', {
          InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/datasets/churn/bad/train/` } } }],
          OutputDataConfig: { S3OutputPath: `s3://${bucket}/models/churn/run-bad/` },
        }),
      ),
    );
    const job = await trainingJob('churn-train-bad-label');
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/^AlgorithmError: .*label "churned" must be 0 or 1, got "2".*exit code: 1$/s);
    expect(job.ModelArtifacts).toBeUndefined();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'models/churn/run-bad/' }));
    expect(listed.KeyCount ?? 0).toBe(0);
  });

  it('fails a job whose channel has no objects with a ClientError', async () => {
    await sagemaker.send(
      new CreateTrainingJobCommand(
        trainingRequest('churn-train-no-data', {
          InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/datasets/none/` } } }],
        }),
      ),
    );
    const job = await trainingJob('churn-train-no-data');
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/^ClientError: No S3 objects found under S3 URL/);
  });

  it('fails a job on an instance type without capacity with CapacityError, and runs it on another', async () => {
    local.runner.exhaustCapacity('ml.g5.xlarge');
    try {
      await sagemaker.send(new CreateTrainingJobCommand(trainingRequest('churn-train-no-capacity')));
      const failed = await trainingJob('churn-train-no-capacity');
      expect(failed.TrainingJobStatus).toBe('Failed');
      expect(failed.FailureReason).toMatch(/^CapacityError: /);
      await sagemaker.send(
        new CreateTrainingJobCommand(trainingRequest('churn-train-fallback', { ResourceConfig: { InstanceType: 'ml.g4dn.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } })),
      );
      expect((await trainingJob('churn-train-fallback')).TrainingJobStatus).toBe('Completed');
    } finally {
      local.runner.restoreCapacity('ml.g5.xlarge');
    }
  });

  it('stops a job that exceeds MaxRuntimeInSeconds, and stops its process', async () => {
    await sagemaker.send(
      new CreateTrainingJobCommand(
        trainingRequest('churn-train-too-long', {
          AlgorithmSpecification: { TrainingImage: 'caretaker-test-sleeper:latest', TrainingInputMode: 'File' },
          StoppingCondition: { MaxRuntimeInSeconds: 1 },
        }),
      ),
    );
    const job = await trainingJob('churn-train-too-long');
    expect(job.TrainingJobStatus).toBe('Stopped');
    expect(job.SecondaryStatus).toBe('MaxRuntimeExceeded');
    expect(local.runner.training.get('churn-train-too-long').process).toBeUndefined();
  });

  it('stops a job on StopTrainingJob', async () => {
    await sagemaker.send(
      new CreateTrainingJobCommand(
        trainingRequest('churn-train-stopped', { AlgorithmSpecification: { TrainingImage: 'caretaker-test-sleeper:latest', TrainingInputMode: 'File' } }),
      ),
    );
    await until(
      () => sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'churn-train-stopped' })),
      (job) => job.SecondaryStatus === 'Training',
      'the sleeper to start',
    );
    await sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: 'churn-train-stopped' }));
    const job = await trainingJob('churn-train-stopped');
    expect(job.TrainingJobStatus).toBe('Stopped');
    expect(job.SecondaryStatus).toBe('Stopped');
  });

  it('resumes from the checkpoints at CheckpointConfig.S3Uri (a retry of a spot job)', async () => {
    const checkpoints = { S3Uri: `s3://${bucket}/checkpoints/churn/run-2/` };
    const spot = {
      EnableManagedSpotTraining: true,
      StoppingCondition: { MaxRuntimeInSeconds: 600, MaxWaitTimeInSeconds: 1200 },
      CheckpointConfig: checkpoints,
      OutputDataConfig: { S3OutputPath: `s3://${bucket}/models/churn/run-2/` },
    };
    await sagemaker.send(new CreateTrainingJobCommand(trainingRequest('churn-spot-first', { ...spot, HyperParameters: { num_round: '30', checkpoint_every: '10' } })));
    expect((await trainingJob('churn-spot-first')).TrainingJobStatus).toBe('Completed');
    const checkpoint = JSON.parse(await getText('checkpoints/churn/run-2/checkpoint.json')) as { epoch: number };
    expect(checkpoint.epoch).toBe(30);

    await sagemaker.send(new CreateTrainingJobCommand(trainingRequest('churn-spot-retry', { ...spot, HyperParameters: { num_round: '50', checkpoint_every: '10' } })));
    expect((await trainingJob('churn-spot-retry')).TrainingJobStatus).toBe('Completed');
    const model = JSON.parse(readTarGz(await getBytes('models/churn/run-2/churn-spot-retry/output/model.tar.gz')).get('model.json')!.toString('utf8')) as {
      resumedFromEpoch: number;
      epochs: number;
    };
    expect(model).toMatchObject({ resumedFromEpoch: 30, epochs: 50 });
  });

  it('restarts an interrupted spot job from its last checkpoint', async () => {
    await sagemaker.send(
      new CreateTrainingJobCommand(
        trainingRequest('churn-spot-interrupted', {
          EnableManagedSpotTraining: true,
          StoppingCondition: { MaxRuntimeInSeconds: 600, MaxWaitTimeInSeconds: 1200 },
          CheckpointConfig: { S3Uri: `s3://${bucket}/checkpoints/churn/run-3/` },
          HyperParameters: { num_round: '4000', checkpoint_every: '10' },
        }),
      ),
    );
    const job = local.runner.training.get('churn-spot-interrupted');
    await until(() => Promise.resolve(job.logs.some((line) => line.startsWith('epoch 50/'))), Boolean, 'epoch 50');
    local.runner.training.interruptSpot('churn-spot-interrupted');
    const done = await trainingJob('churn-spot-interrupted');
    expect(done.TrainingJobStatus).toBe('Completed');
    expect(done.SecondaryStatusTransitions?.map((t) => t.Status)).toContain('Interrupted');
    const resumed = job.logs.find((line) => line.startsWith('resuming from checkpoint at epoch '));
    expect(Number(resumed?.split(' ').pop())).toBeGreaterThanOrEqual(50);
  });
});

describe('protocol', () => {
  it('answers an operation the runner does not implement with a named error', async () => {
    await expect(sagemaker.send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({ name: 'UnknownOperationException' });
  });

  it('answers a missing training job with ResourceNotFound', async () => {
    await expect(sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'never-created' }))).rejects.toMatchObject({ name: 'ResourceNotFound' });
  });
});

describe('processing jobs', () => {
  it('runs the evaluate entry point and writes evaluation.json to the output URI', async () => {
    await sagemaker.send(new CreateTrainingJobCommand(trainingRequest('churn-train-for-eval', { OutputDataConfig: { S3OutputPath: `s3://${bucket}/models/churn/run-4/` } })));
    expect((await trainingJob('churn-train-for-eval')).TrainingJobStatus).toBe('Completed');
    await sagemaker.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'churn-evaluate-run-4',
        RoleArn: ROLE,
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['evaluate'] },
        ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30 } },
        ProcessingInputs: [
          { InputName: 'holdout', S3Input: { S3Uri: `s3://${bucket}/datasets/churn/v1/validation/`, LocalPath: '/opt/ml/processing/holdout', S3DataType: 'S3Prefix', S3InputMode: 'File' } },
          {
            InputName: 'candidate',
            S3Input: { S3Uri: `s3://${bucket}/models/churn/run-4/churn-train-for-eval/output/model.tar.gz`, LocalPath: '/opt/ml/processing/candidate', S3DataType: 'S3Prefix', S3InputMode: 'File' },
          },
          {
            InputName: 'champion',
            S3Input: { S3Uri: `s3://${bucket}/models/churn/run-1/churn-train-ok/output/model.tar.gz`, LocalPath: '/opt/ml/processing/champion', S3DataType: 'S3Prefix', S3InputMode: 'File' },
          },
        ],
        ProcessingOutputConfig: {
          Outputs: [{ OutputName: 'report', S3Output: { S3Uri: `s3://${bucket}/evaluations/churn/run-4/`, LocalPath: '/opt/ml/processing/report', S3UploadMode: 'EndOfJob' } }],
        },
        StoppingCondition: { MaxRuntimeInSeconds: 600 },
      }),
    );
    const job = await until(
      () => sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'churn-evaluate-run-4' })),
      (j) => TERMINAL.has(j.ProcessingJobStatus ?? ''),
      'processing job',
    );
    expect(job.ProcessingJobStatus).toBe('Completed');
    const report = JSON.parse(await getText('evaluations/churn/run-4/evaluation.json')) as {
      holdoutRows: number;
      candidate: { metrics: Record<string, number> };
      champion: { metrics: Record<string, number> } | null;
    };
    expect(report.holdoutRows).toBe(200);
    expect(Object.keys(report.candidate.metrics).sort()).toEqual(['validation:accuracy', 'validation:auc', 'validation:logloss']);
    // Same data, same hyperparameters, same code: the champion scores what the candidate scores.
    expect(report.champion?.metrics).toEqual(report.candidate.metrics);
  });

  it('stops a processing job that exceeds MaxRuntimeInSeconds', async () => {
    await sagemaker.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'sleeper-too-long',
        RoleArn: ROLE,
        AppSpecification: { ImageUri: 'caretaker-test-sleeper', ContainerEntrypoint: ['sleep'] },
        ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30 } },
        StoppingCondition: { MaxRuntimeInSeconds: 1 },
      }),
    );
    const job = await until(
      () => sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'sleeper-too-long' })),
      (j) => TERMINAL.has(j.ProcessingJobStatus ?? ''),
      'processing job',
    );
    expect(job.FailureReason).toBeUndefined();
    expect(job.ProcessingJobStatus).toBe('Stopped');
    expect(job.ExitMessage).toMatch(/exceeded MaxRuntimeInSeconds/);
  });

  it('fails a processing job whose entry point is not in the image', async () => {
    await sagemaker.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'churn-evaluate-unknown-entrypoint',
        RoleArn: ROLE,
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['no-such-script'] },
        ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30 } },
      }),
    );
    const job = await until(
      () => sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'churn-evaluate-unknown-entrypoint' })),
      (j) => TERMINAL.has(j.ProcessingJobStatus ?? ''),
      'processing job',
    );
    expect(job.ProcessingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/^ClientError: .*no entry point no-such-script/);
  });
});

describe('endpoints', () => {
  const modelData = () => `s3://${bucket}/models/churn/run-1/churn-train-ok/output/model.tar.gz`;
  const invoke = (endpoint: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${local.endpoint}/endpoints/${endpoint}/invocations`, { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body });

  beforeAll(async () => {
    await trainingJob('churn-train-ok');
    await sagemaker.send(new CreateModelCommand({ ModelName: 'churn-v1', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: IMAGE, ModelDataUrl: modelData() } }));
    await sagemaker.send(new CreateModelCommand({ ModelName: 'churn-v2', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: IMAGE, ModelDataUrl: modelData() } }));
    for (const [config, model, variant] of [
      ['churn-config-1', 'churn-v1', 'primary'],
      ['churn-config-2', 'churn-v2', 'primary'],
      ['churn-config-3', 'churn-v2', 'primary'],
      ['churn-config-4', 'churn-v2', 'green'],
    ] as const) {
      await sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: config,
          ProductionVariants: [{ VariantName: variant, ModelName: model, InitialInstanceCount: 1, InstanceType: 'ml.g5.xlarge', InitialVariantWeight: 1 }],
          DataCaptureConfig: {
            EnableCapture: true,
            InitialSamplingPercentage: 50,
            DestinationS3Uri: `s3://${bucket}/capture/churn`,
            CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
            CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
          },
        }),
      );
    }
  });

  it('runs a Batch Transform job with the model an endpoint would serve: every object under the prefix, one .out per object, one line per record; refuses a reused name, an unknown model and MaxPayloadInMB above 100', async () => {
    const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put('batch/churn/input/day-1/a.csv', '3,90.5,4,month-to-month\n60,40,0,two-year\n');
    await put('batch/churn/input/day-1/b.csv', '12,70,1,one-year\n');
    const request = (name: string, overrides: Partial<CreateTransformJobCommandInput> = {}): CreateTransformJobCommandInput => ({
      TransformJobName: name,
      ModelName: 'churn-v1',
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 6,
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/batch/churn/input/` } }, ContentType: 'text/csv', SplitType: 'Line' },
      TransformOutput: { S3OutputPath: `s3://${bucket}/batch/churn/output/${name}/`, Accept: 'text/csv', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
      ...overrides,
    });
    expect(sagemakerRequestErrors('CreateTransformJob', request('churn-score-1'))).toEqual([]);
    await sagemaker.send(new CreateTransformJobCommand(request('churn-score-1')));
    const job = await until(
      () => sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'churn-score-1' })),
      (j: DescribeTransformJobCommandOutput) => TERMINAL.has(j.TransformJobStatus ?? ''),
      'transform job churn-score-1',
    );
    expect(job).toMatchObject({ TransformJobStatus: 'Completed', ModelName: 'churn-v1' });
    expect(job.TransformEndTime!.getTime()).toBeGreaterThanOrEqual(job.TransformStartTime!.getTime());
    const a = (await getText('batch/churn/output/churn-score-1/day-1/a.csv.out')).trim().split('\n').map(Number);
    const b = (await getText('batch/churn/output/churn-score-1/day-1/b.csv.out')).trim().split('\n').map(Number);
    expect([a.length, b.length]).toEqual([2, 1]);
    for (const score of [...a, ...b]) {
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    // The scores are the model's: the same rows through the endpoint path's server agree (risky > loyal).
    expect(a[0]!).toBeGreaterThan(a[1]!);

    // CreateTransformJob's documented errors and constraints. MaxPayloadInMB ≤ 100 is the API reference's text
    // ("cannot be greater than 100 MB"), not botocore's model, which bounds it below only: the runner refuses it as SageMaker documents.
    await expect(sagemaker.send(new CreateTransformJobCommand(request('churn-score-1')))).rejects.toMatchObject({ name: 'ResourceInUse' });
    await expect(sagemaker.send(new CreateTransformJobCommand(request('churn-score-2', { ModelName: 'churn-missing' })))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(sagemakerShapeConstraints('CreateTransformJob', []).MaxPayloadInMB).toEqual({ min: 0 });
    await expect(sagemaker.send(new CreateTransformJobCommand(request('churn-score-3', { MaxPayloadInMB: 101 })))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'churn-score-404' }))).rejects.toMatchObject({ name: 'ResourceNotFound' });
  });

  it('serves predictions and writes sampled capture records in SageMaker capture format', async () => {
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'churn-serve', EndpointConfigName: 'churn-config-1' }));
    const endpoint = await endpointSettled('churn-serve');
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-1' });
    expect(endpoint.DataCaptureConfig).toMatchObject({ EnableCapture: true, CaptureStatus: 'Started', CurrentSamplingPercentage: 50 });

    const responses = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await invoke('churn-serve', '3,90.5,4,month-to-month\n60,40,0,two-year\n', { 'x-amzn-sagemaker-inference-id': `request-${i}` });
      responses.push({ status: response.status, variant: response.headers.get('x-amzn-invoked-production-variant'), body: await response.text() });
    }
    for (const r of responses) {
      expect(r).toMatchObject({ status: 200, variant: 'primary' });
      const [risky, loyal] = r.body.trim().split('\n').map(Number);
      expect(risky).toBeGreaterThan(0.5);
      expect(loyal).toBeLessThan(0.5);
    }

    await local.runner.endpoints.flushCapture();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'capture/churn/churn-serve/primary/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^capture\/churn\/churn-serve\/primary\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$/);
    const records = (await Promise.all(keys.map(getText))).flatMap((text) => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
    // 50 % sampling of 4 invocations: exactly 2 records.
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record).toEqual({
        captureData: {
          endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: '3,90.5,4,month-to-month\n60,40,0,two-year\n', encoding: 'CSV' },
          endpointOutput: { observedContentType: 'text/csv', mode: 'OUTPUT', data: responses[0]!.body, encoding: 'CSV' },
        },
        eventMetadata: {
          eventId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
          inferenceId: expect.stringMatching(/^request-[0-3]$/) as unknown,
          inferenceTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/) as unknown,
        },
        eventVersion: '0',
      });
    }
  });

  it('answers a bad request with the runtime ModelError carrying the model status', async () => {
    const response = await invoke('churn-serve', 'not,a,number,row\n');
    expect(response.status).toBe(424);
    expect(response.headers.get('x-amzn-errortype')).toBe('ModelError');
    expect(await response.json()).toMatchObject({ OriginalStatusCode: 400, message: expect.stringContaining('tenure_months') as unknown });
    const missing = await invoke('no-such-endpoint', '1,2,3,one-year\n');
    expect(missing.status).toBe(400);
    expect(missing.headers.get('x-amzn-errortype')).toBe('ValidationError');
  });

  it('serves a serverless endpoint config (ServerlessConfig, no instances); refuses data capture on one, and an update of a real-time endpoint to one', async () => {
    const variant = { VariantName: 'AllTraffic', ModelName: 'churn-v1', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } };
    await sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'churn-serverless-1', ProductionVariants: [variant] }));
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'churn-serverless', EndpointConfigName: 'churn-serverless-1' }));
    expect(await endpointSettled('churn-serverless')).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-serverless-1' });
    const response = await invoke('churn-serverless', '3,90.5,4,month-to-month\n');
    expect(response.status).toBe(200);
    expect(Number((await response.text()).trim())).toBeGreaterThan(0.5);

    await expect(
      sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'churn-serverless-capture',
          ProductionVariants: [variant],
          DataCaptureConfig: { EnableCapture: true, InitialSamplingPercentage: 20, DestinationS3Uri: `s3://${bucket}/capture/churn`, CaptureOptions: [{ CaptureMode: 'Input' }] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('DataCaptureConfig is not supported for serverless') as unknown });
    await expect(sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'churn-serve', EndpointConfigName: 'churn-serverless-1' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('to a serverless endpoint config is not supported') as unknown,
    });
    expect(await endpointSettled('churn-serve')).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-1' });
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'churn-serverless' }));
  });

  it('scales a serverless variant to zero when idle and cold-starts it on the next request', async () => {
    const variant = { VariantName: 'AllTraffic', ModelName: 'churn-v1', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } };
    await sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'churn-idle-1', ProductionVariants: [variant] }));
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'churn-idle', EndpointConfigName: 'churn-idle-1' }));
    expect(await endpointSettled('churn-idle')).toMatchObject({ EndpointStatus: 'InService' });
    const processes = () => local.runner.endpoints.processes('churn-idle');
    const idle = async () => {
      for (let i = 0; i < 100 && processes().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      return processes();
    };
    // Created (its health check passed), then nothing runs until a request comes.
    expect(await idle()).toEqual([]);
    // Concurrent requests to a cold variant share one start.
    const answers = await Promise.all([1, 2, 3].map(() => invoke('churn-idle', '3,90.5,4,month-to-month\n')));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(local.runner.endpoints.coldStarts('churn-idle')).toBe(1);
    const [warm] = processes();
    expect(warm && isAlive(warm.pid)).toBe(true);
    expect(await idle()).toEqual([]);
    // Stopped: SIGTERM, then SIGKILL after the grace period.
    for (let i = 0; i < 50 && isAlive(warm!.pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isAlive(warm!.pid)).toBe(false);
    expect((await invoke('churn-idle', '3,90.5,4,month-to-month\n')).status).toBe(200);
    expect(local.runner.endpoints.coldStarts('churn-idle')).toBe(2);
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'churn-idle' }));
    await local.runner.endpoints.settled('churn-idle');
    expect(processes()).toEqual([]);
  });

  it('updates blue/green with a canary: the new config goes live and the old process stops', async () => {
    const before = local.runner.endpoints.processes('churn-serve');
    await sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: 'churn-serve',
        EndpointConfigName: 'churn-config-2',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 30, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } },
            TerminationWaitInSeconds: 30,
          },
        },
      }),
    );
    await local.runner.endpoints.settled('churn-serve');
    const endpoint = await endpointSettled('churn-serve');
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-2' });
    expect(endpoint.FailureReason).toBeUndefined();
    expect(before.map((p) => p.pid).filter(isAlive)).toEqual([]);
    expect((await invoke('churn-serve', '3,90.5,4,month-to-month\n')).status).toBe(200);
  });

  it('keeps the old config live with a FailureReason when an update fails', async () => {
    local.runner.failNextUpdate('churn-serve', 'the new variant failed its health check');
    await sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'churn-serve', EndpointConfigName: 'churn-config-3' }));
    await local.runner.endpoints.settled('churn-serve');
    const endpoint = await endpointSettled('churn-serve');
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-2' });
    expect(local.runner.endpoints.processes('churn-serve').map((p) => p.config)).toEqual(['churn-config-2']);
    expect(endpoint.FailureReason).toBe('Failed to update endpoint: the new variant failed its health check');
  });

  it('rolls an update back silently: InService on the old config and no FailureReason', async () => {
    local.runner.rollBackNextUpdate('churn-serve');
    await sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'churn-serve', EndpointConfigName: 'churn-config-3' }));
    await local.runner.endpoints.settled('churn-serve');
    const endpoint = await endpointSettled('churn-serve');
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-2' });
    expect(endpoint.FailureReason).toBeUndefined();
    expect(local.runner.endpoints.processes('churn-serve').map((p) => p.config)).toEqual(['churn-config-2']);
  });

  it('sends the canary share of traffic to the new variant while the canary bakes', async () => {
    await sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: 'churn-serve',
        EndpointConfigName: 'churn-config-4',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            // 300 s at 1/100: a 3 s canary window, far longer than the ten requests below take.
            TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 300, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } },
            TerminationWaitInSeconds: 0,
          },
        },
      }),
    );
    await until(
      () => Promise.resolve(local.runner.endpoints.processes('churn-serve').map((p) => p.config)),
      (configs) => configs.includes('churn-config-4'),
      'the green fleet to take traffic',
    );
    const variants = [];
    for (let i = 0; i < 10; i += 1) variants.push((await invoke('churn-serve', '3,90.5,4,month-to-month\n')).headers.get('x-amzn-invoked-production-variant'));
    const during = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'churn-serve' }));
    expect(during.EndpointStatus).toBe('Updating');
    expect(during.PendingDeploymentSummary?.EndpointConfigName).toBe('churn-config-4');
    expect(variants.filter((v) => v === 'green')).toHaveLength(1);
    expect(variants.filter((v) => v === 'primary')).toHaveLength(9);
    await local.runner.endpoints.settled('churn-serve');
    expect(await endpointSettled('churn-serve')).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-4' });
    expect((await invoke('churn-serve', '3,90.5,4,month-to-month\n')).headers.get('x-amzn-invoked-production-variant')).toBe('green');
  });

  it('rolls back to the old config when an auto-rollback alarm goes to ALARM during the update', async () => {
    const alarmName = uniqueName('churn-latency');
    await cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarmName,
        Namespace: 'AWS/SageMaker',
        MetricName: 'ModelLatency',
        Dimensions: [{ Name: 'EndpointName', Value: 'churn-serve' }],
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1000,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    await cloudWatch.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'ALARM', StateReason: 'test: latency too high' }));
    await sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: 'churn-serve',
        EndpointConfigName: 'churn-config-2',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'LINEAR', WaitIntervalInSeconds: 1, LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 25 } } },
          AutoRollbackConfiguration: { Alarms: [{ AlarmName: alarmName }] },
        },
      }),
    );
    await local.runner.endpoints.settled('churn-serve');
    const endpoint = await endpointSettled('churn-serve');
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'churn-config-4' });
    expect(endpoint.FailureReason).toBe(`Rolled back: alarm ${alarmName} in ALARM during the deployment`);
    expect(local.runner.endpoints.processes('churn-serve').map((p) => p.config)).toEqual(['churn-config-4']);
  });

  it('fails an endpoint whose serving process never passes the ping check', async () => {
    await sagemaker.send(new CreateModelCommand({ ModelName: 'broken', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'caretaker-test-broken-serve' } }));
    await sagemaker.send(
      new CreateEndpointConfigCommand({ EndpointConfigName: 'broken-config', ProductionVariants: [{ VariantName: 'primary', ModelName: 'broken', InitialInstanceCount: 1 }] }),
    );
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'broken-endpoint', EndpointConfigName: 'broken-config' }));
    const endpoint = await endpointSettled('broken-endpoint');
    expect(endpoint.EndpointStatus).toBe('Failed');
    expect(endpoint.FailureReason).toMatch(/did not pass the ping health check/);
  });

  it('deletes an endpoint: its processes stop and it is gone', async () => {
    const pids = local.runner.endpoints.processes('churn-serve').map((p) => p.pid);
    expect(pids.length).toBe(1);
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'churn-serve' }));
    await local.runner.endpoints.settled('churn-serve');
    await expect(sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'churn-serve' }))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
