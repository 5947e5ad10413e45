/**
 * SQS FIFO → starter. Each message is a `RetrainingRequest` (from the intake function, the API
 * or the dataset store) and goes through `startRetraining`. Failures are reported per message
 * (partial batch response) by Powertools' FIFO processor: with `skipGroupOnError`, a failed message
 * also fails the later messages of its group (their order is kept) while other groups go on.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { retrainingRequestSchema } from '../shared/contracts';
import type { logger } from '../shared/powertools';
import type { RetrainingPolicy } from './policy';
import { startRetraining, type StarterPorts } from './start';

export interface StarterDeps extends StarterPorts {
  readonly policies: Readonly<Record<string, RetrainingPolicy>>;
  readonly log: Pick<typeof logger, 'info' | 'warn' | 'error'>;
}

/** Handles one queue message. Throws only for failures a retry may fix. */
export async function processMessage(body: string, deps: StarterDeps): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    deps.log.error('dropping a message that is not JSON', { body: body.slice(0, 512) });
    return;
  }
  const message = retrainingRequestSchema.safeParse(parsed);
  if (!message.success) {
    // A retry cannot fix a malformed message; dropping it keeps the model's group moving.
    deps.log.error('dropping a message that is no retraining request', { issues: z.prettifyError(message.error) });
    return;
  }
  const request = message.data;
  const policy = deps.policies[request.model];
  if (policy === undefined) {
    deps.log.error('dropping a request for a model this stack does not know', { model: request.model, runId: request.runId });
    return;
  }
  const result = await startRetraining(request, policy, deps);
  deps.log.info('retraining request decided', { runId: request.runId, model: request.model, trigger: request.trigger.kind, ...result });
}

export function createHandler(deps: StarterDeps) {
  const processor = new SqsFifoPartialProcessorAsync();
  const processRecord = async (record: SQSRecord) => {
    try {
      await processMessage(record.body, deps);
    } catch (error) {
      deps.log.error('retraining request failed; SQS will redeliver it', { messageId: record.messageId, error: error as Error });
      throw error;
    }
  };
  return (event: SQSEvent): Promise<SQSBatchResponse> =>
    // A batch whose every message failed is reported like any other (not thrown): SQS redelivers
    // exactly the messages listed, and the function's Errors metric stays for real faults.
    processPartialResponse(event, processRecord, processor, { skipGroupOnError: true, throwOnFullBatchFailure: false });
}
