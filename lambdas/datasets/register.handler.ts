/** Lambda entry: register a dataset version (see `createRegisterHandler`). */
import { createRegisterHandler } from './handlers';
import { datasetPortsFromEnv } from './ports';

export const handler = createRegisterHandler(datasetPortsFromEnv());
