/**
 * The decision sweeper's environment (`sweep.handler.ts`), as the RegistryApi construct sets it:
 * the table, and the retraining queue for owed retrain requests. Kept apart from `wiring.ts` so the sweeper's bundle carries none of the API's clients.
 */
import * as z from '../shared/zod';
import { ENV, envValue } from '../shared/env';

export const sweepEnvironmentSchema = z.object({
  [ENV.tableName]: envValue.name,
  /** Where owed API retrain requests are sent; absent when the stack has no retraining trigger. */
  [ENV.retrainingQueueUrl]: z.optional(envValue.url),
});
