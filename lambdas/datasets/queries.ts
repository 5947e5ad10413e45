/**
 * Reading datasets (for the API and the CLI), the training gate the pipeline's first state
 * calls, and lineage between dataset versions and model versions.
 */
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys, versionNumber } from '../shared/contracts';
import { decodePageToken, encodePageToken, isConditionFailure, queryPages } from '../shared/dynamo';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../shared/pages';
import { Invalid, NotFound } from '../shared/errors';
import { datasetPrefix } from '../shared/layout';
import { datasetOfModel, type DatasetRules } from './catalog';
import { copyObjectVersion, objectVersionExists } from './objects';
import {
  DatasetNotTrainable,
  parseDatasetVersion,
  withoutKeys,
  type DatasetObject,
  type DatasetPorts,
  type DatasetSummaryItem,
  type DatasetVersionRecord,
} from './records';


function rulesOf(ports: DatasetPorts, dataset: string): DatasetRules {
  const rules = ports.catalog[dataset];
  if (!rules) throw new NotFound(`unknown dataset "${dataset}"`, [{ field: 'dataset', message: 'not declared by any model' }]);
  return rules;
}

export interface DatasetSummary {
  readonly dataset: string;
  /** Models that train on it. */
  readonly models: readonly string[];
  readonly latestVersion?: string;
  readonly latestPassedVersion?: string;
  readonly versions: number;
  readonly updatedAt?: string;
}

/** Every dataset declared in the config, with its newest versions (no pagination: ≤ 50 models). */
export async function listDatasets(ports: DatasetPorts): Promise<DatasetSummary[]> {
  const names = Object.keys(ports.catalog).sort();
  const summaries = new Map<string, DatasetSummaryItem>();
  for (let i = 0; i < names.length; i += 100) {
    let pending: Record<string, unknown>[] = names.slice(i, i + 100).map((name) => keys.dataset(name));
    while (pending.length > 0) {
      const result = await ports.db.send(new BatchGetCommand({ RequestItems: { [ports.tableName]: { Keys: pending } } }));
      for (const item of result.Responses?.[ports.tableName] ?? []) {
        const summary = withoutKeys<DatasetSummaryItem>(item);
        summaries.set(summary.dataset, summary);
      }
      pending = result.UnprocessedKeys?.[ports.tableName]?.Keys ?? [];
    }
  }
  return names.map((dataset) => {
    const summary = summaries.get(dataset);
    return {
      dataset,
      models: rulesOf(ports, dataset).models.map((m) => m.name),
      versions: summary?.latestSequence ?? 0,
      ...(summary
        ? { latestVersion: summary.latestVersion, latestPassedVersion: summary.latestPassedVersion, updatedAt: summary.updatedAt }
        : {}),
    };
  });
}

/** A version as listed: what tells versions apart, without profiles. */
export type DatasetVersionListItem = Pick<
  DatasetVersionRecord,
  'dataset' | 'datasetVersion' | 'contentAddress' | 'rowCount' | 'registeredBy' | 'createdAt'
> & { readonly validation: { readonly status: DatasetVersionRecord['validation']['status'] }; readonly objects: number };

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** Versions of a dataset, newest first. */
export async function listDatasetVersions(
  ports: DatasetPorts,
  dataset: string,
  options: { readonly limit?: number; readonly cursor?: string; /** The request field the cursor came in (named in a 400). @default 'cursor' */ readonly cursorField?: string } = {},
): Promise<Page<DatasetVersionListItem>> {
  rulesOf(ports, dataset);
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new Invalid(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, [{ field: 'limit', message: `got ${limit}` }]);
  }
  // Every version's sort key starts with what an empty version id gives.
  const { pk, sk: versionsPrefix } = keys.datasetVersion(dataset, '');
  const result = await ports.db.send(
    new QueryCommand({
      TableName: ports.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :versions)',
      ExpressionAttributeValues: { ':pk': pk, ':versions': versionsPrefix },
      ProjectionExpression: 'pk, sk, dataset, datasetVersion, contentAddress, rowCount, registeredBy, createdAt, validation.#status, objects',
      ExpressionAttributeNames: { '#status': 'status' },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: decodePageToken(options.cursor, { partition: pk, sort: { prefix: versionsPrefix }, field: options.cursorField ?? 'cursor' }),
    }),
  );
  const items = (result.Items ?? []).map((item) => {
    const record = withoutKeys<DatasetVersionRecord>(item);
    return {
      dataset: record.dataset,
      datasetVersion: record.datasetVersion,
      contentAddress: record.contentAddress,
      rowCount: record.rowCount,
      registeredBy: record.registeredBy,
      createdAt: record.createdAt,
      validation: { status: record.validation.status },
      objects: record.objects.length,
    };
  });
  const last = result.LastEvaluatedKey;
  return { items, ...(last ? { nextCursor: encodePageToken({ pk: last.pk, sk: last.sk }) } : {}) };
}

/** One version, in full (objects, validation, schema, profile). */
export async function getDatasetVersion(ports: DatasetPorts, dataset: string, datasetVersion: string): Promise<DatasetVersionRecord> {
  rulesOf(ports, dataset);
  const version = parseDatasetVersion(datasetVersion);
  const result = await ports.db.send(new GetCommand({ TableName: ports.tableName, Key: keys.datasetVersion(dataset, version) }));
  if (!result.Item) {
    throw new NotFound(`dataset "${dataset}" has no version ${version}`, [{ field: 'datasetVersion', message: 'no such version' }]);
  }
  return withoutKeys<DatasetVersionRecord>(result.Item);
}

// ---------------------------------------------------------------------------------------------
// The training gate

export interface TrainableDataset {
  readonly dataset: string;
  readonly datasetVersion: string;
  readonly contentAddress: string;
  readonly rowCount: number;
  /** The exact bytes to train on. SageMaker channels take prefixes, not version ids: copy these. */
  readonly objects: readonly DatasetObject[];
}

/**
 * The check before any training. Resolves the dataset (from `model` via the config, or given),
 * and the version (given, or the newest that passed validation), and returns its objects.
 * Throws `DatasetNotTrainable` (a `Conflict`) when the version FAILED validation or one of its
 * object versions no longer exists in S3, `NotFound` for an unknown model, dataset or version.
 */
export async function assertTrainable(
  ports: DatasetPorts,
  input: { readonly model?: string; readonly dataset?: string; readonly datasetVersion?: string },
): Promise<TrainableDataset> {
  const dataset = input.dataset ?? (input.model !== undefined ? datasetOfModel(ports.catalog, input.model) : undefined);
  if (dataset === undefined) {
    throw input.model !== undefined
      ? new NotFound(`unknown model "${input.model}"`, [{ field: 'model', message: 'not declared in caretaker.config.json' }])
      : new Invalid('give a model or a dataset', [{ field: 'dataset', message: 'required without model' }]);
  }
  rulesOf(ports, dataset);
  if (input.model !== undefined && input.dataset !== undefined && datasetOfModel(ports.catalog, input.model) !== input.dataset) {
    throw new DatasetNotTrainable(`model "${input.model}" does not train on dataset "${input.dataset}"`);
  }
  let version = input.datasetVersion;
  if (version === undefined) {
    const summary = await ports.db.send(new GetCommand({ TableName: ports.tableName, Key: keys.dataset(dataset), ConsistentRead: true }));
    version = (summary.Item as DatasetSummaryItem | undefined)?.latestPassedVersion;
    if (version === undefined) throw new DatasetNotTrainable(`dataset "${dataset}" has no version that passed validation`);
  }
  const record = await getDatasetVersion(ports, dataset, version);
  if (record.validation.status !== 'PASSED') {
    throw new DatasetNotTrainable(
      `dataset "${dataset}" version ${record.datasetVersion} failed validation: ${record.validation.reasons.join('; ')}`,
      record.validation.reasons.map((message) => ({ field: 'validation', message })),
    );
  }
  for (const object of record.objects) {
    if (!(await objectVersionExists(ports.s3, object.bucket, object.key, object.versionId))) {
      throw new DatasetNotTrainable(
        `dataset "${dataset}" version ${record.datasetVersion}: s3://${object.bucket}/${object.key} version ${object.versionId} no longer exists`,
      );
    }
  }
  return {
    dataset,
    datasetVersion: record.datasetVersion,
    contentAddress: record.contentAddress,
    rowCount: record.rowCount,
    objects: record.objects,
  };
}

/**
 * SageMaker training channels name S3 prefixes, not object versions: a prefix under
 * `datasets/<dataset>/` would serve whatever is current when the job starts. This copies the
 * exact object versions of a trainable dataset version (server-side) to
 * `<destinationPrefix><key relative to datasets/<dataset>/>` in `destinationBucket`, so a
 * channel on `s3Uri` reads precisely the registered bytes. Idempotent: a retry copies again.
 */
export async function stageTrainingData(
  ports: Pick<DatasetPorts, 's3'>,
  trainable: TrainableDataset,
  destination: { readonly bucket: string; readonly prefix: string },
): Promise<{ readonly s3Uri: string; readonly objects: readonly { readonly key: string; readonly sha256: string }[] }> {
  if (!destination.prefix.endsWith('/')) {
    throw new Invalid(`destination prefix "${destination.prefix}" must end with /`, [{ field: 'prefix', message: 'must end with /' }]);
  }
  const source = datasetPrefix(trainable.dataset);
  const staged = [];
  for (const object of trainable.objects) {
    const key = `${destination.prefix}${object.key.startsWith(source) ? object.key.slice(source.length) : object.key}`;
    await copyObjectVersion(ports.s3, object, { bucket: destination.bucket, key });
    staged.push({ key, sha256: object.sha256 });
  }
  return { s3Uri: `s3://${destination.bucket}/${destination.prefix}`, objects: staged };
}

// ---------------------------------------------------------------------------------------------
// Lineage

export interface LineageEntry {
  readonly dataset: string;
  readonly datasetVersion: string;
  readonly model: string;
  readonly modelVersion: number;
  readonly runId?: string;
  readonly recordedAt: string;
}

/**
 * Records that `model` version `modelVersion` was trained on this dataset version. Idempotent:
 * recording the same link again keeps the first entry. Only a PASSED version can be linked.
 */
export async function recordLineage(
  ports: DatasetPorts,
  input: { readonly dataset: string; readonly datasetVersion: string; readonly model: string; readonly modelVersion: number; readonly runId?: string },
): Promise<LineageEntry> {
  const record = await getDatasetVersion(ports, input.dataset, input.datasetVersion);
  if (record.validation.status !== 'PASSED') {
    throw new DatasetNotTrainable(`dataset "${input.dataset}" version ${record.datasetVersion} failed validation; no model may point at it`);
  }
  const modelVersion = versionNumber.parse(input.modelVersion);
  const entry: LineageEntry = {
    dataset: input.dataset,
    datasetVersion: record.datasetVersion,
    model: input.model,
    modelVersion,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    recordedAt: (ports.now?.() ?? new Date()).toISOString(),
  };
  try {
    await ports.db.send(
      new PutCommand({
        TableName: ports.tableName,
        Item: { ...keys.datasetLineage(input.dataset, record.datasetVersion, input.model, modelVersion), ...entry },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return entry;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const existing = await ports.db.send(
      new GetCommand({
        TableName: ports.tableName,
        Key: keys.datasetLineage(input.dataset, record.datasetVersion, input.model, modelVersion),
        ConsistentRead: true,
      }),
    );
    return existing.Item ? withoutKeys<LineageEntry>(existing.Item) : entry;
  }
}

/** The model versions trained on a dataset version, by model then version. */
export async function listLineage(ports: DatasetPorts, dataset: string, datasetVersion: string): Promise<LineageEntry[]> {
  rulesOf(ports, dataset);
  const version = parseDatasetVersion(datasetVersion);
  const lineage = keys.datasetLineageOf(dataset, version);
  const entries: LineageEntry[] = [];
  const pages = queryPages(ports.db, {
    TableName: ports.tableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': lineage.pk, ':prefix': lineage.skPrefix },
  });
  for await (const items of pages) for (const item of items) entries.push(withoutKeys<LineageEntry>(item));
  return entries;
}
