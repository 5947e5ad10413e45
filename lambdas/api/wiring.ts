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
import * as z from '../shared/zod';
import { catalogEnvValue } from '../datasets/catalog';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, envValue, parseEnvironment } from '../shared/env';
import { CloudWatchMetricsReader, S3DriftReports, S3EvaluationReports, S3GroundTruthStore, SfnApprovalCallbacks, SfnDeploymentStarter, SfnExecutionHistory, SqsRetrainingQueue } from './aws-ports';
import { type ApiContext, newId } from './domain';
import { datasetsDomain } from './datasets';
import { DeploymentLeases } from '../pipeline/deployment-lease';
import { DynamoAuditLog, DynamoRegistry } from './dynamo-registry';
import { approverEntrySchema } from './principal';
import { createHandler, type ApiHandler } from './router';
import { sdkClientConfig } from '../shared/sdk';

const modelSummarySchema = z.array(
  z.object({
    name: z.string(),
    description: z.optional(z.string()),
    datasetName: z.string(),
    objective: z.object({ metricName: z.string(), direction: z.enum(['maximize', 'minimize']) }),
    approvers: z.optional(z.array(approverEntrySchema)),
    requireDistinctRole: z.optional(z.boolean()),
    approvalTimeoutSeconds: z.number(),
    endpointName: z.optional(z.string().check(z.minLength(1))),
    gate: z.optional(z.object({ minImprovement: z.number(), thresholds: z.record(z.string(), z.object({ min: z.optional(z.number()), max: z.optional(z.number()) })) })),
  }),
);

/** The function's environment, as the RegistryApi construct sets it. */
export const apiEnvironmentSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.artifactsBucket]: envValue.name,
  [ENV.models]: envValue.json(modelSummarySchema),
  [ENV.retrainingQueueUrl]: z.optional(envValue.url),
  /** `{ "<model>": "<drift alarm name>" }` */
  [ENV.driftAlarms]: z._default(envValue.json(z.record(z.string(), z.string())), {}),
  [ENV.deployStateMachineArn]: z.optional(envValue.arn),
  [ENV.datasetsBucket]: envValue.name,
  [ENV.datasetsCatalog]: catalogEnvValue,
  /** The console's origin, when the stack has a console (RegistryApi.allowBrowserOrigin). */
  [ENV.consoleOrigin]: z.optional(envValue.origin),
});

/** The API's domain context (models and AWS-backed ports) from the function's environment. */
export function createApiContextFromEnv(
  /** The function's environment (`process.env` in Lambda), parsed once with `apiEnvironmentSchema`. */
  environment: Readonly<Record<string, string | undefined>>,
  /** DynamoDB client settings (local mode serializes requests to keep moto's writes atomic). */
  dynamoConfig: DynamoDBClientConfig = {},
): ApiContext & { corsOrigin?: string } {
  const env = parseEnvironment(apiEnvironmentSchema, environment);
  const api = sdkClientConfig('api');
  const dynamo = createDocumentClient({ ...api, ...dynamoConfig });
  const s3 = new S3Client(api);
  const sfn = new SFNClient(api);
  // One HTTP attempt per callback, no SDK retry: a TaskTimedOut then always answers the attempt
  // that got it, never a retry of an attempt whose success was lost (lambdas/api/domain.ts, decide).
  const callbacks = new SFNClient({ ...sdkClientConfig('api'), maxAttempts: 1 });
  return {
    ...(env[ENV.consoleOrigin] !== undefined ? { corsOrigin: env[ENV.consoleOrigin] } : {}),
    models: env[ENV.models].map((model) => ({ ...model, ...(env[ENV.driftAlarms][model.name] !== undefined ? { driftAlarmName: env[ENV.driftAlarms][model.name] } : {}) })),
    ports: {
      registry: new DynamoRegistry(dynamo, env[ENV.tableName]),
      audit: new DynamoAuditLog(dynamo, env[ENV.tableName]),
      datasets: datasetsDomain({ s3, db: dynamo, tableName: env[ENV.tableName], bucket: env[ENV.datasetsBucket], catalog: env[ENV.datasetsCatalog] }),
      callbacks: new SfnApprovalCallbacks(callbacks),
      retraining: new SqsRetrainingQueue(new SQSClient(api), env[ENV.retrainingQueueUrl]),
      deployments: new SfnDeploymentStarter(sfn, env[ENV.deployStateMachineArn]),
      leases: new DeploymentLeases(dynamo, env[ENV.tableName]),
      groundTruth: new S3GroundTruthStore(s3, env[ENV.artifactsBucket]),
      metrics: new CloudWatchMetricsReader(new CloudWatchClient(api)),
      evaluations: new S3EvaluationReports(s3),
      driftReports: new S3DriftReports(s3, env[ENV.artifactsBucket], () => new Date()),
      executions: new SfnExecutionHistory(sfn),
      clock: { now: () => new Date() },
      newId,
    },
  };
}

export function createApiHandlerFromEnv(
  /** The function's environment (`process.env` in Lambda), parsed once with `apiEnvironmentSchema`. */
  environment: Readonly<Record<string, string | undefined>>,
  principal: Parameters<typeof createHandler>[0]['principal'],
  /** DynamoDB client settings (local mode serializes requests to keep moto's writes atomic). */
  dynamoConfig: DynamoDBClientConfig = {},
): { handler: ApiHandler; modelCount: number } {
  const ctx = createApiContextFromEnv(environment, dynamoConfig);
  return { handler: createHandler({ principal, models: ctx.models, ports: ctx.ports, ...(ctx.corsOrigin !== undefined ? { corsOrigin: ctx.corsOrigin } : {}) }), modelCount: ctx.models.length };
}
