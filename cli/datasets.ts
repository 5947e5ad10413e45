/**
 * `caretaker datasets …`: work with dataset files before they are uploaded.
 *
 * `caretaker datasets check <files…> --dataset <name>` runs the registration's own code path
 * (streamed hash, CSV parse, profile, checks) over local files, with the rules the config
 * declares, and prints each file's sha256 (pass it as `sha256` when registering), the content
 * address the files would have under `datasets/<name>/<file name>`, and the validation result.
 * No previous version is compared (that needs the registry). Exits 1 if the files would fail.
 *
 * `caretaker datasets push <files or folder> --dataset <name> [--as <label>]` runs the same check
 * first (nothing is uploaded when it fails), uploads the files with the caller's own AWS
 * credentials to `datasets/<name>/[<label>/]<file name>` in the datasets bucket (multipart above
 * 8 MiB, through @aws-sdk/lib-storage), then registers exactly the uploaded S3 versions with
 * their sha256 through the API and prints the registration's validation. Uploading is SigV4 with
 * the stack's upload grant (`DatasetStore.grantWrite(role, dataset)`: PutObject and
 * AbortMultipartUpload under the dataset's prefix, plus the KMS key's GenerateDataKey/Decrypt),
 * not presigned URLs from the API: the grant already scopes who may write which dataset in IAM,
 * and the API Lambda needs no write access to any dataset.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CommanderError, type Command } from 'commander';
import { datasetCatalogFromConfig } from '../lib/dataset-catalog';
import { checkProfile, DatasetProfiler } from '../lambdas/datasets/profile';
import { contentAddress } from '../lambdas/datasets/records';
import { scanCsvStream } from '../lambdas/datasets/register';
import { datasetPrefix } from '../lambdas/shared/layout';
import { loadConfig } from '../lib/config';
import { assertReadableFile, FileError, utf8Chunks } from '../lib/files';
import { clientFromOptions, type GlobalOptions, isLoopback, resolveApiUrl, stackOutput, withConnectionOptions } from './api';
import { commandGroup } from './group';

/** Multipart above this size; also the part size. S3's minimum part is 5 MiB. */
export const PART_SIZE = 8 * 1024 * 1024;

interface CheckedFile {
  readonly file: string;
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly rows: number;
}

/** Files named on the command line; a folder stands for the CSV files directly in it. */
function expandPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new FileError(path, 'no such file or folder');
    }
    if (stat.isDirectory()) {
      const inFolder = readdirSync(path).filter((name) => name.toLowerCase().endsWith('.csv')).sort();
      if (inFolder.length === 0) throw new FileError(path, 'folder has no .csv files');
      files.push(...inFolder.map((name) => join(path, name)));
    } else {
      assertReadableFile(path);
      files.push(path);
    }
  }
  return files;
}

/** The registration's own checks over local files; errors name the local path and line. */
async function checkFiles(files: readonly string[], dataset: string, configFile: string, prefix: string) {
  const catalog = datasetCatalogFromConfig(loadConfig(configFile));
  const rules = catalog[dataset];
  if (!rules) {
    throw new Error(`unknown dataset "${dataset}" (declared in ${configFile}: ${Object.keys(catalog).sort().join(', ')})`);
  }
  const profiler = new DatasetProfiler(rules.columns);
  const objects: CheckedFile[] = [];
  const keys = new Set<string>();
  for (const file of files) {
    const key = `${prefix}${basename(file)}`;
    if (keys.has(key)) throw new Error(`${file}: two files would both be ${key}`);
    keys.add(key);
    // Problems name the local path (not the upload key); text must be UTF-8, as lib/files.ts reads every file.
    objects.push({ file, key, ...(await scanCsvStream(profiler, { key: file, where: file }, utf8Chunks(file))) });
  }
  const { reasons } = checkProfile(profiler, rules, rules.columns, undefined);
  return {
    dataset,
    status: reasons.length === 0 ? 'PASSED' : 'FAILED',
    reasons,
    rowCount: profiler.rows,
    contentAddress: contentAddress(objects),
    objects,
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The datasets bucket: --bucket, then $CARETAKER_DATASETS_BUCKET, then the DatasetsBucketName stack output. */
function resolveBucket(options: { bucket?: string; outputs?: string }): string {
  const bucket = options.bucket ?? process.env.CARETAKER_DATASETS_BUCKET ?? stackOutput('DatasetsBucketName', options.outputs);
  if (!bucket) {
    throw new Error('no datasets bucket: pass --bucket, set CARETAKER_DATASETS_BUCKET (caretaker local up prints it), or deploy with --outputs-file');
  }
  return bucket;
}

/** Label → key folder; the same characters S3 keys and the registry take without escaping. */
function labelPrefix(label: string | undefined): string {
  if (label === undefined) return '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(label)) {
    throw new Error(`--as ${JSON.stringify(label)}: a label is letters, digits, '.', '_' and '-' (at most 128), starting with a letter or digit`);
  }
  return `${label}/`;
}

export function registerDatasetsCommands(program: Command): void {
  const datasets = commandGroup(program, 'datasets', 'the dataset registry, and dataset files before upload');
  datasets
    .command('check')
    .description('validate local CSV files as one dataset version, as registration would')
    .argument('<files...>', 'CSV files of one dataset version')
    .requiredOption('--dataset <name>', 'dataset name declared in the config')
    .option('--config <file>', 'config file', 'caretaker.config.json')
    .option('--json', 'print the result as JSON')
    .action(async (files: string[], options: { dataset: string; config: string; json?: boolean }) => {
      const result = await checkFiles(expandPaths(files), options.dataset, options.config, datasetPrefix(options.dataset));
      const { objects, reasons } = result;
      if (options.json) console.log(JSON.stringify(result, null, 2));
      else {
        for (const o of objects) console.log(`${o.file}: ${o.rows} rows, ${o.size} bytes, sha256 ${o.sha256}`);
        console.log(`${result.status}: ${result.rowCount} rows, content address ${result.contentAddress} (as ${datasetPrefix(options.dataset)}<file name>)`);
        for (const reason of reasons) console.log(`  - ${reason}`);
      }
      // Results are printed; the exit code says whether the files would pass.
      if (reasons.length > 0) throw new CommanderError(1, 'caretaker.datasets.failed', 'validation failed');
    });

  withConnectionOptions(
    datasets
      .command('push')
      .description('check local CSV files, upload them to datasets/<dataset>/ and register them as the next version')
      .argument('<paths...>', 'CSV files, or folders of CSV files, of one dataset version'),
  )
    .requiredOption('--dataset <name>', 'dataset name declared in the config')
    .option('--as <label>', 'upload under datasets/<dataset>/<label>/ (default: datasets/<dataset>/)')
    .option('--bucket <name>', 'datasets bucket (default: $CARETAKER_DATASETS_BUCKET or the DatasetsBucketName stack output)')
    .option('--config <file>', 'config file', 'caretaker.config.json')
    .action(async (paths: string[], options: GlobalOptions & { dataset: string; as?: string; bucket?: string; config: string }) => {
      const json = options.json ?? false;
      const prefix = `${datasetPrefix(options.dataset)}${labelPrefix(options.as)}`;
      // Everything that can refuse without the network first: files, check, bucket, API URL, principal.
      const checked = await checkFiles(expandPaths(paths), options.dataset, options.config, prefix);
      if (checked.status !== 'PASSED') {
        if (json) console.log(JSON.stringify({ ...checked, uploaded: [] }, null, 2));
        else {
          console.log(`FAILED locally, nothing uploaded: ${checked.rowCount} rows`);
          for (const reason of checked.reasons) console.log(`  - ${reason}`);
        }
        throw new CommanderError(1, 'caretaker.datasets.failed', 'validation failed');
      }
      const bucket = resolveBucket(options);
      const client = clientFromOptions(options);
      const local = isLoopback(resolveApiUrl(options));
      const s3 = new S3Client({
        region: options.region ?? process.env.AWS_REGION ?? (local ? 'us-east-1' : undefined),
        // Local mode's S3 is moto at AWS_ENDPOINT_URL (local up prints it); it takes any key.
        ...(local ? { forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
      });
      const progress = !json && process.stderr.isTTY;
      const uploaded: { key: string; versionId: string; sha256: string; size: number }[] = [];
      for (const object of checked.objects) {
        const started = Date.now();
        const upload = new Upload({
          client: s3,
          params: { Bucket: bucket, Key: object.key, Body: createReadStream(object.file), ContentType: 'text/csv' },
          partSize: PART_SIZE,
          queueSize: 4,
          leavePartsOnError: false,
        });
        if (progress) {
          upload.on('httpUploadProgress', ({ loaded = 0 }) => {
            const seconds = Math.max((Date.now() - started) / 1000, 0.001);
            const width = 30;
            const done = Math.round((loaded / Math.max(object.size, 1)) * width);
            process.stderr.write(
              `\r${object.file} [${'#'.repeat(done)}${' '.repeat(width - done)}] ${formatBytes(loaded)} / ${formatBytes(object.size)}, ${formatBytes(loaded / seconds)}/s `,
            );
          });
        }
        const result = await upload.done();
        if (progress) process.stderr.write('\n');
        if (!result.VersionId) throw new Error(`s3://${bucket}/${object.key}: no VersionId returned — the datasets bucket must be versioned`);
        uploaded.push({ key: object.key, versionId: result.VersionId, sha256: object.sha256, size: object.size });
        if (!json && !progress) console.log(`uploaded ${object.file} → s3://${bucket}/${object.key} (${formatBytes(object.size)}, version ${result.VersionId})`);
      }
      const registered = await client.registerDatasetVersion(options.dataset, {
        objects: uploaded.map(({ key, versionId, sha256 }) => ({ key, versionId, sha256 })),
      });
      const record = registered.record;
      if (json) console.log(JSON.stringify({ uploaded, ...registered }, null, 2));
      else {
        console.log(
          `${options.dataset} ${record.datasetVersion}: ${record.validation.status}${registered.created ? '' : ' (these bytes were already registered)'}, ${record.rowCount} rows, content address ${record.contentAddress}`,
        );
        for (const reason of record.validation.reasons) console.log(`  - ${reason}`);
      }
      if (record.validation.status !== 'PASSED') {
        throw new CommanderError(1, 'caretaker.datasets.failed', `registered ${record.datasetVersion} ${record.validation.status}`);
      }
    });
}
