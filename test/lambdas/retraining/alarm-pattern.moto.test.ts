/**
 * The alarm rule's event pattern, evaluated by an EventBridge implementation (moto's rule
 * matching on PutEvents) against real-shaped CloudWatch alarm state changes, and the intake
 * that turns matching events into requests on a real SQS FIFO queue (deduplication id = runId).
 */
import { DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmEventPattern } from '../../../lib/constructs/retraining-trigger';
import { createIntakeHandler, SqsRequestQueue } from '../../../lambdas/retraining/intake';
import { retrainingRequestSchema, runIdFor } from '../../../lambdas/shared/contracts';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { serializedMotoConfig } from './harness';
import { ACCOUNT, alarmStateChange } from './events';

const PREFIX = 'Caretaker-Caretaker-';
const MODELS = ['churn', 'churn-eu'];
const events = new EventBridgeClient(motoClientConfig());
const sqs = new SQSClient(serializedMotoConfig());
const quiet = { info: () => undefined, error: () => undefined };

async function createQueue(fifo: boolean): Promise<{ url: string; arn: string }> {
  const name = uniqueName('retraining');
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand(
      fifo ? { QueueName: `${name}.fifo`, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } } : { QueueName: name },
    ),
  );
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function drain(url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], VisibilityTimeout: 300 }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

const entry = (event: ReturnType<typeof alarmStateChange>) => ({
  Source: event.source,
  DetailType: event['detail-type'],
  Detail: JSON.stringify(event.detail),
  Resources: event.resources,
});

describe('alarm rule pattern, matched by EventBridge (moto)', () => {
  const rules: string[] = [];
  const queues: string[] = [];
  afterAll(async () => {
    for (const rule of rules) {
      await events.send(new RemoveTargetsCommand({ Rule: rule, Ids: ['probe'] }));
      await events.send(new DeleteRuleCommand({ Name: rule }));
    }
    for (const url of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  });

  /** Puts `pattern` on a rule whose target records what matched; returns the state timestamps delivered. */
  async function delivered(pattern: unknown, cases: ReturnType<typeof alarmStateChange>[]): Promise<string[]> {
    const probe = await createQueue(false);
    queues.push(probe.url);
    const rule = uniqueName('retraining-alarm');
    rules.push(rule);
    await events.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }));
    await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'probe', Arn: probe.arn }] }));
    for (let i = 0; i < cases.length; i += 10) {
      // PutEvents takes at most 10 entries a call.
      const result = await events.send(new PutEventsCommand({ Entries: cases.slice(i, i + 10).map(entry) }));
      expect(result.FailedEntryCount).toBe(0);
    }
    const messages = await drain(probe.url);
    return messages.map((m) => (JSON.parse(m.Body!) as { detail: { state: { timestamp: string } } }).detail.state.timestamp).sort();
  }

  const at = (n: number) => `2026-11-22T10:0${n}:00.000+0000`;

  it('lets through our models\' alarms going to ALARM, and nothing else', async () => {
    const cases = [
      alarmStateChange('Caretaker-Caretaker-churn-drift', { stateTimestamp: at(0) }),
      alarmStateChange('Caretaker-Caretaker-churn-eu-quality', { stateTimestamp: at(1) }),
      alarmStateChange('ServerCpuTooHigh', { stateTimestamp: at(2) }), // not ours
      alarmStateChange('Caretaker-Staging-churn-drift', { stateTimestamp: at(3) }), // another stack
      alarmStateChange('Caretaker-Caretaker-fraud-drift', { stateTimestamp: at(4) }), // not a configured model
      alarmStateChange('Copy-of-Caretaker-Caretaker-churn-drift', { stateTimestamp: at(5) }), // prefix inside the name
      alarmStateChange('Caretaker-Caretaker-churn-drift', { state: 'OK', stateTimestamp: at(6) }),
      alarmStateChange('Caretaker-Caretaker-churn-drift', { state: 'INSUFFICIENT_DATA', stateTimestamp: at(7) }),
      alarmStateChange('Caretaker-Caretaker-churn-drift', { source: 'custom.cloudwatch', stateTimestamp: at(8) }), // posing as CloudWatch
      alarmStateChange('Caretaker-Caretaker-churn-5xx', { stateTimestamp: at(9) }), // endpoint health: pages, never retrains
      alarmStateChange('Caretaker-Caretaker-churn-latency', { stateTimestamp: '2026-11-22T10:10:00.000+0000' }),
      alarmStateChange('Caretaker-Caretaker-churn-drift-copy', { stateTimestamp: '2026-11-22T10:11:00.000+0000' }), // only exact names
    ];
    expect(await delivered(alarmEventPattern(PREFIX, MODELS, ACCOUNT), cases)).toEqual([at(0), at(1)]);
  });

  it('ignores the same alarms when they come from another account', async () => {
    // PutEvents always publishes as the caller's account: a rule for another account sees the
    // mirror image of an event forwarded from elsewhere.
    const cases = [alarmStateChange('Caretaker-Caretaker-churn-drift', { stateTimestamp: at(0) })];
    expect(await delivered(alarmEventPattern(PREFIX, MODELS, '210987654321'), cases)).toEqual([]);
    expect(await delivered(alarmEventPattern(PREFIX, MODELS, ACCOUNT), cases)).toEqual([at(0)]);
  });
});

describe('intake → SQS FIFO (moto)', () => {
  let queue: { url: string; arn: string };
  beforeAll(async () => {
    queue = await createQueue(true);
  });
  afterAll(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
  });

  it('queues one request per alarm state change, in the model\'s group, however often it is delivered', async () => {
    const intake = createIntakeHandler({ queue: new SqsRequestQueue(sqs, queue.url), naming: { alarmNamePrefix: PREFIX, models: MODELS }, log: quiet });
    const drift = alarmStateChange('Caretaker-Caretaker-churn-eu-drift', { stateTimestamp: '2026-11-22T10:15:00.000+0000' });
    const results = await Promise.all(Array.from({ length: 100 }, () => intake(drift)));
    expect(results.every((r) => 'queued' in r)).toBe(true);
    await intake(alarmStateChange('Caretaker-Caretaker-churn-eu-drift', { state: 'OK' }));

    const messages = await drain(queue.url);
    expect(messages).toHaveLength(1);
    const runId = runIdFor('churn-eu', 'alarm', 'Caretaker-Caretaker-churn-eu-drift|2026-11-22T10:15:00.000+0000');
    expect(messages[0]!.Attributes).toMatchObject({ MessageGroupId: 'churn-eu', MessageDeduplicationId: runId });
    expect(retrainingRequestSchema.parse(JSON.parse(messages[0]!.Body!))).toEqual({
      runId,
      model: 'churn-eu',
      trigger: { kind: 'alarm', id: 'Caretaker-Caretaker-churn-eu-drift|2026-11-22T10:15:00.000+0000', reason: expect.stringContaining('Threshold Crossed') as string },
      requestedBy: 'caretaker:alarm',
      requestedAt: '2026-11-22T10:15:00.000Z',
    });
  });

  it('queues a schedule tick as a request for its window', async () => {
    const intake = createIntakeHandler({ queue: new SqsRequestQueue(sqs, queue.url), naming: { alarmNamePrefix: PREFIX, models: MODELS }, log: quiet });
    await intake({ source: 'caretaker.schedule', model: 'churn', scheduledTime: '2026-11-29T10:00:00Z' });
    await intake({ source: 'caretaker.schedule', model: 'churn', scheduledTime: '2026-11-29T10:00:00Z' }); // Scheduler retried
    const ignored = await intake({ source: 'caretaker.schedule', model: 'unknown', scheduledTime: '2026-11-29T10:00:00Z' });
    expect(ignored).toEqual({ ignored: 'schedule for unknown model unknown' });

    const messages = await drain(queue.url);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]!.Body!)).toMatchObject({
      runId: runIdFor('churn', 'schedule', '2026-11-29T10:00:00.000Z'),
      trigger: { kind: 'schedule', id: '2026-11-29T10:00:00.000Z' },
      requestedBy: 'caretaker:schedule',
    });
  });
});
