/**
 * Registry events publisher: how fast stream records become events on a bus.
 *
 *   npm run bench:events            (BENCH_EVENTS_RECORDS, default 5000)
 *
 * Two lines: derive + validate + build entries with PutEvents answered in-process (the
 * publisher's own CPU cost per record), and the same through moto's EventBridge on 127.0.0.1
 * (PutEvents round trips of 10 entries, what the Lambda spends waiting). Records are version
 * transitions (PENDING_APPROVAL → APPROVED), each yielding one event, in batches of 100 as the
 * event source mapping delivers them.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { publishChanges, type SequencedChange } from '../lambdas/events/publish';
import { startMotoServer } from '../test/support/moto-server';
import { median, table, writeResults } from './support';

const RECORDS = Number(process.env.BENCH_EVENTS_RECORDS ?? 5000);
const BATCH = 100;

function changes(n: number): SequencedChange[] {
  return Array.from({ length: n }, (_, i) => {
    const before = {
      pk: 'MODEL#churn',
      sk: `VERSION#${String(i + 1).padStart(10, '0')}`,
      model: 'churn',
      version: i + 1,
      status: 'PENDING_APPROVAL',
      runId: `run-${i}`,
      requestedBy: 'arn:aws:sts::111122223333:assumed-role/DataScientist/alice',
      datasetVersion: 'v000001',
      metrics: { 'validation:auc': 0.9 },
      comparison: { metricName: 'validation:auc', direction: 'maximize', candidate: 0.9 },
      createdAt: '2026-12-01T00:00:00.000Z',
      updatedAt: '2026-12-01T00:00:00.000Z',
    };
    const after = { ...before, status: 'APPROVED', updatedAt: '2026-12-01T01:00:00.000Z', decision: { decision: 'APPROVED', by: 'bob', reason: 'ok', at: '2026-12-01T01:00:00.000Z' } };
    return { eventName: 'MODIFY', sequenceNumber: String(i), oldImage: before, newImage: after };
  });
}

async function run(label: string, putEvents: Parameters<typeof publishChanges>[1]['putEvents'], records: SequencedChange[]) {
  const batchMs: number[] = [];
  let events = 0;
  const started = performance.now();
  for (let i = 0; i < records.length; i += BATCH) {
    const t = performance.now();
    const result = await publishChanges(records.slice(i, i + BATCH), { putEvents });
    if (result.failedSequenceNumber !== undefined) throw new Error(`${label}: ${result.failure ?? 'failed'}`);
    events += result.published.length;
    batchMs.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  return { path: label, records: records.length, events, recordsPerSecond: records.length / seconds, medianBatchMs: median(batchMs) };
}

const records = changes(RECORDS);
const rows = [await run('in-process PutEvents', (input) => Promise.resolve({ FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({ EventId: 'x' })) }), records)];
const moto = await startMotoServer();
try {
  const client = new EventBridgeClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  rows.push(await run('moto EventBridge', (input) => client.send(new PutEventsCommand(input)), records.slice(0, Math.min(RECORDS, 2000))));
} finally {
  await moto.stop();
}
console.log(`registry events publisher, batches of ${BATCH} stream records\n`);
console.log(table(rows, [['path', 'path'], ['records', 'records', 0], ['events', 'events', 0], ['recordsPerSecond', 'records/s', 0], ['medianBatchMs', 'median ms per batch of 100', 1]]));
writeResults('events', rows);
