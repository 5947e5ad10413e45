/** Lambda entry: the retraining starter behind the FIFO queue (see `createHandler`); the environment is parsed once, here. */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, parseEnvironment } from '../shared/env';
import { logger } from '../shared/powertools';
import { metrics } from '../shared/powertools-metrics';
import { sdkClientConfig } from '../shared/sdk';
import { EmfRetrainingMetrics, StepFunctionsPipeline } from './adapters';
import { DynamoDatasetVersions, DynamoRetrainingStore } from './repository';
import { starterSettingsSchema } from './settings';
import { createHandler } from './starter';

const settings = parseEnvironment(starterSettingsSchema);
const documents = createDocumentClient();

export const handler = createHandler({
  store: new DynamoRetrainingStore(documents, settings[ENV.tableName]),
  datasets: new DynamoDatasetVersions(documents, settings[ENV.tableName]),
  pipeline: new StepFunctionsPipeline(new SFNClient(sdkClientConfig()), settings[ENV.stateMachineArn]),
  metrics: new EmfRetrainingMetrics(metrics),
  now: () => new Date(),
  claimSeconds: settings[ENV.claimSeconds],
  policies: settings[ENV.retrainingPolicies],
  log: logger,
});
