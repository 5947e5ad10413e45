/**
 * Training channels in the CSV format SageMaker's built-in algorithms read (SageMaker Developer
 * Guide, "Common Data Formats for Training" and the XGBoost algorithm's "Input/Output Interface":
 * for `text/csv` the target is the first column, there is no header row, and every value is
 * numeric). A dataset version is registered as Caretaker's CSV dialect with a header and typed
 * columns (`csv.ts`); this writes each record as `label,feature…` with
 *
 * - `number` / `integer` columns as they are (an empty value of a nullable column stays empty:
 *   the algorithm reads it as missing),
 * - `boolean` columns as 1 / 0,
 * - `string` columns one-hot, one 0/1 column per declared category (`categories` in the
 *   column's rule, in that order); a value outside them is refused naming file, line and column.
 *
 * The encoding (`FeatureEncoding`) is derived from the declared columns alone, so it is the same
 * for every dataset version and every model version trained on them; it is written next to the
 * channels and recorded with the run, so evaluation and serving encode a record the same way.
 * Records are split into `train` and `validation` by a hash of their content (stable across
 * retries and re-stagings of the same bytes). Pure: `algorithm-channels.ts` stages a dataset
 * version's objects through it into S3.
 */
import { createHash } from 'node:crypto';
import { Invalid } from '../shared/errors';
import type { ColumnRule } from './catalog';
import { CsvParser } from './csv';

export const ALGORITHM_CSV_FORMAT = 'sagemaker-algorithm-csv';

export type EncodedFeature =
  | { readonly name: string; readonly kind: 'number' }
  | { readonly name: string; readonly kind: 'boolean' }
  | { readonly name: string; readonly kind: 'one-hot'; readonly categories: readonly string[] };

export interface FeatureEncoding {
  readonly format: typeof ALGORITHM_CSV_FORMAT;
  /** The target column: the first value of each encoded record. */
  readonly label: string;
  /** The dataset's feature columns, in declared order, and how each is written. */
  readonly features: readonly EncodedFeature[];
  /** The encoded record's columns after the label (`contract=one-year` for a one-hot column). */
  readonly columns: readonly string[];
  /** Share of records (by content hash) in the validation channel. */
  readonly validationShare: number;
}

/** The encoding of a dataset's declared columns, with `label` first; refuses what the format cannot hold. */
export function featureEncoding(columns: readonly ColumnRule[], label: string, validationShare = 0.2): FeatureEncoding {
  const target = columns.find((c) => c.name === label);
  if (!target) throw new Invalid(`target column "${label}" is not a declared column`, [{ field: 'dataset.targetColumn', message: 'not declared in dataset.columns' }]);
  if (target.type === 'string') {
    throw new Invalid(`target column "${label}" is a string; the algorithm CSV format takes a numeric label`, [{ field: 'dataset.targetColumn', message: 'must be numeric' }]);
  }
  const features: EncodedFeature[] = [];
  for (const column of columns) {
    if (column.name === label) continue;
    if (column.type === 'string') {
      if (!column.categories) {
        throw new Invalid(`string column "${column.name}" declares no categories; the algorithm CSV format takes numbers only`, [
          { field: `dataset.columns.${column.name}.categories`, message: 'required to one-hot encode a string column' },
        ]);
      }
      features.push({ name: column.name, kind: 'one-hot', categories: column.categories });
    } else {
      features.push({ name: column.name, kind: column.type === 'boolean' ? 'boolean' : 'number' });
    }
  }
  const encoded = features.flatMap((f) => (f.kind === 'one-hot' ? f.categories.map((c) => `${f.name}=${c}`) : [f.name]));
  return { format: ALGORITHM_CSV_FORMAT, label, features, columns: encoded, validationShare };
}

const BOOLEAN: Readonly<Record<string, string>> = { true: '1', false: '0', '1': '1', '0': '0' };

/** Writes records of one CSV file (its header first) as encoded lines, each to the channel its hash picks. */
export class AlgorithmCsvEncoder {
  private header: string[] | undefined;
  private indexes: number[] = [];
  private labelIndex = -1;
  private readonly parser: CsvParser;
  readonly counts = { train: 0, validation: 0 };

  constructor(
    private readonly encoding: FeatureEncoding,
    /** Names the file in errors. */
    private readonly source: string,
    private readonly write: (channel: 'train' | 'validation', line: string) => void,
  ) {
    this.parser = new CsvParser((values, line) => this.record(values, line));
  }

  push(chunk: Uint8Array): void {
    this.parser.push(chunk);
  }

  end(): void {
    this.parser.end();
    if (this.header === undefined) throw new Invalid(`${this.source}: no header row`, [{ field: this.source, message: 'empty file' }]);
  }

  private fail(line: number, column: string, message: string): never {
    throw new Invalid(`${this.source} line ${line}, column ${column}: ${message}`, [{ field: `${this.source}:${line}:${column}`, message }]);
  }

  private record(values: string[], line: number): void {
    if (this.header === undefined) {
      this.header = values;
      const find = (name: string) => {
        const index = values.indexOf(name);
        if (index < 0) this.fail(line, name, 'declared column missing from the header');
        return index;
      };
      this.labelIndex = find(this.encoding.label);
      this.indexes = this.encoding.features.map((f) => find(f.name));
      return;
    }
    const label = values[this.labelIndex] ?? '';
    if (label === '' || !Number.isFinite(Number(label))) this.fail(line, this.encoding.label, `label "${label}" is not a number`);
    const out: string[] = [label];
    this.encoding.features.forEach((feature, i) => {
      encodeFeature(feature, values[this.indexes[i] ?? -1] ?? '', out, (message) => this.fail(line, feature.name, message));
    });
    const text = out.join(',');
    const channel = channelOf(text, this.encoding.validationShare);
    this.counts[channel] += 1;
    this.write(channel, text);
  }
}

/**
 * Appends one feature's encoded fields to `out` (a one-hot feature gets one field per category;
 * an empty value stays empty, which the algorithm reads as missing); `fail` is told why a value
 * cannot be written.
 */
function encodeFeature(feature: EncodedFeature, value: string, out: string[], fail: (message: string) => never): void {
  if (feature.kind === 'number') {
    if (value !== '' && !Number.isFinite(Number(value))) fail(`"${value}" is not a number`);
    out.push(value);
  } else if (feature.kind === 'boolean') {
    const bit = value === '' ? '' : BOOLEAN[value.toLowerCase()];
    if (bit === undefined) fail(`"${value}" is not a boolean`);
    out.push(bit);
  } else {
    const at = feature.categories.indexOf(value);
    if (value !== '' && at < 0) fail(`"${value}" is not one of the declared categories (${feature.categories.join(', ')})`);
    for (let c = 0; c < feature.categories.length; c++) out.push(c === at ? '1' : '0');
  }
}

/**
 * A request to a model trained on this encoding: a record's features (`valueOf` each) as one headerless CSV
 * row, without the label (what the algorithm's endpoint and Batch Transform take). Throws
 * `Invalid` naming the feature for a value the encoding cannot hold.
 */
export function encodeRequest(encoding: FeatureEncoding, valueOf: (feature: string) => string | number | boolean | null | undefined): string {
  const out: string[] = [];
  for (const feature of encoding.features) {
    const raw = valueOf(feature.name);
    encodeFeature(feature, raw === null || raw === undefined ? '' : String(raw), out, (message) => {
      throw new Invalid(`${feature.name}: ${message}`, [{ field: feature.name, message }]);
    });
  }
  return out.join(',');
}

/** `validation` for about `share` of records, by the first 4 bytes of the encoded record's SHA-256. */
export function channelOf(encodedRecord: string, share: number): 'train' | 'validation' {
  const bucket = createHash('sha256').update(encodedRecord).digest().readUInt32BE(0) / 2 ** 32;
  return bucket < share ? 'validation' : 'train';
}
