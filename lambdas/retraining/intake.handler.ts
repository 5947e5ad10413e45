/** Lambda entry: the retraining intake (see `createIntakeHandler`); the environment is parsed once, here. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV, parseEnvironment } from '../shared/env';
import { logger } from '../shared/powertools';
import { sdkClientConfig } from '../shared/sdk';
import { createIntakeHandler, SqsRequestQueue } from './intake';
import { intakeSettingsSchema } from './settings';

const settings = parseEnvironment(intakeSettingsSchema);

export const handler = createIntakeHandler({
  queue: new SqsRequestQueue(new SQSClient(sdkClientConfig()), settings[ENV.retrainingQueueUrl]),
  naming: { alarmNamePrefix: settings[ENV.alarmNamePrefix], models: settings[ENV.modelNames] },
  log: logger,
});
