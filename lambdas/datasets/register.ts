/**
 * Registering a dataset version: read each object (an exact S3 version) once, as a stream,
 * hashing and profiling it in the same pass; check the profile; write the immutable version
 * record, or return the existing one when the same bytes were registered before.
 *
 * What is refused outright, with nothing written: an unknown dataset, keys outside
 * `datasets/<dataset>/`, a missing object or version, a checksum mismatch, an empty file,
 * a malformed or ragged CSV, text that is not UTF-8. What is recorded as a FAILED version
 * (so it is traceable, yet can never train): schema, row-count, null-rate, range and
 * distribution violations.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../shared/zod';
import { keys } from '../shared/contracts';
import { conditionalTransact } from '../shared/dynamo';
import { Invalid, NotFound, Unavailable } from '../shared/errors';
import { datasetPrefix } from '../shared/layout';
import { columnRuleSchema, type ColumnRule, type DatasetRules } from './catalog';
import { CsvParser, CsvSyntaxError } from './csv';
import { digestStream, openObject } from './objects';
import { checkProfile, DatasetProfiler } from './profile';
import {
  contentAddress,
  formatDatasetVersion,
  MAX_SEQUENCE,
  withoutKeys,
  type DatasetObject,
  type DatasetPorts,
  type DatasetSummaryItem,
  type DatasetVersionRecord,
} from './records';

export const MAX_OBJECTS_PER_VERSION = 100;
const WRITE_ATTEMPTS = 5;

export const registerDatasetVersionInputSchema = z.strictObject({
  dataset: z.string().check(z.minLength(1), z.maxLength(64)),
  objects: z
    .array(
      z.strictObject({
        key: z.string().check(z.minLength(1), z.maxLength(1024)),
        /** Register this exact S3 version. @default - the latest version, whose id is recorded */
        versionId: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
        /** Refuse the object unless its bytes hash to this (hex SHA-256). */
        sha256: z.optional(
          z.pipe(
            z.string().check(z.regex(/^[a-fA-F0-9]{64}$/, 'must be 64 hex characters')),
            z.transform((s: string) => s.toLowerCase()),
          ),
        ),
      }),
    )
    .check(z.minLength(1), z.maxLength(MAX_OBJECTS_PER_VERSION)),
  /** Principal registering the version (the API passes the caller's IAM ARN). */
  registeredBy: z.string().check(z.minLength(1), z.maxLength(2048)),
  /** Column schema, for datasets whose config declares none. */
  schema: z.optional(z.array(columnRuleSchema).check(z.minLength(1), z.maxLength(500))),
});
export type RegisterDatasetVersionInput = z.input<typeof registerDatasetVersionInputSchema>;

export interface RegisterResult {
  readonly record: DatasetVersionRecord;
  /** False when the same bytes were registered before and that version is returned. */
  readonly created: boolean;
}


export async function registerDatasetVersion(ports: DatasetPorts, rawInput: RegisterDatasetVersionInput): Promise<RegisterResult> {
  const parsed = registerDatasetVersionInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({ field: issue.path.map(String).join('.'), message: issue.message }));
    throw new Invalid(`invalid registration: ${details.map((d) => `${d.field || '(input)'}: ${d.message}`).join('; ')}`, details);
  }
  const input = parsed.data;
  const { dataset } = input;
  const rules = ports.catalog[dataset];
  if (!rules) {
    const known = Object.keys(ports.catalog).sort().join(', ');
    throw new NotFound(`unknown dataset "${dataset}" (declared in caretaker.config.json: ${known || 'none'})`, [
      { field: 'dataset', message: 'not declared by any model' },
    ]);
  }
  const prefix = datasetPrefix(dataset);
  input.objects.forEach((object, index) => {
    if (!object.key.startsWith(prefix) || object.key.length === prefix.length) {
      throw new Invalid(`objects[${index}].key "${object.key}" is not under ${prefix}`, [
        { field: `objects[${index}].key`, message: `must start with ${prefix}` },
      ]);
    }
    const first = input.objects.findIndex((o) => o.key === object.key);
    if (first !== index) {
      throw new Invalid(`objects[${index}].key "${object.key}" is listed twice`, [
        { field: `objects[${index}].key`, message: `duplicates objects[${first}].key` },
      ]);
    }
  });
  if (rules.columns && input.schema) {
    throw new Invalid(`dataset "${dataset}" declares its columns in caretaker.config.json; a registration may not declare others`, [
      { field: 'schema', message: 'not allowed for this dataset' },
    ]);
  }
  const declared: readonly ColumnRule[] | undefined = rules.columns ?? input.schema;

  const profiler = new DatasetProfiler(declared);
  const objects: DatasetObject[] = [];
  for (const object of input.objects) objects.push(await scanObject(ports, profiler, object));

  const address = contentAddress(objects);
  const existing = await findByContent(ports, dataset, address);
  if (existing) return { record: existing, created: false };

  return writeVersion(ports, { dataset, rules, declared, declaredBy: rules.columns ? 'config' : input.schema ? 'declared' : 'inferred' }, {
    profiler,
    objects,
    address,
    registeredBy: input.registeredBy,
  });
}

/** Streams one object once: sha256 and size, and every CSV record into the profiler. */
async function scanObject(
  ports: DatasetPorts,
  profiler: DatasetProfiler,
  object: { key: string; versionId?: string | undefined; sha256?: string | undefined },
): Promise<DatasetObject> {
  const { bucket } = ports;
  const { key } = object;
  const where = `s3://${bucket}/${key}${object.versionId ? ` (version ${object.versionId})` : ''}`;
  const opened = await openObject(ports.s3, bucket, key, object.versionId);
  if (opened.versionId === undefined || opened.versionId === 'null') {
    throw new Invalid(`${where} has no S3 version id: the datasets bucket must have versioning enabled`);
  }

  const scanned = await scanCsvStream(profiler, { key, where }, opened.body);
  if (object.sha256 !== undefined && object.sha256 !== scanned.sha256) {
    throw new Invalid(`checksum mismatch for ${where}: expected sha256 ${object.sha256}, the object hashes to ${scanned.sha256}`, [
      { field: key, message: 'sha256 mismatch' },
    ]);
  }
  return { bucket, key, versionId: opened.versionId, ...scanned };
}

/**
 * Hashes and parses one CSV byte stream in a single pass, feeding its header and rows to the
 * profiler. Malformed input throws `Invalid` naming `where` and the line. Also used by
 * `caretaker datasets check` on local files, so both take exactly this path.
 */
export async function scanCsvStream(
  profiler: DatasetProfiler,
  source: { readonly key: string; readonly where: string },
  body: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; size: number; rows: number }> {
  const { key, where } = source;
  let width: number | undefined;
  let rows = 0;
  const parser = new CsvParser((fields, line) => {
    if (width === undefined) {
      width = fields.length;
      profiler.addHeader(key, fields, line);
      return;
    }
    if (fields.length !== width) {
      throw new Invalid(`${where} line ${line}: ragged row with ${fields.length} fields, the header has ${width}`, [
        { field: key, message: `line ${line}: ${fields.length} fields, expected ${width}` },
      ]);
    }
    rows++;
    profiler.addRow(fields, () => ({ key, line }));
  });

  let digest;
  try {
    digest = await digestStream(body, (chunk) => parser.push(chunk));
    parser.end();
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      throw new Invalid(`${where} line ${error.line}: ${error.reason}`, [{ field: key, message: error.message }]);
    }
    throw error;
  }
  if (width === undefined) {
    throw new Invalid(`${where} line 1: empty file (no header row)`, [{ field: key, message: 'empty file' }]);
  }
  return { sha256: digest.sha256, size: digest.size, rows };
}

async function findByContent(ports: DatasetPorts, dataset: string, address: string): Promise<DatasetVersionRecord | undefined> {
  const pointer = await ports.db.send(
    new GetCommand({ TableName: ports.tableName, Key: keys.datasetContent(dataset, address), ConsistentRead: true }),
  );
  const version = pointer.Item?.datasetVersion as string | undefined;
  if (version === undefined) return undefined;
  const item = await ports.db.send(
    new GetCommand({ TableName: ports.tableName, Key: keys.datasetVersion(dataset, version), ConsistentRead: true }),
  );
  if (!item.Item) throw new Error(`dataset ${dataset}: content ${address} points at missing version ${version}`);
  return withoutKeys<DatasetVersionRecord>(item.Item);
}

async function readSummary(ports: DatasetPorts, dataset: string): Promise<DatasetSummaryItem | undefined> {
  const result = await ports.db.send(new GetCommand({ TableName: ports.tableName, Key: keys.dataset(dataset), ConsistentRead: true }));
  return result.Item ? withoutKeys<DatasetSummaryItem>(result.Item) : undefined;
}

async function readPrevious(ports: DatasetPorts, dataset: string, summary: DatasetSummaryItem | undefined) {
  if (summary?.latestPassedVersion === undefined) return undefined;
  const result = await ports.db.send(
    new GetCommand({
      TableName: ports.tableName,
      Key: keys.datasetVersion(dataset, summary.latestPassedVersion),
      ProjectionExpression: 'datasetVersion, profile',
    }),
  );
  return result.Item as Pick<DatasetVersionRecord, 'datasetVersion' | 'profile'> | undefined;
}

/**
 * Takes the next sequence number and writes version, content pointer and summary in one
 * transaction. A concurrent registration of other bytes makes the summary condition fail: read
 * again and retry. Of the same bytes: the content condition fails, and its version is returned.
 */
async function writeVersion(
  ports: DatasetPorts,
  context: { dataset: string; rules: DatasetRules; declared: readonly ColumnRule[] | undefined; declaredBy: DatasetVersionRecord['schema']['source'] },
  scan: { profiler: DatasetProfiler; objects: readonly DatasetObject[]; address: string; registeredBy: string },
): Promise<RegisterResult> {
  const { dataset, rules, declared } = context;
  const { profiler } = scan;
  const profile = Object.fromEntries(profiler.columns.map((c) => [c.name, c.profile(profiler.rows)]));
  const schemaColumns = profiler.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.rule ? c.rule.nullable || (c.rule.maxNullRate ?? 0) > 0 : c.nulls > 0 }));

  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    const summary = await readSummary(ports, dataset);
    const previous = await readPrevious(ports, dataset, summary);
    const { reasons, shift } = checkProfile(profiler, rules, declared, previous);
    const sequence = (summary?.latestSequence ?? 0) + 1;
    if (sequence > MAX_SEQUENCE) throw new Invalid(`dataset "${dataset}" has reached ${MAX_SEQUENCE} versions`);
    const datasetVersion = formatDatasetVersion(sequence);
    const createdAt = (ports.now?.() ?? new Date()).toISOString();
    const passed = reasons.length === 0;
    const record: DatasetVersionRecord = {
      dataset,
      datasetVersion,
      sequence,
      contentAddress: scan.address,
      objects: scan.objects,
      validation: { status: passed ? 'PASSED' : 'FAILED', reasons, ...(shift ? { shift } : {}) },
      schema: { source: context.declaredBy, columns: schemaColumns },
      rowCount: profiler.rows,
      profile,
      registeredBy: scan.registeredBy,
      createdAt,
    };
    const values: Record<string, unknown> = { ':dataset': dataset, ':sequence': sequence, ':version': datasetVersion, ':at': createdAt };
    if (summary) values[':previous'] = summary.latestSequence;
    const written = await conditionalTransact(ports.db, [
      {
        Update: {
          TableName: ports.tableName,
          Key: keys.dataset(dataset),
          UpdateExpression: `SET dataset = :dataset, latestSequence = :sequence, latestVersion = :version, updatedAt = :at${
            passed ? ', latestPassedVersion = :version' : ''
          }`,
          ConditionExpression: summary ? 'latestSequence = :previous' : 'attribute_not_exists(pk)',
          ExpressionAttributeValues: values,
        },
      },
      {
        Put: {
          TableName: ports.tableName,
          Item: { ...keys.datasetContent(dataset, scan.address), dataset, datasetVersion, contentAddress: scan.address },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: ports.tableName,
          Item: { ...keys.datasetVersion(dataset, datasetVersion), gsi1pk: 'DATASETS', gsi1sk: `${dataset}#${createdAt}`, ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ]);
    if (written) return { record, created: true };
    const winner = await findByContent(ports, dataset, scan.address);
    if (winner) return { record: winner, created: false };
  }
  throw new Unavailable(`dataset "${dataset}": too many concurrent registrations, nothing was written; retry`);
}
