/**
 * Alarm rule and schedules → intake → retraining queue. Turns a CloudWatch alarm state change
 * or a schedule tick into a `RetrainingRequest` and sends it with MessageGroupId = model and
 * MessageDeduplicationId = runId, so SQS drops repeats within its deduplication window and the
 * starter catches the rest.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import type { RetrainingRequest } from '../shared/contracts';
import type { logger } from '../shared/powertools';
import { intakeEventSchema, normalize, type AlarmNaming } from './messages';

export interface RequestQueue {
  send(request: RetrainingRequest): Promise<void>;
}

export class SqsRequestQueue implements RequestQueue {
  constructor(
    private readonly client: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
  ) {}

  async send(request: RetrainingRequest): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(request),
        MessageGroupId: request.model,
        MessageDeduplicationId: request.runId,
      }),
    );
  }
}

export interface IntakeDeps {
  readonly queue: RequestQueue;
  readonly naming: AlarmNaming;
  readonly log: Pick<typeof logger, 'info' | 'error'>;
}

export type IntakeResult = { readonly queued: RetrainingRequest } | { readonly ignored: string };

export function createIntakeHandler(deps: IntakeDeps) {
  return async (event: unknown): Promise<IntakeResult> => {
    const parsed = intakeEventSchema.safeParse(event);
    if (!parsed.success) {
      // Only our rule and schedules invoke this function; a retry cannot fix a wrong shape.
      deps.log.error('not an alarm state change or schedule tick', { issues: z.prettifyError(parsed.error) });
      return { ignored: 'malformed event' };
    }
    const normalized = normalize(parsed.data, deps.naming);
    if (normalized.kind === 'ignored') {
      deps.log.info('ignoring event', { why: normalized.why });
      return { ignored: normalized.why };
    }
    await deps.queue.send(normalized.request);
    deps.log.info('retraining requested', { runId: normalized.request.runId, model: normalized.request.model, trigger: normalized.request.trigger });
    return { queued: normalized.request };
  };
}
