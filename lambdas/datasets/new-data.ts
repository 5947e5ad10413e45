/**
 * "Enough new data": counts objects created under `datasets/<dataset>/` and, each time a model's
 * `retraining.newObjectsThreshold` more have arrived, asks the retraining trigger for a run.
 *
 * Counting is exactly-once per S3 object version: a marker item and the counter increment are
 * written in one transaction, so a redelivered event changes nothing. Requests are idempotent:
 * the n-th batch of a model always has the same run id, `runIdFor(model, 'new-data',
 * '<dataset>#<n>')`, so the FIFO queue (MessageDeduplicationId = runId) and the starter drop
 * repeats. A batch is marked sent only after the message is accepted, and every event (also a
 * redelivered one) re-checks for unsent batches, so a failed send is retried, never lost.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys, retrainingRequestSchema, runIdFor, type RetrainingRequest } from '../shared/contracts';
import { conditionalTransact, isConditionFailure } from '../shared/dynamo';
import { datasetPrefix } from '../shared/layout';
import type { DatasetCatalog } from './catalog';

/** How long the per-object markers are kept: far beyond EventBridge's 24 h redelivery window. */
export const SEEN_MARKER_TTL_SECONDS = 7 * 24 * 3600;

export interface NewDataPorts {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly catalog: DatasetCatalog;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface NewObject {
  readonly key: string;
  /** S3 version id (the bucket is versioned); the ETag stands in when absent. */
  readonly versionId?: string;
  readonly eTag?: string;
}

export interface CountResult {
  /** The dataset the object belongs to, if it is one with a threshold. */
  readonly dataset?: string;
  /** False when the object was outside any counted dataset or was counted before. */
  readonly counted: boolean;
  readonly total?: number;
  readonly requests: readonly RetrainingRequest[];
}

function sentAttribute(model: string): string {
  return `sent#${model}`;
}

export async function countNewObject(ports: NewDataPorts, object: NewObject): Promise<CountResult> {
  const match = /^datasets\/([^/]+)\//.exec(object.key);
  const dataset = match?.[1];
  const rules = dataset !== undefined ? ports.catalog[dataset] : undefined;
  const watchers = rules?.models.filter((m) => m.newObjectsThreshold !== undefined) ?? [];
  if (dataset === undefined || watchers.length === 0 || object.key === datasetPrefix(dataset)) {
    return { counted: false, requests: [] };
  }
  const now = ports.now?.() ?? new Date();
  const counter = keys.datasetNewObjects(dataset);

  // A seen marker already there: do not count, but still finish any batch a failed attempt left unsent.
  const counted = await conditionalTransact(ports.db, [
    {
      Put: {
        TableName: ports.tableName,
        Item: {
          ...keys.datasetObjectSeen(dataset, object.key, object.versionId ?? object.eTag ?? 'unversioned'),
          at: now.toISOString(),
          expiresAt: Math.floor(now.getTime() / 1000) + SEEN_MARKER_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Update: {
        TableName: ports.tableName,
        Key: counter,
        UpdateExpression: 'SET dataset = :dataset ADD objects :one',
        ExpressionAttributeValues: { ':dataset': dataset, ':one': 1 },
      },
    },
  ]);

  const state = await ports.db.send(new GetCommand({ TableName: ports.tableName, Key: counter, ConsistentRead: true }));
  const total = Number(state.Item?.objects ?? 0);
  const requests: RetrainingRequest[] = [];
  for (const { name: model, newObjectsThreshold } of watchers) {
    const threshold = newObjectsThreshold ?? Infinity;
    const batch = Math.floor(total / threshold);
    const sent = Number(state.Item?.[sentAttribute(model)] ?? 0);
    if (batch < 1 || batch <= sent) continue;
    const triggerId = `${dataset}#${batch}`;
    const request = retrainingRequestSchema.parse({
      runId: runIdFor(model, 'new-data', triggerId),
      model,
      trigger: {
        kind: 'new-data',
        id: triggerId,
        reason: `${total} new objects under ${datasetPrefix(dataset)} (threshold ${threshold}; batch ${batch})`,
      },
      requestedBy: 'caretaker:new-data',
      requestedAt: now.toISOString(),
    });
    await ports.sqs.send(
      new SendMessageCommand({
        QueueUrl: ports.queueUrl,
        MessageBody: JSON.stringify(request),
        MessageGroupId: model,
        MessageDeduplicationId: request.runId,
      }),
    );
    await markSent(ports, counter, model, batch);
    requests.push(request);
  }
  return { dataset, counted, total, requests };
}

/** Raises the model's sent batch to `batch` (never lowers it, whatever order concurrent events finish in). */
async function markSent(ports: NewDataPorts, counter: Record<string, string>, model: string, batch: number): Promise<void> {
  try {
    await ports.db.send(
      new UpdateCommand({
        TableName: ports.tableName,
        Key: counter,
        UpdateExpression: 'SET #sent = :batch',
        ConditionExpression: 'attribute_not_exists(#sent) OR #sent < :batch',
        ExpressionAttributeNames: { '#sent': sentAttribute(model) },
        ExpressionAttributeValues: { ':batch': batch },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}
