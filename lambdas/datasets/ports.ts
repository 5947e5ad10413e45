/**
 * Ports of the datasets handlers, built once per process from the function's environment
 * (set by the `DatasetRegistry` construct). Endpoints come from the standard AWS SDK
 * variables, so the same code talks to AWS, to moto in tests, and to local mode.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../shared/dynamo';
import { DATASETS_ENV, parseCatalog } from './catalog';
import type { NewDataPorts } from './new-data';
import type { DatasetPorts } from './records';
import { sdkClientConfig } from '../shared/sdk';


function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

export function datasetPortsFromEnv(env: NodeJS.ProcessEnv = process.env): DatasetPorts {
  return {
    s3: new S3Client(sdkClientConfig()),
    db: createDocumentClient(),
    tableName: required(env, DATASETS_ENV.table),
    bucket: required(env, DATASETS_ENV.bucket),
    catalog: parseCatalog(env[DATASETS_ENV.catalog]),
  };
}

export function newDataPortsFromEnv(env: NodeJS.ProcessEnv = process.env): NewDataPorts {
  return {
    db: createDocumentClient(),
    sqs: new SQSClient(sdkClientConfig()),
    tableName: required(env, DATASETS_ENV.table),
    queueUrl: required(env, DATASETS_ENV.queueUrl),
    catalog: parseCatalog(env[DATASETS_ENV.catalog]),
  };
}
