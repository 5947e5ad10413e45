/**
 * Puts derived registry events on the bus, in stream order. PutEvents takes 10 entries a call
 * and may accept some and refuse others (FailedEntryCount): the first stream record with a
 * refused event is reported as the batch's failure, so Lambda retries from that record on
 * (events of later records that were accepted come again then, with the same `eventId`).
 */
import type { PutEventsCommandInput, PutEventsCommandOutput, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { EVENT_DETAILS, EVENT_SOURCE, type CaretakerEvent } from './catalog';
import { deriveEvents, type ChangeRecord, type DeriveOptions } from './derive';

/** PutEvents' limit per call (EventBridge API reference, PutEvents: "1–10 entries"). */
export const PUT_EVENTS_MAX_ENTRIES = 10;

export interface PublishPorts extends DeriveOptions {
  readonly putEvents: (input: PutEventsCommandInput) => Promise<Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>>;
  /** Name or ARN of the bus. @default - the account's default bus */
  readonly busName?: string;
}

export interface SequencedChange extends ChangeRecord {
  /** The stream record's sequence number (the batch item identifier). */
  readonly sequenceNumber: string;
}

export interface PublishResult {
  readonly published: readonly CaretakerEvent[];
  /** Sequence number of the first record that must be retried; absent when all went out. */
  readonly failedSequenceNumber?: string;
  readonly failure?: string;
  /** Events whose item could not make a valid event; not retried. */
  readonly skipped?: readonly { readonly sequenceNumber: string; readonly detailType: string; readonly problem: string }[];
}

export function entryOf(event: CaretakerEvent, busName?: string): PutEventsRequestEntry {
  // The publisher and the registry's schema are one definition: an event that does not fit is a bug here, not a consumer's problem.
  const detail = EVENT_DETAILS[event.detailType].parse(event.detail);
  const time = new Date(event.detail.at);
  return {
    Source: EVENT_SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(detail),
    ...(Number.isNaN(time.getTime()) ? {} : { Time: time }),
    ...(busName ? { EventBusName: busName } : {}),
  };
}

export async function publishChanges(records: readonly SequencedChange[], ports: PublishPorts): Promise<PublishResult> {
  const queued: { event: CaretakerEvent; entry: PutEventsRequestEntry; sequenceNumber: string }[] = [];
  const published: CaretakerEvent[] = [];
  const skipped: { sequenceNumber: string; detailType: string; problem: string }[] = [];
  for (const record of records) {
    for (const event of deriveEvents(record, ports)) {
      const parsed = EVENT_DETAILS[event.detailType].safeParse(event.detail);
      if (!parsed.success) {
        // An item that cannot make a valid event (a partial record): a retry cannot fix it, and
        // holding the shard for it would stop every later event. Skipped, and said so.
        skipped.push({ sequenceNumber: record.sequenceNumber, detailType: event.detailType, problem: z.prettifyError(parsed.error) });
        continue;
      }
      queued.push({ event, entry: entryOf(event, ports.busName), sequenceNumber: record.sequenceNumber });
    }
  }
  const failed = await send(queued, published, ports);
  return { ...(failed ?? { published }), skipped };
}

/** Sends what is queued, in order; returns a failure result, or undefined when all went out. */
async function send(
  queued: { event: CaretakerEvent; entry: PutEventsRequestEntry; sequenceNumber: string }[],
  published: CaretakerEvent[],
  ports: PublishPorts,
): Promise<PublishResult | undefined> {
  for (let i = 0; i < queued.length; i += PUT_EVENTS_MAX_ENTRIES) {
    const chunk = queued.slice(i, i + PUT_EVENTS_MAX_ENTRIES);
    const sequenceAt = (index: number) => chunk[index]?.sequenceNumber ?? '';
    let output: Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>;
    try {
      output = await ports.putEvents({ Entries: chunk.map((q) => q.entry) });
    } catch (error) {
      return { published, failedSequenceNumber: sequenceAt(0), failure: error instanceof Error ? error.message : String(error) };
    }
    const refused = (output.Entries ?? []).findIndex((entry) => entry.ErrorCode !== undefined);
    if ((output.FailedEntryCount ?? 0) > 0 || refused >= 0) {
      const at = refused >= 0 ? refused : 0;
      published.push(...chunk.slice(0, at).map((q) => q.event));
      const entry = output.Entries?.[at];
      return { published, failedSequenceNumber: sequenceAt(at), failure: `${entry?.ErrorCode ?? 'PutEvents'}: ${entry?.ErrorMessage ?? 'entry refused'}` };
    }
    published.push(...chunk.map((q) => q.event));
  }
  queued.length = 0;
  return undefined;
}
