/**
 * The write-once copy of the audit trail: one object per audit event, keyed by model, day,
 * time and event id. Two writers produce it and agree byte for byte: the stream copier (every
 * INSERT of an `AUDIT#` item, as it happens) and the reconciler (every audit item of the last N
 * days found missing from the bucket, e.g. after a copier outage longer than the stream's 24 h).
 * Pure functions over their ports; `handler.ts` and `reconcile.handler.ts` wire AWS.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { KEY_PREFIX, type AuditEvent } from '../shared/contracts';

export interface AuditObjectStore {
  /** Writes the object unless it exists already (PutObject with `If-None-Match: *`). */
  putOnce(key: string, body: string): Promise<'written' | 'exists'>;
  /** Every key under the prefix (ListObjectsV2, all pages). */
  listKeys(prefix: string): Promise<ReadonlySet<string>>;
}

export interface StreamRecordLike {
  readonly eventName?: string;
  readonly dynamodb?: { readonly NewImage?: Record<string, unknown>; readonly SequenceNumber?: string };
}

/** `audit/<model>/<yyyy>/<mm>/<dd>/` */
export function auditDayPrefix(model: string, at: string): string {
  const [date = 'unknown'] = at.split('T');
  const [yyyy, mm, dd] = date.split('-');
  return `audit/${model}/${yyyy ?? 'x'}/${mm ?? 'x'}/${dd ?? 'x'}/`;
}

/** `audit/<model>/<yyyy>/<mm>/<dd>/<at>_<eventId>.json` */
export function auditObjectKey(event: Pick<AuditEvent, 'model' | 'at' | 'eventId'>): string {
  return `${auditDayPrefix(event.model, event.at)}${event.at}_${event.eventId}.json`;
}

const KEY_ATTRIBUTES = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk']);

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}

/** An audit item (stream image or table read) as its object: the event without keys, fields sorted, one line. */
export function auditObjectOf(item: Record<string, unknown>): { key: string; body: string } | undefined {
  if (typeof item.pk !== 'string' || !item.pk.startsWith(KEY_PREFIX.audit)) return undefined;
  const event = Object.fromEntries(Object.entries(item).filter(([name]) => !KEY_ATTRIBUTES.has(name))) as unknown as AuditEvent;
  if (typeof event.model !== 'string' || typeof event.at !== 'string' || typeof event.eventId !== 'string') return undefined;
  return { key: auditObjectKey(event), body: `${JSON.stringify(sorted(event))}\n` };
}

/**
 * Copies every inserted audit item, in order. Stops at the first record it cannot copy and
 * returns its sequence number, so the event source retries from there (ReportBatchItemFailures);
 * other records are ignored.
 */
export async function copyAuditRecords(
  records: readonly StreamRecordLike[],
  store: AuditObjectStore,
): Promise<{ written: string[]; failedAt?: string; error?: unknown }> {
  const written: string[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || !image) continue;
    const object = auditObjectOf(unmarshall(image as Record<string, AttributeValue>));
    if (!object) continue;
    try {
      if ((await store.putOnce(object.key, object.body)) === 'written') written.push(object.key);
    } catch (error) {
      return { written, failedAt: record.dynamodb.SequenceNumber, error };
    }
  }
  return { written };
}
