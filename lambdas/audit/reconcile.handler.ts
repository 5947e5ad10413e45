/**
 * The audit reconciler, on a schedule: Query the table's `AUDIT` index partition for the last
 * N days (gsi1, `gsi1sk >= <from>`), copy every event missing from the write-once bucket, and
 * publish how many it had to copy late (`AuditCopyLate`, the copy-lag alarm's metric).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, parseEnvironment } from '../shared/env';
import { AUDIT_METRICS } from '../shared/metrics';
import { logger } from '../shared/powertools';
import { metrics } from '../shared/powertools-metrics';
import { auditReconcilerEnvironmentSchema } from './environment';
import { reconcileAuditCopy } from './reconcile';
import { s3AuditStore } from './store';
import { tableAuditSource } from './table-source';
import { sdkClientConfig } from '../shared/sdk';

const env = parseEnvironment(auditReconcilerEnvironmentSchema);
const db = createDocumentClient();
const store = s3AuditStore(new S3Client(sdkClientConfig()), env[ENV.auditBucket]);

export const handler = async (): Promise<{ checked: number; copied: number; late: number }> => {
  const result = await reconcileAuditCopy({ source: tableAuditSource(db, env[ENV.tableName]), store, now: new Date(), windowDays: env[ENV.auditReconcileDays] });
  const single = metrics.singleMetric();
  // The alarm selects on the metric name alone: no `service` dimension.
  single.clearDefaultDimensions();
  single.addMetric(AUDIT_METRICS.late, MetricUnit.Count, result.late);
  logger[result.late > 0 ? 'warn' : 'info']('audit copy reconciled', { ...result });
  return { checked: result.checked, copied: result.copied, late: result.late };
};
