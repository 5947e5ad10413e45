/**
 * RELIABILITY rows 12 and 21 for `POST /models/{model}/retrain`, against DynamoDB and an SQS FIFO
 * queue on moto, drained into the real retraining starter: the request and its audit event are
 * recorded together FIRST, then sent. Faults at each step — the record fails, the send fails, the
 * send succeeds with its response lost, the sent mark fails, a client that never retries — each
 * end in exactly one retraining execution per request (or none when nothing was recorded), one
 * RUN_REQUESTED audit event, and a send the sweep or a repeat with the same Idempotency-Key finishes.
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqsRetrainingQueue } from '../../../lambdas/api/aws-ports';
import { finishOwedRetrainSends, RETRAIN_SEND_GRACE_MS } from '../../../lambdas/api/domain';
import { DynamoRegistry } from '../../../lambdas/api/dynamo-registry';
import type { Ports, RetrainingQueue } from '../../../lambdas/api/ports';
import { fromIamContext } from '../../../lambdas/api/principal';
import { createHandler } from '../../../lambdas/api/router';
import { keys, runIdFor, type AuditEvent, type RetrainingRequest } from '../../../lambdas/shared/contracts';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { createStarter, defaultPolicy } from '../retraining/harness';
import { sqsRecord } from '../retraining/events';
import { apiEvent, bodyOf, createHarness, type Harness, MODELS, REQUESTER } from './harness';

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
/** The SDK's error when the connection drops after the request was sent (the response is lost). */
const responseLost = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });

/**
 * The real queue port on moto's FIFO queue, with faults: `refuse` fails before SQS has the
 * message; `lose-response` lets SQS accept it and then loses the answer.
 */
class FaultyQueue implements RetrainingQueue {
  fault: 'none' | 'refuse' | 'lose-response' = 'none';
  attempts = 0;
  constructor(private readonly real: SqsRetrainingQueue) {}
  assertWired(): void {
    this.real.assertWired();
  }
  async send(request: RetrainingRequest): Promise<void> {
    this.attempts += 1;
    if (this.fault === 'refuse') throw throttled();
    await this.real.send(request);
    if (this.fault === 'lose-response') throw responseLost();
  }
}

describe('retrain records first, then sends; exactly one run per request (RELIABILITY rows 12, 21)', () => {
  let h: Harness;
  let sqs: SQSClient;
  let queueUrl: string;
  let queue: FaultyQueue;
  let registry: DynamoRegistry;
  let ports: Ports;
  let handler: ReturnType<typeof createHandler>;
  let starter: ReturnType<typeof createStarter>;

  beforeEach(async () => {
    // A table per test: each request may take the model's retraining lease.
    h = await createHarness();
    sqs = new SQSClient(motoClientConfig());
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: `${uniqueName('retrain')}.fifo`, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
    );
    queueUrl = created.QueueUrl ?? '';
    queue = new FaultyQueue(new SqsRetrainingQueue(sqs, queueUrl));
    registry = new DynamoRegistry(h.client, h.tableName);
    ports = { ...h.ports, registry, retraining: queue };
    handler = createHandler({ principal: fromIamContext, ports, models: MODELS });
    starter = createStarter(h.tableName, { churn: defaultPolicy({ dataset: 'churn' }) });
    await starter.seedDataset('churn', [{ version: 'v000001', status: 'PASSED' }]);
  });
  afterEach(async () => {
    await h.drop();
  });

  const retrain = (key?: string) =>
    handler(apiEvent('POST', '/models/churn/retrain', { body: { reason: 'drift on tenure' }, principal: REQUESTER, ...(key ? { headers: { 'Idempotency-Key': key } } : {}) }));
  const audit = async () => (await h.ports.audit.list({ model: 'churn' }, { limit: 100 })).items.filter((e: AuditEvent) => e.type === 'RUN_REQUESTED');
  const requestItem = async (runId: string) => starter.get(keys.retrainRequest(runId));
  const runOf = async (runId: string) => bodyOf<{ status: string; sendState?: string }>(await handler(apiEvent('GET', `/runs/${runId}`, { principal: REQUESTER })));
  /** The sweep, as if `ms` had passed since now. */
  const sweepAfter = (ms: number) => finishOwedRetrainSends({ ...ports, clock: { now: () => new Date(Date.now() + ms) } });

  /** Lambda's SQS event source: every message the queue delivers goes to the starter, then is deleted. */
  async function drain(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['MessageGroupId'] }));
      if (Messages.length === 0) return delivered;
      for (const message of Messages) {
        const result = await starter.handler({ Records: [sqsRecord(message.Body ?? '', message.Attributes?.MessageGroupId ?? 'churn')] } satisfies SQSEvent);
        expect(result.batchItemFailures).toEqual([]);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        delivered += 1;
      }
    }
  }
  const executionsOf = (runId: string) => starter.sfn.calls.filter((c) => c.name === runId);

  it('the record fails → 503, nothing sent, no request, no audit event, no run', async () => {
    registry.recordRetrainRequest = () => Promise.reject(throttled());
    const result = await retrain('rt-record-fails');
    expect(result.statusCode).toBe(503);
    expect(queue.attempts).toBe(0);
    expect(await drain()).toBe(0);
    expect(await audit()).toEqual([]);
    expect(await requestItem(runIdFor('churn', 'api', 'rt-record-fails'))).toBeUndefined();
    expect(starter.sfn.calls).toEqual([]);
  });

  it('the send fails after the record → 503 naming the key; the request reads QUEUED, send OWED; repeating with the key sends it: one run, one audit event', async () => {
    queue.fault = 'refuse';
    const failed = await retrain('rt-send-fails');
    queue.fault = 'none';
    expect(failed.statusCode).toBe(503);
    const message = bodyOf<{ message: string }>(failed).message;
    expect(message).toMatch(/^retrain request (\S+) is recorded \(audited\) but could not be sent to the retraining queue; it is sent within minutes, or repeat the request with Idempotency-Key: rt-send-fails/);
    const runId = /^retrain request (\S+)/.exec(message)?.[1] ?? '';
    expect(await runOf(runId)).toMatchObject({ status: 'QUEUED', sendState: 'OWED' });
    expect(await audit()).toEqual([expect.objectContaining({ runId, actor: REQUESTER })]);
    expect(await drain()).toBe(0);

    const retried = await retrain('rt-send-fails');
    expect(retried.statusCode).toBe(202);
    expect(bodyOf(retried)).toEqual({ runId });
    expect(await requestItem(runId)).toMatchObject({ sendState: 'SENT' });
    expect(await requestItem(runId)).not.toHaveProperty('gsi2pk');
    expect(await drain()).toBe(1);
    expect(executionsOf(runId)).toHaveLength(1);
    // Once sent, a repeat sends nothing.
    const attempts = queue.attempts;
    expect((await retrain('rt-send-fails')).statusCode).toBe(202);
    expect(queue.attempts).toBe(attempts);
    expect(await audit()).toHaveLength(1);
  });

  it('the send fails and the client never retries → the sweep sends it after the grace period, once; one run', async () => {
    queue.fault = 'refuse';
    const failed = await retrain();
    queue.fault = 'none';
    const message = bodyOf<{ message: string }>(failed).message;
    const runId = /^retrain request (\S+)/.exec(message)?.[1] ?? '';
    expect(message).toMatch(/repeat the request with Idempotency-Key: \S+ to send it now/);
    // Within the grace period the request's own attempt owns the send.
    expect(await sweepAfter(0)).toEqual([]);
    expect(await sweepAfter(RETRAIN_SEND_GRACE_MS + 1000)).toEqual([{ runId, send: 'SENT' }]);
    expect(await sweepAfter(RETRAIN_SEND_GRACE_MS + 1000)).toEqual([]);
    expect(await drain()).toBe(1);
    expect(executionsOf(runId)).toHaveLength(1);
    expect(await runOf(runId)).toMatchObject({ status: 'RUNNING' });
    expect(await audit()).toHaveLength(1);
  });

  it('a sweep whose send fails reports FAILED and leaves it owed; the next sweep sends it', async () => {
    queue.fault = 'refuse';
    const runId = /^retrain request (\S+)/.exec(bodyOf<{ message: string }>(await retrain('rt-sweep-fails')).message)?.[1] ?? '';
    expect(await sweepAfter(RETRAIN_SEND_GRACE_MS + 1000)).toEqual([{ runId, send: 'FAILED' }]);
    queue.fault = 'none';
    expect(await requestItem(runId)).toMatchObject({ sendState: 'OWED' });
    expect(await sweepAfter(RETRAIN_SEND_GRACE_MS + 1000)).toEqual([{ runId, send: 'SENT' }]);
    expect(await drain()).toBe(1);
    expect(executionsOf(runId)).toHaveLength(1);
  });

  it('SQS accepted the message but the response was lost → 503; the repeat sends it again; every copy reaches the starter and one run starts', async () => {
    queue.fault = 'lose-response';
    const failed = await retrain('rt-lost');
    queue.fault = 'none';
    expect(failed.statusCode).toBe(503);
    const runId = /^retrain request (\S+)/.exec(bodyOf<{ message: string }>(failed).message)?.[1] ?? '';
    // The first copy is delivered before anyone resends (SQS's deduplication window cannot help later copies).
    expect(await drain()).toBe(1);
    expect((await retrain('rt-lost')).statusCode).toBe(202);
    expect(await drain()).toBeLessThanOrEqual(1); // moto's FIFO deduplication may drop it; the starter would
    expect(executionsOf(runId)).toHaveLength(1);
    expect(await runOf(runId)).toMatchObject({ status: 'RUNNING' });
    expect(await audit()).toHaveLength(1);
  });

  it('sent but the sent mark fails → 202; the sweep sends it again and the starter records a duplicate, not a second run', async () => {
    const mark = registry.markRetrainSent.bind(registry);
    registry.markRetrainSent = () => Promise.reject(throttled());
    const accepted = await retrain('rt-mark-fails');
    registry.markRetrainSent = mark;
    expect(accepted.statusCode).toBe(202);
    const { runId } = bodyOf<{ runId: string }>(accepted);
    expect(await drain()).toBe(1);
    expect(await sweepAfter(RETRAIN_SEND_GRACE_MS + 1000)).toEqual([{ runId, send: 'SENT' }]);
    // Past SQS's 5-minute deduplication interval the copy arrives: the starter claims a runId once.
    const copy = (await requestItem(runId)) as unknown as RetrainingRequest;
    await starter.deliver({ runId, model: copy.model, trigger: copy.trigger, requestedBy: copy.requestedBy, requestedAt: copy.requestedAt }, 'churn');
    await drain();
    expect(executionsOf(runId)).toHaveLength(1);
    expect(await starter.get(keys.retrainingRequest(runId))).toMatchObject({ status: 'STARTED', duplicates: expect.any(Number) as unknown });
  });

  it('ten concurrent repeats of one Idempotency-Key → one request, one audit event, one run', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => retrain('rt-race')));
    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(202));
    const runIds = new Set(results.map((r) => bodyOf<{ runId: string }>(r).runId));
    expect(runIds.size).toBe(1);
    const [runId] = [...runIds];
    await drain();
    expect(executionsOf(runId ?? '')).toHaveLength(1);
    expect(await audit()).toHaveLength(1);
  });
});
