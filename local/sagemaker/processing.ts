/**
 * Processing jobs: CreateProcessingJob / DescribeProcessingJob / StopProcessingJob.
 *
 * Inputs are downloaded to their `LocalPath` (under `/opt/ml/processing/…`, mapped into the
 * job's local root), the command for `ContainerEntrypoint[0]` runs with the rest of the
 * entrypoint and `ContainerArguments`, and each output's `LocalPath` is uploaded to its S3 URI
 * when the job ends (`EndOfJob`).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { arnOf, containerPath, epochSeconds, type RunnerContext } from './context';
import { checkName, inUse, notFound, validationError } from './errors';
import { resolveImage, UnknownImage } from './images';
import type { RunningProcess } from './processes';
import { downloadPrefix, uploadDirectory } from './s3';

const s3Uri = z.string().regex(/^s3:\/\//, 'must be an s3:// URI');

export const createProcessingJobSchema = z.looseObject({
  ProcessingJobName: z.string(),
  RoleArn: z.string().min(20),
  AppSpecification: z.looseObject({
    ImageUri: z.string().min(1),
    ContainerEntrypoint: z.array(z.string().min(1)).min(1).optional(),
    ContainerArguments: z.array(z.string()).optional(),
  }),
  ProcessingInputs: z
    .array(
      z.looseObject({
        InputName: z.string().min(1),
        S3Input: z.looseObject({
          S3Uri: s3Uri,
          LocalPath: z.string().min(1),
          S3DataType: z.enum(['S3Prefix', 'ManifestFile']),
          S3InputMode: z.enum(['File', 'Pipe']).default('File'),
        }),
      }),
    )
    .max(10)
    .optional(),
  ProcessingOutputConfig: z
    .looseObject({
      Outputs: z.array(
        z.looseObject({
          OutputName: z.string().min(1),
          S3Output: z.looseObject({ S3Uri: s3Uri, LocalPath: z.string().min(1), S3UploadMode: z.enum(['Continuous', 'EndOfJob']) }),
        }),
      ),
      KmsKeyId: z.string().optional(),
    })
    .optional(),
  ProcessingResources: z.looseObject({ ClusterConfig: z.looseObject({ InstanceType: z.string(), InstanceCount: z.number().int().min(1) }) }),
  StoppingCondition: z.looseObject({ MaxRuntimeInSeconds: z.number().int().min(1) }).optional(),
  Environment: z.record(z.string(), z.string()).optional(),
  NetworkConfig: z.looseObject({}).optional(),
  Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
});
export type CreateProcessingJobRequest = z.infer<typeof createProcessingJobSchema>;

class ClientError extends Error {}

export class ProcessingJob {
  readonly arn: string;
  readonly creationTime = new Date();
  status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped' = 'InProgress';
  failureReason?: string;
  exitMessage?: string;
  startTime?: Date;
  endTime?: Date;
  lastModifiedTime = new Date();
  readonly logs: string[] = [];
  stopReason?: 'user' | 'max-runtime';
  process?: RunningProcess;
  done: Promise<void> = Promise.resolve();

  constructor(
    context: RunnerContext,
    readonly request: CreateProcessingJobRequest,
  ) {
    this.arn = arnOf(context, 'processing-job', request.ProcessingJobName);
  }

  get name(): string {
    return this.request.ProcessingJobName;
  }

  describe() {
    const r = this.request;
    return {
      ProcessingJobName: r.ProcessingJobName,
      ProcessingJobArn: this.arn,
      ProcessingJobStatus: this.status,
      FailureReason: this.failureReason,
      ExitMessage: this.exitMessage,
      AppSpecification: r.AppSpecification,
      ProcessingInputs: r.ProcessingInputs,
      ProcessingOutputConfig: r.ProcessingOutputConfig,
      ProcessingResources: r.ProcessingResources,
      StoppingCondition: r.StoppingCondition,
      Environment: r.Environment,
      NetworkConfig: r.NetworkConfig,
      RoleArn: r.RoleArn,
      CreationTime: epochSeconds(this.creationTime),
      ProcessingStartTime: this.startTime && epochSeconds(this.startTime),
      ProcessingEndTime: this.endTime && epochSeconds(this.endTime),
      LastModifiedTime: epochSeconds(this.lastModifiedTime),
    };
  }
}

export class ProcessingJobs {
  private readonly jobs = new Map<string, ProcessingJob>();

  constructor(private readonly context: RunnerContext) {}

  create(input: unknown): { ProcessingJobArn: string } {
    const parsed = createProcessingJobSchema.safeParse(input);
    if (!parsed.success) throw validationError(z.prettifyError(parsed.error));
    const request = parsed.data;
    checkName('processingJobName', request.ProcessingJobName);
    if (this.jobs.has(request.ProcessingJobName)) throw inUse(`Processing job ${request.ProcessingJobName} already exists`);
    for (const input of request.ProcessingInputs ?? []) {
      if (input.S3Input.S3DataType !== 'S3Prefix' || input.S3Input.S3InputMode !== 'File') {
        throw validationError('the local runner supports S3Prefix inputs in File mode only');
      }
      if (!input.S3Input.LocalPath.startsWith('/opt/ml/processing/')) throw validationError(`LocalPath ${input.S3Input.LocalPath} must be under /opt/ml/processing/`);
    }
    for (const output of request.ProcessingOutputConfig?.Outputs ?? []) {
      if (!output.S3Output.LocalPath.startsWith('/opt/ml/processing/')) throw validationError(`LocalPath ${output.S3Output.LocalPath} must be under /opt/ml/processing/`);
    }
    const job = new ProcessingJob(this.context, request);
    this.jobs.set(job.name, job);
    job.done = this.run(job, request.StoppingCondition?.MaxRuntimeInSeconds ?? 86_400);
    return { ProcessingJobArn: job.arn };
  }

  get(name: unknown): ProcessingJob {
    const job = typeof name === 'string' ? this.jobs.get(name) : undefined;
    if (!job) throw notFound(`Requested resource not found: processing job ${String(name)}`);
    return job;
  }

  describe(input: { ProcessingJobName?: unknown }) {
    return this.get(input.ProcessingJobName).describe();
  }

  stop(input: { ProcessingJobName?: unknown }): Record<string, never> {
    const job = this.get(input.ProcessingJobName);
    if (job.status !== 'InProgress') throw validationError(`The processing job ${job.name} is not in progress (${job.status})`);
    job.status = 'Stopping';
    job.stopReason = 'user';
    void job.process?.stop(this.context.settings.stopGraceMs);
    return {};
  }

  all(): ProcessingJob[] {
    return [...this.jobs.values()];
  }

  private async run(job: ProcessingJob, maxRuntimeSeconds: number): Promise<void> {
    const { context } = this;
    const request = job.request;
    const root = join(context.workRoot, 'processing', job.name);
    const maxRuntime = setTimeout(() => {
      if (job.status !== 'InProgress') return;
      job.stopReason = 'max-runtime';
      job.status = 'Stopping';
      void job.process?.stop(context.settings.stopGraceMs);
    }, maxRuntimeSeconds * 1000);
    try {
      const image = request.AppSpecification.ImageUri;
      let entry;
      try {
        entry = resolveImage(context.images, image);
      } catch (error) {
        if (error instanceof UnknownImage) throw new ClientError(error.message);
        throw error;
      }
      // Without ContainerEntrypoint, the arguments replace the image's CMD (no ENTRYPOINT in
      // these images): the first one is the program, looked up like an entry point.
      const { ContainerEntrypoint, ContainerArguments = [] } = request.AppSpecification;
      const [entrypoint, ...entrypointArgs] = ContainerEntrypoint ?? ContainerArguments;
      const args = ContainerEntrypoint ? ContainerArguments : [];
      const command = entrypoint === undefined ? undefined : entry.entrypoints?.[entrypoint];
      if (!command) {
        throw new ClientError(
          `image ${image} has no entry point ${entrypoint ?? '(none given)'} in the local image registry (known: ${Object.keys(entry.entrypoints ?? {}).join(', ') || 'none'})`,
        );
      }
      await rm(root, { recursive: true, force: true });
      await mkdir(join(root, 'processing'), { recursive: true });
      for (const input of request.ProcessingInputs ?? []) {
        const dir = containerPath(root, input.S3Input.LocalPath);
        const count = await downloadPrefix(context.s3, input.S3Input.S3Uri, dir);
        if (count === 0) throw new ClientError(`No objects found under S3 URL "${input.S3Input.S3Uri}" for input ${input.InputName}`);
      }
      for (const output of request.ProcessingOutputConfig?.Outputs ?? []) await mkdir(containerPath(root, output.S3Output.LocalPath), { recursive: true });
      if (job.status !== 'InProgress') return;
      job.startTime = new Date();
      // In the container, an argument naming /opt/ml/… is the file SageMaker put there (the
      // evaluation script: `python3 /opt/ml/processing/input/code/<file>`); here it is under the job's root.
      const inRoot = (arg: string) => (arg === '/opt/ml' || arg.startsWith('/opt/ml/') ? containerPath(root, arg) : arg);
      job.process = context.supervisor.spawn([...command, ...[...entrypointArgs, ...args].map(inRoot)], {
        cwd: root,
        env: { ...request.Environment, SM_ROOT: root, PROCESSING_JOB_NAME: job.name, PROCESSING_JOB_ARN: job.arn },
        onLine: (line) => {
          job.logs.push(line);
          if (job.logs.length > 500) job.logs.shift();
        },
      });
      const exit = await job.process.exited;
      job.process = undefined;
      job.endTime = new Date();
      for (const output of request.ProcessingOutputConfig?.Outputs ?? []) {
        await uploadDirectory(context.s3, containerPath(root, output.S3Output.LocalPath), output.S3Output.S3Uri);
      }
      if (job.stopReason) return;
      if (exit.code === 0) {
        job.status = 'Completed';
      } else {
        job.exitMessage = job.logs.slice(-5).join('\n').slice(0, 1024);
        job.failureReason = `AlgorithmError: ${job.exitMessage || 'no output'}, exit code: ${exit.code ?? exit.signal ?? 'unknown'}`.slice(0, 1024);
        job.status = 'Failed';
      }
    } catch (error) {
      job.failureReason = (error instanceof ClientError ? `ClientError: ${error.message}` : `InternalServerError: ${error instanceof Error ? error.message : String(error)}`).slice(0, 1024);
      job.status = 'Failed';
    } finally {
      clearTimeout(maxRuntime);
      if (job.stopReason && job.status !== 'Failed') {
        job.status = 'Stopped';
        if (job.stopReason === 'max-runtime') job.exitMessage = `Job stopped because it exceeded MaxRuntimeInSeconds (${maxRuntimeSeconds} s)`;
      }
      job.lastModifiedTime = new Date();
    }
  }
}
