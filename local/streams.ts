/**
 * What Lambda's DynamoDB stream poller does, locally: every `AWS::Lambda::EventSourceMapping` of
 * the template whose source is a table stream (on moto) is read shard by shard with
 * GetShardIterator/GetRecords (DynamoDB Streams API, `@aws-sdk/client-dynamodb-streams`) and
 * delivered in order to its in-process function as the DynamoDB stream event Lambda sends
 * (`Records[].dynamodb` with Keys/NewImage/OldImage/SequenceNumber/SizeBytes/StreamViewType).
 * With `ReportBatchItemFailures` the shard is checkpointed before the first failed record and
 * read again from there, as Lambda does; a thrown error retries the whole batch.
 *
 * FilterCriteria are applied as Lambda does (a record is delivered when any filter matches),
 * for the pattern forms the stack uses: exact values and `prefix`. Not modelled: bisecting,
 * on-failure destinations, the 24-hour retention. Which mappings run is the caller's choice.
 */
import {
  DynamoDBStreamsClient,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { LocalFunctions } from './functions';
import type { CfnTemplate } from './template';

const IDLE_MS = 100;

/** A stream record as Lambda's event source mapping hands it to the function. */
export function lambdaRecordOf(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const sizeBytes = change.SizeBytes ?? Buffer.byteLength(JSON.stringify({ k: change.Keys, n: change.NewImage, o: change.OldImage }));
  return {
    eventID: record.eventID ?? change.SequenceNumber ?? '',
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(change.ApproximateCreationDateTime ? { ApproximateCreationDateTime: change.ApproximateCreationDateTime.getTime() / 1000 } : {}),
      Keys: change.Keys as never,
      ...(change.NewImage ? { NewImage: change.NewImage as never } : {}),
      ...(change.OldImage ? { OldImage: change.OldImage as never } : {}),
      SequenceNumber: change.SequenceNumber ?? '',
      SizeBytes: sizeBytes,
      StreamViewType: change.StreamViewType ?? 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** Every record of the stream from its oldest (TRIM_HORIZON), shard by shard, in order. */
export async function readWholeStream(client: DynamoDBStreamsClient, streamArn: string, region = 'us-east-1'): Promise<DynamoDBRecord[]> {
  const records: DynamoDBRecord[] = [];
  const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  for (const shard of StreamDescription?.Shards ?? []) {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records.push(...(page.Records ?? []).map((r) => lambdaRecordOf(r, streamArn, region)));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

export interface StreamConsumers {
  /** Resolves once every drained stream has been read to its end with nothing in flight. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export interface StreamMapping {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly entry: string;
  readonly streamArn: string;
  readonly batchSize: number;
  readonly reportsFailures: boolean;
  /** The mapping's FilterCriteria patterns (parsed); empty: every record. */
  readonly filters: readonly unknown[];
}

/**
 * Whether a value matches an event-filtering pattern (Lambda event filtering: the EventBridge
 * pattern syntax). Supported: objects of fields, arrays of exact values and `{ prefix }`.
 * An unsupported operator throws, so a filter is never silently ignored.
 */
export function matchesPattern(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return (pattern as unknown[]).some((option) => {
      if (option !== null && typeof option === 'object') {
        const operators = Object.keys(option);
        const prefix = (option as { prefix?: unknown }).prefix;
        if (operators.length === 1 && typeof prefix === 'string') return typeof value === 'string' && value.startsWith(prefix);
        throw new Error(`local stream filter: unsupported pattern ${JSON.stringify(option)}`);
      }
      return option === value;
    });
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object') return false;
    return Object.entries(pattern as Record<string, unknown>).every(([key, sub]) => matchesPattern(sub, (value as Record<string, unknown>)[key]));
  }
  return pattern === value;
}

/** The template's DynamoDB stream event source mappings, resolved against the local resources. */
export function streamMappings(template: CfnTemplate, resolve: (value: unknown) => unknown, functions: LocalFunctions): StreamMapping[] {
  const mappings: StreamMapping[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const p = resource.Properties ?? {};
    let sourceArn: string;
    try {
      sourceArn = String(resolve(p.EventSourceArn));
    } catch {
      continue;
    }
    if (!/^arn:aws:dynamodb:.*\/stream\//.test(sourceArn)) continue;
    const fn = functions.find(String(resolve(p.FunctionName)));
    if (!fn) continue;
    mappings.push({
      logicalId,
      functionLogicalId: fn.logicalId,
      entry: fn.entry,
      streamArn: sourceArn,
      batchSize: Math.min(Number(p.BatchSize ?? 100), 1000),
      reportsFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
      filters: ((p.FilterCriteria as { Filters?: { Pattern?: string }[] } | undefined)?.Filters ?? []).map((f) => JSON.parse(f.Pattern ?? '{}') as unknown),
    });
  }
  return mappings;
}

export function startStreamConsumers(options: {
  readonly mappings: readonly StreamMapping[];
  readonly functions: LocalFunctions;
  readonly streams: DynamoDBStreamsClient;
  readonly region: string;
  readonly log: (line: string) => void;
}): StreamConsumers {
  const { functions, streams, log } = options;
  let stopped = false;
  const { mappings } = options;
  const idle = mappings.map(() => false);

  const loops = mappings.map(async (mapping, index) => {
    // Per shard: the sequence number after which the next read starts (Lambda's checkpoint).
    const iterators = new Map<string, string | undefined>();
    while (!stopped) {
      let delivered = false;
      try {
        const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: mapping.streamArn }));
        for (const shard of StreamDescription?.Shards ?? []) {
          const shardId = shard.ShardId ?? '';
          let iterator = iterators.get(shardId);
          if (iterator === undefined) {
            iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: mapping.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
          }
          if (!iterator) continue;
          const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: mapping.batchSize }));
          const read = (page.Records ?? []).map((r) => lambdaRecordOf(r, mapping.streamArn, options.region));
          const records = mapping.filters.length ? read.filter((r) => mapping.filters.some((f) => matchesPattern(f, r))) : read;
          if (records.length === 0) {
            // Records filtered out still move the checkpoint (and count as progress for drained()).
            if (read.length > 0) delivered = true;
            iterators.set(shardId, page.NextShardIterator ?? iterator);
            continue;
          }
          delivered = true;
          let failedAt: string | undefined;
          try {
            const result = (await functions.invoke(mapping.functionLogicalId, { Records: records })) as DynamoDBBatchResponse | undefined;
            failedAt = mapping.reportsFailures ? result?.batchItemFailures[0]?.itemIdentifier : undefined;
          } catch (error) {
            failedAt = records[0]?.dynamodb?.SequenceNumber;
            log(`${mapping.functionLogicalId} failed; the batch is retried: ${error instanceof Error ? error.message : String(error)}`);
          }
          if (failedAt === undefined) {
            iterators.set(shardId, page.NextShardIterator);
          } else {
            // Read again from the failed record on (AT_SEQUENCE_NUMBER), after a pause.
            iterators.set(
              shardId,
              (await streams.send(new GetShardIteratorCommand({ StreamArn: mapping.streamArn, ShardId: shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: failedAt }))).ShardIterator,
            );
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        }
      } catch (error) {
        log(`stream ${mapping.streamArn}: ${error instanceof Error ? error.message : String(error)}`);
      }
      idle[index] = !delivered;
      if (!delivered) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    }
  });

  return {
    drained: async () => {
      for (let i = 0; i < idle.length; i += 1) idle[i] = false;
      while (!stopped && !idle.every(Boolean)) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    },
    stop: async () => {
      stopped = true;
      await Promise.allSettled(loops);
    },
  };
}
