/** Lambda entry: the training pipeline's dataset check (see `createTrainableHandler`). */
import { parseEnvironment } from '../shared/env';
import { createTrainableHandler } from './handlers';
import { datasetPorts, datasetsEnvironmentSchema } from './ports';

export const handler = createTrainableHandler(datasetPorts(parseEnvironment(datasetsEnvironmentSchema)));
