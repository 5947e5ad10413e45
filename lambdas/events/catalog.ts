/**
 * Caretaker's registry events on EventBridge: one zod definition per detail type. The publisher
 * validates every event against it before PutEvents, the TypeScript types are inferred from it,
 * and the JSON Schemas in the stack's EventBridge schema registry are generated from it
 * (`eventJsonSchema`), so the three cannot disagree.
 *
 * Every detail carries `eventId`: stable for one change, derived from the table item's key and
 * the change itself (not from the stream record), so a replayed stream or a retried batch
 * yields the same id. EventBridge gives each PutEvents entry an envelope `id` of its own, which
 * differs between deliveries of one change: deduplicate on `detail.eventId`.
 */
import * as z from 'zod';

export const EVENT_SOURCE = 'caretaker';

const isoTime = z.string().min(1).describe('ISO 8601 time of the change');
const principal = z.string().min(1).describe('IAM principal ARN of a person, or caretaker:<trigger> for automatic triggers');
const base = {
  eventId: z.string().regex(/^[0-9a-f]{32}$/).describe('Stable id of this change: deduplicate on it'),
  at: isoTime,
};
const modelBase = { ...base, model: z.string().min(1) };
const trigger = z.object({ kind: z.enum(['api', 'alarm', 'schedule', 'new-data']), id: z.string(), reason: z.string() });
const comparison = z.object({
  metricName: z.string(),
  direction: z.enum(['maximize', 'minimize']),
  candidate: z.number(),
  champion: z.number().optional(),
  championVersion: z.number().int().optional(),
});
const decision = z.object({ by: principal, reason: z.string(), at: isoTime });
const deployment = {
  ...modelBase,
  version: z.number().int().positive(),
  /** The run that deploys: the version's own training run, or a rollback. */
  deploymentRunId: z.string().min(1),
  rollback: z.boolean(),
};
const alarm = {
  ...modelBase,
  alarmName: z.string().min(1),
  reason: z.string(),
  /** The retraining run this alarm asked for, and whether it started or was suppressed. */
  runId: z.string().min(1),
  outcome: z.enum(['STARTED', 'SUPPRESSED']),
};

export const EVENT_DETAILS = {
  DatasetVersionRegistered: z.object({
    ...base,
    dataset: z.string().min(1),
    datasetVersion: z.string().min(1),
    contentAddress: z.string(),
    rowCount: z.number().int().nonnegative(),
    objects: z.number().int().nonnegative(),
    registeredBy: principal,
    validation: z.object({ status: z.enum(['PASSED', 'FAILED', 'PENDING']), reasons: z.array(z.string()) }),
  }),
  RunStarted: z.object({
    ...modelBase,
    runId: z.string().min(1),
    kind: z.enum(['training', 'rollback']),
    trigger,
    requestedBy: principal,
    datasetVersion: z.string(),
    executionArn: z.string().min(1),
  }),
  RunSuppressed: z.object({ ...modelBase, runId: z.string().min(1), trigger, requestedBy: principal, reason: z.string(), detail: z.string() }),
  RunFailed: z.object({
    ...modelBase,
    runId: z.string().min(1),
    version: z.number().int().optional(),
    failure: z.object({ state: z.string(), error: z.string(), cause: z.string() }).optional(),
  }),
  RunRejectedByGate: z.object({ ...modelBase, runId: z.string().min(1), reason: z.string(), comparison: comparison.optional() }),
  VersionRegistered: z.object({
    ...modelBase,
    version: z.number().int().positive(),
    runId: z.string().min(1),
    datasetVersion: z.string(),
    requestedBy: principal,
    metrics: z.record(z.string(), z.number()),
    comparison,
  }),
  ApprovalRequested: z.object({
    ...modelBase,
    version: z.number().int().positive(),
    runId: z.string().min(1),
    requestedBy: principal,
    metrics: z.record(z.string(), z.number()),
    comparison,
    expiresAt: isoTime,
    /** The command an approver runs (`npx caretaker approve …`). */
    approveCommand: z.string(),
    rejectCommand: z.string(),
    /** The objective score against the champion's, in words (for chat messages). */
    scoreSummary: z.string(),
    /** The version in the Caretaker console; empty when the stack has no console URL configured. */
    consoleUrl: z.string(),
  }),
  VersionApproved: z.object({ ...modelBase, version: z.number().int().positive(), runId: z.string(), decision }),
  VersionRejected: z.object({ ...modelBase, version: z.number().int().positive(), runId: z.string(), decision }),
  VersionExpired: z.object({ ...modelBase, version: z.number().int().positive(), runId: z.string(), requestedAt: isoTime.optional() }),
  DeploymentStarted: z.object({ ...deployment, fromStatus: z.string() }),
  DeploymentSucceeded: z.object({ ...deployment, endpointName: z.string(), endpointConfigName: z.string() }),
  DeploymentFailed: z.object({ ...deployment, status: z.string().describe('the version\'s status after the failed deployment') }),
  RolledBack: z.object({ ...deployment, endpointName: z.string(), endpointConfigName: z.string() }),
  DriftDetected: z.object({
    ...alarm,
    /**
     * Where the drift analyzer's window reports are (keys in the artifacts bucket, see
     * lambdas/shared/layout.ts `driftReportKeys`): `latest` names the newest window's
     * report.html and report.json; the report this alarm fired on is the newest window under
     * `windows` that ended at or before `alarmAt`.
     */
    report: z.object({
      latest: z.string().min(1),
      windows: z.string().min(1),
      alarmAt: z.string().describe('the alarm state change time, CloudWatch format'),
    }),
  }),
  ModelQualityDegraded: z.object(alarm),
} as const;

export type DetailType = keyof typeof EVENT_DETAILS;
export const DETAIL_TYPES = Object.keys(EVENT_DETAILS) as DetailType[];
export type EventDetail<T extends DetailType> = z.infer<(typeof EVENT_DETAILS)[T]>;

/** One event as the publisher puts it: detail type and its detail. */
export type CaretakerEvent = { [T in DetailType]: { readonly detailType: T; readonly detail: EventDetail<T> } }[DetailType];

/** An event as EventBridge delivers it to a target (the envelope plus the detail). */
export type DeliveredEvent<T extends DetailType = DetailType> = {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': T;
  readonly source: typeof EVENT_SOURCE;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: EventDetail<T>;
};

/**
 * The JSON Schema (draft 4, what `AWS::EventSchemas::Schema` of type `JSONSchemaDraft4` takes) of
 * a whole delivered event of this detail type: the EventBridge envelope and the detail.
 */
export function eventJsonSchema(detailType: DetailType): Record<string, unknown> {
  const { $schema: _ignored, ...detail } = z.toJSONSchema(EVENT_DETAILS[detailType], { target: 'draft-4' }) as Record<string, unknown>;
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: detailType,
    type: 'object',
    properties: {
      version: { type: 'string' },
      id: { type: 'string' },
      'detail-type': { type: 'string', enum: [detailType] },
      source: { type: 'string', enum: [EVENT_SOURCE] },
      account: { type: 'string' },
      time: { type: 'string' },
      region: { type: 'string' },
      resources: { type: 'array', items: { type: 'string' } },
      detail,
    },
    required: ['detail-type', 'source', 'detail'],
  };
}
