/**
 * Copies the audit trail to the write-once bucket: one object per audit event, from the
 * metadata table's stream. Pure function over its ports; `handler.ts` wires AWS.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { KEY_PREFIX, type AuditEvent } from '../shared/contracts';

export interface AuditObjectStore {
  /** Writes the object unless it exists already (stream records can be delivered twice). */
  putOnce(key: string, body: string): Promise<void>;
}

export interface StreamRecordLike {
  readonly eventName?: string;
  readonly dynamodb?: { readonly NewImage?: Record<string, unknown> };
}

/** `audit/<model>/<yyyy>/<mm>/<dd>/<at>_<eventId>.json` */
export function auditObjectKey(event: Pick<AuditEvent, 'model' | 'at' | 'eventId'>): string {
  const [date = 'unknown'] = event.at.split('T');
  const [yyyy, mm, dd] = date.split('-');
  return `audit/${event.model}/${yyyy ?? 'x'}/${mm ?? 'x'}/${dd ?? 'x'}/${event.at}_${event.eventId}.json`;
}

/** Copies every inserted audit item; returns the keys written (for logs). Other records are ignored. */
export async function copyAuditRecords(records: readonly StreamRecordLike[], store: AuditObjectStore): Promise<string[]> {
  const written: string[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || !image) continue;
    const item = unmarshall(image as Record<string, AttributeValue>);
    if (typeof item.pk !== 'string' || !item.pk.startsWith(KEY_PREFIX.audit)) continue;
    const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...event } = item as AuditEvent & Record<string, unknown>;
    const key = auditObjectKey(event);
    await store.putOnce(key, `${JSON.stringify(event)}\n`);
    written.push(key);
  }
  return written;
}
