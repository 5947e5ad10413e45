import type { PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { deriveEvents, eventIdOf } from '../../../lambdas/events/derive';
import { publishChanges, type SequencedChange } from '../../../lambdas/events/publish';

const version = (n: number, status: string, extra: Record<string, unknown> = {}) => ({
  pk: 'MODEL#churn',
  sk: `VERSION#${String(n).padStart(10, '0')}`,
  model: 'churn',
  version: n,
  status,
  runId: `run-${n}`,
  requestedBy: 'arn:aws:sts::111122223333:assumed-role/DataScientist/alice',
  datasetVersion: 'v000001',
  metrics: { 'validation:auc': 0.9 },
  comparison: { metricName: 'validation:auc', direction: 'maximize', candidate: 0.9 },
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  ...extra,
});
const registered = (n: number): SequencedChange => ({ eventName: 'INSERT', sequenceNumber: `seq-${n}`, newImage: version(n, 'PENDING_APPROVAL') });

describe('publishChanges', () => {
  it('puts at most 10 entries a call, in stream order, as the caretaker source', async () => {
    const calls: PutEventsCommandInput[] = [];
    const result = await publishChanges(Array.from({ length: 23 }, (_, i) => registered(i + 1)), {
      busName: 'caretaker',
      putEvents: (input) => {
        calls.push(input);
        return Promise.resolve({ FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({ EventId: 'x' })) });
      },
    });
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 10, 3]);
    expect(calls[0]!.Entries![0]).toMatchObject({ Source: 'caretaker', DetailType: 'VersionRegistered', EventBusName: 'caretaker' });
    expect(calls.flatMap((c) => c.Entries!.map((e) => (JSON.parse(e.Detail!) as { version: number }).version))).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(result.failedSequenceNumber).toBeUndefined();
  });

  it('reports the first record with a refused entry, so the batch is retried from there', async () => {
    let call = 0;
    const result = await publishChanges(Array.from({ length: 15 }, (_, i) => registered(i + 1)), {
      putEvents: (input) => {
        call += 1;
        const entries = (input.Entries ?? []).map((_, i) => (call === 2 && i === 2 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' } : { EventId: 'x' }));
        return Promise.resolve({ FailedEntryCount: entries.filter((e) => 'ErrorCode' in e).length, Entries: entries });
      },
    });
    expect(result.failedSequenceNumber).toBe('seq-13');
    expect(result.failure).toContain('ThrottlingException');
    expect(result.published.map((e) => (e.detail as { version: number }).version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reports the whole call when PutEvents itself fails', async () => {
    const result = await publishChanges([registered(1), registered(2)], { putEvents: () => Promise.reject(new Error('socket hang up')) });
    expect(result).toMatchObject({ failedSequenceNumber: 'seq-1', failure: 'socket hang up', published: [] });
  });

  it('skips (and reports) a change that cannot make a valid event instead of holding the shard', async () => {
    const partial: SequencedChange = { eventName: 'INSERT', sequenceNumber: 'seq-0', newImage: { pk: 'DATASET#churn', sk: 'VERSION#v000001', dataset: 'churn', datasetVersion: 'v000001', validation: { status: 'PASSED' } } };
    const result = await publishChanges([partial, registered(1)], { putEvents: (input) => Promise.resolve({ FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({})) }) });
    expect(result.published.map((e) => e.detailType)).toEqual(['VersionRegistered']);
    expect(result.skipped).toEqual([{ sequenceNumber: 'seq-0', detailType: 'DatasetVersionRegistered', problem: expect.stringContaining('registeredBy') as unknown }]);
  });
});

describe('deriveEvents', () => {
  it('derives nothing from a retried write that changes no status, and the same id from the same change', () => {
    const approved = version(1, 'APPROVED', { decision: { decision: 'APPROVED', by: 'bob', reason: 'ok', at: '2026-12-01T01:00:00.000Z' }, updatedAt: '2026-12-01T01:00:00.000Z' });
    const change = { eventName: 'MODIFY' as const, oldImage: version(1, 'PENDING_APPROVAL'), newImage: approved };
    const [first] = deriveEvents(change);
    expect(first).toMatchObject({ detailType: 'VersionApproved', detail: { decision: { by: 'bob' } } });
    expect(deriveEvents(change)[0]!.detail.eventId).toBe(first!.detail.eventId);
    expect(first!.detail.eventId).toBe(eventIdOf('VersionApproved', 'MODEL#churn', 'VERSION#0000000001', 'APPROVED@2026-12-01T01:00:00.000Z'));
    expect(deriveEvents({ eventName: 'MODIFY', oldImage: approved, newImage: { ...approved, updatedAt: '2026-12-01T02:00:00.000Z' } })).toEqual([]);
    expect(deriveEvents({ eventName: 'REMOVE', oldImage: approved })).toEqual([]);
  });

  it('tells a rollback from the old image when the finished deployment removed deployingRunId', () => {
    const deploying = version(1, 'DEPLOYING', { deployingRunId: 'churn-rollback-abc', updatedAt: '2026-12-01T01:00:00.000Z' });
    const live = version(1, 'LIVE', { endpointName: 'caretaker-churn', endpointConfigName: 'cfg-1', updatedAt: '2026-12-01T02:00:00.000Z' });
    const types = deriveEvents({ eventName: 'MODIFY', oldImage: deploying, newImage: live }).map((e) => e.detailType);
    expect(types).toEqual(['DeploymentSucceeded', 'RolledBack']);
    const own = deriveEvents({ eventName: 'MODIFY', oldImage: { ...deploying, deployingRunId: 'run-1' }, newImage: live }).map((e) => e.detailType);
    expect(own).toEqual(['DeploymentSucceeded']);
  });

  it('ignores items that are no registry change (leases, audit, requests)', () => {
    for (const pk of ['AUDIT#churn', 'REQUEST#r1', 'LEASE']) {
      expect(deriveEvents({ eventName: 'INSERT', newImage: { pk, sk: 'x', status: 'PENDING_APPROVAL' } })).toEqual([]);
    }
  });
});

describe('events handler', () => {
  it('unmarshalls the stream images Lambda delivers and refuses a record without a sequence number', async () => {
    const { createHandler } = await import('../../../lambdas/events/handler');
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    const sent: PutEventsCommandInput[] = [];
    const handler = createHandler({ putEvents: (input) => (sent.push(input), Promise.resolve({ FailedEntryCount: 0, Entries: [{}] })) });
    const record = { eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { SequenceNumber: '7', Keys: {}, NewImage: marshall(version(3, 'PENDING_APPROVAL')), SizeBytes: 1, StreamViewType: 'NEW_AND_OLD_IMAGES' } };
    expect(await handler({ Records: [record] })).toEqual({ batchItemFailures: [] });
    expect(JSON.parse(sent[0]!.Entries![0]!.Detail!)).toMatchObject({ model: 'churn', version: 3, metrics: { 'validation:auc': 0.9 } });
    await expect(handler({ Records: [{ ...record, dynamodb: { NewImage: record.dynamodb.NewImage } }] })).rejects.toThrow(/SequenceNumber/);
  });
});
