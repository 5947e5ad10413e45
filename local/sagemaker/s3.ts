/** The S3 side of the runner: channels down, artifacts and checkpoints up. */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listFiles } from './files';

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new Error(`not an S3 URI: ${uri}`);
  return { bucket: match[1], key: match[2] ?? '' };
}

export const joinKey = (...parts: string[]) => parts.filter((p) => p !== '').map((p) => p.replace(/^\/+|\/+$/g, '')).join('/');

export async function listKeys(s3: S3Client, { bucket, key }: S3Location): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key && !object.Key.endsWith('/')) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function getObject(s3: S3Client, { bucket, key }: S3Location): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!response.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return Buffer.from(await response.Body.transformToByteArray());
}

/**
 * Downloads every object whose key starts with the URI's key (SageMaker's `S3Prefix` data
 * type) into `dir`. A URI naming one object downloads that object.
 * Returns the number of objects; 0 means nothing matched.
 */
export async function downloadPrefix(s3: S3Client, uri: string, dir: string): Promise<number> {
  const location = parseS3Uri(uri);
  const keys = await listKeys(s3, location);
  // Keys keep their path below the URI's last `/`: s3://b/data/ → a.csv, s3://b/data/a.csv → a.csv.
  const base = location.key.slice(0, location.key.lastIndexOf('/') + 1);
  await mkdir(dir, { recursive: true });
  await Promise.all(
    keys.map(async (key) => {
      const name = key.slice(base.length);
      const target = join(dir, ...name.split('/'));
      if (!target.startsWith(dir + sep) && target !== dir) throw new Error(`refusing to write outside ${dir}: ${key}`);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await getObject(s3, { bucket: location.bucket, key }));
    }),
  );
  return keys.length;
}

export async function putObject(s3: S3Client, uri: string, body: Buffer | string, contentType?: string): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

/**
 * Uploads the files of `dir` under an S3 prefix. With `changedSince`, only files whose size or
 * mtime differ from what was uploaded before (the map is updated), for continuous checkpoint sync.
 */
export async function uploadDirectory(
  s3: S3Client,
  dir: string,
  uri: string,
  changedSince?: Map<string, string>,
): Promise<number> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  let uploaded = 0;
  for (const file of await listFiles(dir)) {
    const info = await stat(file);
    const name = relative(dir, file).split(sep).join('/');
    if (name.endsWith('.tmp')) continue;
    const fingerprint = `${info.size}:${info.mtimeMs}`;
    if (changedSince?.get(name) === fingerprint) continue;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: joinKey(prefix, name),
        Body: info.size < 5 * 1024 * 1024 ? await readFile(file) : createReadStream(file),
        ContentLength: info.size,
      }),
    );
    changedSince?.set(name, fingerprint);
    uploaded += 1;
  }
  return uploaded;
}
