/**
 * The pipeline steps that need code. Each is a plain function of its (zod-parsed) input and
 * its ports; `handler.ts` dispatches on `step`. Statuses only move through conditional writes
 * (store.ts), so a retried step or a concurrent API decision cannot move a version twice.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { RUN_STATUSES, TRIGGER_KINDS, pipelineInputSchema, type RunRecord, type RunStatus, type VersionStatus } from '../shared/contracts';
import { assertTrainable, DatasetNotTrainable, getDatasetVersion, stageTrainingData, type DatasetPorts, type TrainableDataset } from '../datasets';
import { DataFileError } from '../drift/table';
import { CaretakerError, Conflict, Invalid, NotFound } from '../shared/errors';
import { logger } from '../shared/powertools';
import { artifactPrefixes } from '../shared/layout';
import { APPROVAL_REJECTED_ERROR, rejectionCauseSchema } from './callbacks';
import { decideGate } from './gate';
import { baselineSettingsSchema, EVALUATION_REPORT_FILE, evaluationReportSchema, gateSettingsSchema, objectiveSchema, type BaselineSettings } from './settings';
import type { LineagePort, PipelineStore } from './store';

/** Where RecordDeployment writes the drift baseline of a deployed version (lambdas/drift/store.ts on AWS). */
export interface BaselinePort {
  /** Summarizes the exact objects into `baselines/<model>/<version>/baseline.json`; returns the object's key. */
  write(input: {
    readonly model: string;
    readonly version: number;
    readonly objects: readonly { readonly bucket: string; readonly key: string; readonly versionId: string }[];
    readonly options: BaselineSettings;
  }): Promise<string>;
}

export interface StepPorts {
  readonly store: PipelineStore;
  readonly lineage: LineagePort;
  /** The datasets part's ports: the training check, staging and the registered objects. */
  readonly datasets: DatasetPorts;
  readonly baselines: BaselinePort;
  /** Reads a JSON object from `s3://bucket/key`. */
  readonly readJson: (s3Uri: string) => Promise<unknown>;
  /** Publishes to the approvals topic. */
  readonly publishApproval: (message: { readonly subject: string; readonly body: string }) => Promise<void>;
  readonly artifactsBucket: string;
  readonly now: () => Date;
}

/** A dataset version that is unknown or did not pass validation: training never starts on it. */
export class DatasetNotValidated extends Invalid {
  constructor(message: string) {
    super(message);
    this.name = 'Caretaker.DatasetNotValidated';
  }
}

const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);
const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** SageMaker names: ≤ 63 chars of `[a-zA-Z0-9-]`. Config limits (prefix ≤ 12, model ≤ 24) keep these short. */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

function sagemakerName(name: string): string {
  if (!SAGEMAKER_NAME.test(name)) throw new Invalid(`"${name}" is not a valid SageMaker resource name`);
  return name;
}

/**
 * The datasets part's training check, with its refusals (FAILED or unknown version, an object
 * version gone from S3, a model that does not train on the dataset) under the one error name the
 * state machine and the run record use.
 */
async function trainableDataset(ports: StepPorts, model: string, dataset: string, datasetVersion: string): Promise<TrainableDataset> {
  try {
    return await assertTrainable(ports.datasets, { model, dataset, datasetVersion });
  } catch (error) {
    if (error instanceof DatasetNotTrainable || error instanceof NotFound || error instanceof Invalid) {
      throw new DatasetNotValidated(error.message);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// StartRun

export const startRunInput = pipelineInputSchema.extend({
  step: z.literal('startRun'),
  executionArn: z.string().min(1),
  datasetName: z.string().min(1),
  resourcePrefix: z.string().min(1),
});

export async function startRun(input: z.infer<typeof startRunInput>, ports: StepPorts) {
  const { runId, model, datasetName, datasetVersion } = input;
  const startedAt = ports.now().toISOString();
  await ports.store.createRun({
    runId,
    model,
    status: 'RUNNING',
    executionArn: input.executionArn,
    requestedBy: input.requestedBy,
    trigger: input.trigger,
    datasetVersion,
    currentState: 'StartRun',
    startedAt,
  });

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
    // The evaluator and the trainer split the same dataset version with the same seed.
    holdoutUri: trainingDataUri,
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
  runId: z.string().min(1),
  model: z.string().min(1),
  datasetName: z.string().min(1),
  datasetVersion: z.string().min(1),
});

/**
 * Copies the dataset version's exact object versions (server-side) to the run's
 * `models/<model>/<runId>/input/`, the prefix the training channel and the evaluation holdout
 * read. Checks again first: an object version expired since StartRun ends the run here.
 * A retry copies the same versions to the same keys.
 */
export async function stageData(input: z.infer<typeof stageTrainingDataInput>, ports: StepPorts) {
  const trainable = await trainableDataset(ports, input.model, input.datasetName, input.datasetVersion);
  const staged = await stageTrainingData(ports.datasets, trainable, {
    bucket: ports.artifactsBucket,
    prefix: artifactPrefixes.trainingInput(input.model, input.runId),
  });
  await ports.store.updateRun(input.runId, { currentState: 'StageTrainingData' });
  return { s3Uri: staged.s3Uri, objects: staged.objects.length, contentAddress: trainable.contentAddress };
}

// ---------------------------------------------------------------------------------------------
// Gate

export const gateInput = z.object({
  step: z.literal('gate'),
  runId: z.string().min(1),
  model: z.string().min(1),
  objective: objectiveSchema,
  gate: gateSettingsSchema,
  evaluationReportUri: z.string().startsWith('s3://'),
  champion: z.object({ version: z.number().int().positive() }).nullable(),
});

export async function gate(input: z.infer<typeof gateInput>, ports: StepPorts) {
  const parsed = evaluationReportSchema.safeParse(await ports.readJson(input.evaluationReportUri));
  if (!parsed.success) throw new Invalid(`${input.evaluationReportUri} is not an evaluation report: ${parsed.error.message}`);
  const decision = decideGate({
    objective: input.objective,
    gate: input.gate,
    report: parsed.data,
    championVersion: input.champion?.version,
  });
  await ports.store.updateRun(input.runId, {
    comparison: decision.comparison,
    currentState: 'Gate',
    ...(decision.passed ? {} : { reason: `rejected by gate: ${decision.reasons.join('; ')}` }),
  });
  return decision;
}

// ---------------------------------------------------------------------------------------------
// RegisterVersion

const metricComparison = z.object({
  metricName: z.string(),
  direction: z.enum(['maximize', 'minimize']),
  candidate: z.number(),
  champion: z.number().optional(),
  championVersion: z.number().int().optional(),
});

export const registerVersionInput = z.object({
  step: z.literal('registerVersion'),
  runId: z.string().min(1),
  model: z.string().min(1),
  requestedBy: z.string().min(1),
  datasetName: z.string().min(1),
  datasetVersion: z.string().min(1),
  trainingJobName: z.string().min(1),
  modelArtifactUri: z.string().startsWith('s3://'),
  imageUri: z.string().min(1),
  instanceType: z.string().min(1),
  hyperparameters: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), z.number()),
  comparison: metricComparison,
  evaluationReportUri: z.string().startsWith('s3://'),
  trainingDataUri: z.string().startsWith('s3://'),
});

export async function registerVersion(input: z.infer<typeof registerVersionInput>, ports: StepPorts) {
  const at = ports.now().toISOString();
  // Lineage is recorded on every path (it is idempotent), so a retry after a failed lineage write completes it.
  const linked = async (version: number) => {
    await ports.lineage.record({
      dataset: input.datasetName,
      datasetVersion: input.datasetVersion,
      model: input.model,
      version,
      runId: input.runId,
      trainingJobName: input.trainingJobName,
      at,
    });
    return { version };
  };
  const existing = (await ports.store.getRun(input.runId))?.version;
  if (existing !== undefined) return linked(existing);

  const version = await ports.store.nextVersionNumber(input.model, at);
  const { step: _step, trainingDataUri: _uri, ...fields } = input;
  const registered = await ports.store.registerVersion({ ...fields, version, status: 'PENDING_APPROVAL', createdAt: at, updatedAt: at });
  if (!registered) {
    // A concurrent retry of this step won; its number is the run's (this one is a gap).
    const winner = (await ports.store.getRun(input.runId))?.version;
    if (winner === undefined) throw new Conflict(`version ${version} of ${input.model} could not be registered`);
    return linked(winner);
  }
  return linked(version);
}

// ---------------------------------------------------------------------------------------------
// WaitForApproval (the task-token Lambda)

export const requestApprovalInput = z.object({
  step: z.literal('requestApproval'),
  taskToken: z.string().min(1),
  runId: z.string().min(1),
  model: z.string().min(1),
  version: z.number().int().positive(),
  comparison: metricComparison,
  metrics: z.record(z.string(), z.number()),
  requestedBy: z.string().min(1),
  timeoutSeconds: z.number().int().positive(),
});

export async function requestApproval(input: z.infer<typeof requestApprovalInput>, ports: StepPorts): Promise<void> {
  const now = ports.now();
  const at = now.toISOString();
  const stored = await ports.store.transitionVersion(input.model, input.version, ['PENDING_APPROVAL'], 'PENDING_APPROVAL', {
    at,
    set: { taskToken: input.taskToken, approvalRequestedAt: at, approvalExpiresAt: new Date(now.getTime() + input.timeoutSeconds * 1000).toISOString() },
  });
  if (!stored) throw new Conflict(`version ${input.version} of ${input.model} is no longer waiting for approval`);
  await ports.store.updateRun(input.runId, { currentState: 'WaitForApproval' });
  await ports.publishApproval(approvalMessage(input, new Date(now.getTime() + input.timeoutSeconds * 1000)));
}

function approvalMessage(input: z.infer<typeof requestApprovalInput>, expiresAt: Date) {
  const { model, version, comparison: c } = input;
  const versus =
    c.champion !== undefined
      ? `${c.candidate} vs champion v${c.championVersion ?? '?'} ${c.champion} (${c.direction})`
      : `${c.candidate} (no champion yet; thresholds met)`;
  const body = [
    `Model ${model} version ${version} passed the gate and waits for a decision.`,
    '',
    `${c.metricName}: ${versus}`,
    ...Object.entries(input.metrics).map(([name, value]) => `  ${name} = ${value}`),
    '',
    `Run: ${input.runId} (requested by ${input.requestedBy}; they may not approve it)`,
    `Expires: ${expiresAt.toISOString()}`,
    '',
    `Approve: npx caretaker approve ${model} ${version} --reason "<why>"`,
    `Reject:  npx caretaker reject ${model} ${version} --reason "<why>"`,
  ].join('\n');
  return { subject: `Caretaker: approve ${model} v${version}?`.slice(0, 100), body };
}

// ---------------------------------------------------------------------------------------------
// Deploy

export const startDeploymentInput = z.object({
  step: z.literal('startDeployment'),
  runId: z.string().min(1),
  model: z.string().min(1),
  version: z.number().int().positive(),
  resourcePrefix: z.string().min(1),
  endpointName: z.string().min(1),
});

export async function startDeployment(input: z.infer<typeof startDeploymentInput>, ports: StepPorts) {
  const { model, version, runId } = input;
  const at = ports.now().toISOString();
  const moved = await ports.store.transitionVersion(model, version, ['APPROVED'], 'DEPLOYING', { at, set: { deployingRunId: runId }, remove: ['taskToken'] });
  if (!moved) {
    const current = await ports.store.getVersion(model, version);
    if (!current) throw new NotFound(`${model} has no version ${version}`);
    // A retried step finds its own DEPLOYING version; anything else is not ours to deploy.
    if (current.status !== 'DEPLOYING') throw new Conflict(`version ${version} of ${model} is ${current.status}, not APPROVED`);
  }
  await ports.store.updateRun(runId, { currentState: 'Deploy' });
  const previous = await ports.store.findLiveVersion(model);
  const name = sagemakerName(`${input.resourcePrefix}-${model}-v${version}-${shortHash(runId, 6)}`);
  return {
    endpointName: input.endpointName,
    modelName: name,
    endpointConfigName: name,
    endpointExists: previous !== undefined,
    previous: previous ? { version: previous.version, endpointConfigName: previous.endpointConfigName ?? null } : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Rollback: the deploy path for an earlier version (`POST /models/{model}/rollback`)

/** What the registry API starts the pipeline with for a rollback (lambdas/api/aws-ports.ts). */
export const rollbackInputSchema = z.object({
  kind: z.literal('rollback'),
  deploymentId: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
  model: z.string().min(1),
  version: z.number().int().positive(),
  requestedBy: z.string().min(1),
  reason: z.string(),
  requestedAt: z.string(),
});

export const startRollbackInput = z.object({
  step: z.literal('startRollback'),
  runId: z.string().min(1),
  model: z.string().min(1),
  version: z.number().int().positive(),
  requestedBy: z.string().min(1),
  trigger: z.object({ kind: z.enum(TRIGGER_KINDS), id: z.string(), reason: z.string() }),
  executionArn: z.string().min(1),
});

/** Versions a rollback may redeploy (as the API checks before it starts one). */
const ROLLBACK_FROM: readonly VersionStatus[] = ['APPROVED', 'RETIRED'];

/**
 * Opens a rollback run: the version must be APPROVED or RETIRED (it was approved once) and moves
 * to DEPLOYING in one conditional write, so two rollbacks cannot deploy it at once. Returns what
 * the deploy states read from a training run: the version, its artifact, its data locations.
 */
export async function startRollback(input: z.infer<typeof startRollbackInput>, ports: StepPorts) {
  const { runId, model, version } = input;
  const target = await ports.store.getVersion(model, version);
  if (!target) throw new NotFound(`${model} has no version ${version}`);
  const at = ports.now().toISOString();
  const moved = await ports.store.transitionVersion(model, version, ROLLBACK_FROM, 'DEPLOYING', { at, set: { deployingRunId: runId } });
  if (!moved) {
    const current = await ports.store.getVersion(model, version);
    const ours = current?.status === 'DEPLOYING' && (current as { deployingRunId?: string }).deployingRunId === runId;
    if (!ours) throw new Conflict(`version ${version} of ${model} is ${current?.status ?? 'gone'}; only an APPROVED or RETIRED version can be rolled back to`);
  }
  await ports.store.createRun({
    runId,
    model,
    status: 'RUNNING',
    executionArn: input.executionArn,
    requestedBy: input.requestedBy,
    trigger: input.trigger,
    datasetVersion: target.datasetVersion,
    currentState: 'StartRollback',
    startedAt: at,
  });
  await ports.store.updateRun(runId, { version });
  const bucket = ports.artifactsBucket;
  return {
    datasetVersion: target.datasetVersion,
    registered: { version },
    trainingJob: { jobName: target.trainingJobName, artifactUri: target.modelArtifactUri, instanceType: target.instanceType },
    run: {
      startedAt: at,
      dataset: { name: target.datasetName, version: target.datasetVersion },
      // The version's own training run staged its exact training data here.
      trainingDataUri: s3Uri(bucket, artifactPrefixes.trainingInput(model, target.runId)),
      captureUri: s3Uri(bucket, artifactPrefixes.capture(model)),
    },
  };
}

export const recordDeploymentInput = z.object({
  step: z.literal('recordDeployment'),
  runId: z.string().min(1),
  model: z.string().min(1),
  version: z.number().int().positive(),
  endpointName: z.string().min(1),
  endpointConfigName: z.string().min(1),
  modelName: z.string().min(1),
  trainingDataUri: z.string().startsWith('s3://'),
  executionArn: z.string().min(1),
  datasetName: z.string().min(1),
  datasetVersion: z.string().min(1),
  baseline: baselineSettingsSchema,
});

export async function recordDeployment(input: z.infer<typeof recordDeploymentInput>, ports: StepPorts) {
  const { model, version } = input;
  const current = await ports.store.getVersion(model, version);
  const baselineUri = s3Uri(ports.artifactsBucket, artifactPrefixes.baselines(model, String(version)));
  if (current?.status === 'LIVE') return { baselineUri, deployedAt: current.deployedAt };
  const baselineError = await writeBaseline(input, ports);
  const previous = await ports.store.findLiveVersion(model);
  const at = ports.now().toISOString();
  await ports.store.recordDeployment({
    model,
    version,
    previousVersion: previous?.version,
    runId: input.runId,
    at,
    endpointName: input.endpointName,
    endpointConfigName: input.endpointConfigName,
    modelName: input.modelName,
    baselineUri,
    trainingDataUri: input.trainingDataUri,
  });
  return { baselineUri, deployedAt: at, ...(baselineError !== undefined ? { baselineError } : {}) };
}

/**
 * The drift baseline of the exact registered objects the version was trained on, written before
 * the version goes LIVE so the analyzer finds it. The endpoint already serves the version: a
 * baseline that cannot be built from the data (dataset gone from the config, unreadable rows) is
 * reported, not turned into a failed deployment. Transient errors still fail the step, which retries.
 */
async function writeBaseline(input: z.infer<typeof recordDeploymentInput>, ports: StepPorts): Promise<string | undefined> {
  try {
    const dataset = await getDatasetVersion(ports.datasets, input.datasetName, input.datasetVersion);
    await ports.baselines.write({ model: input.model, version: input.version, objects: dataset.objects, options: input.baseline });
    return undefined;
  } catch (error) {
    if (!(error instanceof CaretakerError || error instanceof DataFileError)) throw error;
    logger.warn('no drift baseline for the deployed version', { model: input.model, version: input.version, error: error.message });
    return `${error.name}: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// FinishRun: every way a run ends without deploying

const errorOutput = z.object({ Error: z.string(), Cause: z.unknown() });

export const finishRunInput = z.object({
  step: z.literal('finishRun'),
  status: z.enum(RUN_STATUSES).exclude(['RUNNING', 'SUCCEEDED']),
  executionArn: z.string().min(1),
  /** The execution's whole state at that point; only these parts are read. */
  run: z.object({
    runId: z.string().min(1),
    model: z.string().min(1),
    datasetVersion: z.string().min(1),
    requestedBy: z.string().min(1),
    trigger: z.object({ kind: z.enum(TRIGGER_KINDS), id: z.string(), reason: z.string() }),
    failure: z.record(z.string(), errorOutput).default({}),
    rejection: errorOutput.optional(),
    gate: z.object({ reasons: z.array(z.string()) }).optional(),
    registered: z.object({ version: z.number().int().positive() }).optional(),
  }),
});

/** Which version statuses a run's end moves its version out of, and to what. */
const VERSION_CLEANUP: Partial<Record<RunStatus, { readonly from: readonly VersionStatus[]; readonly to: VersionStatus }[]>> = {
  EXPIRED: [{ from: ['PENDING_APPROVAL'], to: 'EXPIRED' }],
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

function rejectionReason(cause: unknown): string {
  if (typeof cause === 'string') {
    try {
      const parsed = rejectionCauseSchema.safeParse(JSON.parse(cause));
      if (parsed.success) return `rejected by ${parsed.data.by}: ${parsed.data.reason}`;
    } catch {
      // a plain-text reason
    }
    return `rejected: ${cause}`;
  }
  return 'rejected';
}

export async function finishRun(input: z.infer<typeof finishRunInput>, ports: StepPorts) {
  const { status, run } = input;
  const at = ports.now().toISOString();
  const failed = Object.entries(run.failure).at(-1);
  const failure = failed ? { state: failed[0], error: failed[1].Error, cause: describeCause(failed[1].Cause) } : undefined;
  const reason =
    status === 'REJECTED'
      ? rejectionReason(run.rejection?.Cause)
      : status === 'REJECTED_BY_GATE'
        ? `rejected by gate: ${(run.gate?.reasons ?? []).join('; ')}`
        : status === 'EXPIRED'
          ? 'no decision before the approval timeout'
          : undefined;

  const version = run.registered?.version;
  if (version !== undefined) {
    for (const { from, to } of VERSION_CLEANUP[status] ?? []) {
      const moved = await ports.store.transitionVersion(run.model, version, from, to, { at, remove: ['taskToken'], set: { endedBy: status } });
      if (moved && (to === 'EXPIRED' || to === 'DEPLOY_FAILED')) {
        await ports.store.putAudit({ eventId: `${run.runId}#${to}`, model: run.model, at, type: to, actor: 'caretaker:pipeline', version, runId: run.runId, reason: failure?.cause ?? reason });
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
  };
  await ports.store.updateRun(run.runId, fields);
  return {
    status,
    Error: failure?.error ?? (status === 'REJECTED' ? APPROVAL_REJECTED_ERROR : `Caretaker.${status}`),
    Cause: failure?.cause ?? reason ?? status,
  };
}
