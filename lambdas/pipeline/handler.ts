/**
 * The training pipeline's steps Lambda: one function, invoked by the state machine with
 * `{ step: '<name>', …}`. Parses the payload with zod, runs the step's domain function with
 * ports built once per process, and turns transient AWS errors into `Caretaker.Unavailable`
 * (which the state machine retries with backoff).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import * as z from '../shared/zod';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, envValue } from '../shared/env';
import { catalogEnvValue, recordLineage, type DatasetCatalog, type DatasetPorts } from '../datasets';
import { baselineFromObjects, writeBaseline } from '../drift/store';
import { CaretakerError, Invalid, PIPELINE_ERRORS, Unavailable } from '../shared/errors';
import { logger } from '../shared/powertools';
import {
  finishRun,
  finishRunInput,
  gate,
  gateInput,
  baselineFailed,
  baselineFailedInput,
  buildBaseline,
  buildBaselineInput,
  reconcileEndpoint,
  reconcileEndpointInput,
  recordDeployment,
  recordDeploymentInput,
  registerVersion,
  registerVersionInput,
  requestApproval,
  requestApprovalInput,
  stageData,
  stageTrainingDataInput,
  startDeployment,
  startDeploymentInput,
  startRollback,
  startRollbackInput,
  startRun,
  startRunInput,
  startScoring,
  startScoringInput,
  recordScoring,
  recordScoringInput,
  type StepPorts,
} from './steps';
import { DeploymentLeases } from './deployment-lease';
import { PipelineStore, type LineagePort } from './store';
import { sdkClientConfig } from '../shared/sdk';

export const stepInput = z.discriminatedUnion('step', [
  startRunInput,
  stageTrainingDataInput,
  gateInput,
  registerVersionInput,
  requestApprovalInput,
  startDeploymentInput,
  reconcileEndpointInput,
  startRollbackInput,
  recordDeploymentInput,
  buildBaselineInput,
  baselineFailedInput,
  finishRunInput,
  startScoringInput,
  recordScoringInput,
]);
export type StepInput = z.infer<typeof stepInput>;

export async function runStep(input: StepInput, ports: StepPorts): Promise<unknown> {
  switch (input.step) {
    case 'startRun':
      return startRun(input, ports);
    case 'stageTrainingData':
      return stageData(input, ports);
    case 'gate':
      return gate(input, ports);
    case 'registerVersion':
      return registerVersion(input, ports);
    case 'requestApproval':
      return requestApproval(input, ports);
    case 'startDeployment':
      return startDeployment(input, ports);
    case 'reconcileEndpoint':
      return reconcileEndpoint(input, ports);
    case 'startRollback':
      return startRollback(input, ports);
    case 'recordDeployment':
      return recordDeployment(input, ports);
    case 'buildBaseline':
      return buildBaseline(input, ports);
    case 'baselineFailed':
      return baselineFailed(input, ports);
    case 'finishRun':
      return finishRun(input, ports);
    case 'startScoring':
      return startScoring(input, ports);
    case 'recordScoring':
      return recordScoring(input, ports);
  }
}

const TRANSIENT = /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|ServiceUnavailable|InternalServerError|InternalFailure|TransactionConflict|TimeoutError|ECONNRESET/;

/** Unavailable with the name the state machine's Retry matches. */
export class StepUnavailable extends Unavailable {
  constructor(message: string) {
    super(message);
    this.name = PIPELINE_ERRORS.unavailable;
  }
}

export function createHandler(ports: StepPorts) {
  return async (event: unknown): Promise<unknown> => {
    const parsed = stepInput.safeParse(event);
    if (!parsed.success) throw new Invalid(`invalid step input: ${z.prettifyError(parsed.error)}`);
    try {
      return await runStep(parsed.data, ports);
    } catch (error) {
      if (error instanceof CaretakerError) throw error;
      const name = error instanceof Error ? error.name : 'Error';
      if (TRANSIENT.test(name)) throw new StepUnavailable(`${parsed.data.step}: ${name} (transient, nothing half-written)`);
      logger.error('step failed', { step: parsed.data.step, error: error as Error });
      throw error;
    }
  };
}

export interface PortOptions {
  readonly tableName: string;
  readonly approvalsTopicArn: string;
  readonly artifactsBucket: string;
  /** The datasets bucket and catalog (the datasets part's ports share the table and clients). */
  readonly datasetsBucket: string;
  readonly catalog: DatasetCatalog;
  readonly dynamo?: DynamoDBDocumentClient;
  readonly s3?: S3Client;
  readonly sns?: SNSClient;
}

/** The real ports: DynamoDB, S3 and SNS clients from the standard SDK environment unless given. */
export function createPorts(options: PortOptions): StepPorts {
  const dynamo = options.dynamo ?? createDocumentClient();
  const store = new PipelineStore(dynamo, options.tableName);
  const s3 = options.s3 ?? new S3Client(sdkClientConfig());
  const location = (uri: string) => {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!match) throw new Invalid(`not an S3 URI: ${uri}`);
    return { Bucket: match[1], Key: match[2] };
  };
  const sns = options.sns ?? new SNSClient(sdkClientConfig());
  const datasets: DatasetPorts = { s3, db: dynamo, tableName: options.tableName, bucket: options.datasetsBucket, catalog: options.catalog };
  // The datasets part's lineage: idempotent, and only ever pointing at a version that passed validation.
  const lineage: LineagePort = {
    record: async ({ dataset, datasetVersion, model, version, runId }) => {
      await recordLineage(datasets, { dataset, datasetVersion, model, modelVersion: version, runId });
    },
  };
  return {
    store,
    leases: new DeploymentLeases(dynamo, options.tableName),
    lineage,
    datasets,
    baselines: {
      write: async ({ model, version, objects, options: baseline }) =>
        writeBaseline(s3, options.artifactsBucket, model, version, {
          ...(await baselineFromObjects(s3, objects, baseline)),
          ...(baseline.csvColumns ? { csvColumns: [...baseline.csvColumns] } : {}),
        }),
    },
    artifactsBucket: options.artifactsBucket,
    now: () => new Date(),
    readJson: async (uri) => {
      const object = await s3.send(new GetObjectCommand(location(uri)));
      return JSON.parse((await object.Body?.transformToString()) ?? 'null') as unknown;
    },
    writeJson: async (uri, value) => {
      await s3.send(new PutObjectCommand({ ...location(uri), Body: JSON.stringify(value), ContentType: 'application/json' }));
    },
    publishApproval: async ({ subject, body }) => {
      await sns.send(new PublishCommand({ TopicArn: options.approvalsTopicArn, Subject: subject, Message: body }));
    },
  };
}

/** The steps function's environment, as the TrainingPipeline construct sets it (parsed in `steps.handler.ts`). */
export const stepsEnvironmentSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.approvalsTopicArn]: envValue.arn,
  [ENV.artifactsBucket]: envValue.name,
  [ENV.datasetsBucket]: envValue.name,
  [ENV.datasetsCatalog]: catalogEnvValue,
});

/** The real ports, from the parsed environment. */
export function portsFromEnvironment(env: z.output<typeof stepsEnvironmentSchema>): StepPorts {
  return createPorts({
    tableName: env[ENV.tableName],
    approvalsTopicArn: env[ENV.approvalsTopicArn],
    artifactsBucket: env[ENV.artifactsBucket],
    datasetsBucket: env[ENV.datasetsBucket],
    catalog: env[ENV.datasetsCatalog],
  });
}
