/**
 * The registry API's router wired to AWS: environment → clients → ports. The Lambda handler
 * and local mode both build it here, so they cannot drift apart; they differ only in how the
 * caller is identified (`fromIamContext` in AWS, `fromLocalHeader` in local mode).
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DATASETS_ENV, parseCatalog } from '../datasets/catalog';
import { createDocumentClient } from '../shared/dynamo';
import { CloudWatchMetricsReader, S3EvaluationReports, S3GroundTruthStore, SfnApprovalCallbacks, SfnDeploymentStarter, SqsRetrainingQueue } from './aws-ports';
import { newId } from './domain';
import { datasetsDomain } from './datasets';
import { DynamoAuditLog, DynamoRegistry } from './dynamo-registry';
import { approverEntrySchema } from './principal';
import { createHandler, type ApiHandler } from './router';
import { sdkClientConfig } from '../shared/sdk';

const modelSummarySchema = z.array(
  z.object({
    name: z.string(),
    description: z.string().optional(),
    datasetName: z.string(),
    objective: z.object({ metricName: z.string(), direction: z.enum(['maximize', 'minimize']) }),
    approvers: z.array(approverEntrySchema).optional(),
    requireDistinctRole: z.boolean().optional(),
    approvalTimeoutSeconds: z.number(),
    gate: z.object({ minImprovement: z.number(), thresholds: z.record(z.string(), z.object({ min: z.number().optional(), max: z.number().optional() })) }).optional(),
  }),
);

/** The function's environment, as the RegistryApi construct sets it. */
export const apiEnvironmentSchema = z.object({
  TABLE_NAME: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  MODELS: z.string().transform((text) => modelSummarySchema.parse(JSON.parse(text))),
  RETRAINING_QUEUE_URL: z.string().optional(),
  /** `{ "<model>": "<drift alarm name>" }` */
  DRIFT_ALARMS: z.string().optional().transform((text) => (text === undefined ? {} : z.record(z.string(), z.string()).parse(JSON.parse(text)))),
  DEPLOY_STATE_MACHINE_ARN: z.string().optional(),
  [DATASETS_ENV.bucket]: z.string().min(1),
  [DATASETS_ENV.catalog]: z.string().transform((text) => parseCatalog(text)),
});

export function createApiHandlerFromEnv(
  environment: Readonly<Record<string, string | undefined>>,
  principal: Parameters<typeof createHandler>[0]['principal'],
  /** DynamoDB client settings (local mode serializes requests to keep moto's writes atomic). */
  dynamoConfig: DynamoDBClientConfig = {},
): { handler: ApiHandler; modelCount: number } {
  const env = apiEnvironmentSchema.parse(environment);
  const api = sdkClientConfig('api');
  const dynamo = createDocumentClient({ ...api, ...dynamoConfig });
  const s3 = new S3Client(api);
  const sfn = new SFNClient(api);
  const handler = createHandler({
    principal,
    models: env.MODELS.map((model) => ({ ...model, ...(env.DRIFT_ALARMS[model.name] !== undefined ? { driftAlarmName: env.DRIFT_ALARMS[model.name] } : {}) })),
    ports: {
      registry: new DynamoRegistry(dynamo, env.TABLE_NAME),
      audit: new DynamoAuditLog(dynamo, env.TABLE_NAME),
      datasets: datasetsDomain({ s3, db: dynamo, tableName: env.TABLE_NAME, bucket: env[DATASETS_ENV.bucket], catalog: env[DATASETS_ENV.catalog] }),
      callbacks: new SfnApprovalCallbacks(sfn),
      retraining: new SqsRetrainingQueue(new SQSClient(api), env.RETRAINING_QUEUE_URL),
      deployments: new SfnDeploymentStarter(sfn, env.DEPLOY_STATE_MACHINE_ARN),
      groundTruth: new S3GroundTruthStore(s3, env.ARTIFACTS_BUCKET),
      metrics: new CloudWatchMetricsReader(new CloudWatchClient(api)),
      evaluations: new S3EvaluationReports(s3),
      clock: { now: () => new Date() },
      newId,
    },
  });
  return { handler, modelCount: env.MODELS.length };
}
