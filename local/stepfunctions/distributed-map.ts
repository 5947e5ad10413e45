/**
 * Distributed Map states for the local runner. aws-local-stepfunctions 3.0.0 runs Map states
 * inline only: it reads items from the state input (`ItemsPath`) and ignores `ItemReader`,
 * `ItemBatcher`, `ResultWriter` and the failure tolerance (its MapStateAction; checked in
 * node_modules/aws-local-stepfunctions/build/main.node.esm.js). `runPipelineLocally` hands each
 * Map state that has an ItemReader or `ProcessorConfig.Mode: DISTRIBUTED` to `runDistributedMap`,
 * which follows the Step Functions developer guide:
 *
 * - "ItemReader (Map)", Amazon S3 objects list: `arn:aws:states:::s3:listObjectsV2` with
 *   `Bucket`/`Prefix` lists every object under the prefix (all pages); each item is
 *   `{ Etag, Key, LastModified (epoch seconds), Size, StorageClass }` (the guide's example item
 *   spells `Etag` so). `ReaderConfig.MaxItems` caps the items. A failed read is
 *   `States.ItemReaderFailed`.
 * - "ItemSelector (Map)": evaluated per item with `$$.Map.Item.Index` / `$$.Map.Item.Value`.
 * - "ItemBatcher (Map)": each child gets `{ Items: [...], BatchInput }`, batches bounded by
 *   `MaxItemsPerBatch` and `MaxInputBytesPerBatch`; `BatchInput` is evaluated against the state input.
 * - "MaxConcurrency" bounds the children running at once (0: no bound; the service's limit is 10 000).
 * - "Tolerated failure threshold": `ToleratedFailurePercentage` / `ToleratedFailureCount`
 *   (default 0) over the children; beyond either the Map fails with
 *   `States.ExceedToleratedFailureThreshold`, and no further child is started.
 * - "ResultWriter (Map)", exporting to Amazon S3: under `<Prefix>/<map run id>/`,
 *   `SUCCEEDED_0.json` / `FAILED_0.json` (JSON arrays of the child executions: ExecutionArn,
 *   Input and Output as JSON strings, Status, Error/Cause for failed ones, Start/StopDate …) and
 *   `manifest.json` `{ DestinationBucket, MapRunArn, ResultFiles: { FAILED, PENDING, SUCCEEDED:
 *   [{ Key, Size }] } }`; the state's result is `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`
 *   with Key the manifest's. A failed write is `States.ResultWriterFailed`. Without a
 *   ResultWriter the result is the array of child outputs (the COMPACT transformation).
 *   `WriterConfig` (other transformations, JSONL) and the service's 5 GB split of result
 *   files are not modelled: a WriterConfig is refused here rather than ignored.
 *
 * Not documented, so assumed: a trailing `/` of Prefix is not doubled; results of a Map Run that
 * failed its threshold are written before the state fails.
 */
import { randomUUID } from 'node:crypto';
import { paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TaskError } from './task-error';

export interface DistributedMapState {
  readonly ItemReader?: { readonly Resource: string; readonly Parameters?: unknown; readonly ReaderConfig?: { readonly MaxItems?: number } };
  readonly ItemsPath?: string;
  readonly ItemSelector?: unknown;
  /** The older name of ItemSelector. */
  readonly Parameters?: unknown;
  readonly ItemBatcher?: { readonly MaxItemsPerBatch?: number; readonly MaxInputBytesPerBatch?: number; readonly BatchInput?: unknown };
  readonly ItemProcessor?: { readonly ProcessorConfig?: unknown; readonly StartAt: string; readonly States: Record<string, unknown> };
  readonly Iterator?: { readonly StartAt: string; readonly States: Record<string, unknown> };
  readonly MaxConcurrency?: number;
  readonly ToleratedFailurePercentage?: number;
  readonly ToleratedFailureCount?: number;
  readonly ResultWriter?: { readonly Resource?: string; readonly Parameters?: unknown; readonly WriterConfig?: unknown };
  readonly Label?: string;
}

/** Fields that make a Map state distributed, and that the runner removes before the library sees it. */
export const DISTRIBUTED_MAP_FIELDS = [
  'ItemReader', 'ItemsPath', 'ItemSelector', 'ItemBatcher', 'ItemProcessor', 'Iterator', 'MaxConcurrency', 'MaxConcurrencyPath',
  'ToleratedFailurePercentage', 'ToleratedFailurePercentagePath', 'ToleratedFailureCount', 'ToleratedFailureCountPath', 'ResultWriter', 'Label', 'Parameters',
] as const;

export function isDistributedMap(state: { readonly Type?: unknown } & Record<string, unknown>): boolean {
  if (state.Type !== 'Map') return false;
  const processor = (state.ItemProcessor ?? {}) as { ProcessorConfig?: { Mode?: unknown } };
  return state.ItemReader !== undefined || processor.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

export interface ChildExecution {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

export interface DistributedMapContext {
  readonly stateName: string;
  /** The S3 the ItemReader lists and the ResultWriter writes to (moto in tests and local mode). */
  readonly s3?: S3Client;
  readonly region: string;
  readonly accountId: string;
  readonly stateMachineName: string;
  /** `$$` of the parent execution (Execution, StateMachine …). */
  readonly context: Readonly<Record<string, unknown>>;
  /** Runs the ItemProcessor as one child execution. */
  readonly runChild: (definition: unknown, input: unknown, name: string, executionArn: string) => Promise<ChildExecution>;
}

export async function runDistributedMap(state: DistributedMapState, input: unknown, ctx: DistributedMapContext): Promise<unknown> {
  const processor = state.ItemProcessor ?? state.Iterator;
  if (!processor) throw new TaskError('States.Runtime', `Map state ${ctx.stateName} has no ItemProcessor`);
  const { ProcessorConfig: _config, ...childDefinition } = processor as { ProcessorConfig?: unknown; StartAt: string; States: Record<string, unknown> };
  if (state.ResultWriter?.WriterConfig !== undefined) {
    throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: ResultWriter.WriterConfig is not modelled by the local runner`);
  }

  const items = await readItems(state, input, ctx);
  const selector = state.ItemSelector ?? state.Parameters;
  const selected = selector === undefined
    ? items
    : items.map((value, index) => applyTemplate(selector, input, { ...ctx.context, Map: { Item: { Index: index, Value: value } } }));
  const childInputs = state.ItemBatcher ? batches(selected, state.ItemBatcher, input, ctx) : selected;

  const label = state.Label ?? ctx.stateName;
  const mapRunId = randomUUID();
  const mapRunArn = `arn:aws:states:${ctx.region}:${ctx.accountId}:mapRun:${ctx.stateMachineName}/${label}:${mapRunId}`;
  const tolerated = toleratedFailures(state, childInputs.length);
  const limit = state.MaxConcurrency && state.MaxConcurrency > 0 ? state.MaxConcurrency : 10_000;

  interface Outcome { readonly index: number; readonly arn: string; readonly name: string; readonly input: unknown; readonly started: Date; readonly stopped: Date; readonly result: ChildExecution }
  const outcomes: Outcome[] = [];
  let failures = 0;
  let next = 0;
  // An object, not a let: workers set it, and the checks after them must see it.
  const threshold = { exceeded: false };
  const worker = async () => {
    while (!threshold.exceeded && next < childInputs.length) {
      const index = next++;
      const childInput = childInputs[index];
      const name = randomUUID();
      const arn = `arn:aws:states:${ctx.region}:${ctx.accountId}:execution:${ctx.stateMachineName}/${label}:${name}`;
      const started = new Date();
      const result = await ctx.runChild(childDefinition, childInput, name, arn);
      outcomes.push({ index, arn, name, input: childInput, started, stopped: new Date(), result });
      if (result.status === 'FAILED' && ++failures > tolerated) threshold.exceeded = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(childInputs.length, 1)) }, worker));
  outcomes.sort((a, b) => a.index - b.index);

  let output: unknown = outcomes.map((o) => o.result.output);
  if (state.ResultWriter) output = await writeResults(state.ResultWriter, input, ctx, mapRunArn, mapRunId, outcomes.map((o) => entryOf(o, ctx)));
  if (threshold.exceeded) {
    throw new TaskError('States.ExceedToleratedFailureThreshold', `The specified tolerated failure threshold was exceeded: ${failures} of ${childInputs.length} child executions failed (map run ${mapRunArn})`);
  }
  return output;

  function entryOf(o: Outcome, c: DistributedMapContext): Record<string, unknown> {
    const succeeded = o.result.status === 'SUCCEEDED';
    return {
      ExecutionArn: o.arn,
      Input: JSON.stringify(o.input),
      InputDetails: { Included: true },
      Name: o.name,
      ...(succeeded ? { Output: JSON.stringify(o.result.output), OutputDetails: { Included: true } } : { Error: o.result.error, Cause: o.result.cause }),
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StartDate: o.started.toISOString(),
      StateMachineArn: `arn:aws:states:${c.region}:${c.accountId}:stateMachine:${c.stateMachineName}/${label}`,
      Status: o.result.status,
      StopDate: o.stopped.toISOString(),
    };
  }
}

async function readItems(state: DistributedMapState, input: unknown, ctx: DistributedMapContext): Promise<unknown[]> {
  const reader = state.ItemReader;
  if (!reader) {
    const items = state.ItemsPath === undefined ? input : resolvePath(state.ItemsPath, input, ctx.context);
    if (!Array.isArray(items)) throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: the items (${state.ItemsPath ?? '$'}) are not an array`);
    return items as unknown[];
  }
  if (reader.Resource !== 'arn:aws:states:::s3:listObjectsV2') {
    throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: ItemReader ${reader.Resource} is not modelled by the local runner (s3:listObjectsV2 is)`);
  }
  if (!ctx.s3) throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: the local runner was given no S3 client for its ItemReader`);
  const parameters = applyTemplate(reader.Parameters ?? {}, input, ctx.context) as { Bucket?: unknown; Prefix?: unknown };
  if (typeof parameters.Bucket !== 'string') throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: ItemReader.Parameters.Bucket is not a string`);
  const max = reader.ReaderConfig?.MaxItems ?? Number.POSITIVE_INFINITY;
  const items: unknown[] = [];
  try {
    const pages = paginateListObjectsV2({ client: ctx.s3 }, { Bucket: parameters.Bucket, Prefix: typeof parameters.Prefix === 'string' ? parameters.Prefix : undefined });
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        if (items.length >= max) return items;
        items.push({
          Etag: object.ETag,
          Key: object.Key,
          LastModified: object.LastModified ? Math.floor(object.LastModified.getTime() / 1000) : undefined,
          Size: object.Size,
          StorageClass: object.StorageClass,
        });
      }
    }
  } catch (error) {
    throw new TaskError('States.ItemReaderFailed', `listing s3://${parameters.Bucket}/${typeof parameters.Prefix === 'string' ? parameters.Prefix : ''} failed: ${(error as Error).message}`);
  }
  return items;
}

function batches(items: readonly unknown[], batcher: NonNullable<DistributedMapState['ItemBatcher']>, input: unknown, ctx: DistributedMapContext): unknown[] {
  const maxItems = batcher.MaxItemsPerBatch ?? Number.POSITIVE_INFINITY;
  const maxBytes = batcher.MaxInputBytesPerBatch ?? 256 * 1024;
  const batchInput = batcher.BatchInput === undefined ? undefined : applyTemplate(batcher.BatchInput, input, ctx.context);
  const make = (part: unknown[]) => (batchInput === undefined ? { Items: part } : { Items: part, BatchInput: batchInput });
  const out: unknown[] = [];
  let current: unknown[] = [];
  for (const item of items) {
    const candidate = [...current, item];
    if (current.length > 0 && (candidate.length > maxItems || Buffer.byteLength(JSON.stringify(make(candidate))) > maxBytes)) {
      out.push(make(current));
      current = [item];
    } else current = candidate;
  }
  if (current.length > 0) out.push(make(current));
  return out;
}

function toleratedFailures(state: DistributedMapState, children: number): number {
  const byCount = state.ToleratedFailureCount ?? 0;
  const byPercentage = Math.floor(((state.ToleratedFailurePercentage ?? 0) / 100) * children);
  // Beyond either threshold the Map fails: the stricter one counts.
  const given = [state.ToleratedFailureCount === undefined ? undefined : byCount, state.ToleratedFailurePercentage === undefined ? undefined : byPercentage].filter(
    (n): n is number => n !== undefined,
  );
  return given.length === 0 ? 0 : Math.min(...given);
}

async function writeResults(
  writer: NonNullable<DistributedMapState['ResultWriter']>,
  input: unknown,
  ctx: DistributedMapContext,
  mapRunArn: string,
  mapRunId: string,
  entries: readonly Record<string, unknown>[],
): Promise<unknown> {
  if (writer.Resource !== 'arn:aws:states:::s3:putObject') throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: ResultWriter ${String(writer.Resource)} is not s3:putObject`);
  if (!ctx.s3) throw new TaskError('States.Runtime', `Map state ${ctx.stateName}: the local runner was given no S3 client for its ResultWriter`);
  const parameters = applyTemplate(writer.Parameters ?? {}, input, ctx.context) as { Bucket?: unknown; Prefix?: unknown };
  const bucket = String(parameters.Bucket);
  const prefix = typeof parameters.Prefix === 'string' && parameters.Prefix !== '' ? `${parameters.Prefix.replace(/\/$/, '')}/` : '';
  const folder = `${prefix}${mapRunId}/`;
  const put = async (key: string, body: string) => {
    try {
      await ctx.s3?.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    } catch (error) {
      throw new TaskError('States.ResultWriterFailed', `writing s3://${bucket}/${key} failed: ${(error as Error).message}`);
    }
    return { Key: key, Size: Buffer.byteLength(body) };
  };
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const these = entries.filter((e) => e.Status === status);
    if (these.length > 0) files[status].push(await put(`${folder}${status}_0.json`, JSON.stringify(these)));
  }
  const manifestKey = `${folder}manifest.json`;
  await put(manifestKey, JSON.stringify({ DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files }));
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
}

/** A payload template: `"name.$": "<path>"` fields are resolved against the input (`$`) or the context (`$$`). */
export function applyTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((item) => applyTemplate(item, input, context));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      if (typeof value !== 'string') throw new TaskError('States.Runtime', `${key} is not a path`);
      out[key.slice(0, -2)] = resolvePath(value, input, context);
    } else out[key] = applyTemplate(value, input, context);
  }
  return out;
}

/** A reference path (`$`, `$.a.b`, `$.a[0]`, `$$.Map.Item.Value`); intrinsic functions are not modelled. */
export function resolvePath(path: string, input: unknown, context: unknown): unknown {
  const fromContext = path.startsWith('$$');
  if (!path.startsWith('$')) throw new TaskError('States.Runtime', `${path} is not a reference path (intrinsic functions are not modelled locally)`);
  let node: unknown = fromContext ? context : input;
  const rest = path.slice(fromContext ? 2 : 1);
  for (const part of rest.match(/\.[^.[\]]+|\[\d+\]/g) ?? []) {
    if (node === null || typeof node !== 'object') throw new TaskError('States.Runtime', `The JSONPath ${path} could not be found in the input`);
    const key = part.startsWith('[') ? Number(part.slice(1, -1)) : part.slice(1);
    if (!(key in node)) throw new TaskError('States.Runtime', `The JSONPath ${path} could not be found in the input`);
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}
