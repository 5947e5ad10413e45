import { describe, expect, it } from 'vitest';
import { loadTrainingPipelineDefinition } from '../../lib/execution-bound';
import { DeploymentInFlight } from '../../lambdas/pipeline/deployment-lease';
import { StepUnavailable } from '../../lambdas/pipeline/handler';
import { DatasetNotValidated, EndpointBusy, EndpointUnusable } from '../../lambdas/pipeline/steps';
import { rejectionFailure } from '../../lambdas/shared/approval';
import { PIPELINE_ERRORS } from '../../lambdas/shared/errors';

/**
 * The error-name seam (issue 11, ../shared/STYLE.md "Seams"): the state machine's Retry and Catch
 * match names the handlers raise. A name the ASL matches that nothing raises is a retry that
 * never happens or a branch that never runs; here each side is held against `PIPELINE_ERRORS`.
 */

/** How each name in `PIPELINE_ERRORS` reaches Step Functions: an error the steps Lambda throws, or the API's SendTaskFailure. */
const RAISED: Readonly<Record<keyof typeof PIPELINE_ERRORS, { readonly name: string; readonly by: 'steps' | 'callback' }>> = {
  unavailable: { name: new StepUnavailable('x').name, by: 'steps' },
  datasetNotValidated: { name: new DatasetNotValidated('x').name, by: 'steps' },
  deploymentInFlight: { name: new DeploymentInFlight('x').name, by: 'steps' },
  endpointBusy: { name: new EndpointBusy('x').name, by: 'steps' },
  endpointUnusable: { name: new EndpointUnusable('x').name, by: 'steps' },
  rejected: { name: rejectionFailure({ by: 'alice', reason: 'x', at: '2026-01-01T00:00:00.000Z' }).error, by: 'callback' },
};

/**
 * The Amazon States Language's predefined error names
 * (https://states-language.net/spec.html#appendix-a, "Predefined Error Codes"; Step Functions adds
 * States.HeartbeatTimeout's siblings listed in its developer guide, "Error names").
 */
const STATES_ERRORS = new Set([
  'States.ALL',
  'States.DataLimitExceeded',
  'States.ExceedToleratedFailureThreshold',
  'States.HeartbeatTimeout',
  'States.Http.Socket',
  'States.IntrinsicFailure',
  'States.ItemReaderFailed',
  'States.NoChoiceMatched',
  'States.ParameterPathFailure',
  'States.Permissions',
  'States.QueryEvaluationError',
  'States.ResultPathMatchFailure',
  'States.ResultWriterFailed',
  'States.Runtime',
  'States.TaskFailed',
  'States.Timeout',
]);

/**
 * The error-name prefix of a Task's service integration: Step Functions names a service's errors
 * `<Service>.<Exception>` (e.g. `SageMaker.AmazonSageMakerException`, `Lambda.ServiceException`,
 * `Ssm.ThrottlingException`; developer guide, "Handling errors in Step Functions workflows").
 */
function servicePrefixOf(resource: string): string | undefined {
  if (resource === '${StepsFunctionArn}' || resource.startsWith('arn:aws:states:::lambda:')) return 'Lambda.';
  const service = /^arn:aws:states:::(?:aws-sdk:)?([a-z0-9]+):/.exec(resource)?.[1];
  if (service === 'sagemaker') return 'SageMaker.';
  if (service === 'ssm') return 'Ssm.';
  return undefined;
}

interface TaskLike {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Readonly<Record<string, unknown>>;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Branches?: readonly { readonly States: Readonly<Record<string, TaskLike>> }[];
  readonly ItemProcessor?: { readonly States: Readonly<Record<string, TaskLike>> };
}

/** Every state, nested ones (Parallel branches, Map processors) included. */
function* statesOf(states: Readonly<Record<string, TaskLike>>): Generator<[string, TaskLike]> {
  for (const [name, state] of Object.entries(states)) {
    yield [name, state];
    for (const branch of state.Branches ?? []) yield* statesOf(branch.States);
    if (state.ItemProcessor) yield* statesOf(state.ItemProcessor.States);
  }
}

/** Each error name a Retry or Catch matches that no one can raise at that state, as `state: name (why)`. */
function unraisable(states: Readonly<Record<string, TaskLike>>): string[] {
  const byName = new Map(Object.values(RAISED).map((r) => [r.name, r.by]));
  const problems: string[] = [];
  for (const [stateName, state] of statesOf(states)) {
    const resource = state.Resource ?? '';
    const invokesSteps = resource === '${StepsFunctionArn}' || (resource.startsWith('arn:aws:states:::lambda:invoke') && state.Parameters?.FunctionName === '${StepsFunctionArn}');
    const waitsForCallback = resource.endsWith('.waitForTaskToken');
    const prefix = servicePrefixOf(resource);
    for (const rule of [...(state.Retry ?? []), ...(state.Catch ?? [])]) {
      for (const name of rule.ErrorEquals) {
        if (name.startsWith('States.')) {
          if (!STATES_ERRORS.has(name)) problems.push(`${stateName}: ${name} (not a States.* error name)`);
        } else if (name.startsWith('Caretaker.')) {
          const by = byName.get(name);
          if (!by) problems.push(`${stateName}: ${name} (not in PIPELINE_ERRORS)`);
          else if (by === 'steps' && !invokesSteps) problems.push(`${stateName}: ${name} (raised by the steps Lambda, which this state does not invoke)`);
          else if (by === 'callback' && !waitsForCallback) problems.push(`${stateName}: ${name} (sent by SendTaskFailure, but this state takes no task token)`);
        } else if (!prefix || !name.startsWith(prefix)) {
          problems.push(`${stateName}: ${name} (not an error of this state's integration ${resource})`);
        }
      }
    }
  }
  return problems;
}

const definition = loadTrainingPipelineDefinition() as unknown as { States: Record<string, TaskLike> };

describe('pipeline error names', () => {
  it('are raised under the names PIPELINE_ERRORS gives them, every one of them', () => {
    for (const [key, raised] of Object.entries(RAISED)) expect(raised.name).toBe(PIPELINE_ERRORS[key as keyof typeof PIPELINE_ERRORS]);
  });

  it('in every Retry and Catch of the ASL are ones the state can get: a handler or callback raises it, a States.* name, or its integration\'s', () => {
    expect(unraisable(definition.States)).toEqual([]);
  });

  it('the ASL matches the retried and caught pipeline errors it is meant to (a rename on one side fails here)', () => {
    const matched = new Set([...statesOf(definition.States)].flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals)));
    for (const name of [PIPELINE_ERRORS.unavailable, PIPELINE_ERRORS.deploymentInFlight, PIPELINE_ERRORS.rejected]) expect(matched).toContain(name);
  });

  it('refuses a misspelt name, a steps error on a SageMaker task, a rejection outside a callback task and another service\'s error', () => {
    const states: Record<string, TaskLike> = {
      Steps: { Type: 'Task', Resource: '${StepsFunctionArn}', Retry: [{ ErrorEquals: ['Caretaker.Unavialable', 'States.Timeout'] }] },
      Train: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync', Catch: [{ ErrorEquals: [PIPELINE_ERRORS.unavailable, 'Lambda.ServiceException'] }] },
      Nested: {
        Type: 'Parallel',
        Branches: [{ States: { Record: { Type: 'Task', Resource: '${StepsFunctionArn}', Catch: [{ ErrorEquals: [PIPELINE_ERRORS.rejected, 'States.Tiemout'] }] } } }],
      },
    };
    expect(unraisable(states)).toEqual([
      'Steps: Caretaker.Unavialable (not in PIPELINE_ERRORS)',
      'Train: Caretaker.Unavailable (raised by the steps Lambda, which this state does not invoke)',
      'Train: Lambda.ServiceException (not an error of this state\'s integration arn:aws:states:::sagemaker:createTrainingJob.sync)',
      'Record: Caretaker.Rejected (sent by SendTaskFailure, but this state takes no task token)',
      'Record: States.Tiemout (not a States.* error name)',
    ]);
  });
});
