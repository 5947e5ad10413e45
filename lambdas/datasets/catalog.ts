/**
 * The datasets Caretaker knows: one entry per dataset name declared by a model in
 * `caretaker.config.json`, with the rules its versions are validated against and the models
 * that train on it. The stack passes it to the dataset functions as JSON in
 * `DATASETS_CATALOG` (`ENV.datasetsCatalog`, rendered at synth time by `lib/dataset-catalog.ts`); domain code
 * receives it as a port.
 */
import * as z from '../shared/zod';
import { envValue } from '../shared/env';

export const COLUMN_TYPES = ['number', 'integer', 'string', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const columnRuleSchema = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(128)),
  type: z.enum(COLUMN_TYPES),
  nullable: z._default(z.boolean(), false),
  maxNullRate: z.optional(z.number().check(z.minimum(0), z.maximum(1))),
  min: z.optional(z.number()),
  max: z.optional(z.number()),
  /**
   * The values a string column takes, in the order a model's features encode them (one-hot, one
   * column each: lambdas/datasets/algorithm-csv.ts). Declared, not inferred from one dataset
   * version, so every version and every model version trained on them encode alike.
   */
  categories: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(1), z.maxLength(1000))),
});
export type ColumnRule = z.infer<typeof columnRuleSchema>;

const positiveInt = z.int().check(z.positive());

export const datasetRulesSchema = z.strictObject({
  /** Declared schema; absent: a registration may declare one, or it is inferred from the data. */
  columns: z.optional(z.array(columnRuleSchema).check(z.minLength(1))),
  minRows: z.optional(positiveInt),
  maxRows: z.optional(positiveInt),
  maxPsi: z.optional(z.number().check(z.positive())),
  /** Models training on this dataset, with their "enough new data" thresholds. */
  models: z.array(z.strictObject({ name: z.string().check(z.minLength(1)), newObjectsThreshold: z.optional(positiveInt) })).check(z.minLength(1)),
});
export type DatasetRules = z.infer<typeof datasetRulesSchema>;

export const catalogSchema = z.record(z.string().check(z.minLength(1)), datasetRulesSchema);
export type DatasetCatalog = z.infer<typeof catalogSchema>;

/** The dataset a model trains on, or undefined for an unknown model. */
export function datasetOfModel(catalog: DatasetCatalog, model: string): string | undefined {
  return Object.entries(catalog).find(([, rules]) => rules.models.some((m) => m.name === model))?.[0];
}

/** The catalog as a function's environment carries it (JSON); a broken value fails the function at start-up. */
export const catalogEnvValue = envValue.json(catalogSchema);
