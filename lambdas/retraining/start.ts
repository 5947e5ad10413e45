/**
 * The retraining starter's domain: one request in, at most one pipeline execution out.
 *
 * Exactly-once rests on three guards, each cheap:
 * 1. the request is *claimed* with a conditional write on `keys.retrainingRequest(runId)`:
 *    of any number of concurrent deliveries, one proceeds and the others are recorded as
 *    duplicates. A claim expires (`claimSeconds`) so a crashed attempt's redelivery can finish.
 * 2. the per-model *lease* (`keys.lease(model)`) is taken with an optimistic-concurrency write:
 *    one run in flight per model, whatever the runIds.
 * 3. the execution name *is* the runId: should two attempts ever overlap (an expired claim taken
 *    over while the first is still alive), Step Functions starts the name only once.
 */
import type { PipelineInput, RetrainingRequest, RunRecord } from '../shared/contracts';
import { acquired, decide, withoutRun, type LeaseState, type RetrainingPolicy, type SuppressionReason } from './policy';

export type Outcome =
  | {
      readonly status: 'STARTED';
      readonly request: RetrainingRequest;
      readonly at: string;
      readonly datasetVersion: string;
      readonly executionArn: string;
      readonly takesExpiredLeaseFrom?: string;
    }
  | {
      readonly status: 'SUPPRESSED';
      readonly request: RetrainingRequest;
      readonly at: string;
      readonly reason: Exclude<SuppressionReason, 'duplicate'>;
      readonly detail: string;
    };

export type ClaimResult =
  /** `retry`: an earlier attempt claimed this request and did not finish (its claim expired). */
  | { readonly claimed: true; readonly token: string; readonly retry: boolean }
  | { readonly claimed: false };

/** Persistence of requests, leases, runs and outcomes (DynamoDB in `repository.ts`). */
export interface RetrainingStore {
  /** Claims `request.runId` unless it was claimed before (and that claim has not expired). */
  claim(request: RetrainingRequest, now: Date, claimSeconds: number): Promise<ClaimResult>;
  /** Counts one more delivery of an already-claimed request. */
  recordDuplicate(request: RetrainingRequest, now: Date): Promise<void>;
  /** Gives a claim up so a retry need not wait for it to expire. */
  releaseClaim(runId: string, token: string): Promise<void>;
  /** The model's lease state; a model never started has revision 0. */
  readLease(model: string): Promise<LeaseState>;
  /** Writes `next` if the stored revision is still `expectedRevision`; false if someone else wrote first. */
  writeLease(next: LeaseState, expectedRevision: number): Promise<boolean>;
  /** The RUN item of `runId`, if an attempt created it. */
  findRun(runId: string): Promise<RunRecord | undefined>;
  /** Creates the RUN item (no-op if a previous attempt of this run created it). */
  putRun(run: RunRecord): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  /** Records the outcome atomically: request status, trigger history, audit event, run's execution. False if the claim was lost. */
  finish(outcome: Outcome, token: string): Promise<boolean>;
}

/** Dataset versions, as the dataset store records them. */
export interface DatasetVersions {
  /** The newest version of `dataset` whose validation PASSED, if any. */
  newestPassed(dataset: string): Promise<string | undefined>;
}

export interface Pipeline {
  /** Starts the execution named `input.runId`; an existing execution of that name is not an error. */
  start(input: PipelineInput): Promise<{ readonly executionArn: string; readonly alreadyExisted: boolean }>;
}

export interface RetrainingMetrics {
  started(model: string): void;
  suppressed(model: string, reason: SuppressionReason): void;
}

export interface StarterPorts {
  readonly store: RetrainingStore;
  readonly datasets: DatasetVersions;
  readonly pipeline: Pipeline;
  readonly metrics: RetrainingMetrics;
  readonly now: () => Date;
  /** How long a claim protects an in-flight attempt; longer than the function timeout. */
  readonly claimSeconds: number;
}

export type StartResult =
  | { readonly status: 'STARTED'; readonly executionArn: string }
  | { readonly status: 'SUPPRESSED'; readonly reason: SuppressionReason; readonly detail: string };

/** Lease writes lost to a concurrent writer are retried this many times before giving up (and letting SQS retry). */
const LEASE_ATTEMPTS = 5;

export async function startRetraining(request: RetrainingRequest, policy: RetrainingPolicy, ports: StarterPorts): Promise<StartResult> {
  const { store, metrics } = ports;
  const claim = await store.claim(request, ports.now(), ports.claimSeconds);
  if (!claim.claimed) {
    await store.recordDuplicate(request, ports.now());
    metrics.suppressed(request.model, 'duplicate');
    return { status: 'SUPPRESSED', reason: 'duplicate', detail: `request ${request.runId} was already received` };
  }

  try {
    // An earlier attempt that got as far as creating the run decided already: finish its work
    // (the execution name makes a repeated start a no-op) instead of deciding again.
    const earlier = claim.retry ? await store.findRun(request.runId) : undefined;
    if (earlier !== undefined) return await finishEarlierRun(request, earlier, claim.token, ports);

    for (let attempt = 1; attempt <= LEASE_ATTEMPTS; attempt += 1) {
      const now = ports.now();
      const lease = await store.readLease(request.model);
      const decision = decide(lease, request.runId, request.trigger.kind, policy, now);

      if (decision.action === 'suppress') {
        return await suppress(request, decision.reason, decision.detail, now, claim.token, ports);
      }

      const datasetVersion = request.datasetVersion ?? (await ports.datasets.newestPassed(policy.dataset));
      if (datasetVersion === undefined) {
        return await suppress(request, 'no-dataset', `dataset ${policy.dataset} has no version that passed validation`, now, claim.token, ports);
      }

      let held = lease;
      if (decision.action === 'start') {
        held = acquired(lease, request.runId, policy, now);
        if (!(await store.writeLease(held, lease.revision))) continue; // someone else wrote first: decide again
      }

      const executionArn = await launch(request, datasetVersion, lease, held, now, ports);
      const outcome: Outcome = {
        status: 'STARTED',
        request,
        at: now.toISOString(),
        datasetVersion,
        executionArn,
        ...(decision.action === 'start' && decision.takesExpiredLeaseFrom !== undefined
          ? { takesExpiredLeaseFrom: decision.takesExpiredLeaseFrom }
          : {}),
      };
      await store.finish(outcome, claim.token);
      metrics.started(request.model);
      return { status: 'STARTED', executionArn };
    }
    throw new Error(`lease of ${request.model} kept changing under ${LEASE_ATTEMPTS} attempts`);
  } catch (error) {
    await store.releaseClaim(request.runId, claim.token).catch(() => undefined);
    throw error;
  }
}

async function finishEarlierRun(request: RetrainingRequest, run: RunRecord, token: string, ports: StarterPorts): Promise<StartResult> {
  const executionArn =
    run.executionArn ??
    (
      await ports.pipeline.start({
        runId: run.runId,
        model: run.model,
        datasetVersion: run.datasetVersion,
        requestedBy: run.requestedBy,
        trigger: run.trigger,
      })
    ).executionArn;
  await ports.store.finish(
    { status: 'STARTED', request, at: ports.now().toISOString(), datasetVersion: run.datasetVersion, executionArn },
    token,
  );
  ports.metrics.started(request.model);
  return { status: 'STARTED', executionArn };
}

async function suppress(
  request: RetrainingRequest,
  reason: Exclude<SuppressionReason, 'duplicate'>,
  detail: string,
  now: Date,
  token: string,
  ports: StarterPorts,
): Promise<StartResult> {
  await ports.store.finish({ status: 'SUPPRESSED', request, at: now.toISOString(), reason, detail }, token);
  ports.metrics.suppressed(request.model, reason);
  return { status: 'SUPPRESSED', reason, detail };
}

/** Creates the run and starts its execution; on failure gives the lease back and removes the run. */
async function launch(
  request: RetrainingRequest,
  datasetVersion: string,
  before: LeaseState,
  held: LeaseState,
  now: Date,
  ports: StarterPorts,
): Promise<string> {
  const input: PipelineInput = {
    runId: request.runId,
    model: request.model,
    datasetVersion,
    requestedBy: request.requestedBy,
    trigger: request.trigger,
  };
  // The RUN item exists before the execution does, so the pipeline's first update finds it.
  await ports.store.putRun({
    runId: request.runId,
    model: request.model,
    status: 'RUNNING',
    requestedBy: request.requestedBy,
    trigger: request.trigger,
    datasetVersion,
    startedAt: held.acquiredAt ?? now.toISOString(),
  });
  try {
    const { executionArn } = await ports.pipeline.start(input);
    return executionArn;
  } catch (error) {
    // Give the lease back so the model is not blocked until the lease expires: restore what
    // this attempt replaced, or (when resuming an earlier attempt's lease) just drop this run.
    const restored = held === before ? withoutRun(held, request.runId) : before;
    await ports.store.writeLease({ ...restored, revision: held.revision + 1 }, held.revision).catch(() => undefined);
    await ports.store.deleteRun(request.runId).catch(() => undefined);
    throw error;
  }
}
