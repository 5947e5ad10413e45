/**
 * The shapes that cross part boundaries: what the retraining starter sends the pipeline, what
 * the pipeline writes to the registry, what the API reads and decides on. Each part may add
 * fields to the records it owns, but not rename or repurpose these.
 *
 * Keys follow `table-schema.ts`; `keys` below builds them so no module spells a prefix itself.
 */
import { createHash } from 'node:crypto';
import * as z from './zod';
import type { RejectionCause } from './approval';

// ---------------------------------------------------------------------------------------------
// Identifiers

/** Model versions are numbered per model: 1, 2, 3 … (what people type: `caretaker approve churn 3`). */
export const versionNumber = z.coerce.number().check(z.int(), z.positive(), z.maximum(9_999_999_999));

/**
 * Key prefixes that readers outside `keys` match on (the audit copier's and the events publisher's
 * stream filters, the dataset functions' `dynamodb:LeadingKeys` condition, queries).
 */
export const KEY_PREFIX = {
  model: 'MODEL#',
  audit: 'AUDIT#',
  version: 'VERSION#',
  deployment: 'DEPLOYMENT#',
  dataset: 'DATASET#',
  run: 'RUN#',
  trigger: 'TRIGGER#',
} as const;
const AUDIT_INDEX_PARTITION = 'AUDIT';

/** Sort-key form of a version number: zero-padded so versions sort in creation order. */
export const versionSortKey = (version: number) => `${KEY_PREFIX.version}${String(version).padStart(10, '0')}`;

/**
 * Step Functions execution names: ≤ 80 chars of `[A-Za-z0-9-_]`. A run's id *is* its execution
 * name, derived from what triggered it, so a repeated start of the same trigger is a no-op
 * (StartExecution with an existing name and the same input returns the existing execution).
 */
export function runIdFor(model: string, trigger: TriggerKind, discriminator: string): string {
  const digest = createHash('sha256').update(`${model}\n${trigger}\n${discriminator}`).digest('hex').slice(0, 20);
  return `${model}-${trigger}-${digest}`;
}

// ---------------------------------------------------------------------------------------------
// Statuses

/**
 * A model version exists once a candidate passed the gate.
 * PENDING_APPROVAL → APPROVED | REJECTED | EXPIRED
 * APPROVED → DEPLOYING → LIVE | DEPLOY_FAILED
 * LIVE → RETIRED (another version went live) ; rollback redeploys an earlier APPROVED/RETIRED one.
 */
export const VERSION_STATUSES = [
  'PENDING_APPROVAL',
  'APPROVED',
  'REJECTED',
  'EXPIRED',
  'DEPLOYING',
  'LIVE',
  'DEPLOY_FAILED',
  'RETIRED',
] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/**
 * A decision's delivery to the pipeline's waiting task: OWED from the write that records it
 * until SendTaskSuccess/Failure answered; DELIVERED when it did; CLOSED when Step Functions
 * answered that the task was already closed (TaskTimedOut), or the pipeline had moved on.
 */
export const DELIVERY_STATES = ['OWED', 'DELIVERED', 'CLOSED'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * An API retrain request's send to the retraining queue: OWED from the transaction that records
 * the request and its audit event until SQS accepted the message; SENT after. An OWED request is
 * sent again (same MessageDeduplicationId, same runId: the starter claims a runId once) by the
 * sweep or by a repeat of the request with the same Idempotency-Key.
 */
export const RETRAIN_SEND_STATES = ['OWED', 'SENT'] as const;
export type RetrainSendState = (typeof RETRAIN_SEND_STATES)[number];

/** A pipeline run, from start to its end. */
export const RUN_STATUSES = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'REJECTED_BY_GATE',
  'REJECTED',
  'EXPIRED',
  'DEPLOY_FAILED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TRIGGER_KINDS = ['api', 'alarm', 'schedule', 'new-data'] as const;

/**
 * The per-model alarms whose ALARM state asks for a retraining run: the model, not the
 * endpoint, has gone stale. The drift monitor names its alarms `<prefix><model>-<kind>`;
 * endpoint-health alarms (`-5xx`, `-latency`) page people but never retrain.
 */
export const RETRAINING_ALARM_KINDS = ['drift', 'quality'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

// ---------------------------------------------------------------------------------------------
// Messages between parts

/**
 * A request for a retraining run, from any trigger (drift alarm rule, schedule, dataset
 * "enough new data", `POST /models/{model}/retrain`). Sent to the retraining FIFO queue with
 * MessageGroupId = model and MessageDeduplicationId = runId; the starter decides whether it
 * becomes a run (lease, cooldown, daily cap) and records the outcome under `runId`.
 */
const runId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/));
const nonEmpty = z.string().check(z.minLength(1));

export const retrainingRequestSchema = z.strictObject({
  runId,
  model: nonEmpty,
  trigger: z.strictObject({
    kind: z.enum(TRIGGER_KINDS),
    /** What makes this trigger unique: alarm name + state timestamp, schedule time, idempotency key … */
    id: z.string().check(z.minLength(1), z.maxLength(512)),
    reason: z.string().check(z.maxLength(1024)),
  }),
  /** IAM principal ARN of a person, or `caretaker:<trigger>` for automatic triggers. */
  requestedBy: nonEmpty,
  requestedAt: z.iso.datetime(),
  /** Train on this dataset version; default: the dataset's newest version that passed validation. */
  datasetVersion: z.optional(nonEmpty),
});
export type RetrainingRequest = z.infer<typeof retrainingRequestSchema>;

/** The training pipeline's execution input. `runId` is also the execution name. */
export const pipelineInputSchema = z.strictObject({
  runId,
  model: nonEmpty,
  datasetVersion: nonEmpty,
  requestedBy: nonEmpty,
  trigger: retrainingRequestSchema.shape.trigger,
});
export type PipelineInput = z.infer<typeof pipelineInputSchema>;

// ---------------------------------------------------------------------------------------------
// Records in the metadata table (the fields other parts rely on)

export interface MetricComparison {
  readonly metricName: string;
  readonly direction: 'maximize' | 'minimize';
  readonly candidate: number;
  /** Absent when there was no production model to compare with. */
  readonly champion?: number;
  readonly championVersion?: number;
}

export interface DecisionRecord {
  readonly decision: 'APPROVED' | 'REJECTED';
  readonly by: string;
  readonly reason: string;
  readonly at: string;
}

/** `pk = MODEL#<model>`, `sk = versionSortKey(version)` */
export interface ModelVersionRecord {
  readonly model: string;
  readonly version: number;
  readonly status: VersionStatus;
  readonly runId: string;
  /** Principal that requested the run; may never approve this version. */
  readonly requestedBy: string;
  readonly datasetName: string;
  readonly datasetVersion: string;
  readonly trainingJobName: string;
  readonly modelArtifactUri: string;
  readonly imageUri: string;
  readonly instanceType: string;
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly comparison: MetricComparison;
  readonly evaluationReportUri: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Step Functions task token of the waiting approval task. Never returned by the API. */
  readonly taskToken?: string;
  readonly decision?: DecisionRecord;
  /** Whether the decision still has to reach the waiting task (see `DELIVERY_STATES`). */
  readonly deliveryState?: DeliveryState;
  readonly endpointConfigName?: string;
  /** The SageMaker model its deployment created (batch models' scoring runs transform with it). */
  readonly modelName?: string;
  readonly deployedAt?: string;
  /** The run deploying it (DEPLOYING only). */
  readonly deployingRunId?: string;
  /** The endpoint config that run deploys (DEPLOYING only): what DescribeEndpoint must show for the version to serve. */
  readonly deployingEndpointConfigName?: string;
  /** The status a rollback moved it out of (DEPLOYING by a rollback only): a failed rollback gives it back. */
  readonly statusBeforeDeploy?: VersionStatus;
  /** The last deployment of it that failed or was abandoned: which run, when, and where it stopped. */
  readonly lastFailedDeployment?: {
    readonly runId: string;
    readonly at: string;
    readonly state?: string;
    readonly error?: string;
    readonly cause?: string;
  };
}

/** `pk = RUN#<runId>`, `sk = RUN` */
export interface RunRecord {
  readonly runId: string;
  readonly model: string;
  readonly status: RunStatus;
  readonly executionArn?: string;
  readonly requestedBy: string;
  readonly trigger: PipelineInput['trigger'];
  readonly datasetVersion: string;
  readonly version?: number;
  readonly currentState?: string;
  readonly failure?: { readonly state: string; readonly error: string; readonly cause: string };
  readonly comparison?: MetricComparison;
  readonly startedAt: string;
  readonly endedAt?: string;
  /** Why a run ended without deploying when that was not a failure: the gate's or the approver's reason. */
  readonly reason?: string;
  /** Who rejected the run's version, why and when (the approval callback's cause). */
  readonly rejection?: RejectionCause;
}

/**
 * `GET /runs/{runId}` for a run id that has no run yet: a retraining request the starter has not
 * decided (`QUEUED`), or one it suppressed (`SUPPRESSED`, with the policy's reason and detail).
 * A started request has a `RunRecord` instead.
 */
export interface RunRequestView {
  readonly runId: string;
  readonly model: string;
  readonly status: 'QUEUED' | 'SUPPRESSED';
  readonly requestedBy?: string;
  readonly requestedAt?: string;
  readonly trigger?: PipelineInput['trigger'];
  /** When the starter decided (SUPPRESSED only). */
  readonly decidedAt?: string;
  /** `<reason>: <detail>`, e.g. `in-progress: run churn-api-… is in flight (lease until …)` (SUPPRESSED only). */
  readonly reason?: string;
  readonly suppression?: { readonly reason: string; readonly detail: string };
  /** QUEUED only, API requests only: OWED while the request is recorded but not yet on the retraining queue. */
  readonly sendState?: RetrainSendState;
}

/** `pk = DATASET#<dataset>`, `sk = VERSION#<datasetVersion>` — owned by the datasets part. */
export interface DatasetVersionRecordCore {
  readonly dataset: string;
  readonly datasetVersion: string;
  readonly validation: { readonly status: 'PASSED' | 'FAILED' | 'PENDING'; readonly reasons?: readonly string[] };
  /** S3 objects with their exact version ids: the pipeline trains on these bytes. */
  readonly objects: readonly { readonly bucket: string; readonly key: string; readonly versionId: string; readonly sha256: string }[];
  readonly createdAt: string;
}

/** `pk = AUDIT#<model>`, `sk = <at>#<eventId>`, `gsi1pk = AUDIT`, `gsi1sk = <at>#<eventId>` */
export interface AuditEvent {
  readonly eventId: string;
  readonly model: string;
  readonly at: string;
  readonly type:
    | 'RUN_REQUESTED'
    | 'RUN_SUPPRESSED'
    | 'VERSION_REGISTERED'
    | 'APPROVED'
    | 'REJECTED'
    | 'EXPIRED'
    | 'DEPLOYED'
    | 'DEPLOY_FAILED'
    | 'ROLLBACK_REQUESTED'
    | 'GROUND_TRUTH_UPLOADED'
    /** A recorded decision's callback found the approval task already closed (TaskTimedOut): the version stays as the pipeline left it. */
    | 'DELIVERY_CLOSED';
  readonly actor: string;
  readonly version?: number;
  readonly runId?: string;
  readonly reason?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/**
 * `evaluation.json` (the evaluation container's report): metrics of the candidate and, when there
 * is one, the champion, on the same holdout. The pipeline's gate decides on it; the API shows it.
 */
const metrics = z.object({ metrics: z.record(z.string(), z.number()) });

export const evaluationReportSchema = z.object({
  candidate: metrics,
  champion: z.nullish(metrics),
  holdout: z.optional(z.object({ rows: z.optional(z.int().check(z.nonnegative())) })),
});
export type EvaluationReport = z.infer<typeof evaluationReportSchema>;

// ---------------------------------------------------------------------------------------------
// Keys


const OWED_DELIVERY_PARTITION = 'DELIVERY#OWED';
const OWED_RETRAIN_SEND_PARTITION = 'RETRAIN#OWED';

export const keys = {
  model: (model: string) => ({ pk: `${KEY_PREFIX.model}${model}`, sk: 'MODEL' }),
  version: (model: string, version: number) => ({ pk: `${KEY_PREFIX.model}${model}`, sk: versionSortKey(version) }),
  /** gsi1 entry of a version, for "versions of a model with status S". */
  versionByStatus: (model: string, status: VersionStatus, version: number) => ({
    gsi1pk: `${KEY_PREFIX.model}${model}#STATUS#${status}`,
    gsi1sk: versionSortKey(version),
  }),
  deployment: (model: string, at: string) => ({ pk: `${KEY_PREFIX.model}${model}`, sk: `${KEY_PREFIX.deployment}${at}` }),
  lease: (model: string) => ({ pk: `${KEY_PREFIX.model}${model}`, sk: 'LEASE' }),
  /** One deployment in flight per endpoint (lambdas/pipeline/deployment-lease.ts). */
  deploymentLease: (endpointName: string) => ({ pk: `ENDPOINT#${endpointName}`, sk: 'DEPLOYMENT_LEASE' }),
  run: (runId: string) => ({ pk: `${KEY_PREFIX.run}${runId}`, sk: 'RUN' }),
  runsOfModel: (model: string, startedAt: string) => ({ gsi1pk: `${KEY_PREFIX.model}${model}#RUNS`, gsi1sk: startedAt }),
  datasetVersion: (dataset: string, datasetVersion: string) => ({ pk: `${KEY_PREFIX.dataset}${dataset}`, sk: `${KEY_PREFIX.version}${datasetVersion}` }),
  audit: (model: string, at: string, eventId: string) => ({
    pk: `${KEY_PREFIX.audit}${model}`,
    sk: `${at}#${eventId}`,
    gsi1pk: AUDIT_INDEX_PARTITION,
    gsi1sk: `${at}#${eventId}`,
  }),
  /** gsi2 entry of a version whose decision is still owed to the pipeline (the delivery sweep's query). */
  owedDelivery: (model: string, version: number, decidedAt: string) => ({
    gsi2pk: OWED_DELIVERY_PARTITION,
    gsi2sk: `${decidedAt}#${model}#${versionSortKey(version)}`,
  }),
  /** The gsi2 partition of every decision still owed to the pipeline, by decision time. */
  owedDeliveries: { gsi2pk: OWED_DELIVERY_PARTITION },
  /** gsi2 entry of an API retrain request recorded but not yet sent to the retraining queue (the sweep's query). */
  owedRetrainSend: (requestedAt: string, runId: string) => ({ gsi2pk: OWED_RETRAIN_SEND_PARTITION, gsi2sk: `${requestedAt}#${runId}` }),
  /** The gsi2 partition of every API retrain request still owed to the retraining queue, by request time. */
  owedRetrainSends: { gsi2pk: OWED_RETRAIN_SEND_PARTITION },
  /** The partition of one model's audit events. */
  auditOf: (model: string) => ({ pk: `${KEY_PREFIX.audit}${model}` }),
  /** The gsi1 partition of every audit event, by time. */
  auditIndex: { gsi1pk: AUDIT_INDEX_PARTITION },
  trigger: (model: string, at: string, triggerId: string) => ({ pk: `${KEY_PREFIX.trigger}${model}`, sk: `${at}#${triggerId}` }),
  /** Per-dataset summary: latest version, latest passed version, sequence counter. */
  dataset: (dataset: string) => ({ pk: `${KEY_PREFIX.dataset}${dataset}`, sk: 'DATASET' }),
  /** Content address → dataset version: registering the same bytes twice finds the first version. */
  datasetContent: (dataset: string, contentAddress: string) => ({ pk: `${KEY_PREFIX.dataset}${dataset}`, sk: `CONTENT#${contentAddress}` }),
  /** A model version trained on a dataset version (lineage, listed per dataset version). */
  datasetLineage: (dataset: string, datasetVersion: string, model: string, version: number) => ({
    pk: `${KEY_PREFIX.dataset}${dataset}`,
    sk: `LINEAGE#${datasetVersion}#${model}#${versionSortKey(version)}`,
  }),
  /** Query prefix of every lineage entry of one dataset version. */
  datasetLineageOf: (dataset: string, datasetVersion: string) => ({ pk: `${KEY_PREFIX.dataset}${dataset}`, skPrefix: `LINEAGE#${datasetVersion}#` }),
  /** Atomic counter of new objects under the dataset prefix ("enough new data" trigger). */
  datasetNewObjects: (dataset: string) => ({ pk: `${KEY_PREFIX.dataset}${dataset}`, sk: 'NEW_OBJECTS' }),
  /**
   * Marker of one counted S3 object version, so a redelivered event is not counted twice.
   * Hashed: an S3 key alone may use the whole 1,024 bytes a sort key allows.
   */
  datasetObjectSeen: (dataset: string, key: string, versionId: string) => ({
    pk: `${KEY_PREFIX.dataset}${dataset}`,
    sk: `SEEN#${createHash('sha256').update(`${key}\n${versionId}`).digest('hex')}`,
  }),
  /** The retraining starter's idempotency record of one request: claimed once, then its outcome. */
  retrainingRequest: (runId: string) => ({ pk: `REQUEST#${runId}`, sk: 'REQUEST' }),
  /** Marks that `POST /models/{model}/retrain` accepted this run id (Idempotency-Key replays find it). */
  retrainRequest: (runId: string) => ({ pk: `${KEY_PREFIX.run}${runId}`, sk: 'REQUEST' }),
  /** A rollback request the API recorded (with its audit event) before starting its execution. */
  rollbackRequest: (deploymentId: string) => ({ pk: `ROLLBACK#${deploymentId}`, sk: 'REQUEST' }),
  /** A ground-truth upload the API recorded (with its audit event) before storing it, by content digest. */
  groundTruthUpload: (model: string, digest: string) => ({ pk: `GROUND_TRUTH#${model}`, sk: digest }),
} as const;
