/**
 * A dataset version's objects staged as SageMaker training channels in the algorithm CSV format
 * (`algorithm-csv.ts` has the format and the encoder).
 */
import { PassThrough } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Invalid } from '../shared/errors';
import { AlgorithmCsvEncoder, type FeatureEncoding } from './algorithm-csv';
import { openObject } from './objects';
import type { DatasetObject } from './records';

/** One channel's output as SageMaker's InputDataConfig names it (S3Prefix, text/csv). */
export interface AlgorithmChannel {
  readonly ChannelName: 'train' | 'validation';
  readonly ContentType: 'text/csv';
  readonly DataSource: { readonly S3DataSource: { readonly S3DataType: 'S3Prefix'; readonly S3Uri: string; readonly S3DataDistributionType: 'FullyReplicated' } };
}

export interface StagedChannels {
  readonly channels: readonly AlgorithmChannel[];
  readonly encoding: FeatureEncoding;
  /** `<prefix>holdout/`: the validation channel and `encoding.json`, what evaluation reads. */
  readonly holdoutUri: string;
  /** `<prefix>holdout/encoding.json`. */
  readonly encodingUri: string;
  readonly rows: { readonly train: number; readonly validation: number };
}

/**
 * Where each part goes under the prefix. The validation channel sits in `holdout/` with
 * `encoding.json`, so the evaluation job's one holdout input is both, and no channel holds a
 * file that is not a record (a training container reads every object under its channel).
 */
const LAYOUT = { train: 'train/', validation: 'holdout/validation/', encoding: 'holdout/encoding.json', holdout: 'holdout/' } as const;

/**
 * Streams each object version through the encoder into `<prefix>train/part-NNNN.csv` and
 * `<prefix>holdout/validation/part-NNNN.csv` (multipart uploads: memory is bounded by the upload
 * part size, whatever the dataset's size), then writes `<prefix>holdout/encoding.json`. A retry writes the
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
      new Upload({ client: s3, params: { Bucket: destination.bucket, Key: `${destination.prefix}${LAYOUT[channel]}${part}`, Body: outputs[channel], ContentType: 'text/csv' } }).done(),
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
  const key = `${destination.prefix}${LAYOUT.encoding}`;
  await s3.send(new PutObjectCommand({ Bucket: destination.bucket, Key: key, Body: `${JSON.stringify(encoding, null, 2)}\n`, ContentType: 'application/json' }));
  const channel = (name: 'train' | 'validation'): AlgorithmChannel => ({
    ChannelName: name,
    ContentType: 'text/csv',
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${destination.bucket}/${destination.prefix}${LAYOUT[name]}`, S3DataDistributionType: 'FullyReplicated' } },
  });
  return {
    channels: [channel('train'), channel('validation')],
    encoding,
    holdoutUri: `s3://${destination.bucket}/${destination.prefix}${LAYOUT.holdout}`,
    encodingUri: `s3://${destination.bucket}/${key}`,
    rows,
  };
}
