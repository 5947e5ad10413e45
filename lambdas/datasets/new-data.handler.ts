/** Lambda entry: count new dataset objects (see `createNewDataHandler`). */
import { createNewDataHandler } from './handlers';
import { newDataPortsFromEnv } from './ports';

export const handler = createNewDataHandler(newDataPortsFromEnv());
