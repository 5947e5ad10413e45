/**
 * The thin adapters: how the starter reports partial batch failures on a FIFO queue, what it
 * drops, and how the releaser reads execution events. Domain ports are fakes here; the
 * DynamoDB behaviour is covered against moto in starter.moto.test.ts.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createReleaseHandler, executionEndedSchema, modelOfExecution, type ReleasePorts } from '../../../lambdas/retraining/release';
import { createHandler, type StarterDeps } from '../../../lambdas/retraining/starter';
import type { LeaseState } from '../../../lambdas/retraining/policy';
import { runIdFor, type RetrainingRequest } from '../../../lambdas/shared/contracts';
import { executionStatusChange, sqsRecord } from './events';
import { defaultPolicy, STATE_MACHINE_ARN } from './harness';

const request = (model: string, key: string): RetrainingRequest => ({
  runId: runIdFor(model, 'api', key),
  model,
  trigger: { kind: 'api', id: key, reason: 'test' },
  requestedBy: 'arn:aws:iam::123456789012:role/ds',
  requestedAt: '2026-11-22T10:00:00.000Z',
  datasetVersion: 'v1',
});

/** A starter whose pipeline fails for the run ids in `failing`; records what it started. */
function starterWith(failing: Set<string>) {
  const started: string[] = [];
  const leases = new Map<string, LeaseState>();
  const deps: StarterDeps = {
    store: {
      claim: () => Promise.resolve({ claimed: true, token: 't', retry: false }),
      findRun: () => Promise.resolve(undefined),
      recordDuplicate: () => Promise.resolve(),
      releaseClaim: () => Promise.resolve(),
      readLease: (model) => Promise.resolve(leases.get(model) ?? { model, revision: 0, recentStarts: [] }),
      writeLease: (next) => {
        leases.set(next.model, next);
        return Promise.resolve(true);
      },
      putRun: () => Promise.resolve(),
      deleteRun: () => Promise.resolve(),
      finish: () => Promise.resolve(true),
    },
    datasets: { newestPassed: () => Promise.resolve('v1') },
    pipeline: {
      start: (input) => {
        if (failing.has(input.runId)) return Promise.reject(new Error('ServiceUnavailable'));
        started.push(input.runId);
        return Promise.resolve({ executionArn: `arn:exec:${input.runId}`, alreadyExisted: false });
      },
    },
    metrics: { started: () => undefined, suppressed: () => undefined },
    now: () => new Date('2026-11-22T10:00:00.000Z'),
    claimSeconds: 120,
    policies: { churn: defaultPolicy(), fraud: defaultPolicy({ dataset: 'fraud' }) },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  return { handler: createHandler(deps), started };
}

describe('starter handler', () => {
  it('fails the failed message and the later messages of its group only, keeping FIFO order', async () => {
    const a = request('churn', 'a');
    const b = request('churn', 'b');
    const c = request('fraud', 'c');
    const { handler, started } = starterWith(new Set([a.runId]));
    const response = await handler({
      Records: [sqsRecord(JSON.stringify(a), 'churn', 'm-a'), sqsRecord(JSON.stringify(b), 'churn', 'm-b'), sqsRecord(JSON.stringify(c), 'fraud', 'm-c')],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-a' }, { itemIdentifier: 'm-b' }]);
    expect(started).toEqual([c.runId]);
  });

  it('reports a batch whose every message failed as failures, without throwing (SQS redelivers exactly those)', async () => {
    const a = request('churn', 'a');
    const c = request('fraud', 'c');
    const { handler, started } = starterWith(new Set([a.runId, c.runId]));
    const response = await handler({ Records: [sqsRecord(JSON.stringify(a), 'churn', 'm-a'), sqsRecord(JSON.stringify(c), 'fraud', 'm-c')] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-a' }, { itemIdentifier: 'm-c' }]);
    expect(started).toEqual([]);
  });

  it('starts a later group after an earlier group failed, and can run again (the processor is reused)', async () => {
    const a = request('churn', 'a');
    const c = request('fraud', 'c');
    const { handler, started } = starterWith(new Set([a.runId]));
    const first = await handler({ Records: [sqsRecord(JSON.stringify(a), 'churn', 'm-a'), sqsRecord(JSON.stringify(c), 'fraud', 'm-c')] });
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-a' }]);
    const second = await handler({ Records: [sqsRecord(JSON.stringify(c), 'fraud', 'm-c2')] });
    expect(second.batchItemFailures).toEqual([]);
    expect(started).toEqual([c.runId, c.runId]);
  });

  it('drops messages a retry cannot fix (not JSON, not a request, unknown model) instead of blocking the group', async () => {
    const { handler, started } = starterWith(new Set());
    const response = await handler({
      Records: [
        sqsRecord('{not json', 'churn', 'm-1'),
        sqsRecord(JSON.stringify({ model: 'churn' }), 'churn', 'm-2'),
        sqsRecord(JSON.stringify(request('spam', 'x')), 'spam', 'm-3'),
        sqsRecord(JSON.stringify(request('churn', 'ok')), 'churn', 'm-4'),
      ],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(started).toEqual([runIdFor('churn', 'api', 'ok')]);
  });
});

describe('release handler', () => {
  const input = { runId: runIdFor('churn-eu', 'alarm', 'x'), model: 'churn-eu', datasetVersion: 'v1', requestedBy: 'caretaker:alarm', trigger: { kind: 'alarm', id: 'x', reason: 'r' } };

  it('reads the model from the execution input, or else from the run id', () => {
    const { detail } = executionEndedSchema.parse(executionStatusChange(STATE_MACHINE_ARN, input.runId, 'FAILED', input));
    expect(modelOfExecution(detail)).toBe('churn-eu');
    expect(modelOfExecution({ ...detail, input: null })).toBe('churn-eu');
  });

  it('releases on terminal statuses with the stop time, and ignores anything else', async () => {
    const released: unknown[] = [];
    const ports: ReleasePorts = {
      store: {
        readLease: (model) => Promise.resolve({ model, revision: 3, holder: input.runId, recentStarts: [] }),
        writeLease: (next) => {
          released.push(next);
          return Promise.resolve(true);
        },
      },
      closeRun: () => Promise.resolve(false),
      now: () => new Date('2026-11-22T13:00:00.000Z'),
    };
    const handler = createReleaseHandler(ports, { info: () => undefined, error: () => undefined });
    const asEvent = (e: unknown) => e as EventBridgeEvent<string, unknown>;

    expect(await handler(asEvent(executionStatusChange(STATE_MACHINE_ARN, input.runId, 'RUNNING', input)))).toBeUndefined();
    expect(released).toEqual([]);

    const result = await handler(asEvent(executionStatusChange(STATE_MACHINE_ARN, input.runId, 'TIMED_OUT', input, Date.parse('2026-11-22T12:00:00Z'))));
    expect(result).toEqual({ released: true, closedRun: false, freedDeployment: false });
    expect(released).toEqual([expect.objectContaining({ model: 'churn-eu', revision: 4, lastEndedAt: '2026-11-22T12:00:00.000Z' })]);
    expect(released[0]).not.toHaveProperty('holder');
  });
});
