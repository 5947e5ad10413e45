/**
 * Proves the write-once copy complete: every audit item of the table's last `windowDays` days
 * has its object in the bucket, and the missing ones are copied (If-None-Match, so a copy the
 * stream copier makes at the same moment is never overwritten). The table keeps audit items
 * for good; the stream keeps records 24 hours, so this is what recovers a longer copier outage.
 */
import type { AuditObjectStore } from './copy';
import { auditDayPrefix, auditObjectOf } from './copy';

/** Audit items (with their keys) whose time is at or after `from`, oldest first, page by page. */
export interface AuditItemSource {
  since(from: string): AsyncIterable<readonly Record<string, unknown>[]>;
}

export interface ReconcileResult {
  /** Audit items in the window. */
  readonly checked: number;
  /** Items whose object was missing and has now been copied. */
  readonly copied: number;
  /** Of those, items older than the grace period: the stream copier should have copied them (the copy lags). */
  readonly late: number;
  readonly from: string;
}

export async function reconcileAuditCopy(options: {
  readonly source: AuditItemSource;
  readonly store: AuditObjectStore;
  readonly now: Date;
  readonly windowDays: number;
  /** Younger items may still be on their way through the stream; missing ones are copied but not counted late. @default 900 */
  readonly graceSeconds?: number;
}): Promise<ReconcileResult> {
  const { source, store, now } = options;
  const from = new Date(now.getTime() - options.windowDays * 86_400_000).toISOString();
  const lateBefore = new Date(now.getTime() - (options.graceSeconds ?? 900) * 1000).toISOString();
  // One listing per model and day, cached: a day's objects are listed once however many events it has.
  const listed = new Map<string, Promise<ReadonlySet<string>>>();
  let checked = 0;
  let copied = 0;
  let late = 0;
  for await (const page of source.since(from)) {
    for (const item of page) {
      const object = auditObjectOf(item);
      if (!object) continue;
      checked += 1;
      const prefix = auditDayPrefix(String(item.model), String(item.at));
      let keys = listed.get(prefix);
      if (!keys) {
        keys = store.listKeys(prefix);
        listed.set(prefix, keys);
      }
      if ((await keys).has(object.key)) continue;
      if ((await store.putOnce(object.key, object.body)) === 'written') {
        copied += 1;
        if (String(item.at) < lateBefore) late += 1;
      }
    }
  }
  return { checked, copied, late, from };
}
