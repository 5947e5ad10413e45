/**
 * The starter's and releaser's settings, from the function environment the construct writes.
 * Read once at module load; domain code receives the parsed values.
 */
import * as z from 'zod';

export const policySchema = z.strictObject({
  dataset: z.string().min(1),
  cooldownHours: z.number().min(0),
  maxRunsPerDay: z.number().int().positive(),
  leaseSeconds: z.number().int().positive(),
});

export const starterSettingsSchema = z.object({
  TABLE_NAME: z.string().min(1),
  STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  /** JSON `{ "<model>": [dataset, cooldownHours, maxRunsPerDay, leaseSeconds] }` (compact: Lambda environments hold 4 KB). */
  RETRAINING_POLICIES: z
    .string()
    .transform((text) => JSON.parse(text) as unknown)
    .pipe(z.record(z.string().min(1), z.tuple([z.string(), z.number(), z.number(), z.number()])))
    .transform((tuples) =>
      Object.fromEntries(
        Object.entries(tuples).map(([model, [dataset, cooldownHours, maxRunsPerDay, leaseSeconds]]) => [
          model,
          policySchema.parse({ dataset, cooldownHours, maxRunsPerDay, leaseSeconds }),
        ]),
      ),
    ),
  CLAIM_SECONDS: z.coerce.number().int().positive(),
});
export type StarterSettings = z.infer<typeof starterSettingsSchema>;

export const releaseSettingsSchema = z.object({ TABLE_NAME: z.string().min(1) });
