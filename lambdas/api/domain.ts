/**
 * The registry API's domain: plain functions over the ports. They know nothing of HTTP,
 * events or environment variables; errors are the shared hierarchy.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { DatasetSummary, DatasetVersionListItem, DatasetVersionRecord, RegisterDatasetVersionInput, RegisterResult } from '../datasets';
import {
  type AuditEvent,
  type DecisionRecord,
  type DeliveryState,
  evaluationReportSchema,
  keys,
  type ModelVersionRecord,
  type RetrainingRequest,
  type RetrainSendState,
  runIdFor,
  type RunRecord,
  type RunRequestView,
  type VersionStatus,
} from '../shared/contracts';
import { Conflict, Forbidden, Invalid, NotFound, Unavailable } from '../shared/errors';
import { logger } from '../shared/powertools';
import { driftReportSchema } from '../drift/report-schema';
import { DeploymentInFlight, describeHolder } from '../pipeline/deployment-lease';
import type { DecisionResult, RunTimeline } from './schemas';
import { buildTimeline } from './timeline';
import { auditCaller, matchesApprover, parsePrincipal, type Principal, sameRole, samePerson } from './principal';
import { type DatasetsPort, type DecisionWrite, type DeploymentRecord, type ModelSummary, type Page, type PageRequest, type Ports, type RecordedRetrainRequest, type RollbackRequest, TaskTokenGone } from './ports';

export interface ApiContext {
  readonly ports: Ports;
  /** The configured models, as the construct passed them to the function. */
  readonly models: readonly ModelSummary[];
}

function modelOf(ctx: ApiContext, name: string): ModelSummary {
  const model = ctx.models.find((m) => m.name === name);
  if (!model) throw new NotFound(`no model named ${name}`, [{ field: 'path.model', message: 'unknown model' }]);
  return model;
}

// ---------------------------------------------------------------------------------------------
// Reads

export interface ModelListItem extends ModelSummary {
  readonly liveVersion?: number;
  readonly latestVersion?: { readonly version: number; readonly status: VersionStatus; readonly createdAt: string };
}

/** Two Query round trips per configured model, whatever the number of versions. */
export async function listModels(ctx: ApiContext): Promise<{ models: ModelListItem[] }> {
  const models = await Promise.all(
    ctx.models.map(async (model) => {
      const [latest, live] = await Promise.all([ctx.ports.registry.latestVersion(model.name), ctx.ports.registry.liveVersion(model.name)]);
      return {
        ...publicSummary(model),
        liveVersion: live?.version,
        latestVersion: latest ? { version: latest.version, status: latest.status, createdAt: latest.createdAt } : undefined,
      };
    }),
  );
  return { models };
}

function publicSummary(model: ModelSummary): ModelSummary {
  return { ...model };
}

export async function getModel(
  ctx: ApiContext,
  name: string,
): Promise<{ model: ModelSummary; live?: ModelVersionRecord; deployments: readonly DeploymentRecord[] }> {
  const model = modelOf(ctx, name);
  const [live, deployments] = await Promise.all([ctx.ports.registry.liveVersion(name), ctx.ports.registry.deployments(name, 20)]);
  return { model: publicSummary(model), live, deployments };
}

export async function listVersions(
  ctx: ApiContext,
  name: string,
  page: PageRequest,
  status?: VersionStatus,
): Promise<Page<ModelVersionRecord>> {
  modelOf(ctx, name);
  return ctx.ports.registry.listVersions(name, page, status);
}

export async function getVersion(ctx: ApiContext, name: string, version: number): Promise<ModelVersionRecord & { run?: RunRecord }> {
  modelOf(ctx, name);
  const record = await ctx.ports.registry.getVersion(name, version);
  if (!record) throw new NotFound(`${name} has no version ${version}`, [{ field: 'path.version', message: 'unknown version' }]);
  const run = await ctx.ports.registry.getRun(record.runId);
  return { ...record, run };
}

/**
 * A run, or — for a retraining request that has not started one — the request: `QUEUED` until
 * the starter decides, `SUPPRESSED` with the policy's reason when it will never run.
 */
export async function getRun(ctx: ApiContext, runId: string): Promise<RunRecord | RunRequestView> {
  const run = (await ctx.ports.registry.getRun(runId)) ?? (await ctx.ports.registry.getRunRequest(runId));
  if (!run) throw new NotFound(`no run ${runId}`, [{ field: 'path.runId', message: 'unknown run or retraining request' }]);
  return run;
}

/**
 * The run's states as a timeline from its execution's history (GetExecutionHistory without
 * execution data: no state input or output reaches the answer). A run id with no run, or a
 * request that has not started one, is NotFound.
 */
export async function getRunTimeline(ctx: ApiContext, runId: string): Promise<RunTimeline> {
  const run = await ctx.ports.registry.getRun(runId);
  if (!run) {
    const request = await ctx.ports.registry.getRunRequest(runId);
    if (request) throw new NotFound(`run ${runId} has no execution: the request is ${request.status}`, [{ field: 'path.runId', message: `retraining request ${request.status.toLowerCase()}, no execution` }]);
    throw new NotFound(`no run ${runId}`, [{ field: 'path.runId', message: 'unknown run or retraining request' }]);
  }
  const { executionArn } = run;
  if (executionArn === undefined) throw new NotFound(`run ${runId} has no execution recorded`, [{ field: 'path.runId', message: 'no execution' }]);
  const history = await ctx.ports.executions.read(executionArn);
  if (!history) throw new NotFound(`the execution of run ${runId} no longer exists (Step Functions keeps a finished execution's history 90 days)`, [{ field: 'path.runId', message: 'execution gone' }]);
  return buildTimeline({ ...run, executionArn }, history);
}

export async function listAudit(
  ctx: ApiContext,
  query: { model?: string; from?: string; to?: string },
  page: PageRequest,
): Promise<Page<AuditEvent>> {
  if (query.model !== undefined) modelOf(ctx, query.model);
  return ctx.ports.audit.list(query, page);
}

/** The widest window the drift view reads, and the number of points a series may have. */
export const MAX_METRICS_RANGE_DAYS = 15;
const MAX_POINTS = 1440;

/**
 * The model's drift over a window: DriftScore, model quality and per-feature PSI / JS / KS from
 * CloudWatch, with the drift alarm's state. The period is the smallest multiple of 60 s that
 * keeps every series within `MAX_POINTS` points.
 */
export async function modelMetrics(ctx: ApiContext, name: string, query: { from?: string; to?: string }) {
  const model = modelOf(ctx, name);
  const to = query.to !== undefined ? new Date(query.to) : ctx.ports.clock.now();
  const from = query.from !== undefined ? new Date(query.from) : new Date(to.getTime() - 7 * 86_400_000);
  const span = to.getTime() - from.getTime();
  if (span <= 0) throw new Invalid('query.from must be before query.to', [{ field: 'query.from', message: 'must be before query.to' }]);
  if (span > MAX_METRICS_RANGE_DAYS * 86_400_000) {
    throw new Invalid(`the window may span at most ${MAX_METRICS_RANGE_DAYS} days`, [{ field: 'query.from', message: `at most ${MAX_METRICS_RANGE_DAYS} days before query.to` }]);
  }
  const periodSeconds = Math.max(60, Math.ceil(span / 1000 / MAX_POINTS / 60) * 60);
  const [metrics, alarm] = await Promise.all([
    ctx.ports.metrics.driftMetrics(name, { from, to, periodSeconds }),
    model.driftAlarmName !== undefined ? ctx.ports.metrics.alarm(model.driftAlarmName) : Promise.resolve(undefined),
  ]);
  return { model: name, from: from.toISOString(), to: to.toISOString(), periodSeconds, ...metrics, alarm: alarm ?? null };
}

/** `GET /models/{model}/drift/reports`: the analyzer's report windows, newest first. */
export interface DriftReportList {
  /** Window ids (`driftReportKeys.windowId`: the window's end, `20261122T103000Z`). */
  readonly items: readonly string[];
  /** The last window of this page; the next page holds the older ones. */
  readonly nextToken?: string;
}

/** Windows with a drift report, newest first; the page token (checked by the route's query schema) is the last window id shown. */
export async function listDriftReports(ctx: ApiContext, name: string, page: PageRequest): Promise<DriftReportList> {
  modelOf(ctx, name);
  const { windows, more } = await ctx.ports.driftReports.listWindows(name, { limit: page.limit, before: page.nextToken });
  return { items: windows, nextToken: more ? windows.at(-1) : undefined };
}

/** One window's report.json, checked against its schema: one that is not is an internal fault (logged, never passed on). */
export async function getDriftReport(ctx: ApiContext, name: string, window: string) {
  modelOf(ctx, name);
  const found = await ctx.ports.driftReports.read(name, window);
  if (found === undefined) throw new NotFound(`${name} has no drift report for ${window}`, [{ field: 'path.window', message: 'no report' }]);
  return { model: name, window, report: driftReportSchema.parse(found) };
}

export interface EvaluationView {
  readonly model: string;
  readonly version: number;
  readonly objective: ModelSummary['objective'];
  /** The report the Evaluate step wrote: candidate and champion scored on the same holdout. */
  readonly report: { readonly candidate: { readonly metrics: Readonly<Record<string, number>> }; readonly champion?: { readonly metrics: Readonly<Record<string, number>> } | null; readonly holdout?: { readonly rows?: number } } | null;
  readonly comparison: ModelVersionRecord['comparison'];
  readonly gate: ModelSummary['gate'] | null;
  readonly evaluationReportUri: string;
}

/** A version's evaluation next to the gate it passed; `report: null` when the report object is gone. */
export async function getEvaluation(ctx: ApiContext, name: string, version: number): Promise<EvaluationView> {
  const model = modelOf(ctx, name);
  const record = await ctx.ports.registry.getVersion(name, version);
  if (!record) throw new NotFound(`${name} has no version ${version}`, [{ field: 'path.version', message: 'unknown version' }]);
  const parsed = evaluationReportSchema.safeParse(await ctx.ports.evaluations.read(record.evaluationReportUri));
  return {
    model: name,
    version,
    objective: model.objective,
    report: parsed.success ? parsed.data : null,
    comparison: record.comparison,
    gate: model.gate ?? null,
    evaluationReportUri: record.evaluationReportUri,
  };
}

// ---------------------------------------------------------------------------------------------
// Decisions

export interface DecisionInput {
  readonly model: string;
  readonly version: number;
  readonly decision: DecisionRecord['decision'];
  readonly reason: string;
  readonly caller: Principal;
}

/**
 * Separation of duties, on canonical principals: the requester may not decide (same person,
 * whatever session, permission set or console sign-in), and with `requireDistinctRole` nobody
 * acting through the requester's role may either. Automatic requesters (`caretaker:<trigger>`)
 * are nobody's person. Returns why the caller may not decide, or undefined.
 */
function separationOfDutiesRefusal(model: ModelSummary, requestedBy: string, caller: Principal): string | undefined {
  const requester = parsePrincipal(requestedBy);
  if (requestedBy === caller.id || (requester && samePerson(requester, caller))) {
    return 'the principal who requested the run may not decide on its version';
  }
  if (model.requireDistinctRole && requester && sameRole(requester, caller)) {
    return `approval.requireDistinctRole: the approver may not act through the requester's role (${requester.roleArn ?? requester.id})`;
  }
  return undefined;
}

/** `approval.approvers`: why the caller is not one, or undefined. */
function approverRefusal(model: ModelSummary, caller: Principal): string | undefined {
  if (model.approvers && !model.approvers.some((entry) => matchesApprover(entry, caller))) {
    return `${caller.id} is not an approver of ${model.name}`;
  }
  return undefined;
}

/** What the API knows about the caller (the console shows it, and the person the audit will record). */
export function whoAmI(caller: Principal): { id: string; kind: Principal['kind']; person: string; roleArn?: string; sessionName?: string } {
  return { id: caller.id, kind: caller.kind, person: caller.person, roleArn: caller.roleArn, sessionName: caller.sessionName };
}

export interface DecisionCheck {
  readonly model: string;
  readonly version: number;
  readonly status: VersionStatus;
  readonly caller: string;
  /** Whether approve/reject would pass the API's rules now (IAM decides before the API is reached). */
  readonly allowed: boolean;
  /** Why not, in the words the decision would be refused with. */
  readonly reason?: string;
  /** When a pending version's approval wait times out (requested time + the model's approval timeout). */
  readonly expiresAt?: string;
  /** Set while the pipeline has not yet stored its approval request: ask again after this long. */
  readonly retryAfterSeconds?: number;
}

/**
 * A version is PENDING_APPROVAL from RegisterVersion on, but decidable only once the pipeline's
 * WaitForApproval task has stored its token (a second or so later): until then a decision is
 * refused with this reason, and the check says when to ask again.
 */
const notAskedYet = (model: string, version: number): string =>
  `version ${version} of ${model} is not waiting for a decision yet (the pipeline has not asked); nothing was changed, retry shortly`;

/**
 * The decision rules of `decide`, asked without deciding: the console disables its buttons with
 * this reason. The same functions refuse the decision itself, so the two cannot disagree.
 */
export async function checkDecision(ctx: ApiContext, input: { model: string; version: number; caller: Principal }): Promise<DecisionCheck> {
  const model = modelOf(ctx, input.model);
  const record = await ctx.ports.registry.readForDecision(input.model, input.version);
  if (!record) throw new NotFound(`${input.model} has no version ${input.version}`, [{ field: 'path.version', message: 'unknown version' }]);
  const pending = record.status === 'PENDING_APPROVAL';
  const ruled =
    approverRefusal(model, input.caller) ??
    (pending ? separationOfDutiesRefusal(model, record.requestedBy, input.caller) : `version ${input.version} of ${input.model} is ${record.status}, not PENDING_APPROVAL`);
  const waiting = ruled === undefined && record.taskToken === undefined ? notAskedYet(input.model, input.version) : undefined;
  const reason = ruled ?? waiting;
  const expiresAt = pending ? new Date(Date.parse(record.createdAt) + model.approvalTimeoutSeconds * 1000).toISOString() : undefined;
  return {
    model: input.model,
    version: input.version,
    status: record.status,
    caller: input.caller.id,
    allowed: reason === undefined,
    ...(reason ? { reason } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(waiting ? { retryAfterSeconds: 1 } : {}),
  };
}

/** What a decision route answers (the route table's `responses.decision`, which the clients type themselves from). */
export type { DecisionResult } from './schemas';

/** What delivering a decision needs: the registry, Step Functions' callbacks and the clock. */
export type DeliveryPorts = Pick<Ports, 'registry' | 'callbacks' | 'clock'>;

/**
 * How long an owed delivery belongs to the request that recorded it: longer than the API
 * function may run (25 s), so the sweep and a replay never race the request's own first attempt.
 */
export const DELIVERY_GRACE_MS = 60_000;

const decisionWriteOf = (record: ModelVersionRecord): DecisionWrite | undefined =>
  record.decision ? { model: record.model, version: record.version, decision: record.decision, requestedBy: record.requestedBy } : undefined;

/**
 * Approve or reject a pending version, delivered exactly once (RELIABILITY rows 19, 20):
 * 1. the rules, on a consistent read of the version (its requester, its task token);
 * 2. ONE transaction records the decision, its audit event and the delivery owed — conditional
 *    on the version still pending, for that requester, with that token: exactly one decision wins;
 * 3. SendTaskSuccess/Failure, one HTTP attempt (the callbacks client does not retry, so a
 *    TaskTimedOut can only mean the task was closed before this decision reached it);
 * 4. the delivery is marked DELIVERED.
 * Nothing is ever undone: if step 3 fails or does not answer, the decision stays recorded and
 * OWED, and `finishOwedDeliveries` (a scheduled sweep) or the approver's retry delivers it. A
 * TaskTimedOut on this first attempt is a real expiry (nothing was delivered): the version
 * becomes EXPIRED (409). The same approver repeating the same decision gets the same answer.
 */
export async function decide(ctx: ApiContext, input: DecisionInput): Promise<DecisionResult> {
  const model = modelOf(ctx, input.model);
  const { registry, clock } = ctx.ports;
  const caller = input.caller;
  const notApprover = approverRefusal(model, caller);
  if (notApprover) throw new Forbidden(notApprover);
  const current = await registry.readForDecision(input.model, input.version);
  if (!current) throw new NotFound(`${input.model} has no version ${input.version}`, [{ field: 'path.version', message: 'unknown version' }]);
  if (current.status !== 'PENDING_APPROVAL') return replay(ctx, current, input);
  const separation = separationOfDutiesRefusal(model, current.requestedBy, caller);
  if (separation) throw new Forbidden(separation);
  const token = current.taskToken;
  if (token === undefined) throw new Conflict(notAskedYet(input.model, input.version));
  const decision: DecisionRecord = { decision: input.decision, by: caller.id, reason: input.reason, at: clock.now().toISOString() };
  const write: DecisionWrite = { model: input.model, version: input.version, decision, requestedBy: current.requestedBy };
  const outcome = await registry.recordDecision(write, token, {
    eventId: `${current.runId}#DECISION`,
    model: input.model,
    at: decision.at,
    type: input.decision,
    actor: caller.id,
    version: input.version,
    runId: current.runId,
    reason: input.reason,
    details: { caller: auditCaller(caller) },
  });
  if (outcome.kind === 'missing') {
    throw new NotFound(`${input.model} has no version ${input.version}`, [{ field: 'path.version', message: 'unknown version' }]);
  }
  if (outcome.kind === 'lost') {
    if (outcome.record.status === 'PENDING_APPROVAL') {
      // Still pending, so the token or requester changed under the rules: nothing was written.
      throw new Unavailable(`the approval task of version ${input.version} changed while deciding; nothing was changed, retry`);
    }
    return replay(ctx, outcome.record, input);
  }
  return deliver(ctx.ports, { ...current, status: decision.decision, decision, deliveryState: 'OWED' }, write, token, true);
}

/**
 * A decision route on a version that is no longer pending. The same approver repeating the same
 * decision gets the outcome of that decision (delivering it first if it is owed and the request
 * that recorded it is over); anybody else, or the other decision, gets 409.
 */
async function replay(ctx: ApiContext, record: ModelVersionRecord, input: DecisionInput): Promise<DecisionResult> {
  const write = decisionWriteOf(record);
  if (!write || write.decision.by !== input.caller.id || write.decision.decision !== input.decision) {
    throw new Conflict(`version ${input.version} of ${input.model} is ${record.status}, not PENDING_APPROVAL`);
  }
  const owedSince = Date.parse(write.decision.at);
  if (record.deliveryState === 'OWED' && ctx.ports.clock.now().getTime() - owedSince >= DELIVERY_GRACE_MS) {
    return finishDelivery(ctx.ports, record);
  }
  return resultOf(record, write.decision);
}

function resultOf(record: ModelVersionRecord, decision: DecisionRecord, message?: string): DecisionResult {
  return {
    model: record.model,
    version: record.version,
    status: record.status,
    decision,
    // Versions decided before delivery was tracked were delivered (the old path undid undelivered ones).
    delivery: record.deliveryState ?? 'DELIVERED',
    ...(message !== undefined ? { message } : {}),
  };
}

/** The version statuses only the pipeline sets after it resumed from an approval. */
const AFTER_APPROVAL: readonly VersionStatus[] = ['DEPLOYING', 'LIVE', 'DEPLOY_FAILED', 'RETIRED'];

/**
 * Finishes one owed delivery (the sweep, a replay): when the pipeline already acted on the
 * approval, it was delivered; when the pipeline moved the version elsewhere (EXPIRED) or holds no
 * token, the task is closed; otherwise the callback is sent again (not a first attempt).
 */
async function finishDelivery(ports: DeliveryPorts, record: ModelVersionRecord): Promise<DecisionResult> {
  const write = decisionWriteOf(record);
  if (!write) throw new Error(`version ${record.version} of ${record.model} has no decision to deliver`);
  const decision = write.decision;
  if (record.deliveryState !== 'OWED') return resultOf(record, decision);
  const now = ports.clock.now().toISOString();
  if (decision.decision === 'APPROVED' && AFTER_APPROVAL.includes(record.status)) {
    // Only SendTaskSuccess with this decision resumes the pipeline into deployment.
    await ports.registry.markDelivered(write, now);
    return resultOf({ ...record, deliveryState: 'DELIVERED' }, decision);
  }
  if (record.status !== decision.decision || record.taskToken === undefined) {
    const reason = `the pipeline moved version ${record.version} to ${record.status} before the ${decision.decision} decision was delivered`;
    await ports.registry.closeDelivery(write, closedEvent(record, write, now, reason));
    return resultOf({ ...record, deliveryState: 'CLOSED' }, decision, reason);
  }
  return deliver(ports, record, write, record.taskToken, false);
}

function closedEvent(record: ModelVersionRecord, write: DecisionWrite, at: string, reason: string): AuditEvent {
  return {
    eventId: `${record.runId}#DELIVERY_CLOSED`,
    model: record.model,
    at,
    type: 'DELIVERY_CLOSED',
    actor: 'caretaker:api',
    version: record.version,
    runId: record.runId,
    reason,
    details: { decision: write.decision.decision, decidedBy: write.decision.by, decidedAt: write.decision.at, statusLeft: record.status },
  };
}

/** Sends the decision's callback once and records what Step Functions answered. */
async function deliver(ports: DeliveryPorts, record: ModelVersionRecord, write: DecisionWrite, token: string, first: boolean): Promise<DecisionResult> {
  const { registry, callbacks, clock } = ports;
  const { decision } = write;
  try {
    if (decision.decision === 'APPROVED') {
      await callbacks.approve(token, { decision: 'APPROVED', by: decision.by, reason: decision.reason, at: decision.at });
    } else {
      await callbacks.reject(token, { by: decision.by, reason: decision.reason, at: decision.at });
    }
  } catch (error) {
    const at = clock.now().toISOString();
    if (!(error instanceof TaskTokenGone)) {
      // Unknown outcome (the call may have succeeded): never undo; the decision stays owed.
      logger.error('could not deliver the decision to Step Functions; it stays owed for the sweep', { error: error as Error, model: write.model, version: write.version });
      return resultOf(record, decision, 'the decision is recorded; delivering it to the pipeline failed and is retried within minutes');
    }
    if (first) {
      // Nothing of this decision reached the task, and the task is closed: the approval expired.
      const expired = await registry
        .expireUndelivered(write, {
          eventId: `${record.runId}#EXPIRED`,
          model: write.model,
          at,
          type: 'EXPIRED',
          actor: 'caretaker:api',
          version: write.version,
          runId: record.runId,
          reason: `the approval task was closed (${error.message}) before the ${decision.decision} decision by ${decision.by} reached it`,
        })
        .catch((expireError: unknown) => {
          logger.error('could not record the expiry; the sweep closes the delivery', { error: expireError as Error });
          return false;
        });
      throw new Conflict(`the approval of version ${write.version} timed out before the decision reached the pipeline; the version is ${expired ? 'EXPIRED' : 'expiring'}`);
    }
    // A repeat delivery: the task may have been closed by an earlier attempt of this very decision.
    const reason = `Step Functions answered ${error.message}: the approval task was already closed (by an earlier delivery of this decision, or the approval timeout); version ${write.version} stays ${record.status} as the pipeline left it`;
    await registry.closeDelivery(write, closedEvent(record, write, at, reason));
    return resultOf({ ...record, deliveryState: 'CLOSED' }, decision, reason);
  }
  const delivered = await registry.markDelivered(write, clock.now().toISOString()).catch((error: unknown) => {
    // Delivered but not marked: the sweep's repeat gets TaskTimedOut and closes it; nothing is undone.
    logger.error('the decision was delivered but could not be marked delivered', { error: error as Error });
    return false;
  });
  return resultOf({ ...record, deliveryState: delivered ? 'DELIVERED' : 'OWED' }, decision);
}

/**
 * The delivery sweep: every decision still owed after `DELIVERY_GRACE_MS` is finished (see
 * `finishDelivery`). Run on a schedule; returns what it did, per version.
 */
export async function finishOwedDeliveries(ports: DeliveryPorts, limit = 50): Promise<{ model: string; version: number; delivery: DeliveryState | 'FAILED' }[]> {
  const before = new Date(ports.clock.now().getTime() - DELIVERY_GRACE_MS).toISOString();
  const owed = await ports.registry.owedDeliveries(before, limit);
  const results: { model: string; version: number; delivery: DeliveryState | 'FAILED' }[] = [];
  for (const { model, version } of owed) {
    try {
      const record = await ports.registry.readForDecision(model, version);
      if (!record?.decision) continue;
      results.push({ model, version, delivery: (await finishDelivery(ports, record)).delivery });
    } catch (error) {
      logger.error('could not finish an owed delivery; the next sweep retries', { error: error as Error, model, version });
      results.push({ model, version, delivery: 'FAILED' });
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Retrain, rollback, ground truth

export interface RetrainInput {
  readonly model: string;
  readonly reason: string;
  readonly datasetVersion?: string;
  readonly caller: Principal;
  readonly idempotencyKey?: string;
}

/**
 * Requests a retraining run (RELIABILITY rows 12, 21): the request and its RUN_REQUESTED audit
 * event are recorded in ONE transaction FIRST, with the send to the retraining queue owed; then
 * the `RetrainingRequest` is sent and the send marked done. The run id derives from the
 * Idempotency-Key, so every send of one request carries the same MessageDeduplicationId and
 * runId, and the starter claims a runId once: however often it is sent, one run.
 * - A failed record leaves nothing done (503 "nothing was changed").
 * - A failed send leaves the request recorded and owed, and says so (503 naming the key): the
 *   sweep (`finishOwedRetrainSends`) sends it within minutes, and repeating the request with the
 *   same Idempotency-Key sends it now.
 * - A repeat of a request already sent sends nothing.
 */
export async function requestRetrain(ctx: ApiContext, input: RetrainInput): Promise<{ runId: string; replayed: boolean }> {
  const model = modelOf(ctx, input.model);
  const { registry, clock, datasets } = ctx.ports;
  ctx.ports.retraining.assertWired();
  const discriminator = input.idempotencyKey ?? ctx.ports.newId();
  const runId = runIdFor(input.model, 'api', discriminator);
  const earlier = await registry.getRetrainRequest(runId);
  if (earlier) {
    await sendOwed(ctx.ports, earlier, discriminator);
    return { runId, replayed: true };
  }
  // Named by the datasets part's canonical id (`v3` → `v000003`), and refused here when it may not train.
  const datasetVersion = input.datasetVersion === undefined ? undefined : await trainableVersion(datasets, model.datasetName, input.datasetVersion);
  const requestedAt = clock.now().toISOString();
  const request: RetrainingRequest = {
    runId,
    model: input.model,
    trigger: { kind: 'api', id: discriminator, reason: input.reason },
    requestedBy: input.caller.id,
    requestedAt,
    ...(datasetVersion !== undefined ? { datasetVersion } : {}),
  };
  const recorded = await registry.recordRetrainRequest(request, {
    eventId: runId,
    model: input.model,
    at: requestedAt,
    type: 'RUN_REQUESTED',
    actor: input.caller.id,
    runId,
    reason: input.reason,
    details: { caller: auditCaller(input.caller), ...(datasetVersion !== undefined ? { datasetVersion } : {}) },
  });
  if (!recorded) {
    // A concurrent repeat recorded it first: that record is the request.
    const winner = await registry.getRetrainRequest(runId);
    if (!winner) throw new Conflict(`retrain request ${runId} could not be recorded; nothing was changed, retry`);
    await sendOwed(ctx.ports, winner, discriminator);
    return { runId, replayed: true };
  }
  await sendOwed(ctx.ports, { request, sendState: 'OWED' }, discriminator);
  return { runId, replayed: false };
}

/** What sending a recorded retrain request needs: the registry, the queue and the clock. */
export type RetrainSendPorts = Pick<Ports, 'registry' | 'retraining' | 'clock'>;

/**
 * Sends a recorded request that is still owed to the queue, and marks it sent. A send that fails
 * is `Unavailable` saying the request is recorded and how it will reach the queue; a send whose
 * mark fails is logged (the sweep's resend is deduplicated by the runId).
 */
async function sendOwed(ports: RetrainSendPorts, recorded: RecordedRetrainRequest, idempotencyKey: string): Promise<void> {
  if (recorded.sendState !== 'OWED') return;
  const { request } = recorded;
  try {
    await ports.retraining.send(request);
  } catch (error) {
    logger.error('the retrain request is recorded but could not be sent to the retraining queue; it stays owed for the sweep', { error: error as Error, runId: request.runId });
    throw new Unavailable(
      `retrain request ${request.runId} is recorded (audited) but could not be sent to the retraining queue; it is sent within minutes, or repeat the request with Idempotency-Key: ${idempotencyKey} to send it now (one run either way)`,
    );
  }
  await ports.registry.markRetrainSent(request.runId, ports.clock.now().toISOString()).catch((error: unknown) => {
    logger.error('the retrain request was sent but could not be marked sent; the sweep sends it again (deduplicated by its runId)', { error: error as Error, runId: request.runId });
  });
}

/**
 * How long an owed send belongs to the request that recorded it before the sweep sends it: longer
 * than the API function may run, so the sweep rarely races the request's own send (and a race
 * is harmless: the same runId, deduplicated by the queue and claimed once by the starter).
 */
export const RETRAIN_SEND_GRACE_MS = 60_000;

/**
 * The retrain send sweep: every API retrain request recorded but still owed to the retraining
 * queue after `RETRAIN_SEND_GRACE_MS` is sent now and marked sent. Run on a schedule with the
 * decision sweep; returns what it did, per run id.
 */
export async function finishOwedRetrainSends(ports: RetrainSendPorts, limit = 50): Promise<{ runId: string; send: RetrainSendState | 'FAILED' }[]> {
  const before = new Date(ports.clock.now().getTime() - RETRAIN_SEND_GRACE_MS).toISOString();
  const owed = await ports.registry.owedRetrainSends(before, limit);
  const results: { runId: string; send: RetrainSendState | 'FAILED' }[] = [];
  for (const runId of owed) {
    try {
      const recorded = await ports.registry.getRetrainRequest(runId);
      if (!recorded) continue;
      if (recorded.sendState === 'OWED') {
        await ports.retraining.send(recorded.request);
        await ports.registry.markRetrainSent(runId, ports.clock.now().toISOString());
      }
      results.push({ runId, send: 'SENT' });
    } catch (error) {
      logger.error('could not send an owed retrain request; the next sweep retries', { error: error as Error, runId });
      results.push({ runId, send: 'FAILED' });
    }
  }
  return results;
}

async function trainableVersion(datasets: DatasetsPort, dataset: string, requested: string): Promise<string> {
  const field = 'body.datasetVersion';
  let record;
  try {
    record = await datasets.getVersion(dataset, requested);
  } catch (error) {
    if (error instanceof NotFound) throw new NotFound(`dataset ${dataset} has no version ${requested}`, [{ field, message: 'unknown dataset version' }]);
    if (error instanceof Invalid) throw new Invalid(error.message, [{ field, message: 'not a dataset version (v000001, v1 or 1)' }]);
    throw error;
  }
  if (record.validation.status !== 'PASSED') {
    throw new Conflict(`dataset ${dataset} version ${record.datasetVersion} failed validation; it cannot be trained on`, [
      { field, message: 'failed validation' },
    ]);
  }
  return record.datasetVersion;
}

const ROLLBACK_TARGETS: readonly VersionStatus[] = ['APPROVED', 'RETIRED'];

/**
 * Redeploys an APPROVED/RETIRED version (RELIABILITY row 21): the rollback request and its audit
 * event are recorded in one transaction FIRST, then the deployment execution is started under the
 * request's id (a name Step Functions runs at most once). A failed record leaves nothing done; a
 * failed start leaves the request recorded and says so, and repeating the request with the same
 * Idempotency-Key starts that one execution — never a second rollback.
 */
export async function rollback(
  ctx: ApiContext,
  input: { model: string; toVersion: number; reason: string; caller: Principal; idempotencyKey?: string },
): Promise<{ deploymentId: string; model: string; version: number; replayed: boolean }> {
  const model = modelOf(ctx, input.model);
  const { registry, deployments, clock } = ctx.ports;
  const target = await registry.getVersion(input.model, input.toVersion);
  if (!target) {
    throw new NotFound(`${input.model} has no version ${input.toVersion}`, [{ field: 'body.toVersion', message: 'unknown version' }]);
  }
  if (!ROLLBACK_TARGETS.includes(target.status)) {
    throw new Conflict(`version ${input.toVersion} is ${target.status}; only an APPROVED or RETIRED version can be rolled back to`);
  }
  const idempotencyKey = input.idempotencyKey ?? ctx.ports.newId();
  const deploymentId = `${input.model}-rollback-${digestOf(`${input.model}\n${idempotencyKey}`).slice(0, 24)}`;
  if (model.endpointName !== undefined) await refuseWhileDeploying(ctx, model.endpointName, deploymentId);
  const fresh: RollbackRequest = { model: input.model, version: input.toVersion, requestedBy: input.caller.id, reason: input.reason, requestedAt: clock.now().toISOString(), deploymentId };
  const recorded = await registry.recordRequest(keys.rollbackRequest(deploymentId), { ...fresh }, {
    eventId: deploymentId,
    model: input.model,
    at: fresh.requestedAt,
    type: 'ROLLBACK_REQUESTED',
    actor: input.caller.id,
    version: input.toVersion,
    reason: input.reason,
    details: { deploymentId, caller: auditCaller(input.caller) },
  });
  const request = recorded.written ? fresh : (recorded.existing as unknown as RollbackRequest | undefined);
  if (!request || request.version !== input.toVersion || request.model !== input.model) {
    throw new Conflict(`Idempotency-Key ${idempotencyKey} was already used for another rollback`, [{ field: 'headers.idempotency-key', message: 'already used for another request' }]);
  }
  try {
    await deployments.startRollback(request);
  } catch (error) {
    logger.error('the rollback is recorded but its execution could not be started', { error: error as Error, deploymentId });
    throw new Unavailable(
      `rollback ${deploymentId} to version ${input.toVersion} is recorded (audited) but its deployment could not be started; repeat the request with Idempotency-Key: ${idempotencyKey} to start it (once)`,
    );
  }
  return { deploymentId, model: input.model, version: input.toVersion, replayed: !recorded.written };
}

/**
 * One deployment in flight per endpoint (RELIABILITY row 24), answered before anything is
 * written: an unexpired lease held by another deployment is a 409 naming its run. This is only
 * the early answer; two rollbacks racing past it both start, and the pipeline's conditional lease
 * take (StartRollback) refuses the second before its target moves.
 */
async function refuseWhileDeploying(ctx: ApiContext, endpointName: string, deploymentId: string): Promise<void> {
  const lease = await ctx.ports.leases.get(endpointName);
  // The same expiry rule as the take (DeploymentLeases.acquire): an expired lease is free.
  if (!lease || lease.holder === deploymentId || lease.leaseExpiresAt < ctx.ports.clock.now().toISOString()) return;
  throw new DeploymentInFlight(`${describeHolder(lease)}; nothing was changed: roll back once it has finished`, lease, [
    { field: 'path.model', message: `run ${lease.holder} is deploying to endpoint ${endpointName}` },
  ]);
}

/**
 * Stores labels as one JSON Lines object (RELIABILITY row 21): the upload and its audit event are
 * recorded in one transaction FIRST, keyed by the records' digest, then the object is written
 * under that digest (If-None-Match). A failed record leaves nothing done; a failed write leaves
 * the upload recorded and says so, and sending the same records again stores that one object.
 */
export async function uploadGroundTruth(
  ctx: ApiContext,
  input: { model: string; records: readonly { inferenceId: string; label: unknown }[]; caller: Principal },
): Promise<{ key: string; records: number; replayed: boolean }> {
  modelOf(ctx, input.model);
  const now = ctx.ports.clock.now();
  const digest = digestOf(JSON.stringify(input.records.map((r) => [r.inferenceId, r.label]))).slice(0, 32);
  const recorded = await ctx.ports.registry.recordRequest(
    keys.groundTruthUpload(input.model, digest),
    { model: input.model, digest, at: now.toISOString(), records: input.records.length, uploadedBy: input.caller.id },
    {
      eventId: `ground-truth-${digest}`,
      model: input.model,
      at: now.toISOString(),
      type: 'GROUND_TRUTH_UPLOADED',
      actor: input.caller.id,
      details: { digest, records: input.records.length, caller: auditCaller(input.caller) },
    },
  );
  const at = recorded.written || typeof recorded.existing?.at !== 'string' ? now : new Date(recorded.existing.at);
  try {
    const { key } = await ctx.ports.groundTruth.put(input.model, input.records, at, digest);
    return { key, records: input.records.length, replayed: !recorded.written };
  } catch (error) {
    logger.error('the ground-truth upload is recorded but could not be stored', { error: error as Error, digest });
    throw new Unavailable(`the upload (digest ${digest}) is recorded (audited) but its object could not be stored; send the same records again to store it (once)`);
  }
}

const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');

// ---------------------------------------------------------------------------------------------
// Datasets (the datasets part's domain functions, through its port)

function datasetOf(ctx: ApiContext, dataset: string): void {
  if (!ctx.models.some((m) => m.datasetName === dataset)) {
    throw new NotFound(`no configured model trains on a dataset named ${dataset}`, [{ field: 'path.dataset', message: 'unknown dataset' }]);
  }
}

export async function listDatasets(ctx: ApiContext): Promise<{ datasets: readonly DatasetSummary[] }> {
  return { datasets: await ctx.ports.datasets.listDatasets() };
}

export async function listDatasetVersions(ctx: ApiContext, dataset: string, page: PageRequest): Promise<Page<DatasetVersionListItem>> {
  datasetOf(ctx, dataset);
  return ctx.ports.datasets.listVersions(dataset, page);
}

export async function getDatasetVersion(ctx: ApiContext, dataset: string, datasetVersion: string): Promise<DatasetVersionRecord> {
  datasetOf(ctx, dataset);
  return ctx.ports.datasets.getVersion(dataset, datasetVersion);
}

/** Registers the objects' exact versions as the dataset's next version (or finds the version with the same bytes). */
export async function registerDatasetVersion(
  ctx: ApiContext,
  input: Omit<RegisterDatasetVersionInput, 'registeredBy'> & { readonly caller: Principal },
): Promise<RegisterResult> {
  datasetOf(ctx, input.dataset);
  const { caller, ...registration } = input;
  return ctx.ports.datasets.registerVersion({ ...registration, registeredBy: caller.id });
}

/** A fresh id for events and non-idempotent requests. */
export const newId = (): string => randomUUID();
