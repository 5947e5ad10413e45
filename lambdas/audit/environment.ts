/** The audit functions' environments, as the RegistryApi construct sets them (parsed at module load by each entry). */
import * as z from '../shared/zod';
import { ENV, envValue } from '../shared/env';

/** The stream copier (`handler.ts`). */
export const auditCopierEnvironmentSchema = z.object({ [ENV.auditBucket]: envValue.name });

/** The scheduled reconciler (`reconcile.handler.ts`). */
export const auditReconcilerEnvironmentSchema = z.object({
  [ENV.tableName]: envValue.name,
  [ENV.auditBucket]: envValue.name,
  [ENV.auditReconcileDays]: z.coerce.number().check(z.int(), z.minimum(1), z.maximum(3650)),
});
