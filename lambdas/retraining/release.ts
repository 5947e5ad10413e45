/**
 * Step Functions "Execution Status Change" (a pipeline execution ended) → the model's lease is
 * released and its cooldown starts. The rule matches only the training pipeline's terminal
 * statuses. A run the pipeline could not close itself (aborted, timed out) is closed here, and
 * the endpoint's deployment lease it may hold (taken by StartDeployment/StartRollback) is freed:
 * an aborted or timed-out execution never reaches RecordDeployment/FinishRun, which free it
 * otherwise. Both releases are conditioned on the lease still naming this run, so a late event
 * never frees another run's lease. If this event is ever lost, both leases still expire
 * (`leaseSeconds`, the deploy path's bound), so a model cannot stay blocked forever.
 */
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { DeploymentLeases } from '../pipeline/deployment-lease';
import { PipelineStore } from '../pipeline/store';
import { TRIGGER_KINDS, type RunRecord } from '../shared/contracts';
import { logger } from '../shared/powertools';
import { released } from './policy';
import { closeRunIfOpen, DynamoRetrainingStore } from './repository';
import { reconcileDeployingVersion, type EndpointDescription, type VersionReconcilePorts, type VersionReconciliation } from './reconcile-version';
import type { RetrainingStore } from './start';

export const executionEndedSchema = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string(),
    name: z.string().min(1),
    status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    stopDate: z.number().nullish(),
    input: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
export type ExecutionEnded = z.infer<typeof executionEndedSchema>;

const RUN_ID = new RegExp(`^(.+)-(${TRIGGER_KINDS.join('|')})-[0-9a-f]{20}$`);

/** The model of an ended execution: from its input, else from its name (`runIdFor`'s shape). */
export function modelOfExecution(detail: ExecutionEnded['detail']): string | undefined {
  if (detail.input) {
    try {
      const input = z.object({ model: z.string().min(1) }).safeParse(JSON.parse(detail.input));
      if (input.success) return input.data.model;
    } catch {
      // fall through to the name
    }
  }
  return RUN_ID.exec(detail.name)?.[1];
}

/** A model's endpoint deployment lease, given back by the run that holds it. */
export interface DeploymentLeasePort {
  /** Frees the lease of `model`'s endpoint if `runId` still holds it; `false` when it does not (or the model has no endpoint here). */
  releaseHeldBy(model: string, runId: string, at: string): Promise<boolean>;
}

/** Closes the version an ended run left DEPLOYING, from DescribeEndpoint (`reconcileDeployingVersion`). */
export interface DeployingVersionPort {
  /** The model's endpoint name, if it has one here. */
  endpointOf(model: string): string | undefined;
  readonly ports: VersionReconcilePorts;
}

export interface ReleasePorts {
  readonly store: Pick<RetrainingStore, 'readLease' | 'writeLease'>;
  /** @default - a version left DEPLOYING stays so (the next deployment's ReconcileEndpoint sees what the endpoint serves) */
  readonly deployingVersion?: DeployingVersionPort;
  readonly closeRun: (runId: string, end: { status: RunRecord['status']; endedAt: string; failure?: RunRecord['failure'] }) => Promise<boolean>;
  /** @default - no deployment lease is freed here (it expires after the deploy path's bound) */
  readonly deploymentLease?: DeploymentLeasePort;
  readonly now: () => Date;
}

export interface ReleaseResult {
  readonly released: boolean;
  readonly closedRun: boolean;
  /** The ended run held its endpoint's deployment lease, and it was freed. */
  readonly freedDeployment: boolean;
  /** What became of a version the run left DEPLOYING (absent: none was). */
  readonly version?: Exclude<VersionReconciliation, { outcome: 'none' }>;
}

/** Releases `runId`'s lease on `model` (no-op when it no longer holds it) and closes the run if still open. */
export async function releaseRun(
  ended: { readonly model: string; readonly runId: string; readonly status: ExecutionEnded['detail']['status']; readonly endedAt: string; readonly error?: string; readonly cause?: string },
  ports: ReleasePorts,
): Promise<ReleaseResult> {
  let wasReleased = false;
  for (let attempt = 1; attempt <= 5 && !wasReleased; attempt += 1) {
    const state = await ports.store.readLease(ended.model);
    const next = released(state, ended.runId, ended.endedAt);
    if (next === undefined) break; // already released, or taken over after expiry
    wasReleased = await ports.store.writeLease(next, state.revision);
  }
  // Every terminal status: SUCCEEDED/FAILED runs freed it themselves (then this is a no-op);
  // ABORTED/TIMED_OUT ones stopped wherever they were, possibly holding the endpoint.
  const freedDeployment = (await ports.deploymentLease?.releaseHeldBy(ended.model, ended.runId, ended.endedAt)) ?? false;
  // A version the run left DEPLOYING (it stopped mid-rollout or mid-rollback): DescribeEndpoint decides.
  let version: VersionReconciliation = { outcome: 'none' };
  let reconcileError: Error | undefined;
  const endpointName = ports.deployingVersion?.endpointOf(ended.model);
  if (ports.deployingVersion && endpointName !== undefined) {
    try {
      version = await reconcileDeployingVersion({ ...ended, endpointName }, ports.deployingVersion.ports);
    } catch (error) {
      reconcileError = error instanceof Error ? error : new Error(String(error));
    }
  }
  const failure = { state: 'Execution', error: ended.error ?? `States.${ended.status}`, cause: ended.cause ?? `execution ${ended.status}` };
  const closedRun = await ports.closeRun(
    ended.runId,
    ended.status === 'SUCCEEDED'
      ? { status: 'SUCCEEDED', endedAt: ended.endedAt }
      : // The endpoint serves its version: the run deployed it, whatever stopped the execution (as FinishRun records it).
        { status: version.outcome === 'LIVE' ? 'SUCCEEDED' : 'FAILED', endedAt: ended.endedAt, failure },
  );
  // The leases are free and the run closed; the version is retried with the whole event (each step is a no-op the second time).
  if (reconcileError !== undefined) throw reconcileError;
  return { released: wasReleased, closedRun, freedDeployment, ...(version.outcome === 'none' ? {} : { version }) };
}

export function createReleaseHandler(ports: ReleasePorts, log: Pick<typeof logger, 'info' | 'error'> = logger) {
  return async (event: EventBridgeEvent<string, unknown>): Promise<ReleaseResult | undefined> => {
    const parsed = executionEndedSchema.safeParse(event);
    if (!parsed.success) {
      log.error('not a pipeline execution end', { issues: z.prettifyError(parsed.error) });
      return undefined;
    }
    const { detail } = parsed.data;
    const model = modelOfExecution(detail);
    if (model === undefined) {
      log.error('cannot tell which model an execution ran for', { executionArn: detail.executionArn });
      return undefined;
    }
    const result = await releaseRun(
      {
        model,
        runId: detail.name,
        status: detail.status,
        endedAt: new Date(detail.stopDate ?? ports.now().getTime()).toISOString(),
        ...(detail.error ? { error: detail.error } : {}),
        ...(detail.cause ? { cause: detail.cause.slice(0, 2048) } : {}),
      },
      ports,
    );
    log.info('pipeline execution ended', { model, runId: detail.name, status: detail.status, ...result });
    return result;
  };
}

export function dynamoReleasePorts(
  client: DynamoDBDocumentClient,
  tableName: string,
  now: () => Date = () => new Date(),
  /** Each model's SageMaker endpoint (`DEPLOYMENT_ENDPOINTS`); models not named have no deployment lease freed here. */
  endpoints: Readonly<Record<string, string>> = {},
  /** DescribeEndpoint; without it a version left DEPLOYING is not reconciled here. */
  describeEndpoint?: (endpointName: string) => Promise<EndpointDescription | undefined>,
): ReleasePorts {
  const leases = new DeploymentLeases(client, tableName);
  const endpointOf = (model: string) => (Object.hasOwn(endpoints, model) ? endpoints[model] : undefined);
  return {
    ...(describeEndpoint ? { deployingVersion: { endpointOf, ports: { store: new PipelineStore(client, tableName), describeEndpoint } } } : {}),
    store: new DynamoRetrainingStore(client, tableName),
    closeRun: (runId, end) => closeRunIfOpen(client, tableName, runId, end),
    deploymentLease: {
      releaseHeldBy: (model, runId, at) => {
        const endpointName = endpointOf(model);
        return endpointName === undefined ? Promise.resolve(false) : leases.release(endpointName, runId, at);
      },
    },
    now,
  };
}

/**
 * DescribeEndpoint through the SDK; `undefined` for a name SageMaker does not have: it answers
 * ValidationException "Could not find endpoint" (botocore's EndpointDeleted waiter accepts exactly
 * that error as "deleted"). Every other error is thrown (the event is retried).
 */
export function sagemakerDescribeEndpoint(client: Pick<SageMakerClient, 'send'>): (endpointName: string) => Promise<EndpointDescription | undefined> {
  return async (endpointName) => {
    try {
      const { EndpointStatus, EndpointConfigName } = await client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
      return { EndpointStatus, EndpointConfigName };
    } catch (error) {
      if (error instanceof Error && error.name === 'ValidationException' && error.message.includes('Could not find endpoint')) return undefined;
      throw error;
    }
  };
}
