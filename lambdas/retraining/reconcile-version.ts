/**
 * An execution that Step Functions stopped (ABORTED by StopExecution, TIMED_OUT by the state
 * machine's TimeoutSeconds) never reaches RecordDeployment or FinishRun: the version its rollout
 * or rollback moved to DEPLOYING would stay there, and a rollback target could never be rolled
 * back to again. The releaser closes it as FinishRun would, with SageMaker as the source of truth
 * (RELIABILITY rows 23–25): DescribeEndpoint says whether the endpoint serves the config the run
 * deployed (`deployingEndpointConfigName`, named by StartDeployment). If it does, the version is
 * LIVE with a note; if not, a rollback target gets back the status it had (APPROVED/RETIRED) and a
 * training rollout's version is DEPLOY_FAILED, each with its audit event. Only a version whose
 * `deployingRunId` is the ended run is touched, and every move is conditional on DEPLOYING.
 *
 * An update still in progress when the execution stopped goes on in SageMaker; if it later serves
 * the version, the next deployment's ReconcileEndpoint records it LIVE (it reconciles "a version
 * the endpoint serves that the registry does not have LIVE").
 */
import { artifactPrefixes } from '../shared/layout';
import type { ModelVersionRecord, RunRecord, VersionStatus } from '../shared/contracts';
import type { PipelineStore } from '../pipeline/store';

/** What DescribeEndpoint answered; `undefined` when SageMaker has no endpoint of that name. */
export interface EndpointDescription {
  readonly EndpointStatus?: string;
  readonly EndpointConfigName?: string;
}

export interface VersionReconcilePorts {
  readonly store: Pick<PipelineStore, 'findVersionsByStatus' | 'findLiveVersion' | 'recordDeployment' | 'transitionVersionWithAudit'>;
  readonly describeEndpoint: (endpointName: string) => Promise<EndpointDescription | undefined>;
}

export type VersionReconciliation =
  | { readonly outcome: 'none' }
  | { readonly outcome: 'LIVE' | VersionStatus; readonly version: number; readonly note: string };

/** `s3://bucket/key…` → bucket: the version's artifacts bucket, where its baseline and staged input live too (lambdas/shared/layout.ts). */
function bucketOf(uri: string): string | undefined {
  return /^s3:\/\/([^/]+)\//.exec(uri)?.[1];
}

export async function reconcileDeployingVersion(
  ended: { readonly model: string; readonly runId: string; readonly status: string; readonly endedAt: string; readonly endpointName: string },
  ports: VersionReconcilePorts,
): Promise<VersionReconciliation> {
  const { model, runId, endedAt: at } = ended;
  const deploying = (await ports.store.findVersionsByStatus(model, 'DEPLOYING')).find((v) => v.deployingRunId === runId);
  if (!deploying) return { outcome: 'none' };
  const version = deploying.version;
  const endpoint = await ports.describeEndpoint(ended.endpointName);
  const config = deploying.deployingEndpointConfigName;
  const failure: NonNullable<RunRecord['failure']> = { state: 'Execution', error: `States.${ended.status}`, cause: `execution ${ended.status} during the deployment of version ${version}` };

  if (config !== undefined && endpoint?.EndpointStatus === 'InService' && endpoint.EndpointConfigName === config) {
    const note = `recorded LIVE after the execution ${ended.status}: DescribeEndpoint says ${ended.endpointName} serves ${config}`;
    const previous = await ports.store.findLiveVersion(model);
    const bucket = bucketOf(deploying.modelArtifactUri);
    const trained = (deploying as ModelVersionRecord & { trainingDataUri?: string }).trainingDataUri;
    await ports.store.recordDeployment({
      model,
      version,
      previousVersion: previous?.version,
      runId,
      at,
      endpointName: ended.endpointName,
      endpointConfigName: config,
      modelName: config,
      baselineUri: `s3://${bucket}/${artifactPrefixes.baselines(model, String(version))}`,
      trainingDataUri: trained ?? `s3://${bucket}/${artifactPrefixes.trainingInput(model, deploying.runId)}`,
      note,
      // The run is closed by the releaser after this (SUCCEEDED, the stop kept as its failure).
      closesRun: false,
    });
    return { outcome: 'LIVE', version, note };
  }

  const served = endpoint === undefined ? `${ended.endpointName} does not exist` : `${ended.endpointName} is ${endpoint.EndpointStatus ?? 'unknown'} serving ${endpoint.EndpointConfigName ?? 'nothing'}`;
  const before = deploying.statusBeforeDeploy;
  if (before !== undefined) {
    const note = `rollback stopped (execution ${ended.status}); DescribeEndpoint says ${served}: back to ${before}`;
    // The move and its audit event commit together (RELIABILITY row 21).
    await ports.store.transitionVersionWithAudit(
      model,
      version,
      ['DEPLOYING'],
      before,
      { at, remove: ['deployingRunId', 'deployingEndpointConfigName', 'statusBeforeDeploy'], set: { lastFailedDeployment: { runId, at, ...failure } } },
      { eventId: `${runId}#DEPLOY_FAILED`, model, at, type: 'DEPLOY_FAILED', actor: 'caretaker:pipeline', version, runId, reason: note, details: { restoredTo: before } },
    );
    return { outcome: before, version, note };
  }
  const note = `deployment stopped (execution ${ended.status}); DescribeEndpoint says ${served}`;
  await ports.store.transitionVersionWithAudit(
    model,
    version,
    ['DEPLOYING'],
    'DEPLOY_FAILED',
    { at, set: { endedBy: ended.status, lastFailedDeployment: { runId, at, ...failure } } },
    { eventId: `${runId}#DEPLOY_FAILED`, model, at, type: 'DEPLOY_FAILED', actor: 'caretaker:pipeline', version, runId, reason: note },
  );
  return { outcome: 'DEPLOY_FAILED', version, note };
}
