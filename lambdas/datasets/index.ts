/**
 * The datasets part's domain API, for the registry API, the pipeline and the CLI. Every
 * function takes its ports first (`DatasetPorts`: S3 and DynamoDB clients, table, bucket,
 * catalog) and throws only the errors in `lambdas/shared/errors.ts` (plus
 * `DatasetNotTrainable`, a `Conflict`).
 */
export { ALGORITHM_CSV_FORMAT, featureEncoding, type FeatureEncoding } from './algorithm-csv';
export { stageAlgorithmChannels, type AlgorithmChannel, type StagedChannels } from './algorithm-channels';
export { catalogEnvValue, datasetOfModel, type DatasetCatalog, type DatasetRules } from './catalog';
export { countNewObject, type NewDataPorts } from './new-data';
export {
  assertTrainable,
  getDatasetVersion,
  listDatasets,
  listDatasetVersions,
  listLineage,
  recordLineage,
  stageTrainingData,
  type DatasetSummary,
  type DatasetVersionListItem,
  type LineageEntry,
  type Page,
  type TrainableDataset,
} from './queries';
export {
  contentAddress,
  DatasetNotTrainable,
  formatDatasetVersion,
  parseDatasetVersion,
  type DatasetObject,
  type DatasetPorts,
  type DatasetVersionRecord,
} from './records';
export { registerDatasetVersion, registerDatasetVersionInputSchema, type RegisterDatasetVersionInput, type RegisterResult } from './register';
