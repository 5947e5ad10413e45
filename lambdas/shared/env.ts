/**
 * The names of every environment variable a construct sets and a handler reads: one definition,
 * imported by `lib/constructs/*` (which set them) and by each handler's environment schema
 * (which parses them once, at module load, in the function's `*.handler.ts` entry).
 *
 * A handler never reads `process.env` anywhere else, and never defaults a missing variable to
 * `''`: a function deployed without a variable it needs fails at start-up, naming it.
 */
import * as z from './zod';

export const ENV = {
  /** The metadata table (every function that reads or writes it). */
  tableName: 'TABLE_NAME',
  /** The artifacts bucket (models, evaluations, capture, baselines, ground truth). */
  artifactsBucket: 'ARTIFACTS_BUCKET',
  /** The datasets bucket (registered objects under `datasets/<dataset>/`). */
  datasetsBucket: 'DATASETS_BUCKET',
  /** The dataset catalog as JSON (`datasetCatalogFromConfig`; `parseCatalog` reads it). */
  datasetsCatalog: 'DATASETS_CATALOG',
  /** The retraining FIFO queue (API, new-data counter, intake). */
  retrainingQueueUrl: 'RETRAINING_QUEUE_URL',
  /** The training pipeline state machine the retraining starter starts. */
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The deployment (rollback) state machine the API starts. */
  deployStateMachineArn: 'DEPLOY_STATE_MACHINE_ARN',
  /** The SNS topic approval requests go to. */
  approvalsTopicArn: 'APPROVALS_TOPIC_ARN',
  /** The write-once audit bucket the audit copier writes to. */
  auditBucket: 'AUDIT_BUCKET',
  /** How many days back the audit reconciler proves the write-once copy complete. */
  auditReconcileDays: 'AUDIT_RECONCILE_DAYS',
  /** The API's model summaries as JSON. */
  models: 'MODELS',
  /** The API's drift alarm name per model, as JSON `{ "<model>": "<alarm name>" }` (optional). */
  driftAlarms: 'DRIFT_ALARMS',
  /** The bus registry events go to (the events publisher). */
  eventBusName: 'EVENT_BUS_NAME',
  /** Base URL of the Caretaker console, linked from ApprovalRequested events (optional). */
  consoleUrl: 'CONSOLE_URL',
  /**
   * The one web origin (`https://host[:port]`, the console's URL) whose pages may read the API's
   * responses: the API function's `Access-Control-Allow-Origin` (optional; unset, no CORS header).
   */
  consoleOrigin: 'CONSOLE_ORIGIN',
  /** The retraining intake's model names, comma-separated. */
  modelNames: 'MODEL_NAMES',
  /** Prefix of the alarm names the retraining intake acts on. */
  alarmNamePrefix: 'ALARM_NAME_PREFIX',
  /** The starter's per-model policies as compact JSON. */
  retrainingPolicies: 'RETRAINING_POLICIES',
  /** The releaser's SageMaker endpoint per model, as JSON `{ "<model>": "<endpoint name>" }` (optional): their deployment leases are freed when the holding execution ends. */
  deploymentEndpoints: 'DEPLOYMENT_ENDPOINTS',
  /** How long the starter's claim on a request lasts, in seconds. */
  claimSeconds: 'CLAIM_SECONDS',
  /** The drift Distributed Map state machine the analyzer hands windows too big for one function to (optional; unset, every window is a single pass). */
  driftMapStateMachineArn: 'DRIFT_MAP_STATE_MACHINE_ARN',
  /** How far back the drift analyzer looks for ground-truth labels (hours; optional). */
  labelLookbackHours: 'LABEL_LOOKBACK_HOURS',
  /** Powertools: the service name on every log line and metric. */
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  /** Powertools: the CloudWatch namespace of the function's metrics. */
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Variables every `CaretakerFunction` sets for every function (not part of a handler's schema). */
export const COMMON_ENV_NAMES: readonly string[] = [ENV.powertoolsServiceName, ENV.powertoolsMetricsNamespace, 'NODE_OPTIONS'];

/** Field schemas for the values the variables carry. */
export const envValue = {
  name: z.string().check(z.minLength(1, 'is not set')),
  arn: z.string().check(z.startsWith('arn:', 'is not an ARN')),
  url: z.url('is not a URL'),
  /** A web origin as browsers send it in `Origin`: `https://` and a host (and port), no path, no trailing slash. */
  origin: z.string().check(z.regex(/^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'is not an https origin (https://host[:port], no path)')),
  /** JSON text, parsed and then checked with `schema`. */
  json: <S extends z.core.$ZodType>(schema: S) =>
    z.pipe(
      z.pipe(
        z.string().check(z.minLength(1, 'is not set')),
        z.transform((text: string, ctx): unknown => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            ctx.issues.push({ code: 'custom', message: 'is not JSON', input: text });
            return z.NEVER;
          }
        }),
      ),
      schema,
    ),
} as const;

/**
 * Parses a function's environment with its schema, once (call it at module load). Throws one
 * error naming every missing or malformed variable.
 */
export function parseEnvironment<S extends z.core.$ZodType>(schema: S, environment: Readonly<Record<string, string | undefined>> = process.env): z.output<S> {
  const result = z.safeParse(schema, environment);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  throw new Error(`the function's environment is not what its construct sets: ${problems.join('; ')}`);
}

/** The variable names a handler's environment schema declares (for the construct ⇄ handler agreement test). */
export function environmentNames(schema: z.ZodMiniObject): { required: string[]; optional: string[] } {
  const required: string[] = [];
  const optional: string[] = [];
  for (const [name, field] of Object.entries(schema.shape)) {
    (z.safeParse(field, undefined).success ? optional : required).push(name);
  }
  return { required, optional };
}
