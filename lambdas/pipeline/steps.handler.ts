/** Lambda entry: the training pipeline's steps (see `createHandler`); the environment is parsed once, here. */
import { parseEnvironment } from '../shared/env';
import { createHandler, portsFromEnvironment, stepsEnvironmentSchema } from './handler';

export const handler = createHandler(portsFromEnvironment(parseEnvironment(stepsEnvironmentSchema)));
