/**
 * Task resources → local work, generically (by ARN shape, not by state name):
 *
 * - a Lambda function ARN, `lambda:invoke` and `lambda:invoke.waitForTaskToken` → the function,
 *   in-process (`invokeFunction`);
 * - `sagemaker:<op>` and `aws-sdk:sagemaker:<op>` → that SageMaker API call through the SDK
 *   (against the local SageMaker runner); `.sync` polls the matching Describe until the job ends,
 *   failing the task with `States.TaskFailed` and the Describe output as cause, as the service does;
 *   SageMaker API errors are raised under the names and Cause Step Functions gives them
 *   (`SageMaker.AmazonSageMakerException` with the code in the Cause …: `sagemaker-errors.ts`);
 * - `sns:publish` → SNS through the SDK;
 * - `aws-sdk:ssm:getParameter` → the stack's `AWS::SSM::Parameter` values (from the template).
 */
import * as sagemaker from '@aws-sdk/client-sagemaker';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { TaskError, waitForTaskToken, type TaskHandler } from './runner';
import { optimizedIntegrationError, sdkIntegrationError } from './sagemaker-errors';

export interface TaskPorts {
  readonly invokeFunction: (functionArnOrName: string, payload: unknown) => Promise<unknown>;
  /** Is this ARN a function local mode runs? */
  readonly isFunction: (arn: string) => boolean;
  readonly sagemaker: sagemaker.SageMakerClient;
  readonly sns: SNSClient;
  /** SSM parameters by name. */
  readonly parameters: ReadonlyMap<string, string>;
  /** Delay between `.sync` polls. @default 200 */
  readonly pollMs?: number;
}

const SYNC_JOBS: Record<string, { describe: string; name: string; status: string }> = {
  createTrainingJob: { describe: 'DescribeTrainingJob', name: 'TrainingJobName', status: 'TrainingJobStatus' },
  createProcessingJob: { describe: 'DescribeProcessingJob', name: 'ProcessingJobName', status: 'ProcessingJobStatus' },
  createTransformJob: { describe: 'DescribeTransformJob', name: 'TransformJobName', status: 'TransformJobStatus' },
};

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** SDK output → what Step Functions returns: JSON (dates as epoch seconds, no `$metadata`). */
function plain(output: object): unknown {
  const { $metadata: _, ...rest } = output as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest, (_key, value: unknown) => (value instanceof Date ? value.getTime() / 1000 : value)));
}

/** `optimized`: `arn:aws:states:::sagemaker:<op>` (errors named as the Java SDK v1 does); else `aws-sdk:sagemaker:<op>`. */
async function callSageMaker(client: sagemaker.SageMakerClient, operation: string, input: unknown, optimized: boolean): Promise<unknown> {
  const Command = (sagemaker as unknown as Record<string, new (input: unknown) => sagemaker.SageMakerClient['send'] extends (c: infer C) => unknown ? C : never>)[`${capitalize(operation)}Command`];
  if (!Command) throw new TaskError('States.Runtime', `sagemaker:${operation} is not a SageMaker API`);
  try {
    return plain(await client.send(new Command(input)));
  } catch (error) {
    if (error instanceof sagemaker.SageMakerServiceException) {
      const details = { status: error.$metadata.httpStatusCode, requestId: error.$metadata.requestId };
      throw (optimized ? optimizedIntegrationError : sdkIntegrationError)(error.name, error.message, details);
    }
    throw error;
  }
}

export function taskHandlerFor(resource: string, ports: TaskPorts): TaskHandler | undefined {
  if (ports.isFunction(resource)) return (payload) => ports.invokeFunction(resource, payload);
  const integration = /^arn:aws:states:::(aws-sdk:)?([a-z]+):([A-Za-z]+)(\.sync|\.waitForTaskToken)?$/.exec(resource);
  if (!integration) return undefined;
  const [, sdk, service, operation = '', pattern] = integration;
  const optimized = sdk === undefined;
  const request = (parameters: unknown) => parameters as Record<string, unknown>;

  if (service === 'lambda' && operation === 'invoke') {
    const invoke = async (parameters: unknown) => ports.invokeFunction(String(request(parameters).FunctionName), request(parameters).Payload);
    if (pattern === '.waitForTaskToken') return waitForTaskToken(async (parameters) => {
        await invoke(parameters);
      });
    return async (parameters) => ({ StatusCode: 200, Payload: await invoke(parameters) });
  }
  if (service === 'sagemaker') {
    if (pattern !== '.sync') return (parameters) => callSageMaker(ports.sagemaker, operation, parameters, optimized);
    const job = SYNC_JOBS[operation];
    if (!job) return undefined;
    return async (parameters) => {
      await callSageMaker(ports.sagemaker, operation, parameters, true);
      const name = request(parameters)[job.name];
      for (;;) {
        const described = (await callSageMaker(ports.sagemaker, job.describe, { [job.name]: name }, true)) as Record<string, unknown>;
        const status = described[job.status];
        if (status === 'Completed') return described;
        if (status === 'Failed' || status === 'Stopped') throw new TaskError('States.TaskFailed', JSON.stringify(described));
        await new Promise((resolve) => setTimeout(resolve, ports.pollMs ?? 200));
      }
    };
  }
  if (service === 'sns' && operation === 'publish') {
    return async (parameters) => {
      const { TopicArn, Subject, Message } = request(parameters);
      const output = await ports.sns.send(
        new PublishCommand({ TopicArn: String(TopicArn), Subject: typeof Subject === 'string' ? Subject : undefined, Message: typeof Message === 'string' ? Message : JSON.stringify(Message) }),
      );
      return plain(output);
    };
  }
  if (service === 'ssm' && operation === 'getParameter') {
    return (parameters) => {
      const name = String(request(parameters).Name);
      const value = ports.parameters.get(name);
      if (value === undefined) throw new TaskError('Ssm.ParameterNotFoundException', `Parameter ${name} not found.`);
      return { Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } };
    };
  }
  return undefined;
}

/** Handlers for every Task resource of an ASL text (after substitution); an unmapped one is an error. */
export function taskHandlersFor(definition: string, ports: TaskPorts): Record<string, TaskHandler> {
  const resources = taskResourcesOf(JSON.parse(definition) as unknown);
  const handlers: Record<string, TaskHandler> = {};
  for (const resource of resources) {
    const handler = taskHandlerFor(resource, ports);
    if (!handler) throw new Error(`local Step Functions cannot run Task resource ${resource}`);
    handlers[resource] = handler;
  }
  return handlers;
}

/**
 * The Resource of every Task state, nested Map and Parallel states included. ItemReader and
 * ResultWriter also carry a `Resource` (`s3:listObjectsV2`, `s3:putObject`): those are the
 * Distributed Map's own reads and writes, run by the runner (distributed-map.ts), not Tasks.
 */
export function taskResourcesOf(definition: unknown): Set<string> {
  const found = new Set<string>();
  const visit = (machine: unknown) => {
    const states = (machine as { States?: Record<string, Record<string, unknown>> } | undefined)?.States ?? {};
    for (const state of Object.values(states)) {
      if (state.Type === 'Task' && typeof state.Resource === 'string') found.add(state.Resource);
      if (state.Type === 'Map') visit(state.ItemProcessor ?? state.Iterator);
      if (state.Type === 'Parallel') for (const branch of (state.Branches as unknown[] | undefined) ?? []) visit(branch);
    }
  };
  visit(definition);
  return found;
}
