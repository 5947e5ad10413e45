/**
 * What the datasets part stores in the metadata table, its ids and its content address.
 *
 * Version ids: `v` + the version's sequence number within its dataset, zero-padded to six
 * digits (`v000001`, `v000002`, …), so the table's sort key orders versions by creation and
 * "newest first" is a reverse query. People may type `3`, `v3` or `v000003`.
 *
 * Content address: `sha256:` + the hex SHA-256 of the UTF-8 JSON text of the array
 * `[[key, sha256], …]` of the version's objects, sorted by key (JavaScript string order).
 * It depends on the object keys and bytes only: the same bytes under the same keys are the
 * same version, whichever S3 version ids hold them and in whatever order they were listed.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DatasetVersionRecordCore } from '../shared/contracts';
import { Conflict, Invalid } from '../shared/errors';
import type { ColumnType, DatasetCatalog } from './catalog';
import type { ColumnProfile, ShiftReport } from './profile';

/** What every dataset domain function needs, passed in by the handler (or a test). */
export interface DatasetPorts {
  readonly s3: S3Client;
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The datasets bucket: every version is registered from objects under `datasets/<dataset>/` in it. */
  readonly bucket: string;
  readonly catalog: DatasetCatalog;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface DatasetObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly sha256: string;
  readonly size: number;
  /** Data rows in this object (header excluded). */
  readonly rows: number;
}

export interface DatasetValidation {
  readonly status: 'PASSED' | 'FAILED';
  /** Why it failed, one line per problem; empty when it passed. */
  readonly reasons: readonly string[];
  /** Population stability index per column against the previous passed version, if any. */
  readonly shift?: ShiftReport;
}

/** `pk = DATASET#<dataset>`, `sk = VERSION#<datasetVersion>`; immutable once written. */
export interface DatasetVersionRecord extends DatasetVersionRecordCore {
  readonly datasetVersion: string;
  readonly sequence: number;
  readonly contentAddress: string;
  readonly objects: readonly DatasetObject[];
  readonly validation: DatasetValidation;
  readonly schema: {
    /** `config`: caretaker.config.json; `declared`: given at registration; `inferred`: from the data. */
    readonly source: 'config' | 'declared' | 'inferred';
    readonly columns: readonly { readonly name: string; readonly type: ColumnType; readonly nullable: boolean }[];
  };
  readonly rowCount: number;
  readonly profile: Readonly<Record<string, ColumnProfile>>;
  readonly registeredBy: string;
  readonly createdAt: string;
}

/** `pk = DATASET#<dataset>`, `sk = DATASET` */
export interface DatasetSummaryItem {
  readonly dataset: string;
  readonly latestSequence: number;
  readonly latestVersion: string;
  readonly latestPassedVersion?: string;
  readonly updatedAt: string;
}

/** The error the pipeline's first state fails with when a version may not train. */
export class DatasetNotTrainable extends Conflict {
  constructor(message: string, details?: ConstructorParameters<typeof Conflict>[1]) {
    super(message, details);
    // Set explicitly: bundles are minified, and Step Functions matches on this name.
    this.name = 'DatasetNotTrainable';
  }
}

export const MAX_SEQUENCE = 999_999;

export function formatDatasetVersion(sequence: number): string {
  return `v${String(sequence).padStart(6, '0')}`;
}

/** `3`, `v3`, `v000003` → `v000003`; anything else is `Invalid`. */
export function parseDatasetVersion(text: string): string {
  const match = /^v?(\d{1,6})$/.exec(text.trim());
  const sequence = match ? Number(match[1]) : 0;
  if (sequence < 1) {
    throw new Invalid(`"${text}" is not a dataset version (expected v000001, v1 or 1)`, [{ field: 'datasetVersion', message: 'malformed' }]);
  }
  return formatDatasetVersion(sequence);
}

export function contentAddress(objects: readonly { readonly key: string; readonly sha256: string }[]): string {
  const pairs = objects.map((o) => [o.key, o.sha256] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `sha256:${createHash('sha256').update(JSON.stringify(pairs), 'utf8').digest('hex')}`;
}

const KEY_ATTRIBUTES = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'expiresAt']);

/** An item without its table keys, as the record type the caller knows it to be. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed read of an untyped item
export function withoutKeys<T>(item: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !KEY_ATTRIBUTES.has(name))) as T;
}
