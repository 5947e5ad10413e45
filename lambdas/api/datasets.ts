/**
 * The registry API's dataset routes on the datasets part's domain functions: the same
 * registration, validation and queries as its Lambda and CLI, with the API's page tokens.
 */
import { getDatasetVersion, listDatasets, listDatasetVersions, registerDatasetVersion, type DatasetPorts } from '../datasets';
import type { DatasetsPort } from './ports';

export function datasetsDomain(ports: DatasetPorts): DatasetsPort {
  return {
    listDatasets: () => listDatasets(ports),
    listVersions: async (dataset, page) => {
      const { items, nextCursor } = await listDatasetVersions(ports, dataset, { limit: page.limit, cursor: page.nextToken, cursorField: 'query.nextToken' });
      return { items, ...(nextCursor !== undefined ? { nextToken: nextCursor } : {}) };
    },
    getVersion: (dataset, datasetVersion) => getDatasetVersion(ports, dataset, datasetVersion),
    registerVersion: (input) => registerDatasetVersion(ports, input),
  };
}
