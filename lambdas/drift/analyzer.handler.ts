/** Lambda entry: the drift analyzer (see `createHandler`); the environment is parsed once, here. */
import { parseEnvironment } from '../shared/env';
import { analyzerEnvironmentSchema, handlerFromEnvironment } from './handler';

export const handler = handlerFromEnvironment(parseEnvironment(analyzerEnvironmentSchema));
