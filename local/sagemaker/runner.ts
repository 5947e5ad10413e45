/**
 * The local SageMaker runner: one object holding the jobs and endpoints it simulates, the
 * processes it started, and the test hooks. `server.ts` puts it behind SageMaker's wire
 * protocols; tests and the demo may also call it directly.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SETTINGS, type Hooks, type RunnerContext, type RunnerSettings } from './context';
import { Endpoints } from './endpoints';
import { SageMakerFault } from './errors';
import { defaultImageRegistry, type ImageRegistry } from './images';
import { ProcessingJobs } from './processing';
import { TransformJobs } from './transform';
import { ProcessSupervisor } from './processes';
import { TrainingJobs } from './training';

export interface LocalSageMakerOptions {
  /** S3 client for channels, artifacts, checkpoints and capture (the moto server, locally). */
  readonly s3: S3Client;
  /** CloudWatch client for auto-rollback alarms; without it, alarms are not checked. */
  readonly cloudWatch?: CloudWatchClient;
  /** Image URI → commands. @default the examples of this repository (`defaultImageRegistry()`) */
  readonly images?: ImageRegistry;
  /** Where job and endpoint directories go. @default a new temporary directory, removed on close */
  readonly workRoot?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly settings?: Partial<RunnerSettings>;
}

export class LocalSageMaker {
  readonly training: TrainingJobs;
  readonly processing: ProcessingJobs;
  readonly endpoints: Endpoints;
  readonly transform: TransformJobs;
  private readonly context: RunnerContext;
  private readonly ownsWorkRoot: boolean;

  constructor(options: LocalSageMakerOptions) {
    this.ownsWorkRoot = options.workRoot === undefined;
    this.context = {
      s3: options.s3,
      cloudWatch: options.cloudWatch,
      supervisor: new ProcessSupervisor(),
      images: options.images ?? defaultImageRegistry(),
      workRoot: options.workRoot ?? mkdtempSync(join(tmpdir(), 'caretaker-sagemaker-')),
      region: options.region ?? 'us-east-1',
      accountId: options.accountId ?? '123456789012',
      settings: { ...DEFAULT_SETTINGS, ...options.settings },
      hooks: { unavailableInstanceTypes: new Set(), nextUpdate: new Map() },
    };
    this.training = new TrainingJobs(this.context);
    this.processing = new ProcessingJobs(this.context);
    this.endpoints = new Endpoints(this.context);
    this.transform = new TransformJobs(this.context, (model, path) => this.endpoints.startModelServer(model, path), (model) => this.endpoints.hasModel(model));
  }

  get hooks(): Hooks {
    return this.context.hooks;
  }

  get workRoot(): string {
    return this.context.workRoot;
  }

  get accountId(): string {
    return this.context.accountId;
  }

  /** The next UpdateEndpoint of `endpointName` fails (old config stays live, FailureReason set). */
  failNextUpdate(endpointName: string, reason?: string): void {
    this.context.hooks.nextUpdate.set(endpointName, { outcome: 'fail', reason });
  }

  /** The next UpdateEndpoint of `endpointName` rolls back after its first traffic shift, saying nothing. */
  rollBackNextUpdate(endpointName: string): void {
    this.context.hooks.nextUpdate.set(endpointName, { outcome: 'rollback' });
  }

  /** Training jobs on this instance type fail with CapacityError until `restoreCapacity`. */
  exhaustCapacity(instanceType: string): void {
    this.context.hooks.unavailableInstanceTypes.add(instanceType);
  }

  restoreCapacity(instanceType: string): void {
    this.context.hooks.unavailableInstanceTypes.delete(instanceType);
  }

  /** Pids of every process the runner has running. */
  pids(): number[] {
    return this.context.supervisor.pids();
  }

  /** Dispatches one SageMaker control-plane operation (`X-Amz-Target: SageMaker.<operation>`). */
  async call(operation: string, input: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case 'CreateTrainingJob':
        return this.training.create(input);
      case 'DescribeTrainingJob':
        return this.training.describe(input);
      case 'StopTrainingJob':
        return this.training.stop(input);
      case 'CreateProcessingJob':
        return this.processing.create(input);
      case 'DescribeProcessingJob':
        return this.processing.describe(input);
      case 'StopProcessingJob':
        return this.processing.stop(input);
      case 'CreateTransformJob':
        return this.transform.create(input);
      case 'DescribeTransformJob':
        return this.transform.describe(input);
      case 'StopTransformJob':
        return this.transform.stop(input);
      case 'CreateModel':
        return this.endpoints.createModel(input);
      case 'DescribeModel':
        return this.endpoints.describeModel(input);
      case 'DeleteModel':
        return this.endpoints.deleteModel(input);
      case 'CreateEndpointConfig':
        return this.endpoints.createEndpointConfig(input);
      case 'DescribeEndpointConfig':
        return this.endpoints.describeEndpointConfig(input);
      case 'DeleteEndpointConfig':
        return this.endpoints.deleteEndpointConfig(input);
      case 'CreateEndpoint':
        return this.endpoints.createEndpoint(input);
      case 'UpdateEndpoint':
        return this.endpoints.updateEndpoint(input);
      case 'DescribeEndpoint':
        return this.endpoints.describeEndpoint(input);
      case 'DeleteEndpoint':
        return this.endpoints.deleteEndpoint(input);
      default:
        return Promise.reject(new SageMakerFault('UnknownOperationException', `The local SageMaker runner does not implement ${operation}`));
    }
  }

  /** Stops every job and endpoint process, writes buffered capture, removes its temporary directory. */
  async close(): Promise<void> {
    const { stopGraceMs } = this.context.settings;
    for (const job of this.training.all()) {
      if (job.status === 'InProgress') {
        job.stopReason = 'user';
        job.status = 'Stopping';
      }
      void job.process?.stop(stopGraceMs);
    }
    for (const job of this.processing.all()) {
      if (job.status === 'InProgress') {
        job.stopReason = 'user';
        job.status = 'Stopping';
      }
      void job.process?.stop(stopGraceMs);
    }
    await this.endpoints.closeAll();
    await Promise.all([...this.training.all(), ...this.processing.all()].map((job) => job.done));
    await this.context.supervisor.stopAll(stopGraceMs);
    if (this.ownsWorkRoot) await rm(this.context.workRoot, { recursive: true, force: true });
  }
}
