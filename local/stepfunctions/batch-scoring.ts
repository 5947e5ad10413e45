/**
 * The batch scoring ASL (`state-machines/batch-scoring.asl.json`) wired for local execution, as
 * `training-pipeline.ts` wires the pipeline: the steps Lambda and the drift analyzer are the real
 * handlers; SageMaker is whatever answers CreateTransformJob (`.sync`: resolves with
 * DescribeTransformJob's output once Completed, or fails the task as Step Functions does).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModelSettings } from '../../lambdas/pipeline/settings';
import { runPipelineLocally, TaskError, type LocalExecution } from './runner';
import { LOCAL_SUBSTITUTIONS } from './training-pipeline';

export const BATCH_SCORING_ASL = fileURLToPath(new URL('../../state-machines/batch-scoring.asl.json', import.meta.url));

/** Substitutions for local runs (the BatchScoring construct passes real ARNs); shared names are the pipeline's. */
export const LOCAL_SCORING_SUBSTITUTIONS = {
  StepsFunctionArn: LOCAL_SUBSTITUTIONS.StepsFunctionArn,
  DriftAnalyzerArn: 'arn:aws:lambda:us-east-1:000000000000:function:caretaker-drift-analyzer',
  SettingsParameterPrefix: LOCAL_SUBSTITUTIONS.SettingsParameterPrefix,
  KmsKeyArn: LOCAL_SUBSTITUTIONS.KmsKeyArn,
  AlertsTopicArn: LOCAL_SUBSTITUTIONS.AlertsTopicArn,
} as const;

export interface BatchScoringWiring {
  /** The steps Lambda's handler (`createHandler(ports)` from lambdas/pipeline/handler.ts). */
  readonly steps: (payload: unknown) => Promise<unknown>;
  /** The drift analyzer's handler (`createHandler(deps)` from lambdas/drift/handler.ts). */
  readonly analyzer: (payload: unknown) => Promise<unknown>;
  /** Settings by model name, as the TrainingPipeline construct renders them into SSM. */
  readonly settings: Readonly<Record<string, ModelSettings>>;
  /** `.sync`: resolves with DescribeTransformJob's output once Completed. */
  readonly createTransformJob: (request: Record<string, unknown>) => Promise<unknown>;
  readonly publishAlert: (request: { readonly TopicArn: string; readonly Subject?: string; readonly Message: unknown }) => Promise<void>;
}

const record = (value: unknown) => value as Record<string, unknown>;

/** Runs one scoring execution locally, started as the schedule starts it (`ScoringInput`). */
export function runBatchScoring(
  wiring: BatchScoringWiring,
  input: { readonly model: string; readonly trigger: string; readonly drift: { readonly psiThreshold: number; readonly minRecords: number } },
  options: { readonly executionName?: string } = {},
): Promise<LocalExecution> {
  return runPipelineLocally({
    definition: readFileSync(BATCH_SCORING_ASL, 'utf8'),
    substitutions: LOCAL_SCORING_SUBSTITUTIONS,
    taskHandlers: {
      [LOCAL_SCORING_SUBSTITUTIONS.StepsFunctionArn]: (payload) => wiring.steps(payload),
      [LOCAL_SCORING_SUBSTITUTIONS.DriftAnalyzerArn]: (payload) => wiring.analyzer(payload),
      'arn:aws:states:::aws-sdk:ssm:getParameter': (request) => {
        const name = String(record(request).Name);
        const settings = wiring.settings[name.slice(name.lastIndexOf('/') + 1)];
        if (!name.startsWith(`${LOCAL_SCORING_SUBSTITUTIONS.SettingsParameterPrefix}/`) || !settings) {
          throw new TaskError('Ssm.ParameterNotFoundException', `Parameter ${name} not found.`);
        }
        return { Parameter: { Name: name, Type: 'String', Value: JSON.stringify(settings) } };
      },
      'arn:aws:states:::sagemaker:createTransformJob.sync': (request) => wiring.createTransformJob(record(request)),
      'arn:aws:states:::sns:publish': async (request) => {
        await wiring.publishAlert(request as Parameters<BatchScoringWiring['publishAlert']>[0]);
        return { MessageId: 'local' };
      },
    },
    input,
    ...(options.executionName ? { executionName: options.executionName } : {}),
    skipWaits: true,
  });
}
