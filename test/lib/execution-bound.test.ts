/**
 * Timeouts by construction (RELIABILITY rows 26, 27), checked on the synthesized template:
 * every state that invokes a Lambda function times out after the function does, the state
 * machine has a top-level TimeoutSeconds that bounds every configured model's execution, and
 * each model's retraining lease outlasts it.
 */
import { describe, expect, it } from 'vitest';
import { DEPLOY_TASKS, executionBound, LOOP_TASKS, loadTrainingPipelineDefinition, type AslDefinition } from '../../lib/execution-bound';
import { BOUND_NAMES, executionBoundOf, renderModelSettings } from '../../lib/pipeline-settings';
import { exampleConfig, synthCaretaker } from '../support/stack';

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

describe('timeouts by construction', () => {
  const { template } = synthCaretaker();
  const resources = (template.toJSON() as { Resources: Record<string, CfnResource> }).Resources;
  const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const pipeline = machines.find((m) => JSON.stringify(m.Properties.DefinitionString ?? '').includes('TrainModel'))!;
  /** The definition as deployed: the template's DefinitionString (Fn::Join of literal parts and tokens). */
  const definitionText = (() => {
    const value = pipeline.Properties.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
    if (typeof value === 'string') return value;
    return value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '"<token>"')).join('');
  })();
  const deployed = JSON.parse(definitionText.replace(/"<token>"/g, '')) as AslDefinition;
  const substitutions = pipeline.Properties.DefinitionSubstitutions as Record<string, unknown>;

  it('RELIABILITY 26: every state that invokes a Lambda function has a TimeoutSeconds above that function\'s timeout', () => {
    const lambdaTasks = Object.entries(deployed.States).filter(([, s]) => s.Type === 'Task' && /^\$\{([A-Za-z]+)\}$/.test(s.Resource ?? ''));
    expect(lambdaTasks.length).toBeGreaterThan(10);
    for (const [name, state] of lambdaTasks) {
      const placeholder = /^\$\{([A-Za-z]+)\}$/.exec(state.Resource!)![1]!;
      // ${StepsFunctionArn} → { Fn::GetAtt: [<function logical id>, Arn] } → that function's Timeout.
      const [logicalId] = (substitutions[placeholder] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      const fn = resources[logicalId];
      expect(fn?.Type, name).toBe('AWS::Lambda::Function');
      const functionTimeout = Number(fn!.Properties.Timeout ?? 3);
      expect(state.TimeoutSeconds, name).toBeGreaterThan(functionTimeout);
      // Steps are idempotent (conditional writes): a timed-out attempt is retried.
      expect(state.Retry?.some((r) => r.ErrorEquals.includes('States.Timeout')), name).toBe(true);
    }
  });

  it('RELIABILITY 27: the state machine\'s TimeoutSeconds bounds every configured model\'s execution, and each retraining lease outlasts it', () => {
    const config = exampleConfig();
    expect(deployed.TimeoutSeconds).toBeDefined();
    const starter = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties.Environment ?? {}).includes('RETRAINING_POLICIES'),
    );
    const policies = JSON.parse(String((starter!.Properties.Environment as { Variables: Record<string, string> }).Variables.RETRAINING_POLICIES)) as Record<string, [string, number, number, number]>;
    for (const model of config.models) {
      const bound = executionBoundOf(model);
      expect(deployed.TimeoutSeconds!, model.name).toBeGreaterThanOrEqual(bound.seconds);
      const leaseSeconds = policies[model.name]![3];
      expect(leaseSeconds, model.name).toBeGreaterThanOrEqual(deployed.TimeoutSeconds!);
      // The deployment lease covers the deploy path; the approval wait alone is in the bound.
      expect(bound.deploySeconds).toBeLessThan(bound.seconds);
      expect(bound.seconds).toBeGreaterThan(model.approval.timeoutSeconds);
    }
  });

  it('is computed from the ASL: one more retry or a longer poll cap makes the bound longer', () => {
    const definition = loadTrainingPipelineDefinition();
    const model = exampleConfig().models[0]!;
    const settings = renderModelSettings(model, { ...BOUND_NAMES, resourcePrefix: 'caretaker', endpointName: 'caretaker-churn', volumeKmsKeyArn: 'k' });
    const base = executionBound(definition, settings);
    const moreRetries = structuredClone(definition) as unknown as { States: Record<string, { Retry: { MaxAttempts: number }[] }> };
    moreRetries.States.RecordDeployment!.Retry[0]!.MaxAttempts += 1;
    expect(executionBound(moreRetries as unknown as AslDefinition, settings).seconds).toBeGreaterThan(base.seconds);
    const longerPolling = structuredClone(definition) as unknown as { States: Record<string, { Choices: { Variable: string; NumericGreaterThanEquals?: number }[] }> };
    longerPolling.States.EndpointStatus!.Choices.find((c) => c.Variable === '$.poll.polls')!.NumericGreaterThanEquals! += 10;
    const longer = executionBound(longerPolling as unknown as AslDefinition, settings);
    expect(longer.deploySeconds).toBeGreaterThan(base.deploySeconds);
    const moreDeployApiRetries = structuredClone(definition) as unknown as { States: Record<string, { Choices: { And?: { Variable?: string; NumericLessThan?: number }[] }[] }> };
    moreDeployApiRetries.States.ClassifyDeployApiError!.Choices[0]!.And!.find((c) => c.Variable === '$.deployApi.retries')!.NumericLessThan! += 1;
    expect(executionBound(moreDeployApiRetries as unknown as AslDefinition, settings).deploySeconds).toBeGreaterThan(base.deploySeconds);
    // A second instance type adds its attempts.
    const oneType = executionBound(definition, { ...settings, training: { ...settings.training, instanceTypes: settings.training.instanceTypes.slice(0, 1) } });
    expect(base.parts.training).toBeGreaterThan(oneType.parts.training!);
    // The deployment lease each execution takes is the deploy path's bound.
    expect(settings.deployment.leaseSeconds).toBe(base.deploySeconds);
  });

  it('the deployment lease counts every Task of the deploy path, every mode\'s branch: DEPLOY_TASKS is what the ASL reaches from StartDeployment to RecordDeployment', () => {
    const definition = loadTrainingPipelineDefinition() as unknown as { States: Record<string, { Type: string; Next?: string; Default?: string; Choices?: { Next: string }[] }> };
    // The success path's transitions (Next, every Choice branch; not Catch), stopping where a deployment ends.
    const ends = new Set(['RecordDeployment', 'RecordBatchDeployment', 'DescribeEndpointAfterFailure', 'RecordDeployFailure']);
    const reached = new Set<string>();
    const queue = ['StartDeployment'];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (reached.has(name)) continue;
      reached.add(name);
      if (ends.has(name)) continue;
      const s = definition.States[name]!;
      queue.push(...[s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next)].filter((n): n is string => n !== undefined));
    }
    const tasks = [...reached].filter((name) => definition.States[name]!.Type === 'Task' && !LOOP_TASKS.has(name) && name !== 'DescribeEndpointAfterFailure' && name !== 'RecordDeployFailure');
    expect(tasks).toEqual(expect.arrayContaining(['CreateServerlessEndpointConfig', 'ScoreWithTransform', 'RecordBatchDeployment']));
    expect(tasks.sort()).toEqual([...DEPLOY_TASKS].sort());
  });
});

