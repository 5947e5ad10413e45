/**
 * What the registry API's domain functions need from the outside world. The handler wires
 * AWS-backed implementations; tests pass moto-backed ones or fakes.
 */
import type { ApprovalOutput, RejectionCause } from '../shared/approval';
import type {
  DatasetSummary,
  DatasetVersionListItem,
  DatasetVersionRecord,
  RegisterDatasetVersionInput,
  RegisterResult,
} from '../datasets';
import type {
  AuditEvent,
  DecisionRecord,
  ModelVersionRecord,
  RetrainingRequest,
  RetrainSendState,
  RunRecord,
  RunRequestView,
  VersionStatus,
} from '../shared/contracts';
import type { DeploymentLease } from '../pipeline/deployment-lease';
import type { ApproverEntry } from './principal';

/** A page of items plus the opaque token of the next page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextToken?: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly nextToken?: string;
}

/** What the construct tells the function about a configured model. */
export interface ModelSummary {
  readonly name: string;
  readonly description?: string;
  readonly datasetName: string;
  readonly objective: { readonly metricName: string; readonly direction: 'maximize' | 'minimize' };
  /** When set, only callers matching one of these entries may approve or reject (see `principal.ts`). */
  readonly approvers?: readonly ApproverEntry[];
  /** The approver's role must differ from the requester's (sessions of a directly assumed role are named by the caller). */
  readonly requireDistinctRole?: boolean;
  readonly approvalTimeoutSeconds: number;
  /** The gate's settings, shown next to the evaluation (`lambdas/pipeline/settings.ts`). @default - not shown */
  readonly gate?: { readonly minImprovement: number; readonly thresholds: Readonly<Record<string, { readonly min?: number; readonly max?: number }>> };
  /** Name of the model's drift alarm (`<alarmNamePrefix><model>-drift`). @default - no alarm state shown */
  readonly driftAlarmName?: string;
  /**
   * The SageMaker endpoint the model deploys to, whose deployment lease a rollback checks first.
   * @default - a rollback is accepted without looking at the lease (the pipeline's StartRollback still refuses it)
   */
  readonly endpointName?: string;
}

export interface DeploymentRecord {
  readonly model: string;
  readonly version: number;
  readonly at: string;
  readonly status?: string;
  readonly endpointConfigName?: string;
  readonly [field: string]: unknown;
}

export interface DecisionWrite {
  readonly model: string;
  readonly version: number;
  readonly decision: DecisionRecord;
  /** The requester the rules were checked against; the write only applies while it is still that. */
  readonly requestedBy: string;
}

/** The outcome of the transaction that records a decision (version, audit event, delivery owed). */
export type DecisionOutcome =
  | { readonly kind: 'won' }
  | { readonly kind: 'missing' }
  /** A condition did not hold: the version as it is now (consistent read). */
  | { readonly kind: 'lost'; readonly record: ModelVersionRecord };

/** A retrain request the API recorded: the queue message, and whether SQS has it yet. */
export interface RecordedRetrainRequest {
  readonly request: RetrainingRequest;
  readonly sendState: RetrainSendState;
}

export type RecordedRequest = { readonly written: true } | { readonly written: false; readonly existing?: Readonly<Record<string, unknown>> };

/** A version whose decision is still owed to the pipeline, oldest first. */
export interface OwedDelivery {
  readonly model: string;
  readonly version: number;
}

/** The model registry in the metadata table. Reads are single Query/Get round trips. */
export interface RegistryRepository {
  getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined>;
  /** A consistent read of the version with its task token (never returned to a caller). */
  readForDecision(model: string, version: number): Promise<ModelVersionRecord | undefined>;
  listVersions(model: string, page: PageRequest, status?: VersionStatus): Promise<Page<ModelVersionRecord>>;
  latestVersion(model: string): Promise<ModelVersionRecord | undefined>;
  liveVersion(model: string): Promise<ModelVersionRecord | undefined>;
  deployments(model: string, limit: number): Promise<readonly DeploymentRecord[]>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** A retraining request with this run id that has no run: queued, or suppressed by the starter (and why). */
  getRunRequest(runId: string): Promise<RunRequestView | undefined>;
  /**
   * One transaction: PENDING_APPROVAL → APPROVED/REJECTED (still that requester, still that task
   * token), the decision's audit event, and the delivery owed.
   */
  recordDecision(write: DecisionWrite, taskToken: string, event: AuditEvent): Promise<DecisionOutcome>;
  /** The callback was answered: delivery OWED → DELIVERED (only for exactly this decision). */
  markDelivered(write: DecisionWrite, at: string): Promise<boolean>;
  /** The task was closed before or without this delivery: OWED → CLOSED with its audit event; the status is left as it is. */
  closeDelivery(write: DecisionWrite, event: AuditEvent): Promise<boolean>;
  /** Nothing was ever delivered and the task is closed: the decided version becomes EXPIRED, with its audit event. */
  expireUndelivered(write: DecisionWrite, event: AuditEvent): Promise<boolean>;
  /** Decisions still owed that were recorded before `before` (ISO time), oldest first. */
  owedDeliveries(before: string, limit: number): Promise<readonly OwedDelivery[]>;
  /**
   * Records a request (rollback, ground-truth upload) and its audit event in one transaction,
   * once per key: `{ written: false, existing }` when the key was already recorded (nothing written).
   */
  recordRequest(key: { pk: string; sk: string }, item: Readonly<Record<string, unknown>>, event: AuditEvent): Promise<RecordedRequest>;
  /** The recorded retrain request with this run id (consistent read), and whether it is on the queue yet. */
  getRetrainRequest(runId: string): Promise<RecordedRetrainRequest | undefined>;
  /**
   * Records that a retrain request with this run id was accepted, with its audit event, atomically,
   * its send to the retraining queue OWED. `false`: it was already (nothing written).
   */
  recordRetrainRequest(request: RetrainingRequest, event: AuditEvent): Promise<boolean>;
  /** SQS accepted the request's message: OWED → SENT. `false` when it was not OWED. */
  markRetrainSent(runId: string, at: string): Promise<boolean>;
  /** Run ids of retrain requests recorded before `before` (ISO time) and still owed to the queue, oldest first. */
  owedRetrainSends(before: string, limit: number): Promise<readonly string[]>;
}

export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
  list(query: { model?: string; from?: string; to?: string }, page: PageRequest): Promise<Page<AuditEvent>>;
}

/** Resumes or ends the pipeline's waiting approval task. */
export interface ApprovalCallbacks {
  /** Throws `TaskTokenGone` when the token expired or no longer exists. */
  approve(taskToken: string, output: ApprovalOutput): Promise<void>;
  /** Fails the task with the rejection (who, why, when), which the pipeline records on the run. */
  reject(taskToken: string, cause: RejectionCause): Promise<void>;
}

/** The task token is dead: the wait timed out or the execution ended. */
export class TaskTokenGone extends Error {
  override readonly name = 'TaskTokenGone';
}

/** The retraining FIFO queue (MessageGroupId = model, MessageDeduplicationId = runId). */
export interface RetrainingQueue {
  /** Throws `Unavailable` when this deployment has no retraining queue: checked before a request is recorded. */
  assertWired(): void;
  send(request: RetrainingRequest): Promise<void>;
}

export interface RollbackRequest {
  readonly model: string;
  readonly version: number;
  readonly requestedBy: string;
  readonly reason: string;
  readonly requestedAt: string;
  /** Unique per request; the deployment's execution name. */
  readonly deploymentId: string;
}

/**
 * Starts the pipeline's deploy path for an already approved version. The deployed
 * implementation starts the deployment state machine with `{ kind: 'rollback', ... }` as input.
 */
export interface DeploymentStarter {
  startRollback(request: RollbackRequest): Promise<{ readonly deploymentId: string }>;
}

/**
 * The endpoints' deployment leases (lambdas/pipeline/deployment-lease.ts), read-only here: the
 * pipeline's StartDeployment/StartRollback take them and are the real guard; the API reads them
 * to refuse a rollback early, before anything is written.
 */
export interface DeploymentLeaseReader {
  /** A consistent read; `undefined` when no deployment holds the endpoint (or ever did). */
  get(endpointName: string): Promise<DeploymentLease | undefined>;
}

export interface GroundTruthStore {
  /**
   * Writes one JSON Lines object once (If-None-Match); returns its S3 key. With `id` the key is
   * that id's, and an object already there under it counts as written (same id, same bytes).
   */
  put(model: string, records: readonly { inferenceId: string; label: unknown }[], at: Date, id?: string): Promise<{ readonly key: string }>;
}

/**
 * The dataset registry: the datasets part's domain functions (`lambdas/datasets`), which own
 * registration (exact object versions, checksums, validation) and its reads. Unknown datasets
 * and versions are `NotFound`, malformed version ids `Invalid`.
 */
export interface DatasetsPort {
  listDatasets(): Promise<readonly DatasetSummary[]>;
  listVersions(dataset: string, page: PageRequest): Promise<Page<DatasetVersionListItem>>;
  getVersion(dataset: string, datasetVersion: string): Promise<DatasetVersionRecord>;
  registerVersion(input: RegisterDatasetVersionInput): Promise<RegisterResult>;
}

/** One metric over time, oldest first (CloudWatch GetMetricData's values, reordered). */
export interface MetricSeries {
  readonly timestamps: readonly string[];
  readonly values: readonly number[];
}

export interface AlarmStatus {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason?: string;
  readonly updatedAt?: string;
}

/** A model's drift metrics as the drift analyzer published them (namespace and names: `lambdas/drift/analyze.ts`). */
export interface DriftMetrics {
  readonly driftScore: MetricSeries;
  readonly modelQuality: MetricSeries;
  readonly capturedRecords: MetricSeries;
  readonly features: readonly {
    readonly feature: string;
    readonly psi: MetricSeries;
    readonly jsDistance: MetricSeries;
    readonly ksStatistic: MetricSeries;
  }[];
}

/** CloudWatch, read-only: the drift analyzer's metrics and the drift alarm's state. */
export interface MetricsReader {
  driftMetrics(model: string, range: { readonly from: Date; readonly to: Date; readonly periodSeconds: number }): Promise<DriftMetrics>;
  /** `undefined` when no alarm has that name. */
  alarm(name: string): Promise<AlarmStatus | undefined>;
}

/** The evaluation reports the pipeline's Evaluate step wrote (candidate and champion on one holdout). */
export interface EvaluationReports {
  /** The report's JSON, or `undefined` when the object does not exist. */
  read(s3Uri: string): Promise<unknown>;
}

/**
 * The drift analyzer's reports (`reports/<model>/<window>/` in the artifacts bucket,
 * lambdas/shared/layout.ts `driftReportKeys`), read-only.
 */
export interface DriftReports {
  /** Window ids (`driftReportKeys.windowId`) newest first, only those before `before` when it is given; `more` when older ones exist. */
  listWindows(model: string, page: { readonly limit: number; readonly before?: string | undefined }): Promise<{ readonly windows: readonly string[]; readonly more: boolean }>;
  /** The window's report.json as JSON, or `undefined` when there is none. */
  read(model: string, windowId: string): Promise<unknown>;
}

/**
 * One event of an execution's history (Step Functions `HistoryEvent`), reduced to what a
 * timeline needs: the adapter copies only these fields, never an input, output or parameters
 * (the approval task's parameters carry the task token).
 */
export interface ExecutionHistoryEvent {
  readonly id: number;
  /** The HistoryEvent type: `TaskStateEntered`, `TaskScheduled`, `LambdaFunctionFailed`, `ExecutionFailed` … */
  readonly type: string;
  readonly timestamp: Date;
  /** `stateEnteredEventDetails.name` / `stateExitedEventDetails.name`. */
  readonly stateName?: string;
  /** From the failure events' details (`taskFailedEventDetails`, `executionFailedEventDetails` …). */
  readonly error?: string;
  readonly cause?: string;
}

/** Step Functions' GetExecutionHistory, read-only. */
export interface ExecutionHistory {
  /**
   * The execution's events, oldest first; `truncated` when there were more than one request
   * reads. `undefined` when the execution does not exist.
   */
  read(executionArn: string): Promise<{ readonly events: readonly ExecutionHistoryEvent[]; readonly truncated: boolean } | undefined>;
}

export interface Clock {
  now(): Date;
}

export interface Ports {
  readonly registry: RegistryRepository;
  readonly audit: AuditLog;
  readonly callbacks: ApprovalCallbacks;
  readonly retraining: RetrainingQueue;
  readonly deployments: DeploymentStarter;
  readonly leases: DeploymentLeaseReader;
  readonly groundTruth: GroundTruthStore;
  readonly datasets: DatasetsPort;
  readonly metrics: MetricsReader;
  readonly evaluations: EvaluationReports;
  readonly driftReports: DriftReports;
  readonly executions: ExecutionHistory;
  readonly clock: Clock;
  readonly newId: () => string;
}
