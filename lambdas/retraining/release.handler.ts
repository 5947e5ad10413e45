/** Lambda entry: release a model's lease when its pipeline execution ends (see `createReleaseHandler`). */
import { createDocumentClient } from '../shared/dynamo';
import { ENV, parseEnvironment } from '../shared/env';
import { createReleaseHandler, dynamoReleasePorts } from './release';
import { releaseSettingsSchema } from './settings';

const settings = parseEnvironment(releaseSettingsSchema);

export const handler = createReleaseHandler(dynamoReleasePorts(createDocumentClient(), settings[ENV.tableName], () => new Date(), settings[ENV.deploymentEndpoints]));
