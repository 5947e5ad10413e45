/**
 * The training pipeline's ASL wired for local execution: which local function answers each
 * Task resource. Offline tests plug in recorded SageMaker responses; local mode plugs in its
 * SageMaker runner. The steps Lambda is the real handler either way.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModelSettings } from '../../lambdas/pipeline/settings';
import { runPipelineLocally, TaskError, waitForTaskToken, type LocalExecution, type TaskHandler } from './runner';

export const TRAINING_PIPELINE_ASL = fileURLToPath(new URL('../../state-machines/training-pipeline.asl.json', import.meta.url));

/** Substitutions for local runs (the construct passes real ARNs). */
export const LOCAL_SUBSTITUTIONS = {
  StepsFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:caretaker-pipeline-steps',
  SettingsParameterPrefix: '/caretaker/local/models',
  SageMakerRoleArn: 'arn:aws:iam::000000000000:role/caretaker-sagemaker-execution',
  KmsKeyArn: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000',
  AlertsTopicArn: 'arn:aws:sns:us-east-1:000000000000:caretaker-alerts',
} as const;

/** What SageMaker does locally: each function gets the request and returns the API's (or `.sync`'s Describe) response. */
export interface LocalSageMaker {
  createTrainingJob(request: Record<string, unknown>): Promise<unknown>;
  createProcessingJob(request: Record<string, unknown>): Promise<unknown>;
  /** `.sync`: resolves with DescribeTransformJob's output once Completed. */
  createTransformJob(request: Record<string, unknown>): Promise<unknown>;
  createModel(request: Record<string, unknown>): Promise<unknown>;
  createEndpointConfig(request: Record<string, unknown>): Promise<unknown>;
  createEndpoint(request: Record<string, unknown>): Promise<unknown>;
  updateEndpoint(request: Record<string, unknown>): Promise<unknown>;
  describeEndpoint(request: Record<string, unknown>): Promise<unknown>;
}

export interface TrainingPipelineWiring {
  /** The steps Lambda's handler (`createHandler(ports)` from lambdas/pipeline/handler.ts). */
  readonly steps: (payload: unknown) => Promise<unknown>;
  /** Settings by model name, as the construct renders them into SSM. */
  readonly settings: Readonly<Record<string, ModelSettings>>;
  readonly sagemaker: LocalSageMaker;
  /** Receives what the pipeline publishes to the alerts topic. */
  readonly publishAlert: (request: { readonly TopicArn: string; readonly Subject?: string; readonly Message: unknown }) => Promise<void>;
  /** Told when an approval request is out (the token is stored); answer with sendTaskSuccess/Failure. */
  readonly onApprovalRequested?: (taskToken: string, payload: Record<string, unknown>) => void;
}

const record = (value: unknown) => value as Record<string, unknown>;

export function trainingPipelineTaskHandlers(wiring: TrainingPipelineWiring): Record<string, TaskHandler> {
  const { sagemaker } = wiring;
  return {
    [LOCAL_SUBSTITUTIONS.StepsFunctionArn]: (payload) => wiring.steps(payload),
    'arn:aws:states:::aws-sdk:ssm:getParameter': (request) => {
      const name = String(record(request).Name);
      const settings = wiring.settings[name.slice(name.lastIndexOf('/') + 1)];
      if (!name.startsWith(`${LOCAL_SUBSTITUTIONS.SettingsParameterPrefix}/`) || !settings) {
        throw new TaskError('Ssm.ParameterNotFoundException', `Parameter ${name} not found.`);
      }
      return { Parameter: { Name: name, Type: 'String', Value: JSON.stringify(settings) } };
    },
    'arn:aws:states:::sagemaker:createTrainingJob.sync': (request) => sagemaker.createTrainingJob(record(request)),
    'arn:aws:states:::sagemaker:createProcessingJob.sync': (request) => sagemaker.createProcessingJob(record(request)),
    'arn:aws:states:::sagemaker:createTransformJob.sync': (request) => sagemaker.createTransformJob(record(request)),
    'arn:aws:states:::sagemaker:createModel': (request) => sagemaker.createModel(record(request)),
    'arn:aws:states:::sagemaker:createEndpointConfig': (request) => sagemaker.createEndpointConfig(record(request)),
    'arn:aws:states:::sagemaker:createEndpoint': (request) => sagemaker.createEndpoint(record(request)),
    'arn:aws:states:::sagemaker:updateEndpoint': (request) => sagemaker.updateEndpoint(record(request)),
    'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint': (request) => sagemaker.describeEndpoint(record(request)),
    'arn:aws:states:::sns:publish': async (request) => {
      await wiring.publishAlert(request as Parameters<TrainingPipelineWiring['publishAlert']>[0]);
      return { MessageId: 'local' };
    },
    'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken(async (request, task) => {
      const payload = record(record(request).Payload);
      await wiring.steps(payload);
      wiring.onApprovalRequested?.(task.taskToken, payload);
    }),
  };
}

/**
 * Runs one execution of `state-machines/training-pipeline.asl.json` locally: a training run
 * (named by its `runId`) or a rollback (named by its `deploymentId`).
 */
export function runTrainingPipeline(
  wiring: TrainingPipelineWiring,
  input: ({ readonly runId: string } | { readonly kind: 'rollback'; readonly deploymentId: string }) & Record<string, unknown>,
  options: { readonly skipWaits?: boolean } = {},
): Promise<LocalExecution> {
  return runPipelineLocally({
    definition: readFileSync(TRAINING_PIPELINE_ASL, 'utf8'),
    substitutions: LOCAL_SUBSTITUTIONS,
    taskHandlers: trainingPipelineTaskHandlers(wiring),
    input,
    executionName: String(input.kind === 'rollback' ? input.deploymentId : input.runId),
    skipWaits: options.skipWaits ?? true,
  });
}
