/**
 * What Lambda's pollers and EventBridge's Lambda targets do, locally: every SQS
 * `AWS::Lambda::EventSourceMapping` of the template (the retraining FIFO queue → the starter)
 * is drained into its function as an SQS event with partial batch responses, and every rule
 * with a Lambda target (delivered to a queue of its own by `provisionFromTemplate`) into its
 * function as the EventBridge event. A failed invocation leaves its messages on the queue,
 * visible again after the visibility timeout, as the services retry.
 */
import { ChangeMessageVisibilityCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LocalFunctions } from './functions';
import type { ProvisionResult } from './provision';
import type { CfnTemplate } from './template';

export interface QueueConsumers {
  /** Deliveries so far, by function logical id (for progress and tests). */
  readonly invocations: ReadonlyMap<string, number>;
  /** Resolves once every consumer has found its queue empty with nothing in flight. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

interface Consumer {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly functionLogicalId: string;
  readonly batchSize: number;
  readonly deliver: (messages: Message[]) => Promise<Set<string>>;
}

const IDLE_MS = 100;
/** A failed message comes back after this long (the queue's own timeout would be 30 s or more). */
const RETRY_VISIBILITY_SECONDS = 1;

export function startQueueConsumers(options: {
  readonly template: CfnTemplate;
  readonly resolve: (value: unknown) => unknown;
  readonly provisioned: ProvisionResult;
  readonly functions: LocalFunctions;
  readonly sqs: SQSClient;
  readonly accountId: string;
  readonly log: (line: string) => void;
}): QueueConsumers {
  const { functions, provisioned, sqs, log } = options;
  const invocations = new Map<string, number>();
  const queueByArn = new Map(
    [...provisioned.resources.values()].filter((r) => r.type === 'AWS::SQS::Queue').map((r) => [r.attributes.Arn ?? '', r.attributes.QueueUrl ?? r.ref]),
  );
  const consumers: Consumer[] = [];

  for (const [logicalId, resource] of Object.entries(options.template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const p = resource.Properties ?? {};
    let sourceArn: string;
    try {
      sourceArn = String(options.resolve(p.EventSourceArn));
    } catch {
      continue;
    }
    const queueUrl = queueByArn.get(sourceArn);
    const fn = functions.find(String(options.resolve(p.FunctionName)));
    if (!queueUrl || !fn) {
      log(`event source mapping ${logicalId}: ${sourceArn.split(':')[2] ?? 'its source'} is not drained locally`);
      continue;
    }
    const reportsFailures = ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures');
    consumers.push({
      queueUrl,
      queueArn: sourceArn,
      functionLogicalId: fn.logicalId,
      batchSize: Math.min(Number(p.BatchSize ?? 10), 10),
      deliver: async (messages) => {
        const event: SQSEvent = {
          Records: messages.map((m) => ({
            messageId: m.MessageId ?? '',
            receiptHandle: m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            attributes: (m.Attributes ?? {}) as unknown as SQSEvent['Records'][number]['attributes'],
            messageAttributes: {},
            md5OfBody: m.MD5OfBody ?? '',
            eventSource: 'aws:sqs',
            eventSourceARN: sourceArn,
            awsRegion: 'us-east-1',
          })),
        };
        const result = (await functions.invoke(fn.logicalId, event)) as SQSBatchResponse | undefined;
        return new Set(reportsFailures ? (result?.batchItemFailures ?? []).map((f) => f.itemIdentifier) : []);
      },
    });
  }
  for (const delivery of provisioned.lambdaDeliveries) {
    consumers.push({
      queueUrl: delivery.queueUrl,
      queueArn: delivery.queueUrl,
      functionLogicalId: delivery.functionLogicalId,
      batchSize: 1,
      deliver: async ([message]) => {
        const event = JSON.parse(message?.Body ?? 'null') as Record<string, unknown>;
        // moto's rule targets omit the envelope's `account`, which EventBridge always sets.
        await functions.invoke(delivery.functionLogicalId, { account: options.accountId, ...event });
        return new Set();
      },
    });
  }

  let stopped = false;
  const idle = consumers.map(() => false);
  const loops = consumers.map(async (consumer, index) => {
    while (!stopped) {
      idle[index] = false;
      let messages: Message[] = [];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: consumer.queueUrl, MaxNumberOfMessages: consumer.batchSize, MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 0 }),
        );
        messages = received.Messages ?? [];
      } catch (error) {
        log(`receive from ${consumer.queueUrl}: ${String(error)}`);
      }
      if (messages.length === 0) {
        idle[index] = true;
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        continue;
      }
      let failed: Set<string>;
      try {
        failed = await consumer.deliver(messages);
      } catch (error) {
        log(`${consumer.functionLogicalId} failed; the messages will be redelivered: ${error instanceof Error ? error.message : String(error)}`);
        failed = new Set(messages.map((m) => m.MessageId ?? ''));
      }
      invocations.set(consumer.functionLogicalId, (invocations.get(consumer.functionLogicalId) ?? 0) + 1);
      const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
      if (done.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: consumer.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      }
      for (const m of messages.filter((m) => failed.has(m.MessageId ?? ''))) {
        await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: consumer.queueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: RETRY_VISIBILITY_SECONDS }));
      }
    }
  });

  return {
    invocations,
    drained: async () => {
      // Every consumer must come round to an empty receive after this call.
      for (let i = 0; i < idle.length; i += 1) idle[i] = false;
      while (!stopped && !idle.every(Boolean)) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    },
    stop: async () => {
      stopped = true;
      await Promise.allSettled(loops);
    },
  };
}
