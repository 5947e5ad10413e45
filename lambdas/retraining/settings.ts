/**
 * The retraining functions' settings, from the function environment the RetrainingTrigger
 * construct writes. Parsed once at module load (`*.handler.ts`); domain code receives the
 * parsed values.
 */
import * as z from 'zod';
import { ENV, envValue } from '../shared/env';

export const policySchema = z.strictObject({
  dataset: z.string().min(1),
  cooldownHours: z.number().min(0),
  maxRunsPerDay: z.number().int().positive(),
  leaseSeconds: z.number().int().positive(),
});

export const starterSettingsSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.stateMachineArn]: envValue.arn,
  /** JSON `{ "<model>": [dataset, cooldownHours, maxRunsPerDay, leaseSeconds] }` (compact: Lambda environments hold 4 KB). */
  [ENV.retrainingPolicies]: envValue
    .json(z.record(z.string().min(1), z.tuple([z.string(), z.number(), z.number(), z.number()])))
    .transform((tuples) =>
      Object.fromEntries(
        Object.entries(tuples).map(([model, [dataset, cooldownHours, maxRunsPerDay, leaseSeconds]]) => [
          model,
          policySchema.parse({ dataset, cooldownHours, maxRunsPerDay, leaseSeconds }),
        ]),
      ),
    ),
  [ENV.claimSeconds]: z.coerce.number().int().positive(),
});
export type StarterSettings = z.infer<typeof starterSettingsSchema>;

export const releaseSettingsSchema = z.object({
  [ENV.tableName]: envValue.name,
  /** `{ "<model>": "<endpoint name>" }`: whose deployment leases an ended execution gives back. */
  [ENV.deploymentEndpoints]: envValue.json(z.record(z.string().min(1), z.string().min(1))).default({}),
});

export const intakeSettingsSchema = z.object({
  [ENV.retrainingQueueUrl]: envValue.url,
  [ENV.alarmNamePrefix]: envValue.name,
  /** Comma-separated model names. */
  [ENV.modelNames]: z.string().transform((text) => text.split(',').filter(Boolean)),
});
