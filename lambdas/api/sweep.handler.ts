/**
 * The decision delivery sweep (RELIABILITY row 19), on an EventBridge schedule: every decision
 * recorded but still owed to the pipeline a minute after it was made is delivered now, recorded
 * delivered when the pipeline already acted on it, or closed when the task is gone
 * (`finishOwedDeliveries`). Only the table and Step Functions' task callbacks.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, parseEnvironment } from '../shared/env';
import { logger } from '../shared/powertools';
import { sdkClientConfig } from '../shared/sdk';
import { SfnApprovalCallbacks } from './aws-ports';
import { finishOwedDeliveries } from './domain';
import { DynamoRegistry } from './dynamo-registry';
import { sweepEnvironmentSchema } from './environment';

const env = parseEnvironment(sweepEnvironmentSchema);
const ports = {
  registry: new DynamoRegistry(createDocumentClient(), env[ENV.tableName]),
  // One HTTP attempt per callback, as in the API (see wiring.ts).
  callbacks: new SfnApprovalCallbacks(new SFNClient({ ...sdkClientConfig(), maxAttempts: 1 })),
  clock: { now: () => new Date() },
};

export async function handler(): Promise<{ finished: number }> {
  const results = await finishOwedDeliveries(ports);
  if (results.length > 0) logger.info('finished owed decision deliveries', { results });
  const failed = results.filter((r) => r.delivery === 'FAILED').length;
  // The next run retries; failing the invocation makes it visible (the Errors alarm).
  if (failed > 0) throw new Error(`could not finish ${failed} owed decision deliveries; the next sweep retries`);
  return { finished: results.length };
}
