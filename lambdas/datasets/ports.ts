/**
 * Ports of the datasets handlers, built once per process from the function's environment
 * (set by the `DatasetRegistry` construct, parsed by each `*.handler.ts` at module load).
 * Endpoints come from the standard AWS SDK variables, so the same code talks to AWS, to moto
 * in tests, and to local mode.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from '../shared/zod';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, envValue } from '../shared/env';
import { catalogEnvValue } from './catalog';
import type { NewDataPorts } from './new-data';
import type { DatasetPorts } from './records';
import { sdkClientConfig } from '../shared/sdk';

/** The register and trainable functions' environment. */
export const datasetsEnvironmentSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.datasetsBucket]: envValue.name,
  [ENV.datasetsCatalog]: catalogEnvValue,
});

/** The new-data counter's environment. */
export const newDataEnvironmentSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.datasetsCatalog]: catalogEnvValue,
  [ENV.retrainingQueueUrl]: envValue.url,
});

export function datasetPorts(env: z.output<typeof datasetsEnvironmentSchema>): DatasetPorts {
  return {
    s3: new S3Client(sdkClientConfig()),
    db: createDocumentClient(),
    tableName: env[ENV.tableName],
    bucket: env[ENV.datasetsBucket],
    catalog: env[ENV.datasetsCatalog],
  };
}

export function newDataPorts(env: z.output<typeof newDataEnvironmentSchema>): NewDataPorts {
  return {
    db: createDocumentClient(),
    sqs: new SQSClient(sdkClientConfig()),
    tableName: env[ENV.tableName],
    queueUrl: env[ENV.retrainingQueueUrl],
    catalog: env[ENV.datasetsCatalog],
  };
}
