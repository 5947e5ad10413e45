/**
 * Deploying an approved version (or a rollback's target): StartDeployment moves it to DEPLOYING
 * and names the SageMaker resources, RecordDeployment writes its drift baseline and makes it LIVE.
 */
import * as z from '../../shared/zod';
import { getDatasetVersion } from '../../datasets';
import { DataFileError } from '../../drift/table';
import { CaretakerError, Conflict, NotFound, PIPELINE_ERRORS } from '../../shared/errors';
import { logger } from '../../shared/powertools';
import { artifactPrefixes } from '../../shared/layout';
import { baselineSettingsSchema } from '../settings';
import { DATASET_FIELDS, RUN_VERSION_FIELDS, VERSION_FIELDS, s3Uri, sagemakerName, shortHash, type StepPorts } from './ports';

const nonEmpty = z.string().check(z.minLength(1));

// ---------------------------------------------------------------------------------------------
// Deploy

export const startDeploymentInput = z.object({
  step: z.literal('startDeployment'),
  ...RUN_VERSION_FIELDS,
  resourcePrefix: nonEmpty,
  endpointName: nonEmpty,
  leaseSeconds: z.int().check(z.positive()),
});

/**
 * Takes the endpoint's deployment lease (a rollback already holds it from StartRollback), then
 * APPROVED → DEPLOYING. A lease held by another deployment raises Caretaker.DeploymentInFlight
 * before anything moved; the state retries it with backoff (the run waits its turn).
 */
export async function startDeployment(input: z.infer<typeof startDeploymentInput>, ports: StepPorts) {
  const { model, version, runId } = input;
  const at = ports.now().toISOString();
  const held = await ports.leases.get(input.endpointName);
  if (held?.holder !== runId) {
    await ports.leases.acquire({ endpointName: input.endpointName, holder: runId, model, version, kind: 'training', acquiredAt: at, leaseSeconds: input.leaseSeconds });
  }
  const name = sagemakerName(`${input.resourcePrefix}-${model}-v${version}-${shortHash(runId, 6)}`);
  // The config is named on the version, so whoever closes an execution that stopped mid-rollout
  // (the releaser, on ABORTED/TIMED_OUT) can ask DescribeEndpoint whether the version serves.
  const deploying = { deployingRunId: runId, deployingEndpointConfigName: name };
  const moved = await ports.store.transitionVersion(model, version, ['APPROVED'], 'DEPLOYING', { at, set: deploying, remove: ['taskToken'] });
  if (!moved) {
    const current = await ports.store.getVersion(model, version);
    // A retried step finds its own DEPLOYING version (a rollback's StartRollback moved it); anything else is not ours to deploy.
    if (current?.status !== 'DEPLOYING') {
      await ports.leases.release(input.endpointName, runId, at);
      if (!current) throw new NotFound(`${model} has no version ${version}`);
      throw new Conflict(`version ${version} of ${model} is ${current.status}, not APPROVED`);
    }
    if (current.deployingRunId === runId && current.deployingEndpointConfigName !== name) await ports.store.setVersionFields(model, version, { deployingEndpointConfigName: name });
  }
  await ports.store.updateRun(runId, { currentState: 'Deploy' });
  // A batch model's deployment runs a transform job of the same name (no endpoint config).
  return { endpointName: input.endpointName, modelName: name, endpointConfigName: name, transformJobName: name };
}

// ---------------------------------------------------------------------------------------------
// ReconcileEndpoint: SageMaker, not the registry, says whether the endpoint exists and what it serves

/** What DescribeEndpoint answered (DescribeLiveEndpoint); `{}` when SageMaker has no such endpoint. */
export const describedEndpoint = z.looseObject({
  EndpointStatus: z.optional(z.string()),
  EndpointConfigName: z.optional(z.string()),
  FailureReason: z.optional(z.string()),
});

export const reconcileEndpointInput = z.object({
  step: z.literal('reconcileEndpoint'),
  ...RUN_VERSION_FIELDS,
  resourcePrefix: nonEmpty,
  endpointName: nonEmpty,
  endpoint: describedEndpoint,
});

/**
 * Endpoint statuses in which SageMaker refuses UpdateEndpoint until they settle (SageMaker API
 * reference, DescribeEndpoint `EndpointStatus`: Creating, Updating, SystemUpdating "cannot be
 * updated", RollingBack, Deleting). Nothing was sent: a later run may deploy.
 */
const SETTLING = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/** The endpoint is being changed by something else (a deployment not holding the lease, SageMaker maintenance). */
export class EndpointBusy extends Conflict {
  constructor(message: string) {
    super(message);
    this.name = PIPELINE_ERRORS.endpointBusy;
  }
}

/** The endpoint exists but SageMaker cannot update it (Failed, OutOfService, UpdateRollbackFailed). */
export class EndpointUnusable extends Conflict {
  constructor(message: string) {
    super(message);
    this.name = PIPELINE_ERRORS.endpointUnusable;
  }
}

/** The version whose endpoint config this is, by the name StartDeployment gives configs. */
export function versionOfEndpointConfig(resourcePrefix: string, model: string, endpointConfigName: string): number | undefined {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escape(resourcePrefix)}-${escape(model)}-v(\\d+)-[0-9a-f]{6}$`).exec(endpointConfigName);
  return match ? Number(match[1]) : undefined;
}

/**
 * Decides create or update from DescribeEndpoint, and brings the registry in line with what the
 * endpoint serves: a version the endpoint serves but the registry does not have LIVE (its run
 * failed after CreateEndpoint/UpdateEndpoint, or RecordDeployment never ran) is recorded LIVE with
 * a note, and the version the registry had LIVE is RETIRED. An endpoint that exists is never
 * created again (SageMaker refuses CreateEndpoint for an existing name).
 */
export async function reconcileEndpoint(input: z.infer<typeof reconcileEndpointInput>, ports: StepPorts) {
  const { model, endpointName } = input;
  const status = input.endpoint.EndpointStatus;
  if (status === undefined) return { endpointExists: false, status: null, endpointConfigName: null, liveVersion: null, reconciled: false };
  if (SETTLING.has(status)) {
    throw new EndpointBusy(`endpoint ${endpointName} is ${status}: SageMaker refuses UpdateEndpoint until it is InService; nothing was sent`);
  }
  if (status !== 'InService') {
    const reason = input.endpoint.FailureReason ? ` (${input.endpoint.FailureReason})` : '';
    throw new EndpointUnusable(
      `endpoint ${endpointName} is ${status}${reason} and cannot be updated; it serves no traffic: delete it ` +
        `(aws sagemaker delete-endpoint --endpoint-name ${endpointName}) and deploy again`,
    );
  }
  const config = input.endpoint.EndpointConfigName ?? '';
  const served = versionOfEndpointConfig(input.resourcePrefix, model, config);
  const record = served === undefined ? undefined : await ports.store.getVersion(model, served);
  if (served === undefined || !record) {
    logger.warn('endpoint serves a config the registry does not know', { model, endpointName, endpointConfigName: config });
    return { endpointExists: true, status, endpointConfigName: config, liveVersion: null, reconciled: false };
  }
  if (record.status === 'LIVE' || served === input.version) {
    return { endpointExists: true, status, endpointConfigName: config, liveVersion: served, reconciled: false };
  }
  const previous = await ports.store.findLiveVersion(model);
  const at = ports.now().toISOString();
  const note = `recorded LIVE by run ${input.runId}: DescribeEndpoint says ${endpointName} serves ${config} (the registry had it ${record.status})`;
  await ports.store.recordDeployment({
    model,
    version: served,
    previousVersion: previous?.version,
    runId: input.runId,
    at,
    endpointName,
    endpointConfigName: config,
    modelName: config,
    baselineUri: s3Uri(ports.artifactsBucket, artifactPrefixes.baselines(model, String(served))),
    trainingDataUri: s3Uri(ports.artifactsBucket, artifactPrefixes.trainingInput(model, record.runId)),
    from: ['DEPLOYING', 'DEPLOY_FAILED', 'APPROVED', 'RETIRED'],
    note,
    closesRun: false,
  });
  logger.warn('reconciled the registry with the endpoint', { model, version: served, note });
  return { endpointExists: true, status, endpointConfigName: config, liveVersion: served, reconciled: true, note };
}

// ---------------------------------------------------------------------------------------------
// RecordDeployment

export const recordDeploymentInput = z.object({
  step: z.literal('recordDeployment'),
  ...RUN_VERSION_FIELDS,
  endpointName: nonEmpty,
  endpointConfigName: nonEmpty,
  modelName: nonEmpty,
  trainingDataUri: z.string().check(z.startsWith('s3://')),
  executionArn: nonEmpty,
});

/**
 * The endpoint serves the version (VerifyLiveConfig): it goes LIVE, the previous one RETIRED,
 * the run SUCCEEDED, in one transaction, and the endpoint's lease is given back. Short and
 * idempotent: a retry finds the version LIVE. The drift baseline is built after, by its own
 * state (BuildDriftBaseline), so nothing about the data can make a serving version fail.
 */
export async function recordDeployment(input: z.infer<typeof recordDeploymentInput>, ports: StepPorts) {
  const { model, version } = input;
  const current = await ports.store.getVersion(model, version);
  const baselineUri = s3Uri(ports.artifactsBucket, artifactPrefixes.baselines(model, String(version)));
  if (current?.status === 'LIVE') {
    await releaseLease(ports, input.endpointName, input.runId, ports.now().toISOString());
    return { baselineUri, deployedAt: current.deployedAt };
  }
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
    set: { baselineStatus: 'PENDING' },
  });
  await releaseLease(ports, input.endpointName, input.runId, at);
  return { baselineUri, deployedAt: at };
}

// ---------------------------------------------------------------------------------------------
// BuildDriftBaseline: after the version is LIVE, retried on its own

export const buildBaselineInput = z.object({
  step: z.literal('buildBaseline'),
  ...VERSION_FIELDS,
  ...DATASET_FIELDS,
  baseline: baselineSettingsSchema,
});

export const baselineFailedInput = z.object({
  step: z.literal('baselineFailed'),
  ...VERSION_FIELDS,
  error: z.object({ Error: z.string(), Cause: z.unknown() }),
});

/**
 * The drift baseline of the exact registered objects the version was trained on
 * (`baselines/<model>/<version>/baseline.json`), then `baselineStatus: READY`. A baseline that
 * cannot be built from the data (dataset gone from the config, an object version deleted,
 * unreadable rows) is recorded FAILED on the version, which stays LIVE (the analyzer finds no
 * baseline and says so). Transient errors fail the step, which the state retries.
 */
export async function buildBaseline(input: z.infer<typeof buildBaselineInput>, ports: StepPorts) {
  try {
    const dataset = await getDatasetVersion(ports.datasets, input.datasetName, input.datasetVersion);
    await ports.baselines.write({ model: input.model, version: input.version, objects: dataset.objects, options: input.baseline });
  } catch (error) {
    const permanent = error instanceof CaretakerError || error instanceof DataFileError || (error as { name?: string }).name === 'NoSuchVersion';
    if (!permanent) throw error;
    const message = `${(error as Error).name}: ${(error as Error).message}`;
    logger.warn('no drift baseline for the deployed version', { model: input.model, version: input.version, error: message });
    await ports.store.setVersionFields(input.model, input.version, { baselineStatus: 'FAILED', baselineError: message, baselineAt: ports.now().toISOString() });
    return { baselineStatus: 'FAILED', baselineError: message };
  }
  await ports.store.setVersionFields(input.model, input.version, { baselineStatus: 'READY', baselineAt: ports.now().toISOString() });
  return { baselineStatus: 'READY' };
}

/** BuildDriftBaseline gave up (its retries ran out): the version stays LIVE, its baseline FAILED. */
export async function baselineFailed(input: z.infer<typeof baselineFailedInput>, ports: StepPorts) {
  const message = `${input.error.Error}: ${typeof input.error.Cause === 'string' ? input.error.Cause : JSON.stringify(input.error.Cause)}`;
  await ports.store.setVersionFields(input.model, input.version, { baselineStatus: 'FAILED', baselineError: message.slice(0, 2048), baselineAt: ports.now().toISOString() });
  return { baselineStatus: 'FAILED' };
}

/** Gives the endpoint back; a failure to do so only delays the next deployment until the lease expires. */
export async function releaseLease(ports: StepPorts, endpointName: string, runId: string, at: string): Promise<void> {
  try {
    await ports.leases.release(endpointName, runId, at);
  } catch (error) {
    logger.warn('deployment lease not released; it expires on its own', { endpointName, runId, error: error as Error });
  }
}
