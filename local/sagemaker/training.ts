/**
 * Training jobs: CreateTrainingJob / DescribeTrainingJob / StopTrainingJob.
 *
 * A job runs the image's `train` command as a process in its own `/opt/ml`-style directory:
 * channels downloaded from S3 into `input/data/<channel>/`, `input/config/hyperparameters.json`
 * (and `inputdataconfig.json`, `resourceconfig.json`), checkpoints downloaded from and synced
 * to `CheckpointConfig.S3Uri`, the model directory tarred to
 * `<S3OutputPath>/<job>/output/model.tar.gz`. MaxRuntimeInSeconds stops the job; metrics come
 * from the process's output through the job's MetricDefinitions.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { arnOf, containerPath, epochSeconds, type RunnerContext } from './context';
import { checkName, inUse, notFound, validationError } from './errors';
import { readDirectory } from './files';
import { resolveImage, UnknownImage } from './images';
import type { RunningProcess } from './processes';
import { downloadPrefix, joinKey, parseS3Uri, putObject, uploadDirectory } from './s3';
import { writeTarGz } from './tar';

const s3Uri = z.string().regex(/^s3:\/\//, 'must be an s3:// URI');

export const createTrainingJobSchema = z.looseObject({
  TrainingJobName: z.string(),
  RoleArn: z.string().min(20),
  AlgorithmSpecification: z.looseObject({
    TrainingImage: z.string().min(1),
    TrainingInputMode: z.enum(['File', 'FastFile', 'Pipe']).default('File'),
    MetricDefinitions: z.array(z.strictObject({ Name: z.string().min(1), Regex: z.string().min(1) })).max(40).optional(),
    ContainerEntrypoint: z.array(z.string()).optional(),
    ContainerArguments: z.array(z.string()).optional(),
  }),
  HyperParameters: z.record(z.string(), z.string()).optional(),
  InputDataConfig: z
    .array(
      z.looseObject({
        ChannelName: z.string().regex(/^[A-Za-z0-9.\-_]+$/),
        DataSource: z.looseObject({
          S3DataSource: z.looseObject({ S3DataType: z.enum(['S3Prefix', 'ManifestFile', 'AugmentedManifestFile']), S3Uri: s3Uri }),
        }),
        InputMode: z.enum(['File', 'FastFile', 'Pipe']).optional(),
      }),
    )
    .max(20)
    .optional(),
  OutputDataConfig: z.looseObject({ S3OutputPath: s3Uri, KmsKeyId: z.string().optional() }),
  ResourceConfig: z.looseObject({ InstanceType: z.string().optional(), InstanceCount: z.number().int().min(1).optional() }),
  StoppingCondition: z.looseObject({
    MaxRuntimeInSeconds: z.number().int().min(1).optional(),
    MaxWaitTimeInSeconds: z.number().int().min(1).optional(),
  }),
  EnableManagedSpotTraining: z.boolean().optional(),
  CheckpointConfig: z.looseObject({ S3Uri: s3Uri, LocalPath: z.string().optional() }).optional(),
  Environment: z.record(z.string(), z.string()).optional(),
  EnableNetworkIsolation: z.boolean().optional(),
  Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
});
export type CreateTrainingJobRequest = z.infer<typeof createTrainingJobSchema>;

type TrainingStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

interface Transition {
  Status: string;
  StartTime: Date;
  EndTime?: Date;
  StatusMessage: string;
}

/** A reason the job fails that is the caller's doing (SageMaker's `ClientError: …`). */
class ClientError extends Error {}

export class TrainingJob {
  readonly arn: string;
  readonly creationTime = new Date();
  status: TrainingStatus = 'InProgress';
  failureReason?: string;
  lastModifiedTime = new Date();
  trainingStartTime?: Date;
  trainingEndTime?: Date;
  modelArtifacts?: string;
  readonly transitions: Transition[] = [];
  readonly metrics = new Map<string, { value: number; at: Date }>();
  /** The last lines the job's process printed (stdout and stderr), for tests and the demo. */
  readonly logs: string[] = [];
  stopReason?: 'user' | 'max-runtime';
  interruptRequested = false;
  process?: RunningProcess;
  done: Promise<void> = Promise.resolve();

  constructor(
    context: RunnerContext,
    readonly request: CreateTrainingJobRequest,
  ) {
    this.arn = arnOf(context, 'training-job', request.TrainingJobName);
  }

  get name(): string {
    return this.request.TrainingJobName;
  }

  /** Still running (neither stopping nor ended); a method so that checks after an await are not narrowed away. */
  isActive(): boolean {
    return this.status === 'InProgress';
  }

  secondary(status: string, message: string): void {
    const now = new Date();
    const previous = this.transitions.at(-1);
    if (previous) previous.EndTime = now;
    this.transitions.push({ Status: status, StartTime: now, StatusMessage: message });
    this.lastModifiedTime = now;
  }

  log(line: string): void {
    this.logs.push(line);
    if (this.logs.length > 500) this.logs.shift();
  }

  describe() {
    const r = this.request;
    const seconds = (from?: Date, to?: Date) => (from && to ? Math.max(1, Math.round((to.getTime() - from.getTime()) / 1000)) : undefined);
    return {
      TrainingJobName: r.TrainingJobName,
      TrainingJobArn: this.arn,
      TrainingJobStatus: this.status,
      SecondaryStatus: this.transitions.at(-1)?.Status ?? 'Starting',
      FailureReason: this.failureReason,
      HyperParameters: r.HyperParameters,
      AlgorithmSpecification: r.AlgorithmSpecification,
      RoleArn: r.RoleArn,
      InputDataConfig: r.InputDataConfig,
      OutputDataConfig: r.OutputDataConfig,
      ResourceConfig: r.ResourceConfig,
      StoppingCondition: r.StoppingCondition,
      EnableManagedSpotTraining: r.EnableManagedSpotTraining ?? false,
      EnableNetworkIsolation: r.EnableNetworkIsolation ?? false,
      CheckpointConfig: r.CheckpointConfig,
      Environment: r.Environment,
      ModelArtifacts: this.modelArtifacts ? { S3ModelArtifacts: this.modelArtifacts } : undefined,
      CreationTime: epochSeconds(this.creationTime),
      TrainingStartTime: this.trainingStartTime && epochSeconds(this.trainingStartTime),
      TrainingEndTime: this.trainingEndTime && epochSeconds(this.trainingEndTime),
      LastModifiedTime: epochSeconds(this.lastModifiedTime),
      TrainingTimeInSeconds: seconds(this.trainingStartTime, this.trainingEndTime),
      BillableTimeInSeconds: seconds(this.trainingStartTime, this.trainingEndTime),
      SecondaryStatusTransitions: this.transitions.map((t) => ({
        Status: t.Status,
        StartTime: epochSeconds(t.StartTime),
        EndTime: t.EndTime && epochSeconds(t.EndTime),
        StatusMessage: t.StatusMessage,
      })),
      FinalMetricDataList: [...this.metrics].map(([MetricName, { value, at }]) => ({ MetricName, Value: value, Timestamp: epochSeconds(at) })),
    };
  }
}

export class TrainingJobs {
  private readonly jobs = new Map<string, TrainingJob>();

  constructor(private readonly context: RunnerContext) {}

  create(input: unknown): { TrainingJobArn: string } {
    const parsed = createTrainingJobSchema.safeParse(input);
    if (!parsed.success) throw validationError(z.prettifyError(parsed.error));
    const request = parsed.data;
    checkName('trainingJobName', request.TrainingJobName);
    if (this.jobs.has(request.TrainingJobName)) {
      throw inUse(`Training job names must be unique within an AWS account and region, and a training job with this name already exists (${this.jobs.get(request.TrainingJobName)?.arn ?? ''})`);
    }
    const { MaxRuntimeInSeconds = 86_400, MaxWaitTimeInSeconds } = request.StoppingCondition;
    if (request.EnableManagedSpotTraining) {
      if (MaxWaitTimeInSeconds === undefined) throw validationError('MaxWaitTimeInSeconds is required for managed spot training');
      if (MaxWaitTimeInSeconds < MaxRuntimeInSeconds) {
        throw validationError(`MaxWaitTimeInSeconds (${MaxWaitTimeInSeconds}) must be greater than or equal to MaxRuntimeInSeconds (${MaxRuntimeInSeconds})`);
      }
    } else if (MaxWaitTimeInSeconds !== undefined) {
      throw validationError('MaxWaitTimeInSeconds is only valid with EnableManagedSpotTraining');
    }
    for (const channel of request.InputDataConfig ?? []) {
      if (channel.DataSource.S3DataSource.S3DataType !== 'S3Prefix') throw validationError('the local runner supports S3DataType S3Prefix only');
      if ((channel.InputMode ?? request.AlgorithmSpecification.TrainingInputMode) === 'Pipe') throw validationError('the local runner supports File and FastFile input modes only');
    }
    for (const metric of request.AlgorithmSpecification.MetricDefinitions ?? []) {
      try {
        new RegExp(metric.Regex);
      } catch {
        throw validationError(`MetricDefinitions: the regex of ${metric.Name} is not a valid regular expression`);
      }
    }
    if (request.CheckpointConfig?.LocalPath !== undefined) {
      try {
        containerPath('/', request.CheckpointConfig.LocalPath);
      } catch (error) {
        throw validationError(`CheckpointConfig.LocalPath: ${(error as Error).message}`);
      }
    }
    const job = new TrainingJob(this.context, request);
    job.secondary('Starting', 'Launching requested ML instances');
    this.jobs.set(job.name, job);
    job.done = this.run(job, MaxRuntimeInSeconds);
    return { TrainingJobArn: job.arn };
  }

  get(name: unknown): TrainingJob {
    const job = typeof name === 'string' ? this.jobs.get(name) : undefined;
    if (!job) throw notFound(`Requested resource not found: training job ${String(name)}`);
    return job;
  }

  describe(input: { TrainingJobName?: unknown }) {
    return this.get(input.TrainingJobName).describe();
  }

  stop(input: { TrainingJobName?: unknown }): Record<string, never> {
    const job = this.get(input.TrainingJobName);
    if (job.status !== 'InProgress') throw validationError(`The training job ${job.name} is not in progress (${job.status})`);
    job.status = 'Stopping';
    job.stopReason = 'user';
    job.lastModifiedTime = new Date();
    job.secondary('Stopping', 'Stopping the training job');
    void job.process?.stop(this.context.settings.stopGraceMs);
    return {};
  }

  /** Simulates a spot interruption: the process is stopped and the job restarts from its checkpoints. */
  interruptSpot(name: string): void {
    const job = this.get(name);
    if (!job.request.EnableManagedSpotTraining) throw new Error(`${name} is not a managed spot training job`);
    if (job.status !== 'InProgress' || !job.process) throw new Error(`${name} is not training`);
    job.interruptRequested = true;
    void job.process.stop(this.context.settings.stopGraceMs);
  }

  all(): TrainingJob[] {
    return [...this.jobs.values()];
  }

  private async run(job: TrainingJob, maxRuntimeSeconds: number): Promise<void> {
    const { context } = this;
    const request = job.request;
    const root = join(context.workRoot, 'training', job.name);
    const checkpointDir = request.CheckpointConfig ? containerPath(root, request.CheckpointConfig.LocalPath ?? '/opt/ml/checkpoints') : undefined;
    const uploaded = new Map<string, string>();
    const syncCheckpoints = async () => {
      if (request.CheckpointConfig && checkpointDir) await uploadDirectory(context.s3, checkpointDir, request.CheckpointConfig.S3Uri, uploaded);
    };
    const maxRuntime = setTimeout(() => {
      if (job.status !== 'InProgress') return;
      job.stopReason = 'max-runtime';
      job.status = 'Stopping';
      job.secondary('Stopping', `Stopping: the job exceeded MaxRuntimeInSeconds (${maxRuntimeSeconds} s)`);
      void job.process?.stop(context.settings.stopGraceMs);
    }, maxRuntimeSeconds * 1000);
    try {
      const instanceType = request.ResourceConfig.InstanceType ?? '';
      if (context.hooks.unavailableInstanceTypes.has(instanceType)) {
        throw new CapacityError(
          `CapacityError: Unable to provision requested ML compute capacity for ${instanceType}. Please retry using a different ML instance type.`,
        );
      }
      let entry;
      try {
        entry = resolveImage(context.images, request.AlgorithmSpecification.TrainingImage);
      } catch (error) {
        if (error instanceof UnknownImage) throw new ClientError(error.message);
        throw error;
      }
      const command = entry.train;
      if (!command) throw new ClientError(`image ${request.AlgorithmSpecification.TrainingImage} has no train command in the local image registry`);

      job.secondary('Downloading', 'Downloading input data');
      await rm(root, { recursive: true, force: true });
      const config = join(root, 'input', 'config');
      await mkdir(config, { recursive: true });
      await mkdir(join(root, 'model'), { recursive: true });
      await mkdir(join(root, 'output', 'data'), { recursive: true });
      await writeFile(join(config, 'hyperparameters.json'), JSON.stringify(request.HyperParameters ?? {}));
      await writeFile(
        join(config, 'inputdataconfig.json'),
        JSON.stringify(
          Object.fromEntries(
            (request.InputDataConfig ?? []).map((c) => [
              c.ChannelName,
              { TrainingInputMode: c.InputMode ?? request.AlgorithmSpecification.TrainingInputMode, S3DistributionType: 'FullyReplicated' },
            ]),
          ),
        ),
      );
      await writeFile(join(config, 'resourceconfig.json'), JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1'], network_interface_name: 'eth0' }));
      for (const channel of request.InputDataConfig ?? []) {
        const uri = channel.DataSource.S3DataSource.S3Uri;
        const count = await downloadPrefix(context.s3, uri, join(root, 'input', 'data', channel.ChannelName));
        if (count === 0) throw new ClientError(`No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region (${context.region}), that objects exist under that S3 prefix, and that the role "${request.RoleArn}" has "s3:ListBucket" permissions on bucket "${parseS3Uri(uri).bucket}".`);
      }

      const metricPatterns = (request.AlgorithmSpecification.MetricDefinitions ?? []).map((m) => ({ name: m.Name, regex: new RegExp(m.Regex) }));
      const onLine = (line: string) => {
        job.log(line);
        for (const { name, regex } of metricPatterns) {
          const value = Number(regex.exec(line)?.[1] ?? Number.NaN);
          if (Number.isFinite(value)) job.metrics.set(name, { value, at: new Date() });
        }
      };

      for (;;) {
        if (checkpointDir && request.CheckpointConfig) {
          await rm(checkpointDir, { recursive: true, force: true });
          await downloadPrefix(context.s3, `${request.CheckpointConfig.S3Uri.replace(/\/+$/, '')}/`, checkpointDir);
        }
        if (job.status !== 'InProgress') break;
        job.secondary('Training', 'Training image download completed. Training in progress.');
        job.trainingStartTime ??= new Date();
        const process = context.supervisor.spawn([...command, ...(request.AlgorithmSpecification.ContainerArguments ?? [])], {
          cwd: root,
          env: {
            ...request.Environment,
            SM_ROOT: root,
            TRAINING_JOB_NAME: job.name,
            TRAINING_JOB_ARN: job.arn,
          },
          onLine,
        });
        job.process = process;
        const sync = setInterval(() => void syncCheckpoints().catch((error: unknown) => job.log(`checkpoint sync failed: ${String(error)}`)), context.settings.checkpointSyncMs);
        const exit = await process.exited;
        clearInterval(sync);
        job.process = undefined;
        await syncCheckpoints();
        if (job.interruptRequested && job.isActive()) {
          job.interruptRequested = false;
          job.secondary('Interrupted', 'Spot instance interrupted; the job restarts from its checkpoints');
          job.secondary('Starting', 'Launching requested ML instances');
          continue;
        }
        job.trainingEndTime = new Date();
        const failure = existsSync(join(root, 'output', 'failure')) ? (await readFile(join(root, 'output', 'failure'), 'utf8')).trim() : '';
        if (job.stopReason || exit.code === 0) {
          job.secondary('Uploading', 'Uploading generated training model');
          const model = await readDirectory(join(root, 'model'));
          const outputPrefix = joinKey(request.OutputDataConfig.S3OutputPath, job.name, 'output');
          if (model.size > 0 || !job.stopReason) {
            const uri = `${outputPrefix}/model.tar.gz`;
            await putObject(context.s3, uri, writeTarGz(model), 'application/x-gzip');
            job.modelArtifacts = uri;
          }
          const data = await readDirectory(join(root, 'output', 'data'));
          if (data.size > 0) await putObject(context.s3, `${outputPrefix}/output.tar.gz`, writeTarGz(data), 'application/x-gzip');
        }
        if (job.stopReason) {
          finishStopped(job, maxRuntimeSeconds);
        } else if (exit.code === 0) {
          job.status = 'Completed';
          job.secondary('Completed', 'Training job completed');
        } else {
          const detail = failure || job.logs.slice(-5).join('\n') || 'no output';
          job.failureReason = `AlgorithmError: ${detail}, exit code: ${exit.code ?? exit.signal ?? 'unknown'}`.slice(0, 1024);
          job.status = 'Failed';
          job.secondary('Failed', 'Training job failed');
        }
        break;
      }
      if (job.status === 'Stopping') finishStopped(job, maxRuntimeSeconds);
    } catch (error) {
      job.failureReason = (
        error instanceof CapacityError
          ? error.message
          : error instanceof ClientError
            ? `ClientError: ${error.message}`
            : `InternalServerError: ${error instanceof Error ? error.message : String(error)}`
      ).slice(0, 1024);
      job.status = 'Failed';
      job.secondary('Failed', 'Training job failed');
    } finally {
      clearTimeout(maxRuntime);
      job.lastModifiedTime = new Date();
    }
  }
}

class CapacityError extends Error {}

function finishStopped(job: TrainingJob, maxRuntimeSeconds: number): void {
  job.status = 'Stopped';
  if (job.stopReason === 'max-runtime') {
    job.secondary('MaxRuntimeExceeded', `Job stopped because it exceeded MaxRuntimeInSeconds (${maxRuntimeSeconds} s)`);
  } else {
    job.secondary('Stopped', 'The job was stopped');
  }
}
