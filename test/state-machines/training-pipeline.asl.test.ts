import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APPROVAL_REJECTED_ERROR } from '../../lambdas/shared/approval';
import { placeholdersOf } from '../../local/stepfunctions/runner';
import { TRAINING_PIPELINE_ASL } from '../../local/stepfunctions/training-pipeline';

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSecondsPath?: string;
  Retry?: { ErrorEquals: string[]; BackoffRate?: number; IntervalSeconds?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Next?: string;
}

const text = readFileSync(TRAINING_PIPELINE_ASL, 'utf8');
const definition = JSON.parse(text) as { StartAt: string; States: Record<string, State> };
const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');

describe('state-machines/training-pipeline.asl.json', () => {
  it('uses exactly the placeholders the TrainingPipeline construct substitutes', () => {
    expect([...placeholdersOf(text)].sort()).toEqual(['AlertsTopicArn', 'KmsKeyArn', 'SageMakerRoleArn', 'SettingsParameterPrefix', 'StepsFunctionArn']);
  });

  it('gives every Task a timeout, a Retry with backoff and a Catch', () => {
    expect(tasks.length).toBeGreaterThan(10);
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      for (const retry of state.Retry ?? []) expect(retry.BackoffRate ?? 1, name).toBeGreaterThanOrEqual(2);
      expect(state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), name).toBe(true);
    }
  });

  it('sends every caught failure to a state that records it (and the alert after it)', () => {
    const recorders = new Set(['RecordFailure', 'RecordDeployFailure', 'RecordExpiry', 'RecordRejection', 'PublishFailureAlert', 'RunFailed']);
    const failureTargets = tasks.flatMap(([, s]) => (s.Catch ?? []).filter((c) => c.ErrorEquals.includes('States.ALL')).map((c) => c.Next));
    // A refused rollback has changed nothing (no run, no version moved): it only alerts.
    // Once a CreateEndpoint/UpdateEndpoint may have been sent, DescribeEndpoint says what is live before the failure is recorded.
    const allowed = new Set([...recorders, 'ClassifyTrainingFailure', 'TrainingCapacityUnavailable', 'RollbackRefused', 'DescribeEndpointAfterFailure',
      // The version is LIVE by then: a baseline that cannot be built is recorded on it, and the run still succeeds.
      'RecordBaselineFailure', 'Deployed']);
    for (const target of failureTargets) expect(allowed.has(target), target).toBe(true);
    expect(definition.States.DescribeEndpointAfterFailure?.Next).toBe('RecordDeployFailure');
    for (const recorder of ['RecordFailure', 'RecordDeployFailure', 'RecordExpiry', 'RollbackRefused']) expect(definition.States[recorder]?.Next).toBe('PublishFailureAlert');
  });

  it('waits for approval with a per-model timeout and heartbeat, catching the rejection the API sends', () => {
    const wait = definition.States.WaitForApproval!;
    expect(wait.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(wait.TimeoutSecondsPath).toBe('$.config.model.approval.timeoutSeconds');
    expect(wait.HeartbeatSecondsPath).toBe('$.config.model.approval.heartbeatSeconds');
    expect(wait.Catch?.[0]).toMatchObject({ ErrorEquals: [APPROVAL_REJECTED_ERROR], Next: 'RecordRejection' });
    expect(wait.Catch?.[1]).toMatchObject({ ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'], Next: 'RecordExpiry' });
  });

  it('retries quota refusals on CreateTrainingJob with exponential backoff before falling back, and classifies every other SageMaker API error by its Cause', () => {
    const train = definition.States.TrainModel!;
    expect(train.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(train.Retry?.[0]).toMatchObject({ ErrorEquals: ['SageMaker.ResourceLimitExceededException'], BackoffRate: 2 });
    expect(train.Catch?.[0]).toMatchObject({ ErrorEquals: ['SageMaker.ResourceLimitExceededException'], Next: 'TrainingCapacityUnavailable' });
    expect(train.Catch?.[1]).toMatchObject({ ErrorEquals: ['SageMaker.AmazonSageMakerException'], Next: 'ClassifyTrainingApiError' });
    expect(definition.States.Evaluate?.Catch?.[0]).toMatchObject({ ErrorEquals: ['SageMaker.AmazonSageMakerException'], Next: 'ClassifyEvaluationApiError' });
  });

  it('RELIABILITY 28: matches only error names Step Functions raises for SageMaker (no SDK error names on optimized integrations)', () => {
    // Optimized integrations: the Java SDK v1 base class, or a modeled error's class (local/stepfunctions/sagemaker-errors.ts).
    const optimized = new Set(['SageMaker.AmazonSageMakerException', 'SageMaker.ResourceLimitExceededException', 'SageMaker.ResourceInUseException', 'SageMaker.ResourceNotFoundException']);
    const sagemakerStates = tasks.filter(([, s]) => s.Resource?.startsWith('arn:aws:states:::sagemaker:'));
    expect(sagemakerStates.length).toBeGreaterThanOrEqual(6);
    for (const [name, state] of sagemakerStates) {
      const names = [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap((r) => r.ErrorEquals);
      for (const error of names) expect(error.startsWith('States.') || optimized.has(error), `${name}: ${error}`).toBe(true);
      expect(names, name).toContain('SageMaker.AmazonSageMakerException');
    }
    // No bare SDK names anywhere (Step Functions prefixes every service error).
    expect(text).not.toMatch(/"ThrottlingException"|SageMaker\.CapacityError|SageMaker\.InternalFailure"|SageMaker\.ServiceUnavailable"/);
  });

  it('RELIABILITY 28: the deploy path\'s SageMaker calls never retry SageMaker.AmazonSageMakerException blindly: they catch it and ClassifyDeployApiError reads the code', () => {
    const calls = ['CreateModel', 'CreateEndpointConfig', 'CreateEndpointConfigOnInstanceStorage', 'CreateServerlessEndpointConfig', 'CreateEndpoint', 'UpdateEndpoint'];
    for (const name of calls) {
      const state = definition.States[name]!;
      expect(state.Retry?.flatMap((r) => r.ErrorEquals), name).not.toContain('SageMaker.AmazonSageMakerException');
      expect(state.Catch?.[0], name).toMatchObject({ ErrorEquals: ['SageMaker.AmazonSageMakerException'], Next: `Note${name}ApiError` });
      expect(definition.States[`Note${name}ApiError`]?.Next).toBe('ClassifyDeployApiError');
    }
    // Every call the classifier sends again is one the catch came from.
    const again = definition.States.RetryDeployApiCallByName as unknown as { Choices: { StringEquals: string; Next: string }[] };
    expect(again.Choices.map((c) => [c.StringEquals, c.Next])).toEqual(calls.map((c) => [c, c]));
  });

  it('polls the endpoint with Wait states, never back-to-back', () => {
    expect(definition.States.DescribeEndpoint?.Resource).toBe('arn:aws:states:::aws-sdk:sagemaker:describeEndpoint');
    const toDescribe = Object.entries(definition.States).filter(([, s]) => s.Next === 'DescribeEndpoint').map(([n]) => n);
    expect(toDescribe).toEqual(['WaitForEndpoint']);
  });
});
