/**
 * The decision sweeper's environment (`sweep.handler.ts`), as the RegistryApi construct sets it:
 * the table alone. Kept apart from `wiring.ts` so the sweeper's bundle carries none of the API's clients.
 */
import * as z from 'zod';
import { ENV, envValue } from '../shared/env';

export const sweepEnvironmentSchema = z.object({ [ENV.tableName]: envValue.name });
