/** Lambda entry: one child of the drift Distributed Map (see `analyzeShard`); the environment is parsed once, here. */
import { parseEnvironment } from '../shared/env';
import { createShardHandler, mapEnvironmentSchema, mapPortsFromEnvironment } from './map-handler';

export const handler = createShardHandler(mapPortsFromEnvironment(parseEnvironment(mapEnvironmentSchema)));
