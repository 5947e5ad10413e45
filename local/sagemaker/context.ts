/** What every part of the runner shares: clients, the process supervisor, settings, test hooks. */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ImageRegistry } from './images';
import type { ProcessSupervisor } from './processes';

export interface RunnerSettings {
  /** Time a stopped container gets between SIGTERM and SIGKILL (SageMaker: 120 s). */
  readonly stopGraceMs: number;
  /** How often checkpoints are synced to `CheckpointConfig.S3Uri` while a job runs. */
  readonly checkpointSyncMs: number;
  /** How long a serving process may take to answer `/ping` (SageMaker: 8 min). */
  readonly healthCheckTimeoutMs: number;
  /**
   * Multiplies the waits of a blue/green update (canary/linear wait intervals, termination
   * wait). 0 shifts traffic in its steps without waiting; 1 waits as long as SageMaker would.
   */
  readonly deploymentTimeScale: number;
  /** How often buffered capture records are written to S3 (SageMaker: about once a minute). */
  readonly captureFlushMs: number;
  /**
   * How long a serverless variant's process lives after its last request before it is stopped
   * (scale to zero); the next request starts it again (a cold start). SageMaker does not publish
   * its own idle time; "Serverless Inference" (serverless-endpoints.html) says only that compute
   * is released when there are no requests and that a request after idleness has a cold start.
   */
  readonly serverlessIdleMs: number;
}

export const DEFAULT_SETTINGS: RunnerSettings = {
  stopGraceMs: 5_000,
  checkpointSyncMs: 1_000,
  healthCheckTimeoutMs: 30_000,
  deploymentTimeScale: 0,
  captureFlushMs: 1_000,
  serverlessIdleMs: 60_000,
};

/**
 * Ways to make SageMaker misbehave on purpose, so callers' failure paths run end to end.
 * Each one is consumed by the next operation it applies to.
 */
export interface Hooks {
  /** Training jobs on these instance types fail with SageMaker's CapacityError. */
  readonly unavailableInstanceTypes: Set<string>;
  /** Endpoint name → what the next UpdateEndpoint of it does instead of succeeding. */
  readonly nextUpdate: Map<string, { readonly outcome: 'fail' | 'rollback'; readonly reason?: string }>;
}

export interface RunnerContext {
  readonly s3: S3Client;
  /** For blue/green auto-rollback: alarms named in `AutoRollbackConfiguration` are read here. */
  readonly cloudWatch?: CloudWatchClient;
  readonly supervisor: ProcessSupervisor;
  readonly images: ImageRegistry;
  readonly workRoot: string;
  readonly region: string;
  readonly accountId: string;
  readonly settings: RunnerSettings;
  readonly hooks: Hooks;
}

/** SageMaker ARNs carry the resource name in lower case. */
export function arnOf(context: RunnerContext, type: string, name: string): string {
  return `arn:aws:sagemaker:${context.region}:${context.accountId}:${type}/${name.toLowerCase()}`;
}

/** JSON 1.1 timestamps are epoch seconds. */
export const epochSeconds = (date: Date) => date.getTime() / 1000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `/opt/ml/...` paths in a request (channel, checkpoint and Processing `LocalPath`s) mapped
 * into the job's local root. Anything outside `/opt/ml` is refused.
 */
export function containerPath(root: string, path: string): string {
  const normalized = path.replace(/\/+$/, '');
  if (normalized !== '/opt/ml' && !normalized.startsWith('/opt/ml/')) {
    throw new Error(`local path ${path} must be under /opt/ml`);
  }
  if (normalized.split('/').includes('..')) throw new Error(`local path ${path} must not contain ..`);
  return root + normalized.slice('/opt/ml'.length);
}
