/**
 * The dataset catalog the stack hands to the dataset, API and pipeline functions, rendered from
 * `caretaker.config.json` at synth time (beside `pipeline-settings.ts`). The handlers only parse
 * it (`lambdas/datasets/catalog.ts`, `parseCatalog`); they never import the config.
 */
import type { DatasetCatalog } from '../lambdas/datasets/catalog';
import type { CaretakerConfig } from './config';

/** The catalog of a parsed config (models sharing a dataset share its rules; the config checks that). */
export function datasetCatalogFromConfig(config: Pick<CaretakerConfig, 'models'>): DatasetCatalog {
  const catalog: DatasetCatalog = {};
  for (const model of config.models) {
    const { name, columns, minRows, maxRows, maxPsi } = model.dataset;
    const entry = (catalog[name] ??= { columns, minRows, maxRows, maxPsi, models: [] });
    entry.models.push({ name: model.name, newObjectsThreshold: model.retraining.newObjectsThreshold });
  }
  return catalog;
}
