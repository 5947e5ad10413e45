/**
 * The metadata table's key schema: one source of truth for the CDK construct, the repositories
 * in the handlers and local mode.
 *
 * One table holds every entity (single-table design). Keys are strings with typed prefixes:
 *
 * | entity            | pk                    | sk                          | gsi1pk / gsi1sk                          |
 * |-------------------|-----------------------|-----------------------------|------------------------------------------|
 * | model summary     | `MODEL#<model>`       | `MODEL`                     | `MODELS` / `<model>`                     |
 * | model version     | `MODEL#<model>`       | `VERSION#<version>`         | `MODEL#<model>#STATUS#<status>` / `<version>` |
 * | deployment        | `MODEL#<model>`       | `DEPLOYMENT#<iso time>`     | —                                        |
 * | retraining lease  | `MODEL#<model>`       | `LEASE`                     | —                                        |
 * | deployment lease  | `ENDPOINT#<endpoint>` | `DEPLOYMENT_LEASE`          | —                                        |
 * | pipeline run      | `RUN#<runId>`         | `RUN`                       | `MODEL#<model>#RUNS` / `<iso time>`      |
 * | dataset version   | `DATASET#<dataset>`   | `VERSION#<datasetVersion>`  | `DATASETS` / `<dataset>#<iso time>`      |
 * | audit event       | `AUDIT#<model>`       | `<iso time>#<eventId>`      | `AUDIT` / `<iso time>#<eventId>`         |
 * | trigger record    | `TRIGGER#<model>`     | `<iso time>#<triggerId>`    | —                                        |
 * | retraining request| `REQUEST#<runId>`     | `REQUEST`                   | —                                        |
 *
 * `gsi2pk`/`gsi2sk` is a second overloaded index kept for access patterns later issues add.
 * Version ids sort lexicographically in creation order, so "newest first" is a reverse query.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
  timeToLiveAttribute: 'expiresAt',
} as const;

export type IndexName = (typeof TABLE_SCHEMA.indexes)[number]['indexName'];
