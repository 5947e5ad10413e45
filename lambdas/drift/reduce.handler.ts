/** Lambda entry: the drift Distributed Map's reducer (see `reduceShards`); the environment is parsed once, here. */
import { ENV, parseEnvironment } from '../shared/env';
import { createReduceHandler, mapEnvironmentSchema, mapPortsFromEnvironment } from './map-handler';

const env = parseEnvironment(mapEnvironmentSchema);
export const handler = createReduceHandler(mapPortsFromEnvironment(env), env[ENV.artifactsBucket]);
