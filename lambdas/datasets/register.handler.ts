/** Lambda entry: register a dataset version (see `createRegisterHandler`). */
import { parseEnvironment } from '../shared/env';
import { createRegisterHandler } from './handlers';
import { datasetPorts, datasetsEnvironmentSchema } from './ports';

export const handler = createRegisterHandler(datasetPorts(parseEnvironment(datasetsEnvironmentSchema)));
