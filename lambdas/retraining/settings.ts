/**
 * The retraining functions' settings, from the function environment the RetrainingTrigger
 * construct writes. Parsed once at module load (`*.handler.ts`); domain code receives the
 * parsed values.
 */
import * as z from '../shared/zod';
import { ENV, envValue } from '../shared/env';

export const policySchema = z.strictObject({
  dataset: z.string().check(z.minLength(1)),
  cooldownHours: z.number().check(z.minimum(0)),
  maxRunsPerDay: z.int().check(z.positive()),
  leaseSeconds: z.int().check(z.positive()),
});

export const starterSettingsSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.stateMachineArn]: envValue.arn,
  /** JSON `{ "<model>": [dataset, cooldownHours, maxRunsPerDay, leaseSeconds] }` (compact: Lambda environments hold 4 KB). */
  [ENV.retrainingPolicies]: z.pipe(
    envValue.json(z.record(z.string().check(z.minLength(1)), z.tuple([z.string(), z.number(), z.number(), z.number()]))),
    z.transform((tuples: Record<string, [string, number, number, number]>) =>
      Object.fromEntries(
        Object.entries(tuples).map(([model, [dataset, cooldownHours, maxRunsPerDay, leaseSeconds]]) => [
          model,
          policySchema.parse({ dataset, cooldownHours, maxRunsPerDay, leaseSeconds }),
        ]),
      ),
    ),
  ),
  [ENV.claimSeconds]: z.coerce.number().check(z.int(), z.positive()),
});
export type StarterSettings = z.infer<typeof starterSettingsSchema>;

export const releaseSettingsSchema = z.object({
  [ENV.tableName]: envValue.name,
  /** `{ "<model>": "<endpoint name>" }`: whose deployment leases an ended execution gives back. */
  [ENV.deploymentEndpoints]: z._default(envValue.json(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1)))), {}),
});

export const intakeSettingsSchema = z.object({
  [ENV.retrainingQueueUrl]: envValue.url,
  [ENV.alarmNamePrefix]: envValue.name,
  /** Comma-separated model names. */
  [ENV.modelNames]: z.pipe(z.string(), z.transform((text: string) => text.split(',').filter(Boolean))),
});
