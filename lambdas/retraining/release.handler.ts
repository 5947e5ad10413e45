/** Lambda entry: release a model's lease when its pipeline execution ends (see `createReleaseHandler`). */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, parseEnvironment } from '../shared/env';
import { sdkClientConfig } from '../shared/sdk';
import { createReleaseHandler, dynamoReleasePorts, sagemakerDescribeEndpoint } from './release';
import { releaseSettingsSchema } from './settings';

const settings = parseEnvironment(releaseSettingsSchema);
const sagemaker = new SageMakerClient(sdkClientConfig());

export const handler = createReleaseHandler(
  dynamoReleasePorts(createDocumentClient(), settings[ENV.tableName], () => new Date(), settings[ENV.deploymentEndpoints], sagemakerDescribeEndpoint(sagemaker)),
);
