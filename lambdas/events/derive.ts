/**
 * Registry events from the metadata table's stream (a transactional outbox): each change is
 * already in the table once, with its old and new image, so events are derived from the images
 * and no handler writes a second time. Only real transitions count — a retried step that writes
 * the same status again, or a no-op update, yields nothing — and each event's id is a hash of
 * the item's key and the transition, so replaying the stream yields the same ids.
 */
import { createHash } from 'node:crypto';
import { KEY_PREFIX, keys, RETRAINING_ALARM_KINDS } from '../shared/contracts';
import { artifactPrefixes, driftReportKeys } from '../shared/layout';
import type { CaretakerEvent, DetailType, EventDetail } from './catalog';

export type Image = Readonly<Record<string, unknown>>;

/** Partition-key prefixes of the items events are derived from (the event source mapping filters on them). */
export const CHANGE_KEY_PREFIXES = [KEY_PREFIX.dataset, KEY_PREFIX.run, KEY_PREFIX.trigger, KEY_PREFIX.model] as const;

/** The sort key of a run's own item (its other items, e.g. the API's retrain request, derive nothing). */
const RUN_SORT_KEY = keys.run('').sk;

export interface ChangeRecord {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly oldImage?: Image;
  readonly newImage?: Image;
}

export interface DeriveOptions {
  /** The console's base URL; ApprovalRequested links the version there. @default - no link */
  readonly consoleUrl?: string;
}

/** A stable 32-hex id of one change: detail type, item key and what changed. */
export function eventIdOf(detailType: DetailType, pk: string, sk: string, change: string): string {
  return createHash('sha256').update(`${detailType}\n${pk}\n${sk}\n${change}`).digest('hex').slice(0, 32);
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const obj = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

function scoreSummary(comparison: EventDetail<'VersionRegistered'>['comparison'] | undefined): string {
  if (!comparison) return '';
  const champion = comparison.champion === undefined ? 'no champion' : `champion ${comparison.champion}`;
  return `${comparison.metricName} ${comparison.candidate} (${champion})`;
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Every event one stream record stands for, in the order they happened. */
export function deriveEvents(record: ChangeRecord, options: DeriveOptions = {}): CaretakerEvent[] {
  const image = record.newImage;
  if (record.eventName === 'REMOVE' || !image) return [];
  const before = record.eventName === 'INSERT' ? undefined : record.oldImage;
  const pk = str(image.pk) ?? '';
  const sk = str(image.sk) ?? '';
  const events: CaretakerEvent[] = [];
  const emit = <T extends DetailType>(detailType: T, change: string, detail: Omit<EventDetail<T>, 'eventId'>) => {
    events.push({ detailType, detail: { eventId: eventIdOf(detailType, pk, sk, change), ...detail } } as unknown as CaretakerEvent);
  };

  if (pk.startsWith(KEY_PREFIX.dataset) && sk.startsWith(KEY_PREFIX.version)) {
    if (before) return [];
    const validation = obj(image.validation) ?? {};
    emit('DatasetVersionRegistered', 'registered', {
      at: str(image.createdAt) ?? '',
      dataset: str(image.dataset) ?? '',
      datasetVersion: str(image.datasetVersion) ?? '',
      contentAddress: str(image.contentAddress) ?? '',
      rowCount: num(image.rowCount) ?? 0,
      objects: Array.isArray(image.objects) ? image.objects.length : 0,
      registeredBy: str(image.registeredBy) ?? '',
      validation: {
        status: (str(validation.status) ?? 'PENDING') as 'PASSED' | 'FAILED' | 'PENDING',
        reasons: Array.isArray(validation.reasons) ? validation.reasons.map(String) : [],
      },
    });
    return events;
  }

  if (pk.startsWith(KEY_PREFIX.run) && sk === RUN_SORT_KEY) runEvents(image, before, emit);
  else if (pk.startsWith(KEY_PREFIX.trigger) && !before) triggerEvents(image, emit);
  else if (pk.startsWith(KEY_PREFIX.model) && sk.startsWith(KEY_PREFIX.version)) versionEvents(image, before, emit, options);
  return events;
}

type Emit = <T extends DetailType>(detailType: T, change: string, detail: Omit<EventDetail<T>, 'eventId'>) => void;

function runEvents(image: Image, before: Image | undefined, collect: Emit): void {
  const model = str(image.model) ?? '';
  const runId = str(image.runId) ?? '';
  const executionArn = str(image.executionArn);
  // Started: the run got its execution (the starter's outcome, or the pipeline's own StartRun).
  if (executionArn && !str(before?.executionArn)) {
    const t = obj(image.trigger) ?? {};
    collect('RunStarted', executionArn, {
      at: str(image.startedAt) ?? '',
      model,
      runId,
      kind: str(image.currentState) === 'StartRollback' ? 'rollback' : 'training',
      trigger: { kind: (str(t.kind) ?? 'api') as 'api', id: str(t.id) ?? '', reason: str(t.reason) ?? '' },
      requestedBy: str(image.requestedBy) ?? '',
      datasetVersion: str(image.datasetVersion) ?? '',
      executionArn,
    });
  }
  const status = str(image.status);
  if (status !== str(before?.status)) {
    const at = str(image.endedAt) ?? str(image.startedAt) ?? '';
    if (status === 'FAILED') {
      const failure = obj(image.failure);
      collect('RunFailed', `FAILED@${at}`, {
        at,
        model,
        runId,
        ...(num(image.version) !== undefined ? { version: num(image.version) } : {}),
        ...(failure ? { failure: { state: str(failure.state) ?? '', error: str(failure.error) ?? '', cause: str(failure.cause) ?? '' } } : {}),
      });
    } else if (status === 'REJECTED_BY_GATE') {
      collect('RunRejectedByGate', `REJECTED_BY_GATE@${at}`, {
        at,
        model,
        runId,
        reason: str(image.reason) ?? '',
        ...(obj(image.comparison) ? { comparison: image.comparison as EventDetail<'RunRejectedByGate'>['comparison'] } : {}),
      });
    }
  }
}

function triggerEvents(image: Image, emit: Emit): void {
  const model = str(image.model) ?? '';
  const runId = str(image.runId) ?? '';
  const at = str(image.at) ?? '';
  const t = obj(image.trigger) ?? {};
  const outcome = str(image.outcome) === 'STARTED' ? 'STARTED' : 'SUPPRESSED';
  if (str(t.kind) === 'alarm') {
    const alarmName = (str(t.id) ?? '').split('|')[0] ?? '';
    const kind = RETRAINING_ALARM_KINDS.find((k) => alarmName.endsWith(`-${k}`));
    const detail = { at, model, alarmName, reason: str(t.reason) ?? '', runId, outcome } as const;
    if (kind === 'drift') {
      const alarmAt = (str(t.id) ?? '').split('|')[1] ?? '';
      emit('DriftDetected', runId, { ...detail, report: { latest: driftReportKeys.latest(model), windows: artifactPrefixes.reports(model), alarmAt } });
    } else if (kind === 'quality') emit('ModelQualityDegraded', runId, detail);
  }
  if (outcome === 'SUPPRESSED') {
    emit('RunSuppressed', runId, {
      at,
      model,
      runId,
      trigger: { kind: (str(t.kind) ?? 'api') as 'api', id: str(t.id) ?? '', reason: str(t.reason) ?? '' },
      requestedBy: str(image.requestedBy) ?? '',
      reason: str(image.reason) ?? '',
      detail: str(image.detail) ?? '',
    });
  }
}

function versionEvents(image: Image, before: Image | undefined, emit: Emit, options: DeriveOptions): void {
  const model = str(image.model) ?? '';
  const version = num(image.version) ?? 0;
  const runId = str(image.runId) ?? '';
  const status = str(image.status) ?? '';
  const previous = str(before?.status);
  const at = str(image.updatedAt) ?? str(image.createdAt) ?? '';
  const metrics = (obj(image.metrics) ?? {}) as Record<string, number>;
  const comparison = image.comparison as EventDetail<'VersionRegistered'>['comparison'];

  // RegisterVersion writes a version once, PENDING_APPROVAL; nothing else inserts one in that status.
  if (!before && status === 'PENDING_APPROVAL') {
    emit('VersionRegistered', 'registered', {
      at: str(image.createdAt) ?? at,
      model,
      version,
      runId,
      datasetVersion: str(image.datasetVersion) ?? '',
      requestedBy: str(image.requestedBy) ?? '',
      metrics,
      comparison,
    });
  }
  const requestedAt = str(image.approvalRequestedAt);
  if (requestedAt && requestedAt !== str(before?.approvalRequestedAt) && status === 'PENDING_APPROVAL') {
    emit('ApprovalRequested', requestedAt, {
      at: requestedAt,
      model,
      version,
      runId,
      requestedBy: str(image.requestedBy) ?? '',
      metrics,
      comparison,
      expiresAt: str(image.approvalExpiresAt) ?? '',
      // Single quotes: this text goes into webhook input templates (the Slack message) inside a JSON
      // string, where a double quote would need escaping; see test/lib/webhooks.test.ts.
      approveCommand: `npx caretaker approve ${shellQuote(model)} ${version} --reason '…'`,
      rejectCommand: `npx caretaker reject ${shellQuote(model)} ${version} --reason '…'`,
      scoreSummary: scoreSummary(comparison),
      consoleUrl: options.consoleUrl ? `${options.consoleUrl.replace(/\/+$/, '')}/#/models/${encodeURIComponent(model)}/versions/${version}` : '',
    });
  }
  if (!before || status === previous) return;

  const change = `${status}@${at}`;
  // The deployment's run: on the version while it deploys; a finished deployment removes it, so the
  // old image (DEPLOYING) says which run took it LIVE (a rollback's run is not the version's own).
  const deploymentRunId = str(image.deployingRunId) ?? str(before.deployingRunId) ?? runId;
  const deployment = { at, model, version, deploymentRunId, rollback: deploymentRunId !== runId };
  const decided = obj(image.decision);
  switch (status) {
    case 'APPROVED':
    case 'REJECTED':
      if (previous === 'PENDING_APPROVAL') {
        const detail = { at, model, version, runId, decision: { by: str(decided?.by) ?? '', reason: str(decided?.reason) ?? '', at: str(decided?.at) ?? at } };
        emit(status === 'APPROVED' ? 'VersionApproved' : 'VersionRejected', change, detail);
      }
      break;
    case 'EXPIRED':
      emit('VersionExpired', change, { at, model, version, runId, ...(requestedAt ? { requestedAt } : {}) });
      break;
    case 'DEPLOYING':
      emit('DeploymentStarted', change, { ...deployment, fromStatus: previous ?? '' });
      break;
    case 'LIVE':
      if (previous === 'DEPLOYING') {
        const live = { ...deployment, endpointName: str(image.endpointName) ?? '', endpointConfigName: str(image.endpointConfigName) ?? '' };
        emit('DeploymentSucceeded', change, live);
        if (deployment.rollback) emit('RolledBack', change, live);
      }
      break;
    default:
      break;
  }
  // A deployment that ends anywhere but LIVE failed (DEPLOY_FAILED, or a rollback target put back).
  if (previous === 'DEPLOYING' && status !== 'LIVE') {
    const failed = { ...deployment, deploymentRunId: str(before.deployingRunId) ?? deploymentRunId };
    emit('DeploymentFailed', change, { ...failed, rollback: failed.deploymentRunId !== runId, status });
  }
}
