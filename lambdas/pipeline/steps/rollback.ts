/** Rollback: the deploy path for an earlier version (`POST /models/{model}/rollback`). */
import * as z from '../../shared/zod';
import { TRIGGER_KINDS, type VersionStatus } from '../../shared/contracts';
import { Conflict, NotFound } from '../../shared/errors';
import { artifactPrefixes } from '../../shared/layout';
import { openRun, RUN_VERSION_FIELDS, s3Uri, type StepPorts } from './ports';

const nonEmpty = z.string().check(z.minLength(1));
const positiveInt = z.int().check(z.positive());

// ---------------------------------------------------------------------------------------------
// Rollback: the deploy path for an earlier version (`POST /models/{model}/rollback`)

/** What the registry API starts the pipeline with for a rollback (lambdas/api/aws-ports.ts). */
export const rollbackInputSchema = z.object({
  kind: z.literal('rollback'),
  deploymentId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/)),
  model: nonEmpty,
  version: positiveInt,
  requestedBy: nonEmpty,
  reason: z.string(),
  requestedAt: z.string(),
});

export const startRollbackInput = z.object({
  step: z.literal('startRollback'),
  ...RUN_VERSION_FIELDS,
  requestedBy: nonEmpty,
  trigger: z.object({ kind: z.enum(TRIGGER_KINDS), id: z.string(), reason: z.string() }),
  executionArn: nonEmpty,
  endpointName: nonEmpty,
  leaseSeconds: positiveInt,
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
  // One deployment in flight per endpoint: a rollback during a rollout (or another rollback) is
  // refused here, naming the holder, before its target moves.
  await ports.leases.acquire({ endpointName: input.endpointName, holder: runId, model, version, kind: 'rollback', acquiredAt: at, leaseSeconds: input.leaseSeconds });
  // The status it had is kept, so a failed rollback gives it back (the version stays rollback-able).
  const from = ROLLBACK_FROM.includes(target.status) ? [target.status] : ROLLBACK_FROM;
  const moved = await ports.store.transitionVersion(model, version, from, 'DEPLOYING', { at, set: { deployingRunId: runId, statusBeforeDeploy: target.status } });
  if (!moved) {
    const current = await ports.store.getVersion(model, version);
    const ours = current?.status === 'DEPLOYING' && (current as { deployingRunId?: string }).deployingRunId === runId;
    if (!ours) {
      await ports.leases.release(input.endpointName, runId, at);
      throw new Conflict(`version ${version} of ${model} is ${current?.status ?? 'gone'}; only an APPROVED or RETIRED version can be rolled back to`);
    }
  }
  await openRun(ports, input, { datasetVersion: target.datasetVersion, state: 'StartRollback', startedAt: at });
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
