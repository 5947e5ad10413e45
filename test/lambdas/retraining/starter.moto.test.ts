/**
 * The retraining starter against real DynamoDB and SQS FIFO semantics (moto server):
 * RELIABILITY rows 12 (100 concurrent duplicate alarms → one run) and 13 (cooldown, run in
 * progress → no run, reason recorded), the daily cap, lease expiry and release.
 */
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keys, runIdFor, type RetrainingRequest } from '../../../lambdas/shared/contracts';
import { createIntakeHandler, SqsRequestQueue } from '../../../lambdas/retraining/intake';
import { releaseRun } from '../../../lambdas/retraining/release';
import { uniqueName } from '../../support/aws';
import { createMetadataTable } from '../../support/table';
import { alarmStateChange, sqsRecord } from './events';
import { ALARM_PREFIX, asRequest, createStarter, defaultPolicy, serializedMotoConfig, STATE_MACHINE_ARN } from './harness';

let table: Awaited<ReturnType<typeof createMetadataTable>>;
beforeAll(async () => {
  table = await createMetadataTable();
});
afterAll(async () => {
  await table.drop();
});

const driftAlarm = (model: string) => `${ALARM_PREFIX}${model}-drift`;
const stateAt = (iso: string) => iso.replace('Z', '+0000');

function apiRequest(model: string, key: string, at: string): RetrainingRequest {
  return {
    runId: runIdFor(model, 'api', key),
    model,
    trigger: { kind: 'api', id: key, reason: 'new features shipped' },
    requestedBy: 'arn:aws:iam::123456789012:role/data-scientist',
    requestedAt: at,
  };
}

describe('RELIABILITY 12: the same drift alarm event delivered 100 times, concurrently', () => {
  const sqs = new SQSClient(serializedMotoConfig());
  let queueUrl: string;
  beforeAll(async () => {
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${uniqueName('retraining')}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    queueUrl = created.QueueUrl!;
  });
  afterAll(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    sqs.destroy();
  });

  it('starts exactly one execution and records the other 99 as deduplicated', async () => {
    const model = 'churn';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy() });
    await starter.seedDataset('churn', [{ version: '2026-11-20-0001', status: 'PASSED' }]);
    const event = alarmStateChange(driftAlarm(model), { stateTimestamp: '2026-11-22T09:59:58.123+0000' });
    const runId = runIdFor(model, 'alarm', `${driftAlarm(model)}|2026-11-22T09:59:58.123+0000`);

    // First line: 100 concurrent intake invocations queue one message (deduplication id = runId).
    const intake = createIntakeHandler({
      queue: new SqsRequestQueue(sqs, queueUrl),
      naming: { alarmNamePrefix: ALARM_PREFIX, models: [model] },
      log: { info: () => undefined, error: () => undefined },
    });
    await Promise.all(Array.from({ length: 100 }, () => intake(event)));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], VisibilityTimeout: 300 }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages[0]!.Attributes).toMatchObject({ MessageGroupId: model, MessageDeduplicationId: runId });

    // Second line: SQS delivers at least once, and a redelivery after its 5-minute window is a
    // new message. The starter sees the request 100 times, each in its own concurrent invocation.
    const records = Array.from({ length: 100 }, (_, i) => sqsRecord(Messages[0]!.Body!, model, `delivery-${i}`));
    const responses = await Promise.all(records.map((record) => starter.handler({ Records: [record] })));

    expect(responses.flatMap((r) => r.batchItemFailures)).toEqual([]);
    expect(starter.sfn.calls).toHaveLength(1);
    expect(starter.sfn.calls[0]).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: runId });
    expect(JSON.parse(starter.sfn.calls[0]!.input!)).toEqual({
      runId,
      model,
      datasetVersion: '2026-11-20-0001',
      requestedBy: 'caretaker:alarm',
      trigger: { kind: 'alarm', id: `${driftAlarm(model)}|2026-11-22T09:59:58.123+0000`, reason: expect.stringContaining('Threshold Crossed') as string },
    });

    expect(await starter.get(keys.retrainingRequest(runId))).toMatchObject({ status: 'STARTED', duplicates: 99 });
    expect(starter.metrics.started).toEqual([model]);
    expect(starter.metrics.suppressedFor(model, 'duplicate')).toBe(99);
    const history = await starter.query(`TRIGGER#${model}`);
    expect(history).toEqual([expect.objectContaining({ runId, outcome: 'STARTED', datasetVersion: '2026-11-20-0001' })]);
    expect(await starter.get(keys.run(runId))).toMatchObject({
      status: 'RUNNING',
      executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${runId}`,
      requestedBy: 'caretaker:alarm',
      gsi1pk: `MODEL#${model}#RUNS`,
    });
    expect(await starter.query(`AUDIT#${model}`)).toEqual([expect.objectContaining({ type: 'RUN_REQUESTED', runId })]);
    expect(await starter.get(keys.lease(model))).toMatchObject({ holder: runId, revision: 1 });
  });
});

describe('RELIABILITY 13: alarm during cooldown or while a run is in progress', () => {
  it('starts no run while one is in progress, and records the trigger as in-progress', async () => {
    const model = 'busy';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'busy-data' }) });
    await starter.seedDataset('busy-data', [{ version: 'v1', status: 'PASSED' }]);
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T10:00:00.000Z') }), model);
    expect(starter.sfn.calls).toHaveLength(1);

    starter.advanceHours(8); // past the cooldown: only the lease holds the next one back
    const later = alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T18:00:00.000Z') });
    await starter.deliver(later, model);
    await starter.deliver(apiRequest(model, 'please', starter.clock.now.toISOString()), model); // not even a human bypasses the lease

    expect(starter.sfn.calls).toHaveLength(1);
    const suppressed = (await starter.query(`TRIGGER#${model}`)).filter((t) => t.outcome === 'SUPPRESSED');
    expect(suppressed).toEqual([
      expect.objectContaining({ reason: 'in-progress', trigger: expect.objectContaining({ kind: 'alarm' }) as unknown }),
      expect.objectContaining({ reason: 'in-progress', trigger: expect.objectContaining({ kind: 'api' }) as unknown }),
    ]);
    expect(starter.metrics.suppressedFor(model, 'in-progress')).toBe(2);
    const audit = await starter.query(`AUDIT#${model}`);
    expect(audit.filter((a) => a.type === 'RUN_SUPPRESSED')).toHaveLength(2);
  });

  it('starts no run during the cooldown after a run ends, records why, and starts once it is over', async () => {
    const model = 'cool';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'cool-data', cooldownHours: 6 }) });
    await starter.seedDataset('cool-data', [{ version: 'v1', status: 'PASSED' }]);
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T10:00:00.000Z') }), model);
    const [first] = starter.sfn.calls;
    starter.advanceHours(2);
    await releaseRun({ model, runId: first!.name!, status: 'SUCCEEDED', endedAt: starter.clock.now.toISOString() }, starter.release);

    starter.advanceHours(5); // 7 h after the start, but 5 h after the end
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T17:00:00.000Z') }), model);
    expect(starter.sfn.calls).toHaveLength(1);
    const [cooled] = (await starter.query(`TRIGGER#${model}`)).filter((t) => t.outcome === 'SUPPRESSED');
    expect(cooled).toMatchObject({ reason: 'cooldown', detail: 'cooling down until 2026-11-22T18:00:00.000Z' });
    expect(starter.metrics.suppressedFor(model, 'cooldown')).toBe(1);

    starter.advanceHours(1.5);
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T18:30:00.000Z') }), model);
    expect(starter.sfn.calls).toHaveLength(2);
  });

  it('lets a person (api trigger) through the cooldown', async () => {
    const model = 'manual';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'manual-data' }) });
    await starter.seedDataset('manual-data', [{ version: 'v1', status: 'PASSED' }]);
    await starter.deliver(alarmStateChange(driftAlarm(model)), model);
    await releaseRun({ model, runId: starter.sfn.calls[0]!.name!, status: 'FAILED', endedAt: starter.clock.now.toISOString() }, starter.release);
    await starter.deliver(apiRequest(model, 'retry-now', starter.clock.now.toISOString()), model);
    expect(starter.sfn.calls).toHaveLength(2);
    expect(starter.sfn.calls[1]!.name).toBe(runIdFor(model, 'api', 'retry-now'));
  });
});

describe('daily cap', () => {
  it('suppresses automatic triggers beyond maxRunsPerDay in any 24 hours', async () => {
    const model = 'capped';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'capped-data', cooldownHours: 0, maxRunsPerDay: 2 }) });
    await starter.seedDataset('capped-data', [{ version: 'v1', status: 'PASSED' }]);
    for (let i = 0; i < 3; i += 1) {
      await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt(starter.clock.now.toISOString()) }), model);
      const last = starter.sfn.calls.at(-1)!;
      await releaseRun({ model, runId: last.name!, status: 'SUCCEEDED', endedAt: starter.clock.now.toISOString() }, starter.release);
      starter.advanceHours(1);
    }
    expect(starter.sfn.calls).toHaveLength(2);
    expect((await starter.query(`TRIGGER#${model}`)).filter((t) => t.outcome === 'SUPPRESSED')).toEqual([
      expect.objectContaining({ reason: 'daily-cap', detail: '2 runs started in the last 24 h (max 2)' }),
    ]);

    starter.advanceHours(22); // the first start leaves the 24-hour window
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt(starter.clock.now.toISOString()) }), model);
    expect(starter.sfn.calls).toHaveLength(3);
  });
});

describe('lease', () => {
  it('expires, so a lost release cannot block a model forever', async () => {
    const model = 'wedged';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'wedged-data', leaseSeconds: 12 * 3600 }) });
    await starter.seedDataset('wedged-data', [{ version: 'v1', status: 'PASSED' }]);
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T10:00:00.000Z') }), model);
    const lost = starter.sfn.calls[0]!.name!;

    starter.advanceHours(11);
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T21:00:00.000Z') }), model);
    expect(starter.sfn.calls).toHaveLength(1);

    starter.advanceHours(2); // past the lease
    await starter.deliver(alarmStateChange(driftAlarm(model), { stateTimestamp: stateAt('2026-11-22T23:00:00.000Z') }), model);
    expect(starter.sfn.calls).toHaveLength(2);
    const started = (await starter.query(`TRIGGER#${model}`)).filter((t) => t.outcome === 'STARTED');
    expect(started.at(-1)).toMatchObject({ takesExpiredLeaseFrom: lost });

    // The lost run's late release must not free the new run's lease.
    const result = await releaseRun({ model, runId: lost, status: 'SUCCEEDED', endedAt: starter.clock.now.toISOString() }, starter.release);
    expect(result.released).toBe(false);
    expect(await starter.get(keys.lease(model))).toMatchObject({ holder: starter.sfn.calls[1]!.name });
  });

  it('is given back when the pipeline cannot be started, and the redelivery starts exactly one run', async () => {
    const model = 'throttled';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'throttled-data' }) });
    await starter.seedDataset('throttled-data', [{ version: 'v1', status: 'PASSED' }]);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    starter.sfn.failNext(throttled);
    const event = JSON.stringify(asRequest(alarmStateChange(driftAlarm(model)), [model]));

    const first = await starter.handler({ Records: [sqsRecord(event, model, 'm-1')] });
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    const runId = starter.sfn.calls[0]!.name!;
    expect(await starter.get(keys.lease(model))).not.toHaveProperty('holder');
    expect(await starter.get(keys.run(runId))).toBeUndefined();

    const retry = await starter.handler({ Records: [sqsRecord(event, model, 'm-1')] });
    expect(retry.batchItemFailures).toEqual([]);
    expect(starter.sfn.calls.map((c) => c.name)).toEqual([runId, runId]);
    expect(await starter.get(keys.lease(model))).toMatchObject({ holder: runId, recentStarts: [expect.any(String)] });
  });

  it('lets the redelivery of a crashed attempt finish once its claim expired', async () => {
    const model = 'crashed';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'crashed-data' }) });
    await starter.seedDataset('crashed-data', [{ version: 'v1', status: 'PASSED' }]);
    const event = alarmStateChange(driftAlarm(model));
    const runId = runIdFor(model, 'alarm', `${driftAlarm(model)}|${event.detail.state.timestamp}`);
    // An earlier attempt claimed the request and died before deciding.
    const claim = await starter.deps.store.claim({ ...apiRequest(model, 'x', starter.clock.now.toISOString()), runId }, starter.clock.now, 120);
    expect(claim.claimed).toBe(true);

    await starter.deliver(event, model);
    expect(starter.sfn.calls).toHaveLength(0); // claim still live: a concurrent duplicate

    starter.advanceHours(0.1);
    await starter.deliver(event, model);
    expect(starter.sfn.calls).toHaveLength(1);
    expect(await starter.get(keys.retrainingRequest(runId))).toMatchObject({ status: 'STARTED', duplicates: 1 });
  });
});

describe('crash recovery', () => {
  it('finishes a run whose execution started before the attempt crashed, without deciding again', async () => {
    const model = 'midcrash';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'midcrash-data' }) });
    await starter.seedDataset('midcrash-data', [{ version: 'v1', status: 'PASSED' }]);
    vi.spyOn(starter.deps.store, 'finish').mockRejectedValueOnce(new Error('socket hang up'));
    const body = JSON.stringify(asRequest(alarmStateChange(driftAlarm(model)), [model]));

    const first = await starter.handler({ Records: [sqsRecord(body, model, 'm-1')] });
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    const runId = starter.sfn.calls[0]!.name!;
    // The execution even ends before SQS redelivers: the lease is free and the cooldown runs.
    await releaseRun({ model, runId, status: 'SUCCEEDED', endedAt: starter.clock.now.toISOString() }, starter.release);

    starter.advanceHours(0.1);
    const retry = await starter.handler({ Records: [sqsRecord(body, model, 'm-1')] });
    expect(retry.batchItemFailures).toEqual([]);
    expect(new Set(starter.sfn.calls.map((c) => c.name))).toEqual(new Set([runId]));
    expect(await starter.get(keys.retrainingRequest(runId))).toMatchObject({ status: 'STARTED' });
    expect(await starter.query(`TRIGGER#${model}`)).toEqual([expect.objectContaining({ outcome: 'STARTED', runId })]);
    expect(starter.metrics.suppressed).toEqual([]);
  });
});

describe('dataset version', () => {
  it('resolves the newest version that passed validation', async () => {
    const model = 'resolver';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'resolver-data' }) });
    await starter.seedDataset('resolver-data', [
      { version: '2026-11-01-0001', status: 'PASSED' },
      { version: '2026-11-10-0001', status: 'PASSED' },
      { version: '2026-11-20-0001', status: 'FAILED' },
      { version: '2026-11-21-0001', status: 'PENDING' },
    ]);
    await starter.deliver(alarmStateChange(driftAlarm(model)), model);
    expect(JSON.parse(starter.sfn.calls[0]!.input!)).toMatchObject({ datasetVersion: '2026-11-10-0001' });
  });

  it('keeps the version a request names', async () => {
    const model = 'pinned';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'pinned-data' }) });
    await starter.deliver({ ...apiRequest(model, 'pin', starter.clock.now.toISOString()), datasetVersion: '2026-10-01-0001' }, model);
    expect(JSON.parse(starter.sfn.calls[0]!.input!)).toMatchObject({ datasetVersion: '2026-10-01-0001' });
  });

  it('suppresses a trigger when no version passed validation, without taking the lease', async () => {
    const model = 'nodata';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'nodata-data' }) });
    await starter.seedDataset('nodata-data', [{ version: 'v1', status: 'FAILED' }]);
    await starter.deliver(alarmStateChange(driftAlarm(model)), model);
    expect(starter.sfn.calls).toHaveLength(0);
    expect(await starter.query(`TRIGGER#${model}`)).toEqual([expect.objectContaining({ outcome: 'SUPPRESSED', reason: 'no-dataset' })]);
    expect(await starter.get(keys.lease(model))).toBeUndefined();
  });
});

describe('release', () => {
  it('closes a run the pipeline left open when the execution is aborted', async () => {
    const model = 'aborted';
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: 'aborted-data' }) });
    await starter.seedDataset('aborted-data', [{ version: 'v1', status: 'PASSED' }]);
    await starter.deliver(alarmStateChange(driftAlarm(model)), model);
    const runId = starter.sfn.calls[0]!.name!;
    const result = await releaseRun({ model, runId, status: 'ABORTED', endedAt: '2026-11-22T11:00:00.000Z' }, starter.release);
    expect(result).toEqual({ released: true, closedRun: true, freedDeployment: false });
    expect(await starter.get(keys.run(runId))).toMatchObject({
      status: 'FAILED',
      endedAt: '2026-11-22T11:00:00.000Z',
      failure: { state: 'Execution', error: 'States.ABORTED' },
    });
    expect(await starter.get(keys.lease(model))).toMatchObject({ lastEndedAt: '2026-11-22T11:00:00.000Z' });
    expect(await starter.get(keys.lease(model))).not.toHaveProperty('holder');
  });
});
