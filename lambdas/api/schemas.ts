/**
 * The registry API's routes and their zod schemas: one table the router validates against,
 * the OpenAPI document is generated from, and the CDK construct derives API Gateway request
 * validators from. Change a route here and all three follow.
 */
import * as z from '../shared/zod';
import { registerDatasetVersionInputSchema } from '../datasets/register';
import { DELIVERY_STATES, RUN_STATUSES, VERSION_STATUSES } from '../shared/contracts';
import { driftReportKeys } from '../shared/layout';
import { MAX_PAGE_SIZE } from '../shared/pages';

/** Largest accepted request body; API Gateway allows 10 MB, the registry never needs more than this. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The request headers a browser page may send cross-origin (the CORS preflight's
 * `Access-Control-Allow-Headers`): what lib/client's SigV4 signing adds (Authorization,
 * X-Amz-Date, X-Amz-Security-Token for the identity pool's temporary credentials, and
 * X-Amz-Content-Sha256, which @smithy/signature-v4 adds unless told not to), Content-Type
 * (application/json is not a CORS-safelisted type) and Idempotency-Key. Accept is safelisted.
 */
export const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'X-Amz-Date', 'X-Amz-Security-Token', 'X-Amz-Content-Sha256', 'Idempotency-Key'] as const;

const name = z.string().check(z.minLength(1), z.maxLength(64), z.regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be lowercase letters, digits and single hyphens'));
const version = z.string().check(z.regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer'));
const datasetVersion = z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"'));
const runId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be a run id'));
const reason = z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(1024));
const limit = z.optional(
  z.pipe(
    z.pipe(z.string().check(z.regex(/^[0-9]{1,3}$/, 'must be a whole number')), z.transform(Number)),
    z.int().check(z.minimum(1), z.maximum(MAX_PAGE_SIZE)),
  ),
);
const nextToken = z.optional(z.string().check(z.minLength(1), z.maxLength(2048), z.regex(/^[A-Za-z0-9_-]+$/, 'must be a token from a previous page')));
const isoTime = z.iso.datetime({ offset: true });
const driftWindow = z.string().check(z.regex(driftReportKeys.windowIdPattern, 'must be a window id (20261122T103000Z)'));

export const params = {
  model: z.strictObject({ model: name }),
  version: z.strictObject({ model: name, version }),
  run: z.strictObject({ runId }),
  dataset: z.strictObject({ dataset: name }),
  datasetVersion: z.strictObject({ dataset: name, version: datasetVersion }),
  driftReport: z.strictObject({ model: name, window: driftWindow }),
  none: z.strictObject({}),
} as const;

export const queries = {
  none: z.strictObject({}),
  page: z.strictObject({ limit, nextToken }),
  versions: z.strictObject({ limit, nextToken, status: z.optional(z.enum(VERSION_STATUSES)) }),
  audit: z.strictObject({ model: z.optional(name), from: z.optional(isoTime), to: z.optional(isoTime), limit, nextToken }),
  metrics: z.strictObject({ from: z.optional(isoTime), to: z.optional(isoTime) }),
  /** The page token is the last window of the previous page. */
  driftReports: z.strictObject({ limit, nextToken: z.optional(driftWindow) }),
} as const;

export const bodies = {
  decision: z.strictObject({ reason }),
  retrain: z.strictObject({ reason, datasetVersion: z.optional(datasetVersion) }),
  rollback: z.strictObject({ toVersion: z.int().check(z.positive(), z.maximum(9_999_999_999)), reason }),
  groundTruth: z.strictObject({
    records: z
      .array(
        z.strictObject({
          inferenceId: z.string().check(z.minLength(1), z.maxLength(256)),
          label: z.union([z.number(), z.string().check(z.maxLength(1024)), z.boolean()]),
        }),
      )
      .check(z.minLength(1), z.maxLength(1000)),
  }),
  /** The datasets part's registration input; the dataset comes from the path, `registeredBy` is the caller. */
  registerDataset: z.omit(registerDatasetVersionInputSchema, { dataset: true, registeredBy: true }),
} as const;

export type RouteId =
  | 'listModels'
  | 'getModel'
  | 'listVersions'
  | 'getVersion'
  | 'approve'
  | 'reject'
  | 'retrain'
  | 'rollback'
  | 'groundTruth'
  | 'getRun'
  | 'getRunTimeline'
  | 'listDatasets'
  | 'listDatasetVersions'
  | 'getDatasetVersion'
  | 'registerDatasetVersion'
  | 'listAudit'
  | 'whoAmI'
  | 'checkDecision'
  | 'getEvaluation'
  | 'modelMetrics'
  | 'listDriftReports'
  | 'getDriftReport'
  | 'openapi';

export interface RouteSpec {
  readonly id: RouteId;
  readonly method: 'GET' | 'POST';
  /** API Gateway resource path, with `{param}` segments. */
  readonly path: string;
  readonly summary: string;
  readonly params: z.ZodMiniType;
  readonly query: z.ZodMiniType;
  readonly body?: z.ZodMiniType;
  /** HTTP status of a success. @default 200 */
  readonly successStatus?: number;
  /** Who may call it, as the construct grants it. */
  readonly intent: 'read' | 'retrain' | 'approve' | 'submit';
  /** The success body's schema, where the clients type themselves from it. @default - described as an object */
  readonly response?: z.ZodMiniType;
}

/**
 * Success bodies, as the domain returns them: the domain's result types and the TypeScript
 * client's are inferred from these (one contract), and the OpenAPI document describes them.
 */
export const responses = {
  /** `POST …/approve`, `…/reject`: the version now, the decision, and whether the pipeline has it. */
  decision: z.strictObject({
    model: z.string(),
    version: z.int().check(z.positive()),
    status: z.enum(VERSION_STATUSES),
    decision: z.strictObject({ decision: z.enum(['APPROVED', 'REJECTED']), by: z.string(), reason: z.string(), at: z.string() }),
    /**
     * DELIVERED: the pipeline has the decision. OWED: recorded, not yet delivered (Step Functions
     * failed or did not answer); the delivery sweep, or a retry after a minute, finishes it.
     * CLOSED: Step Functions answered that the task was already closed; the version is as the pipeline left it.
     */
    delivery: z.enum(DELIVERY_STATES),
    /** Why the delivery is OWED or CLOSED, in words. */
    message: z.optional(z.string()),
  }),
} as const;

export type DecisionResult = z.output<typeof responses.decision>;

/** The phases a training run's states fall into, in pipeline order (`lambdas/api/timeline.ts` maps states to them). */
export const RUN_PHASES = ['started', 'training', 'evaluation', 'waiting for approval', 'deploying', 'live', 'failed'] as const;
export const STATE_OUTCOMES = ['succeeded', 'failed', 'caught', 'running'] as const;
export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

const timelineState = z.strictObject({
  state: z.string(),
  /** The ASL state type, from the history event's type (`TaskStateEntered` → Task). */
  type: z.string(),
  phase: z.enum(RUN_PHASES),
  enteredAt: z.string(),
  exitedAt: z.optional(z.string()),
  durationMs: z.optional(z.int()),
  /** `caught`: the state failed and a Catch moved on; `running`: not exited yet. */
  outcome: z.enum(STATE_OUTCOMES),
  /** Attempts after the first (the task was scheduled again after a failure). */
  retries: z.int().check(z.nonnegative()),
  /** The last failure of the state (a failed attempt, the state's or the execution's failure). */
  error: z.optional(z.string()),
  /** Its cause, cut to `MAX_CAUSE_LENGTH` characters. */
  cause: z.optional(z.string()),
});

/** `GET /runs/{runId}/timeline`. */
export const runTimelineResponse = z.strictObject({
  runId: z.string(),
  executionArn: z.string(),
  /** The run record's status. */
  status: z.enum(RUN_STATUSES),
  /** The execution's, from its history. */
  executionStatus: z.enum(EXECUTION_STATUSES),
  startedAt: z.string(),
  stoppedAt: z.optional(z.string()),
  durationMs: z.optional(z.int()),
  phases: z.array(
    z.strictObject({
      phase: z.enum(RUN_PHASES),
      enteredAt: z.string(),
      exitedAt: z.optional(z.string()),
      durationMs: z.optional(z.int()),
      outcome: z.enum(['succeeded', 'failed', 'running']),
    }),
  ),
  states: z.array(timelineState),
  /** Why the execution failed (ExecutionFailed / TimedOut / Aborted), and in which state. */
  failure: z.optional(z.strictObject({ state: z.optional(z.string()), error: z.string(), cause: z.optional(z.string()) })),
  /** The history had more events than one request reads; the newest are missing. */
  truncated: z.optional(z.boolean()),
});

export type RunTimeline = z.output<typeof runTimelineResponse>;

export const ROUTES: readonly RouteSpec[] = [
  { id: 'listModels', method: 'GET', path: '/models', summary: 'Models from config with their live and latest version', params: params.none, query: queries.none, intent: 'read' },
  { id: 'getModel', method: 'GET', path: '/models/{model}', summary: 'One model: config summary, live version, deployment history', params: params.model, query: queries.none, intent: 'read' },
  { id: 'listVersions', method: 'GET', path: '/models/{model}/versions', summary: 'Versions newest first, optionally by status', params: params.model, query: queries.versions, intent: 'read' },
  { id: 'getVersion', method: 'GET', path: '/models/{model}/versions/{version}', summary: 'One version with metrics, dataset, training job, run and decision', params: params.version, query: queries.none, intent: 'read' },
  { id: 'approve', method: 'POST', path: '/models/{model}/versions/{version}/approve', summary: 'Approve a pending version; resumes the waiting pipeline', params: params.version, query: queries.none, body: bodies.decision, response: responses.decision, intent: 'approve' },
  { id: 'reject', method: 'POST', path: '/models/{model}/versions/{version}/reject', summary: 'Reject a pending version; ends the run as rejected', params: params.version, query: queries.none, body: bodies.decision, response: responses.decision, intent: 'approve' },
  { id: 'retrain', method: 'POST', path: '/models/{model}/retrain', summary: 'Request a retraining run (honours Idempotency-Key)', params: params.model, query: queries.none, body: bodies.retrain, successStatus: 202, intent: 'retrain' },
  { id: 'rollback', method: 'POST', path: '/models/{model}/rollback', summary: 'Redeploy an earlier approved version', params: params.model, query: queries.none, body: bodies.rollback, successStatus: 202, intent: 'approve' },
  { id: 'groundTruth', method: 'POST', path: '/models/{model}/ground-truth', summary: 'Upload labels for captured inference ids', params: params.model, query: queries.none, body: bodies.groundTruth, successStatus: 201, intent: 'submit' },
  { id: 'getRun', method: 'GET', path: '/runs/{runId}', summary: 'A pipeline run: status, current or failed state, timings', params: params.run, query: queries.none, intent: 'read' },
  { id: 'getRunTimeline', method: 'GET', path: '/runs/{runId}/timeline', summary: 'A run\'s states as a timeline from its execution history: phases and states with durations, retries, and the failure cause', params: params.run, query: queries.none, response: runTimelineResponse, intent: 'read' },
  { id: 'listDatasets', method: 'GET', path: '/datasets', summary: 'Datasets the configured models train on, with their latest and latest passed versions', params: params.none, query: queries.none, intent: 'read' },
  { id: 'listDatasetVersions', method: 'GET', path: '/datasets/{dataset}/versions', summary: 'Dataset versions newest first', params: params.dataset, query: queries.page, intent: 'read' },
  { id: 'getDatasetVersion', method: 'GET', path: '/datasets/{dataset}/versions/{version}', summary: 'One dataset version with its objects and validation', params: params.datasetVersion, query: queries.none, intent: 'read' },
  { id: 'registerDatasetVersion', method: 'POST', path: '/datasets/{dataset}/versions', summary: 'Register the next dataset version from objects under datasets/<dataset>/ (exact S3 versions, checksums, validation)', params: params.dataset, query: queries.none, body: bodies.registerDataset, successStatus: 201, intent: 'submit' },
  { id: 'listAudit', method: 'GET', path: '/audit', summary: 'The decision and deployment trail', params: params.none, query: queries.audit, intent: 'read' },
  { id: 'whoAmI', method: 'GET', path: '/caller', summary: 'Who the API takes the caller to be (the canonical principal the audit records)', params: params.none, query: queries.none, intent: 'read' },
  { id: 'checkDecision', method: 'GET', path: '/models/{model}/versions/{version}/decision-check', summary: 'Whether the caller may approve or reject the version now, and why not (granted with approve, so IAM refuses non-approvers first)', params: params.version, query: queries.none, intent: 'approve' },
  { id: 'getEvaluation', method: 'GET', path: '/models/{model}/versions/{version}/evaluation', summary: 'The version\'s evaluation report (candidate and champion on the same holdout) with the gate\'s thresholds', params: params.version, query: queries.none, intent: 'read' },
  { id: 'modelMetrics', method: 'GET', path: '/models/{model}/metrics', summary: 'Drift over a window (at most 15 days): DriftScore, model quality, per-feature PSI/JS/KS, and the drift alarm\'s state', params: params.model, query: queries.metrics, intent: 'read' },
  { id: 'listDriftReports', method: 'GET', path: '/models/{model}/drift/reports', summary: 'Windows with a drift report, newest first', params: params.model, query: queries.driftReports, intent: 'read' },
  { id: 'getDriftReport', method: 'GET', path: '/models/{model}/drift/reports/{window}', summary: 'One window\'s drift report (report.json)', params: params.driftReport, query: queries.none, intent: 'read' },
  { id: 'openapi', method: 'GET', path: '/openapi.json', summary: 'This API as an OpenAPI 3 document', params: params.none, query: queries.none, intent: 'read' },
];

/** Every error response. */
export const errorResponse = z.strictObject({
  error: z.string(),
  message: z.string(),
  details: z.optional(z.array(z.strictObject({ field: z.optional(z.string()), message: z.string() }))),
});
