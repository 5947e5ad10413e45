/**
 * Metadata table stream → registry events on EventBridge (`caretaker` source). The event source
 * mapping reports batch item failures, bisects and dead-letters; this handler checkpoints at the
 * first record whose events could not all be put.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import * as z from '../shared/zod';
import { ENV, envValue } from '../shared/env';
import { logger } from '../shared/powertools';
import type { Image } from './derive';
import { publishChanges, type PublishPorts, type SequencedChange } from './publish';

/** The publisher's environment, as the RegistryEvents construct sets it. */
export const eventsEnvironmentSchema = z.object({
  /** Name of the bus events go to (`default`: the account's default bus). */
  [ENV.eventBusName]: envValue.name,
  /** Base URL of the Caretaker console, linked from ApprovalRequested. */
  [ENV.consoleUrl]: z.optional(envValue.url),
});

/**
 * The DynamoDB stream event Lambda delivers, as far as the publisher reads it. Powertools'
 * `DynamoDBStreamSchema` describes the same fields, but the Parser imports zod as `{ z }`, which
 * esbuild cannot tree-shake (colinhacks/zod#2596): measured, one EventBridge schema from the Parser
 * takes a minimal handler from 86 KB to 454 KB minified, where `import * as z` costs 0.5 KB — every
 * bundle would pass the 200 KB budget (BENCHMARKS.md, "Powertools: batch in, Parser out").
 * Images are unmarshalled with the AWS SDK.
 */
const image = z.record(z.string(), z.custom<AttributeValue>((value: unknown) => value !== null && typeof value === 'object'));
const streamEventSchema = z.object({
  Records: z.array(
    z.object({
      eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
      dynamodb: z.object({ SequenceNumber: z.string().check(z.minLength(1)), NewImage: z.optional(image), OldImage: z.optional(image) }),
    }),
  ),
});

export function createHandler(ports: PublishPorts) {
  return async (event: unknown): Promise<DynamoDBBatchResponse> => {
    const { Records } = streamEventSchema.parse(event);
    const changes: SequencedChange[] = Records.map((record) => ({
      eventName: record.eventName,
      sequenceNumber: record.dynamodb.SequenceNumber,
      ...(record.dynamodb.OldImage ? { oldImage: unmarshall(record.dynamodb.OldImage) as Image } : {}),
      ...(record.dynamodb.NewImage ? { newImage: unmarshall(record.dynamodb.NewImage) as Image } : {}),
    }));
    const result = await publishChanges(changes, ports);
    logger.info('published registry events', { records: changes.length, events: result.published.length });
    for (const skip of result.skipped ?? []) logger.error('a table change could not make a valid registry event; skipped', skip);
    if (result.failedSequenceNumber === undefined) return { batchItemFailures: [] };
    logger.error('registry events not published; the batch is retried from this record', { sequenceNumber: result.failedSequenceNumber, failure: result.failure });
    return { batchItemFailures: [{ itemIdentifier: result.failedSequenceNumber }] };
  };
}
