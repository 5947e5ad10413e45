/** Lambda entry: the training pipeline's dataset check (see `createTrainableHandler`). */
import { createTrainableHandler } from './handlers';
import { datasetPortsFromEnv } from './ports';

export const handler = createTrainableHandler(datasetPortsFromEnv());
