/**
 * Deploying an approved version (or a rollback's target): StartDeployment moves it to DEPLOYING
 * and names the SageMaker resources, RecordDeployment writes its drift baseline and makes it LIVE.
 */
import * as z from 'zod';
import { getDatasetVersion } from '../../datasets';
import { DataFileError } from '../../drift/table';
import { CaretakerError, Conflict, NotFound } from '../../shared/errors';
import { logger } from '../../shared/powertools';
import { artifactPrefixes } from '../../shared/layout';
import { baselineSettingsSchema } from '../settings';
import { s3Uri, sagemakerName, shortHash, type StepPorts } from './ports';

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
// RecordDeployment

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
