/**
 * A run's start and end: StartRun opens the run record, StageTrainingData copies the exact
 * dataset version the run trains on, FinishRun records every way a run ends without deploying.
 */
import * as z from '../../shared/zod';
import { RUN_STATUSES, TRIGGER_KINDS, pipelineInputSchema, type RunRecord, type RunStatus, type VersionStatus } from '../../shared/contracts';
import { stageAlgorithmChannels, stageTrainingData } from '../../datasets';
import { artifactPrefixes } from '../../shared/layout';
import { APPROVAL_REJECTED_ERROR, parseRejectionCause, type RejectionCause } from '../../shared/approval';
import { EVALUATION_REPORT_FILE, trainingInputSchema } from '../settings';
import { DEPLOYMENT_IN_FLIGHT } from '../deployment-lease';
import { describedEndpoint, releaseLease } from './deployment';
import { DATASET_FIELDS, openRun, RUN_FIELDS, s3Uri, sagemakerName, shortHash, trainableDataset, type StepPorts } from './ports';

const nonEmpty = z.string().check(z.minLength(1));

// ---------------------------------------------------------------------------------------------
// StartRun

export const startRunInput = z.strictObject({
  ...pipelineInputSchema.shape,
  step: z.literal('startRun'),
  executionArn: nonEmpty,
  datasetName: nonEmpty,
  resourcePrefix: nonEmpty,
});

export async function startRun(input: z.infer<typeof startRunInput>, ports: StepPorts) {
  const { runId, model, datasetName, datasetVersion } = input;
  const startedAt = ports.now().toISOString();
  await openRun(ports, input, { datasetVersion, state: 'StartRun', startedAt });

  const trainable = await trainableDataset(ports, model, datasetName, datasetVersion);
  // Training and evaluation read the run's own copy of the exact registered object versions
  // (StageTrainingData), never the live dataset prefix, which may have changed since.
  const trainingDataUri = s3Uri(ports.artifactsBucket, artifactPrefixes.trainingInput(model, runId));

  const champion = await ports.store.findLiveVersion(model);
  const bucket = ports.artifactsBucket;
  const evaluationUri = s3Uri(bucket, artifactPrefixes.evaluations(model, runId));
  return {
    startedAt,
    dataset: { name: trainable.dataset, version: trainable.datasetVersion, contentAddress: trainable.contentAddress, rows: trainable.rowCount },
    jobBase: sagemakerName(`${input.resourcePrefix}-${model}-${shortHash(runId, 10)}`),
    trainingDataUri,
    checkpointUri: s3Uri(bucket, artifactPrefixes.checkpoints(model, runId)),
    outputUri: s3Uri(bucket, artifactPrefixes.models(model, runId)),
    evaluationUri,
    evaluationReportUri: `${evaluationUri}${EVALUATION_REPORT_FILE}`,
    captureUri: s3Uri(bucket, artifactPrefixes.capture(model)),
    champion: champion
      ? { version: champion.version, modelArtifactUri: champion.modelArtifactUri, endpointConfigName: champion.endpointConfigName ?? null }
      : null,
  };
}

// ---------------------------------------------------------------------------------------------
// StageTrainingData

export const stageTrainingDataInput = z.object({
  step: z.literal('stageTrainingData'),
  ...RUN_FIELDS,
  ...DATASET_FIELDS,
  /** What the training job reads (settings `training.input`). */
  input: trainingInputSchema,
});

/** A training channel as CreateTrainingJob's InputDataConfig takes it. */
export interface TrainingChannel {
  readonly ChannelName: string;
  readonly ContentType?: string;
  readonly DataSource: { readonly S3DataSource: { readonly S3DataType: 'S3Prefix'; readonly S3Uri: string; readonly S3DataDistributionType: 'FullyReplicated' } };
}

/**
 * Copies the dataset version's exact object versions (server-side) to the run's
 * `models/<model>/<runId>/input/`: the run's record of what it trained on, and what the drift
 * baseline is built from. Checks again first: an object version expired since StartRun ends the
 * run here. For a SageMaker algorithm image, also encodes that copy into its channels under
 * `models/<model>/<runId>/channels/` (lambdas/datasets/algorithm-channels.ts). Returns the
 * training job's InputDataConfig and the evaluation's holdout. A retry writes the same keys
 * with the same bytes.
 */
export async function stageData(input: z.infer<typeof stageTrainingDataInput>, ports: StepPorts) {
  const trainable = await trainableDataset(ports, input.model, input.datasetName, input.datasetVersion);
  const staged = await stageTrainingData(ports.datasets, trainable, {
    bucket: ports.artifactsBucket,
    prefix: artifactPrefixes.trainingInput(input.model, input.runId),
  });
  const encoded =
    input.input.format === 'dataset-csv'
      ? undefined
      : await stageAlgorithmChannels(ports.datasets.s3, trainable.objects, input.input.encoding, {
          bucket: ports.artifactsBucket,
          prefix: artifactPrefixes.trainingChannels(input.model, input.runId),
        });
  await ports.store.updateRun(input.runId, { currentState: 'StageTrainingData' });
  const summary = { s3Uri: staged.s3Uri, objects: staged.objects.length, contentAddress: trainable.contentAddress };
  if (!encoded) {
    // The evaluator and the trainer split the same dataset version with the same seed.
    const channels: TrainingChannel[] = [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: staged.s3Uri, S3DataDistributionType: 'FullyReplicated' } } }];
    return { ...summary, channels, holdoutUri: staged.s3Uri };
  }
  return { ...summary, channels: encoded.channels, holdoutUri: encoded.holdoutUri, encodingUri: encoded.encodingUri, rows: encoded.rows };
}

// ---------------------------------------------------------------------------------------------
// FinishRun: every way a run ends without deploying

const errorOutput = z.object({ Error: z.string(), Cause: z.unknown() });

/** The statuses a run ends with here: every one but RUNNING and SUCCEEDED. */
const FINISHED_STATUSES = RUN_STATUSES.filter((status): status is Exclude<RunStatus, 'RUNNING' | 'SUCCEEDED'> => status !== 'RUNNING' && status !== 'SUCCEEDED');

export const finishRunInput = z.object({
  step: z.literal('finishRun'),
  status: z.enum(FINISHED_STATUSES),
  executionArn: nonEmpty,
  /** The execution's whole state at that point; only these parts are read. */
  run: z.object({
    runId: nonEmpty,
    model: nonEmpty,
    datasetVersion: nonEmpty,
    requestedBy: nonEmpty,
    trigger: z.object({ kind: z.enum(TRIGGER_KINDS), id: z.string(), reason: z.string() }),
    failure: z._default(z.record(z.string(), errorOutput), {}),
    rejection: z.optional(errorOutput),
    gate: z.optional(z.object({ reasons: z.array(z.string()) })),
    registered: z.optional(z.object({ version: z.int().check(z.positive()) })),
    /** What StartDeployment named (absent when the run failed before it). */
    deployment: z.optional(z.object({ endpointName: z.string(), endpointConfigName: z.string(), modelName: z.string() })),
    /** DescribeEndpoint after the failure (DescribeEndpointAfterFailure): what the endpoint serves. */
    endpointAfterFailure: z.optional(describedEndpoint),
    run: z.optional(z.looseObject({ trainingDataUri: z.optional(z.string()) })),
    config: z.optional(z.looseObject({ model: z.looseObject({ deployment: z.looseObject({ endpointName: z.string() }) }) })),
  }),
});

/** Which version statuses a run's end moves its version out of, and to what. */
const VERSION_CLEANUP: Partial<Record<RunStatus, { readonly from: readonly VersionStatus[]; readonly to: VersionStatus }[]>> = {
  // The wait timed out, so no decision reached the task: a decision recorded on the version but
  // still owed (lambdas/api/domain.ts) expires with it.
  EXPIRED: [{ from: ['PENDING_APPROVAL', 'APPROVED', 'REJECTED'], to: 'EXPIRED' }],
  REJECTED: [{ from: ['PENDING_APPROVAL'], to: 'REJECTED' }],
  FAILED: [
    { from: ['PENDING_APPROVAL'], to: 'EXPIRED' },
    { from: ['DEPLOYING'], to: 'DEPLOY_FAILED' },
  ],
  DEPLOY_FAILED: [{ from: ['APPROVED', 'DEPLOYING'], to: 'DEPLOY_FAILED' }],
};

/** SageMaker `.sync` failures carry the Describe*Job output as the cause: keep its reason. */
export function describeCause(cause: unknown): string {
  if (typeof cause !== 'string') return JSON.stringify(cause ?? null);
  try {
    const job = JSON.parse(cause) as Record<string, unknown>;
    const name = job.TrainingJobName ?? job.ProcessingJobName;
    const status = job.TrainingJobStatus ?? job.ProcessingJobStatus;
    if (typeof name === 'string' && typeof status === 'string') {
      const secondary = typeof job.SecondaryStatus === 'string' && job.SecondaryStatus !== status ? ` (${job.SecondaryStatus})` : '';
      const reason = typeof job.FailureReason === 'string' ? job.FailureReason : typeof job.ExitMessage === 'string' ? job.ExitMessage : 'no reason given';
      return `${name} ${status}${secondary}: ${reason}`;
    }
    if (typeof job.errorMessage === 'string') return job.errorMessage;
  } catch {
    // not JSON: a plain message
  }
  return cause;
}

function rejectionReason(rejection: RejectionCause | undefined, cause: unknown): string {
  if (rejection) return `rejected by ${rejection.by}: ${rejection.reason}`;
  return typeof cause === 'string' ? `rejected: ${cause}` : 'rejected';
}

export async function finishRun(input: z.infer<typeof finishRunInput>, ports: StepPorts) {
  const { status, run } = input;
  const at = ports.now().toISOString();
  const failed = Object.entries(run.failure).at(-1);
  const failure = failed ? { state: failed[0], error: failed[1].Error, cause: describeCause(failed[1].Cause) } : undefined;
  // Who rejected and why, as the API sent it (lambdas/shared/approval.ts).
  const rejection = status === 'REJECTED' ? parseRejectionCause(run.rejection?.Cause) : undefined;
  const reason =
    status === 'REJECTED'
      ? rejectionReason(rejection, run.rejection?.Cause)
      : status === 'REJECTED_BY_GATE'
        ? `rejected by gate: ${(run.gate?.reasons ?? []).join('; ')}`
        : status === 'EXPIRED'
          ? 'no decision before the approval timeout'
          : undefined;

  const version = run.registered?.version;
  const endpointName = run.config?.model.deployment.endpointName;
  if (endpointName !== undefined) await releaseLease(ports, endpointName, run.runId, at);
  const served = version === undefined ? undefined : await recordServedVersion(input, version, failure, ports);
  if (served) return served;
  const restored = version === undefined ? false : await restoreRollbackTarget(run.model, version, run.runId, failure, ports);
  // A deployment that never got the endpoint (another one held it) changed nothing: the version stays APPROVED.
  const neverStarted = failure?.error === DEPLOYMENT_IN_FLIGHT;
  if (version !== undefined && !restored && !neverStarted) {
    for (const { from, to } of VERSION_CLEANUP[status] ?? []) {
      const options = { at, remove: ['taskToken'], set: { endedBy: status } };
      if (to === 'EXPIRED' || to === 'DEPLOY_FAILED') {
        // The move and its audit event commit together (RELIABILITY row 21).
        await ports.store.transitionVersionWithAudit(run.model, version, from, to, options, {
          eventId: `${run.runId}#${to}`, model: run.model, at, type: to, actor: 'caretaker:pipeline', version, runId: run.runId, reason: failure?.cause ?? reason,
        });
      } else {
        await ports.store.transitionVersion(run.model, version, from, to, options);
      }
    }
  }

  const fields: Partial<RunRecord> = {
    runId: run.runId,
    model: run.model,
    status,
    endedAt: at,
    executionArn: input.executionArn,
    requestedBy: run.requestedBy,
    trigger: run.trigger,
    datasetVersion: run.datasetVersion,
    ...(failure ? { failure, currentState: failure.state } : {}),
    ...(reason ? { reason } : {}),
    ...(rejection ? { rejection } : {}),
  };
  await ports.store.updateRun(run.runId, fields);
  return {
    status,
    Error: failure?.error ?? (status === 'REJECTED' ? APPROVAL_REJECTED_ERROR : `Caretaker.${status}`),
    Cause: failure?.cause ?? reason ?? status,
  };
}

/**
 * A deploy path that failed after the endpoint took the new config (polling gave up, the registry
 * write failed …): DescribeEndpoint, not the failure, says what is live. If the endpoint is
 * InService with this run's endpoint config, the version serves traffic and is recorded LIVE,
 * with a note naming the failure; the run is SUCCEEDED with the failure kept.
 */
async function recordServedVersion(
  input: z.infer<typeof finishRunInput>,
  version: number,
  failure: RunRecord['failure'],
  ports: StepPorts,
): Promise<{ status: RunStatus; Error: string; Cause: string } | undefined> {
  const { run } = input;
  const endpoint = run.endpointAfterFailure;
  if (input.status !== 'DEPLOY_FAILED' || !run.deployment || endpoint?.EndpointStatus !== 'InService') return undefined;
  if (endpoint.EndpointConfigName !== run.deployment.endpointConfigName) return undefined;
  const current = await ports.store.getVersion(run.model, version);
  const at = ports.now().toISOString();
  const note = `recorded LIVE after ${failure?.state ?? 'a failure'} failed: DescribeEndpoint says ${run.deployment.endpointName} serves ${endpoint.EndpointConfigName}`;
  if (current?.status !== 'LIVE') {
    const previous = await ports.store.findLiveVersion(run.model);
    await ports.store.recordDeployment({
      model: run.model,
      version,
      previousVersion: previous?.version,
      runId: run.runId,
      at,
      endpointName: run.deployment.endpointName,
      endpointConfigName: run.deployment.endpointConfigName,
      modelName: run.deployment.modelName,
      baselineUri: s3Uri(ports.artifactsBucket, artifactPrefixes.baselines(run.model, String(version))),
      trainingDataUri: run.run?.trainingDataUri ?? s3Uri(ports.artifactsBucket, artifactPrefixes.trainingInput(run.model, run.runId)),
      from: ['DEPLOYING', 'APPROVED', 'DEPLOY_FAILED'],
      note,
    });
  }
  await ports.store.updateRun(run.runId, {
    status: 'SUCCEEDED',
    endedAt: at,
    executionArn: input.executionArn,
    reason: note,
    ...(failure ? { failure } : {}),
  });
  return { status: 'SUCCEEDED', Error: failure?.error ?? 'Caretaker.RecordedLive', Cause: note };
}

/**
 * A rollback moved its target from APPROVED or RETIRED to DEPLOYING (`statusBeforeDeploy`); when
 * the rollback fails, the target gets that status back, so it can be rolled back to again.
 */
async function restoreRollbackTarget(model: string, version: number, runId: string, failure: RunRecord['failure'], ports: StepPorts): Promise<boolean> {
  const current = await ports.store.getVersion(model, version);
  const before = current?.statusBeforeDeploy;
  if (current?.status !== 'DEPLOYING' || current.deployingRunId !== runId || before === undefined) return false;
  const at = ports.now().toISOString();
  const moved = await ports.store.transitionVersion(model, version, ['DEPLOYING'], before, {
    at,
    remove: ['deployingRunId', 'deployingEndpointConfigName', 'statusBeforeDeploy'],
    set: { lastFailedDeployment: { runId, at, ...(failure ? { state: failure.state, error: failure.error, cause: failure.cause } : {}) } },
  });
  if (moved) {
    await ports.store.putAudit({ eventId: `${runId}#DEPLOY_FAILED`, model, at, type: 'DEPLOY_FAILED', actor: 'caretaker:pipeline', version, runId, reason: failure?.cause ?? 'rollback failed', details: { restoredTo: before } });
  }
  return moved;
}
