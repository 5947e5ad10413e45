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
 * retries and re-stagings of the same bytes).
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Invalid } from '../shared/errors';
import type { ColumnRule } from './catalog';
import { CsvParser } from './csv';
import { openObject } from './objects';
import type { DatasetObject } from './records';

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
      const value = values[this.indexes[i] ?? -1] ?? '';
      if (feature.kind === 'number') {
        if (value !== '' && !Number.isFinite(Number(value))) this.fail(line, feature.name, `"${value}" is not a number`);
        out.push(value);
      } else if (feature.kind === 'boolean') {
        const bit = value === '' ? '' : BOOLEAN[value.toLowerCase()];
        if (bit === undefined) this.fail(line, feature.name, `"${value}" is not a boolean`);
        out.push(bit);
      } else {
        const at = feature.categories.indexOf(value);
        if (value !== '' && at < 0) this.fail(line, feature.name, `"${value}" is not one of the declared categories (${feature.categories.join(', ')})`);
        for (let c = 0; c < feature.categories.length; c++) out.push(c === at ? '1' : '0');
      }
    });
    const text = out.join(',');
    const channel = channelOf(text, this.encoding.validationShare);
    this.counts[channel] += 1;
    this.write(channel, text);
  }
}

/** `validation` for about `share` of records, by the first 4 bytes of the encoded record's SHA-256. */
export function channelOf(encodedRecord: string, share: number): 'train' | 'validation' {
  const bucket = createHash('sha256').update(encodedRecord).digest().readUInt32BE(0) / 2 ** 32;
  return bucket < share ? 'validation' : 'train';
}

/** One channel's output as SageMaker's InputDataConfig names it (S3Prefix, text/csv). */
export interface AlgorithmChannel {
  readonly ChannelName: 'train' | 'validation';
  readonly ContentType: 'text/csv';
  readonly DataSource: { readonly S3DataSource: { readonly S3DataType: 'S3Prefix'; readonly S3Uri: string; readonly S3DataDistributionType: 'FullyReplicated' } };
}

export interface StagedChannels {
  readonly channels: readonly AlgorithmChannel[];
  readonly encoding: FeatureEncoding;
  /** `encoding.json` beside the channels: what evaluation and serving read. */
  readonly encodingUri: string;
  readonly rows: { readonly train: number; readonly validation: number };
}

/**
 * Streams each object version through the encoder into `<prefix>train/part-NNNN.csv` and
 * `<prefix>validation/part-NNNN.csv` (multipart uploads: memory is bounded by the upload part
 * size, whatever the dataset's size), then writes `<prefix>encoding.json`. A retry writes the
 * same keys with the same bytes. A record the format cannot hold fails the staging, naming the
 * object, the line and the column; a channel left with no record is refused too (the algorithm
 * needs both).
 */
export async function stageAlgorithmChannels(
  s3: S3Client,
  objects: readonly DatasetObject[],
  encoding: FeatureEncoding,
  destination: { readonly bucket: string; readonly prefix: string },
): Promise<StagedChannels> {
  if (!destination.prefix.endsWith('/')) throw new Invalid(`destination prefix "${destination.prefix}" must end with /`, [{ field: 'prefix', message: 'must end with /' }]);
  const rows = { train: 0, validation: 0 };
  for (const [index, object] of objects.entries()) {
    const part = `part-${String(index).padStart(4, '0')}.csv`;
    const outputs = {
      train: new PassThrough(),
      validation: new PassThrough(),
    };
    const uploads = (['train', 'validation'] as const).map((channel) =>
      new Upload({ client: s3, params: { Bucket: destination.bucket, Key: `${destination.prefix}${channel}/${part}`, Body: outputs[channel], ContentType: 'text/csv' } }).done(),
    );
    const source = `s3://${object.bucket}/${object.key}`;
    const encoder = new AlgorithmCsvEncoder(encoding, source, (channel, line) => outputs[channel].write(`${line}\n`));
    try {
      const { body } = await openObject(s3, object.bucket, object.key, object.versionId);
      for await (const chunk of body) encoder.push(chunk);
      encoder.end();
    } catch (error) {
      for (const output of Object.values(outputs)) output.destroy(error instanceof Error ? error : new Error(String(error)));
      await Promise.allSettled(uploads);
      throw error;
    }
    for (const output of Object.values(outputs)) output.end();
    await Promise.all(uploads);
    rows.train += encoder.counts.train;
    rows.validation += encoder.counts.validation;
  }
  for (const channel of ['train', 'validation'] as const) {
    if (rows[channel] === 0) throw new Invalid(`the ${channel} channel would be empty (${rows.train + rows.validation} records in all)`, [{ field: channel, message: 'no records' }]);
  }
  const key = `${destination.prefix}encoding.json`;
  await s3.send(new PutObjectCommand({ Bucket: destination.bucket, Key: key, Body: `${JSON.stringify(encoding, null, 2)}\n`, ContentType: 'application/json' }));
  const channel = (name: 'train' | 'validation'): AlgorithmChannel => ({
    ChannelName: name,
    ContentType: 'text/csv',
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${destination.bucket}/${destination.prefix}${name}/`, S3DataDistributionType: 'FullyReplicated' } },
  });
  return { channels: [channel('train'), channel('validation')], encoding, encodingUri: `s3://${destination.bucket}/${key}`, rows };
}
