/**
 * The API's delivery sweep, on an EventBridge schedule:
 * - decisions (RELIABILITY row 19): every decision recorded but still owed to the pipeline a
 *   minute after it was made is delivered now, recorded delivered when the pipeline already acted
 *   on it, or closed when the task is gone (`finishOwedDeliveries`);
 * - retrain requests (rows 12, 21): every API retrain request recorded but still owed to the
 *   retraining queue a minute after it was made is sent now (`finishOwedRetrainSends`).
 * Only the table, Step Functions' task callbacks and the retraining queue.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, parseEnvironment } from '../shared/env';
import { logger } from '../shared/powertools';
import { sdkClientConfig } from '../shared/sdk';
import { SfnApprovalCallbacks, SqsRetrainingQueue } from './aws-ports';
import { finishOwedDeliveries, finishOwedRetrainSends } from './domain';
import { DynamoRegistry } from './dynamo-registry';
import { sweepEnvironmentSchema } from './environment';

const env = parseEnvironment(sweepEnvironmentSchema);
const queueUrl = env[ENV.retrainingQueueUrl];
const ports = {
  registry: new DynamoRegistry(createDocumentClient(), env[ENV.tableName]),
  // One HTTP attempt per callback, as in the API (see wiring.ts).
  callbacks: new SfnApprovalCallbacks(new SFNClient({ ...sdkClientConfig(), maxAttempts: 1 })),
  retraining: new SqsRetrainingQueue(new SQSClient(sdkClientConfig()), queueUrl),
  clock: { now: () => new Date() },
};

export async function handler(): Promise<{ finished: number; sent: number }> {
  const results = await finishOwedDeliveries(ports);
  if (results.length > 0) logger.info('finished owed decision deliveries', { results });
  // Without a retraining queue the API records no retrain request (it refuses first).
  const sends = queueUrl === undefined ? [] : await finishOwedRetrainSends(ports);
  if (sends.length > 0) logger.info('sent owed retrain requests', { sends });
  const failed = results.filter((r) => r.delivery === 'FAILED').length + sends.filter((s) => s.send === 'FAILED').length;
  // The next run retries; failing the invocation makes it visible (the Errors alarm).
  if (failed > 0) throw new Error(`could not finish ${failed} owed decision deliveries or retrain sends; the next sweep retries`);
  return { finished: results.length, sent: sends.length };
}
