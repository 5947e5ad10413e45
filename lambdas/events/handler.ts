/**
 * Metadata table stream → registry events on EventBridge (`caretaker` source). The event source
 * mapping reports batch item failures, bisects and dead-letters; this handler checkpoints at the
 * first record whose events could not all be put.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { logger } from '../shared/powertools';
import type { Image } from './derive';
import { publishChanges, type PublishPorts, type SequencedChange } from './publish';

export const EVENTS_ENVIRONMENT = z.object({
  /** Name of the bus events go to; empty or absent: the account's default bus. */
  EVENT_BUS_NAME: z.string().optional(),
  /** Base URL of the Caretaker console, linked from ApprovalRequested. */
  CONSOLE_URL: z.string().optional(),
});

export function createHandler(ports: PublishPorts) {
  return async (event: unknown): Promise<DynamoDBBatchResponse> => {
    const { Records } = DynamoDBStreamSchema.parse(event);
    const changes: SequencedChange[] = Records.map((record) => ({
      eventName: record.eventName,
      sequenceNumber: 'SequenceNumber' in record.dynamodb ? record.dynamodb.SequenceNumber : '',
      oldImage: record.dynamodb.OldImage as Image | undefined,
      newImage: record.dynamodb.NewImage as Image | undefined,
    }));
    const result = await publishChanges(changes, ports);
    logger.info('published registry events', { records: changes.length, events: result.published.length });
    for (const skip of result.skipped ?? []) logger.error('a table change could not make a valid registry event; skipped', skip);
    if (result.failedSequenceNumber === undefined) return { batchItemFailures: [] };
    logger.error('registry events not published; the batch is retried from this record', { sequenceNumber: result.failedSequenceNumber, failure: result.failure });
    return { batchItemFailures: [{ itemIdentifier: result.failedSequenceNumber }] };
  };
}

const env = EVENTS_ENVIRONMENT.parse(process.env);
const events = new EventBridgeClient({});

export const handler = createHandler({
  putEvents: (input) => events.send(new PutEventsCommand(input)),
  busName: env.EVENT_BUS_NAME || undefined,
  consoleUrl: env.CONSOLE_URL || undefined,
});
