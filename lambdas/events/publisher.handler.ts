/** Lambda entry: the registry events publisher (see `createHandler`); the environment is parsed once, here. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ENV, parseEnvironment } from '../shared/env';
import { sdkClientConfig } from '../shared/sdk';
import { createHandler, eventsEnvironmentSchema } from './handler';

const env = parseEnvironment(eventsEnvironmentSchema);
const events = new EventBridgeClient(sdkClientConfig());

export const handler = createHandler({
  putEvents: (input) => events.send(new PutEventsCommand(input)),
  busName: env[ENV.eventBusName],
  consoleUrl: env[ENV.consoleUrl],
});
