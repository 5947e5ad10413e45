/**
 * Batch Transform jobs: CreateTransformJob / DescribeTransformJob / StopTransformJob, over the
 * same local model server an endpoint runs (`Endpoints.startModelServer`).
 *
 * As SageMaker documents a transform (CreateTransformJob; "Use batch transform to run inference
 * with Amazon SageMaker AI"): every object under the S3Prefix input is scored; with SplitType Line
 * the object is split into records at line ends and, with BatchStrategy MultiRecord, as many
 * records as fit in MaxPayloadInMB go to the container's /invocations in one request
 * (SingleRecord: one each); with AssembleWith Line the responses are joined by line ends into
 * `<S3OutputPath><key relative to the prefix>.out`. A request the container answers with an
 * error fails the job (ClientError, FailureReason naming the object). Refusals follow the API
 * reference: the job-name pattern, MaxPayloadInMB "cannot be greater than 100 MB" (documented
 * text; botocore's model bounds it below only), ResourceInUse for a name already used, and a model
 * CreateModel never made; the wording is ours. Not modelled: ManifestFile
 * input, DataProcessing filters, output encryption with KmsKeyId (moto holds no such key).
 */
import * as z from 'zod';
import { arnOf, epochSeconds, type RunnerContext } from './context';
import { checkName, inUse, notFound, validationError } from './errors';
import { getObject, joinKey, listKeys, parseS3Uri, putObject } from './s3';

export const createTransformJobSchema = z.looseObject({
  TransformJobName: z.string(),
  ModelName: z.string().min(1),
  BatchStrategy: z.enum(['MultiRecord', 'SingleRecord']).optional(),
  MaxPayloadInMB: z.number().int().min(0).max(100).optional(),
  TransformInput: z.looseObject({
    DataSource: z.looseObject({ S3DataSource: z.looseObject({ S3DataType: z.enum(['S3Prefix', 'ManifestFile', 'AugmentedManifestFile']), S3Uri: z.string().regex(/^s3:\/\//) }) }),
    ContentType: z.string().optional(),
    SplitType: z.enum(['None', 'Line', 'RecordIO', 'TFRecord']).optional(),
  }),
  TransformOutput: z.looseObject({ S3OutputPath: z.string().regex(/^s3:\/\//), Accept: z.string().optional(), AssembleWith: z.enum(['None', 'Line']).optional(), KmsKeyId: z.string().optional() }),
  TransformResources: z.looseObject({ InstanceType: z.string().min(1), InstanceCount: z.number().int().min(1), VolumeKmsKeyId: z.string().optional() }),
  Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
});
export type CreateTransformJobRequest = z.infer<typeof createTransformJobSchema>;

/** Starts the model's serving process under `root`; resolves once it answers /ping. */
export type ModelServer = (modelName: string, root: string) => Promise<{ readonly port: number; stop(): Promise<void> }>;

interface TransformJob {
  readonly request: CreateTransformJobRequest;
  readonly arn: string;
  readonly creationTime: Date;
  status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  failureReason?: string;
  startTime?: Date;
  endTime?: Date;
  stopRequested: boolean;
  work?: Promise<void>;
}

export class TransformJobs {
  private readonly jobs = new Map<string, TransformJob>();

  constructor(
    private readonly context: RunnerContext,
    private readonly serve: ModelServer,
    private readonly modelExists: (name: string) => boolean,
  ) {}

  create(input: unknown): { TransformJobArn: string } {
    const parsed = createTransformJobSchema.safeParse(input);
    if (!parsed.success) throw validationError(`1 validation error detected: ${z.prettifyError(parsed.error)}`);
    const request = parsed.data;
    checkName('transformJobName', request.TransformJobName);
    if (this.jobs.has(request.TransformJobName)) throw inUse(`Job name must be unique within an AWS account and region, and a job with this name already exists (${arnOf(this.context, 'transform-job', request.TransformJobName)})`);
    if (!this.modelExists(request.ModelName)) throw validationError(`Could not find model "${arnOf(this.context, 'model', request.ModelName)}".`);
    if (request.TransformInput.DataSource.S3DataSource.S3DataType !== 'S3Prefix') throw validationError('The local SageMaker runner scores S3Prefix inputs only.');
    const job: TransformJob = { request, arn: arnOf(this.context, 'transform-job', request.TransformJobName), creationTime: new Date(), status: 'InProgress', stopRequested: false };
    this.jobs.set(request.TransformJobName, job);
    job.work = this.run(job).catch((error: unknown) => {
      job.status = 'Failed';
      job.failureReason = `AlgorithmError: ${error instanceof Error ? error.message : String(error)}`;
      job.endTime = new Date();
    });
    return { TransformJobArn: job.arn };
  }

  describe(input: { TransformJobName?: unknown }) {
    const job = this.get(input.TransformJobName);
    const r = job.request;
    return {
      TransformJobName: r.TransformJobName,
      TransformJobArn: job.arn,
      TransformJobStatus: job.status,
      ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
      ModelName: r.ModelName,
      ...(r.BatchStrategy ? { BatchStrategy: r.BatchStrategy } : {}),
      ...(r.MaxPayloadInMB !== undefined ? { MaxPayloadInMB: r.MaxPayloadInMB } : {}),
      TransformInput: r.TransformInput,
      TransformOutput: r.TransformOutput,
      TransformResources: r.TransformResources,
      CreationTime: epochSeconds(job.creationTime),
      ...(job.startTime ? { TransformStartTime: epochSeconds(job.startTime) } : {}),
      ...(job.endTime ? { TransformEndTime: epochSeconds(job.endTime) } : {}),
    };
  }

  stop(input: { TransformJobName?: unknown }): Record<string, never> {
    const job = this.get(input.TransformJobName);
    if (job.status === 'InProgress') {
      job.stopRequested = true;
      job.status = 'Stopping';
    }
    return {};
  }

  private get(name: unknown): TransformJob {
    const job = typeof name === 'string' ? this.jobs.get(name) : undefined;
    if (!job) throw notFound(`Could not find job to describe: ${String(name)}`);
    return job;
  }

  private async run(job: TransformJob): Promise<void> {
    const r = job.request;
    job.startTime = new Date();
    const server = await this.serve(r.ModelName, `transform/${r.TransformJobName}`);
    try {
      const input = parseS3Uri(r.TransformInput.DataSource.S3DataSource.S3Uri);
      const objects = await listKeys(this.context.s3, input);
      if (objects.length === 0) throw new Error(`ClientError: no objects under ${r.TransformInput.DataSource.S3DataSource.S3Uri}`);
      const maxBytes = (r.MaxPayloadInMB ?? 6) * 1024 * 1024;
      const lineSplit = r.TransformInput.SplitType === 'Line';
      const joiner = r.TransformOutput.AssembleWith === 'Line' ? '\n' : '';
      for (const key of objects) {
        if (job.stopRequested) break;
        const body = (await getObject(this.context.s3, { bucket: input.bucket, key })).toString('utf8');
        const records = lineSplit ? body.split('\n').filter((line) => line !== '') : [body];
        const outputs: string[] = [];
        for (const batch of batches(records, r.BatchStrategy === 'SingleRecord' ? 1 : Number.POSITIVE_INFINITY, maxBytes)) {
          const response = await fetch(`http://127.0.0.1:${server.port}/invocations`, {
            method: 'POST',
            headers: { 'content-type': r.TransformInput.ContentType ?? 'application/octet-stream', ...(r.TransformOutput.Accept ? { accept: r.TransformOutput.Accept } : {}) },
            body: batch.join('\n') + (lineSplit ? '\n' : ''),
          });
          const text = await response.text();
          if (!response.ok) throw new Error(`ClientError: the model answered ${response.status} for s3://${input.bucket}/${key}: ${text.slice(0, 256)}`);
          outputs.push(text.replace(/\n$/, ''));
        }
        const relative = key.slice(input.key.length);
        await putObject(this.context.s3, `${r.TransformOutput.S3OutputPath.replace(/\/?$/, '/')}${joinKey(relative)}.out`, outputs.join(joiner) + (joiner ? '\n' : ''));
      }
      job.status = job.stopRequested ? 'Stopped' : 'Completed';
    } catch (error) {
      job.status = 'Failed';
      job.failureReason = error instanceof Error ? error.message : String(error);
    } finally {
      job.endTime = new Date();
      await server.stop();
    }
  }
}

/** Records grouped into requests of at most `maxRecords` records and `maxBytes` bytes (a record larger than the limit goes alone, as SageMaker sends it). */
function* batches(records: readonly string[], maxRecords: number, maxBytes: number): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record) + 1;
    if (batch.length > 0 && (batch.length >= maxRecords || bytes + size > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
