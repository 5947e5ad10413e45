/** Lambda entry: count new dataset objects (see `createNewDataHandler`). */
import { parseEnvironment } from '../shared/env';
import { createNewDataHandler } from './handlers';
import { newDataEnvironmentSchema, newDataPorts } from './ports';

export const handler = createNewDataHandler(newDataPorts(parseEnvironment(newDataEnvironmentSchema)));
