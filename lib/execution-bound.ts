/**
 * How long one execution of the training pipeline can run, computed from the ASL itself (every
 * Task's TimeoutSeconds, Retry and backoff, the loops' caps) and a model's rendered settings
 * (training and evaluation task timeouts, instance types, approval timeout). The state machine's
 * top-level TimeoutSeconds, the retraining lease and the deployment lease are all derived from
 * this one computation (RELIABILITY rows 26, 27), so an execution cannot outlive its lease.
 *
 * It is an upper bound, not an estimate: each Task state is counted at its worst case (every
 * attempt its Retry allows, each at its full timeout, with the longest backoff between them),
 * states on a loop are counted as many times as the loop's cap allows, every other Task once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModelSettings } from '../lambdas/pipeline/settings';

/** The training pipeline's ASL file (state-machines/), with its `${…}` placeholders. */
export const TRAINING_PIPELINE_DEFINITION = fileURLToPath(new URL('../state-machines/training-pipeline.asl.json', import.meta.url));

export function loadTrainingPipelineDefinition(): AslDefinition {
  return JSON.parse(readFileSync(TRAINING_PIPELINE_DEFINITION, 'utf8')) as AslDefinition;
}

export interface AslRetrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}

export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly HeartbeatSeconds?: number;
  readonly Retry?: readonly AslRetrier[];
  readonly Choices?: readonly Record<string, unknown>[];
  readonly Parameters?: Record<string, unknown>;
  readonly Next?: string;
}

export interface AslDefinition {
  readonly TimeoutSeconds?: number;
  readonly States: Readonly<Record<string, AslState>>;
}

/**
 * Errors SageMaker raises when it refuses a request, before any job exists (ResourceLimitExceeded
 * on CreateTrainingJob/CreateProcessingJob): a retried refusal costs one API call, not a task timeout.
 */
const REFUSALS_AT_SUBMISSION = new Set(['SageMaker.ResourceLimitExceededException']);
/** What one refused API call may take, at most. */
const API_CALL_SECONDS = 60;

/** The Retry defaults of the Amazon States Language. */
const DEFAULT_INTERVAL = 1;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF = 2;

/** The longest the retriers of a state can wait between attempts, and how many attempts run the task fully. */
export function retryCost(retry: readonly AslRetrier[] = []): { readonly fullAttempts: number; readonly waitSeconds: number } {
  let fullAttempts = 1;
  let waitSeconds = 0;
  for (const retrier of retry) {
    const attempts = retrier.MaxAttempts ?? DEFAULT_ATTEMPTS;
    for (let i = 0; i < attempts; i++) {
      const delay = (retrier.IntervalSeconds ?? DEFAULT_INTERVAL) * (retrier.BackoffRate ?? DEFAULT_BACKOFF) ** i;
      waitSeconds += Math.min(delay, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
    }
    if (retrier.ErrorEquals.every((error) => REFUSALS_AT_SUBMISSION.has(error))) waitSeconds += attempts * API_CALL_SECONDS;
    else fullAttempts += attempts;
  }
  return { fullAttempts, waitSeconds };
}

/** The value a `TimeoutSecondsPath` reads (`$.config.model.<path>`), from the model's settings. */
function timeoutFromSettings(path: string, settings: ModelSettings): number {
  const match = /^\$\.config\.model\.(.+)$/.exec(path);
  if (!match) throw new Error(`execution bound: TimeoutSecondsPath ${path} does not read the model's settings`);
  let value: unknown = settings;
  const [, fieldPath = ''] = match;
  for (const part of fieldPath.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  if (typeof value !== 'number') throw new Error(`execution bound: ${path} is not a number in the settings of ${settings.model}`);
  return value;
}

/** One visit of a Task state at its worst: every attempt at its full timeout, the longest waits. */
export function taskWorstSeconds(name: string, state: AslState, settings: ModelSettings): number {
  const timeout = state.TimeoutSeconds ?? (state.TimeoutSecondsPath ? timeoutFromSettings(state.TimeoutSecondsPath, settings) : undefined);
  if (timeout === undefined) throw new Error(`execution bound: Task ${name} has no TimeoutSeconds`);
  const { fullAttempts, waitSeconds } = retryCost(state.Retry);
  return fullAttempts * timeout + waitSeconds;
}

function state(definition: AslDefinition, name: string): AslState {
  const found = definition.States[name];
  if (!found) throw new Error(`execution bound: the ASL has no state ${name}`);
  return found;
}

/** A number a Choice compares with, found by its variable and operator (the loops' caps live in the ASL). */
function choiceNumber(definition: AslDefinition, stateName: string, variable: string, operator: string): number {
  const search = (rule: unknown): number | undefined => {
    if (typeof rule !== 'object' || rule === null) return undefined;
    const record = rule as Record<string, unknown>;
    if (record.Variable === variable && typeof record[operator] === 'number') return record[operator];
    const nestedRules = [...(Array.isArray(record.And) ? (record.And as unknown[]) : []), ...(Array.isArray(record.Or) ? (record.Or as unknown[]) : [])];
    for (const nested of nestedRules) {
      const found = search(nested);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const choice of state(definition, stateName).Choices ?? []) {
    const found = search(choice);
    if (found !== undefined) return found;
  }
  throw new Error(`execution bound: ${stateName} has no ${operator} on ${variable}`);
}

function passNumber(definition: AslDefinition, stateName: string, field: string): number {
  const value = state(definition, stateName).Parameters?.[field];
  if (typeof value !== 'number') throw new Error(`execution bound: ${stateName}.Parameters.${field} is not a number`);
  return value;
}

/** Σ of `count` waits starting at `first`, doubling while below `doublesBelow`. */
function doublingWaits(first: number, count: number, doublesBelow = Number.POSITIVE_INFINITY): number {
  let total = 0;
  let delay = first;
  for (let i = 0; i < count; i++) {
    total += delay;
    if (delay < doublesBelow) delay *= 2;
  }
  return total;
}

/** States on the pipeline's loops, bounded below by their caps rather than counted once. */
export const LOOP_TASKS: ReadonlySet<string> = new Set(['TrainModel', 'Evaluate', 'DescribeEndpoint']);

/** Tasks only one deployment mode reaches (their TimeoutSecondsPath reads that mode's settings). */
export const MODE_TASKS: Readonly<Record<string, ModelSettings['deployment']['mode']>> = { ScoreWithTransform: 'batch' };

export interface ExecutionBound {
  readonly model: string;
  readonly seconds: number;
  /** The deploy path alone, from StartDeployment to RecordDeployment: the deployment lease. */
  readonly deploySeconds: number;
  readonly parts: Readonly<Record<string, number>>;
}

/** The longest one execution for `settings`' model can run, by parts. */
export function executionBound(definition: AslDefinition, settings: ModelSettings): ExecutionBound {
  const parts: Record<string, number> = {};

  // Training: per instance type one attempt plus the capacity retries, plus the run's API-error retries.
  const capacityRetries = choiceNumber(definition, 'TrainingCapacityUnavailable', '$.training.capacityFailures', 'NumericLessThan');
  const trainingApiRetries = choiceNumber(definition, 'ClassifyTrainingApiError', '$.training.apiRetries', 'NumericLessThan');
  const types = settings.training.instanceTypes.length;
  const trainingAttempts = types * (1 + capacityRetries) + trainingApiRetries;
  parts.training =
    trainingAttempts * taskWorstSeconds('TrainModel', state(definition, 'TrainModel'), settings) +
    types * doublingWaits(passNumber(definition, 'PlanTraining', 'backoffSeconds'), capacityRetries) +
    doublingWaits(passNumber(definition, 'PlanTraining', 'apiBackoffSeconds'), trainingApiRetries);

  const evaluationApiRetries = choiceNumber(definition, 'ClassifyEvaluationApiError', '$.evaluation.apiRetries', 'NumericLessThan');
  parts.evaluation =
    (1 + evaluationApiRetries) * taskWorstSeconds('Evaluate', state(definition, 'Evaluate'), settings) +
    doublingWaits(passNumber(definition, 'PlanCandidateOnlyEvaluation', 'apiBackoffSeconds'), evaluationApiRetries);

  // Endpoint polling: at most maxPolls + 1 describes, each after a wait that doubles up to its cap.
  const maxPolls = choiceNumber(definition, 'EndpointStatus', '$.poll.polls', 'NumericGreaterThanEquals');
  const doublesBelow = choiceNumber(definition, 'EndpointStatus', '$.poll.delaySeconds', 'NumericGreaterThanEquals');
  parts.endpointPolling =
    (maxPolls + 1) * taskWorstSeconds('DescribeEndpoint', state(definition, 'DescribeEndpoint'), settings) +
    doublingWaits(passNumber(definition, 'PlanEndpointPolling', 'delaySeconds'), maxPolls + 1, doublesBelow);

  // Every other Task once (the approval wait at the model's approval timeout).
  let deployTasks = 0;
  let otherTasks = 0;
  for (const [name, s] of Object.entries(definition.States)) {
    if (s.Type !== 'Task' || LOOP_TASKS.has(name)) continue;
    const only = MODE_TASKS[name];
    if (only !== undefined && only !== settings.deployment.mode) continue;
    const seconds = taskWorstSeconds(name, s, settings);
    if (DEPLOY_TASKS.has(name)) deployTasks += seconds;
    else otherTasks += seconds;
  }
  // The deploy path's SageMaker API calls: a throttled or internally failed call is sent again
  // (ClassifyDeployApiError, at most its cap per rollout), each time at the worst of those calls.
  const deployApiRetries = choiceNumber(definition, 'ClassifyDeployApiError', '$.deployApi.retries', 'NumericLessThan');
  const worstDeployCall = Math.max(...DEPLOY_API_CALLS.map((name) => taskWorstSeconds(name, state(definition, name), settings)));
  deployTasks += deployApiRetries * worstDeployCall + doublingWaits(passNumber(definition, 'PlanDeployApiCalls', 'backoffSeconds'), deployApiRetries);
  parts.deployTasks = deployTasks;
  parts.otherTasks = otherTasks;
  const seconds = Object.values(parts).reduce((sum, value) => sum + value, 0);
  return { model: settings.model, seconds: Math.ceil(seconds), deploySeconds: Math.ceil(deployTasks + parts.endpointPolling), parts };
}

/** The deploy path's SageMaker API calls that ClassifyDeployApiError may send again. */
export const DEPLOY_API_CALLS: readonly string[] = ['CreateModel', 'CreateEndpointConfig', 'CreateEndpointConfigOnInstanceStorage', 'CreateServerlessEndpointConfig', 'CreateEndpoint', 'UpdateEndpoint'];

/**
 * The Task states of the deploy path (StartDeployment … RecordDeployment), outside the polling
 * loop, every mode's branch counted (an upper bound: one execution takes one branch).
 */
export const DEPLOY_TASKS: ReadonlySet<string> = new Set([
  'StartDeployment',
  'DescribeLiveEndpoint',
  'ReconcileEndpoint',
  'CreateModel',
  'CreateEndpointConfig',
  'CreateEndpointConfigOnInstanceStorage',
  'CreateServerlessEndpointConfig',
  'ScoreWithTransform',
  'RecordBatchDeployment',
  'CreateEndpoint',
  'UpdateEndpoint',
  'RecordDeployment',
]);
