/**
 * The starter's DynamoDB adapters: request claims, leases, runs, outcomes (trigger history and
 * audit), and the read-only dataset port. Items follow `lambdas/shared/table-schema.ts`.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { keys, type AuditEvent, type DatasetVersionRecordCore, type RunRecord } from '../shared/contracts';
import { applied, conditionalTransact, conditionalUpdate, isConditionFailure, queryPages, transactWithAudit, type TransactItem } from '../shared/dynamo';
import type { LeaseState } from './policy';
import type { ClaimResult, DatasetVersions, Outcome, RetrainingStore } from './start';

const leaseItemSchema = z.object({
  model: z.string(),
  revision: z.number().int().nonnegative(),
  holder: z.string().optional(),
  executionArn: z.string().optional(),
  acquiredAt: z.string().optional(),
  leaseExpiresAt: z.string().optional(),
  lastStartedAt: z.string().optional(),
  lastEndedAt: z.string().optional(),
  recentStarts: z.array(z.string()).default([]),
}) satisfies z.ZodType<LeaseState>;

/** What a request item holds once decided. */
export interface RequestRecord {
  readonly runId: string;
  readonly model: string;
  readonly status: 'PENDING' | 'STARTED' | 'SUPPRESSED';
  readonly reason?: string;
  readonly detail?: string;
  readonly firstReceivedAt: string;
  readonly decidedAt?: string;
  /** Deliveries of this request after the first: deduplicated, never started. */
  readonly duplicates?: number;
}

/** One row of a model's trigger history (`keys.trigger`), started or suppressed. */
export interface TriggerRecord {
  readonly model: string;
  readonly runId: string;
  readonly at: string;
  readonly outcome: 'STARTED' | 'SUPPRESSED';
  readonly reason?: string;
  readonly detail?: string;
  readonly trigger: Outcome['request']['trigger'];
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly datasetVersion?: string;
  readonly executionArn?: string;
  readonly takesExpiredLeaseFrom?: string;
}

export class DynamoRetrainingStore implements RetrainingStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(request: Outcome['request'], now: Date, claimSeconds: number): Promise<ClaimResult> {
    const token = randomUUID();
    try {
      const old = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.retrainingRequest(request.runId),
          UpdateExpression:
            'SET #status = :pending, runId = :runId, model = :model, claimToken = :token, claimExpiresAt = :expires, firstReceivedAt = if_not_exists(firstReceivedAt, :now)',
          // New, or claimed by an attempt that has not finished within its claim (it crashed).
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :pending AND claimExpiresAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':pending': 'PENDING',
            ':runId': request.runId,
            ':model': request.model,
            ':token': token,
            ':expires': new Date(now.getTime() + claimSeconds * 1000).toISOString(),
            ':now': now.toISOString(),
          },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return { claimed: true, token, retry: typeof old.Attributes?.claimToken === 'string' };
    } catch (error) {
      if (isConditionFailure(error)) return { claimed: false };
      throw error;
    }
  }

  async recordDuplicate(request: Outcome['request'], now: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.retrainingRequest(request.runId),
        UpdateExpression: 'ADD duplicates :one SET lastDuplicateAt = :now',
        ExpressionAttributeValues: { ':one': 1, ':now': now.toISOString() },
      }),
    );
  }

  async releaseClaim(runId: string, token: string): Promise<void> {
    // Released only while this token holds a pending claim; otherwise there is nothing to release.
    await conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: keys.retrainingRequest(runId),
      UpdateExpression: 'SET claimExpiresAt = :past',
      ConditionExpression: 'claimToken = :token AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':past': new Date(0).toISOString(), ':token': token, ':pending': 'PENDING' },
    });
  }

  async readLease(model: string): Promise<LeaseState> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.lease(model), ConsistentRead: true }),
    );
    if (!Item) return { model, revision: 0, recentStarts: [] };
    return leaseItemSchema.parse(Item);
  }

  async writeLease(next: LeaseState, expectedRevision: number): Promise<boolean> {
    return applied(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...next, ...keys.lease(next.model) },
          ConditionExpression: expectedRevision === 0 ? 'attribute_not_exists(pk) OR revision = :expected' : 'revision = :expected',
          ExpressionAttributeValues: { ':expected': expectedRevision },
        }),
      ),
    );
  }

  async findRun(runId: string): Promise<RunRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.run(runId), ConsistentRead: true }));
    return Item as RunRecord | undefined;
  }

  async putRun(run: RunRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...run, ...keys.run(run.runId), ...keys.runsOfModel(run.model, run.startedAt) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async deleteRun(runId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: keys.run(runId),
        // Only a run whose execution never started: never one the pipeline already advanced.
        ConditionExpression: 'attribute_not_exists(executionArn) AND attribute_not_exists(currentState)',
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  async finish(outcome: Outcome, token: string): Promise<boolean> {
    const { request, at } = outcome;
    const started = outcome.status === 'STARTED';
    const reason = started ? undefined : outcome.reason;
    const detail = started ? undefined : outcome.detail;
    const trigger: TriggerRecord = {
      model: request.model,
      runId: request.runId,
      at,
      outcome: outcome.status,
      trigger: request.trigger,
      requestedBy: request.requestedBy,
      requestedAt: request.requestedAt,
      ...(started
        ? {
            datasetVersion: outcome.datasetVersion,
            executionArn: outcome.executionArn,
            ...(outcome.takesExpiredLeaseFrom === undefined ? {} : { takesExpiredLeaseFrom: outcome.takesExpiredLeaseFrom }),
          }
        : { reason, detail }),
    };
    const audit: AuditEvent = {
      eventId: request.runId,
      model: request.model,
      at,
      type: started ? 'RUN_REQUESTED' : 'RUN_SUPPRESSED',
      actor: request.requestedBy,
      runId: request.runId,
      reason: started ? request.trigger.reason : `${reason ?? ''}: ${detail ?? ''}`,
      details: { trigger: request.trigger, ...(started ? { datasetVersion: outcome.datasetVersion } : { suppression: reason }) },
    };
    const items: TransactItem[] = [
        {
          Update: {
            TableName: this.tableName,
            Key: keys.retrainingRequest(request.runId),
            UpdateExpression: `SET #status = :status, decidedAt = :at${started ? '' : ', reason = :reason, detail = :detail'} REMOVE claimToken, claimExpiresAt`,
            ConditionExpression: 'claimToken = :token',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':status': outcome.status,
              ':at': at,
              ':token': token,
              ...(started ? {} : { ':reason': reason, ':detail': detail }),
            },
          },
        },
        { Put: { TableName: this.tableName, Item: { ...trigger, ...keys.trigger(request.model, at, request.runId) } } },
        ...(started
          ? [
              {
                Update: {
                  TableName: this.tableName,
                  Key: keys.run(request.runId),
                  UpdateExpression: 'SET executionArn = :arn',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeValues: { ':arn': outcome.executionArn },
                },
              },
            ]
          : []),
    ];
    // An API request was audited as RUN_REQUESTED when the API accepted it (with the caller), so
    // its start adds no second one; a suppression is news, and other triggers are audited here.
    if (started && request.trigger.kind === 'api') return conditionalTransact(this.client, items);
    // The decision, its trigger record and its audit event: all or nothing; a lost claim writes none.
    return (await transactWithAudit(this.client, { tableName: this.tableName, audit, items })).written;
  }
}

/**
 * Reads dataset versions the datasets part writes (`keys.datasetVersion`), core fields only:
 * newest first (version ids sort in creation order), stopping at the first that PASSED.
 */
export class DynamoDatasetVersions implements DatasetVersions {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async newestPassed(dataset: string): Promise<string | undefined> {
    const { pk } = keys.datasetVersion(dataset, '');
    const pages = queryPages(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :versions)',
      ProjectionExpression: 'datasetVersion, #validation.#status',
      ExpressionAttributeNames: { '#validation': 'validation', '#status': 'status' },
      ExpressionAttributeValues: { ':pk': pk, ':versions': keys.datasetVersion(dataset, '').sk },
      ScanIndexForward: false,
      Limit: 25,
    });
    for await (const items of pages) {
      for (const item of items as Partial<DatasetVersionRecordCore>[]) {
        if (item.validation?.status === 'PASSED' && item.datasetVersion !== undefined) return item.datasetVersion;
      }
    }
    return undefined;
  }
}

/** Closes a run the pipeline did not close itself (aborted, timed out, failed outside its Catch). */
export async function closeRunIfOpen(
  client: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  end: { readonly status: RunRecord['status']; readonly endedAt: string; readonly failure?: RunRecord['failure'] },
): Promise<boolean> {
  return conditionalUpdate(client, {
    TableName: tableName,
    Key: keys.run(runId),
    UpdateExpression: `SET #status = :status, endedAt = :endedAt${end.failure ? ', failure = :failure' : ''}`,
    ConditionExpression: '#status = :running',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':status': end.status,
      ':endedAt': end.endedAt,
      ':running': 'RUNNING',
      ...(end.failure ? { ':failure': end.failure } : {}),
    },
  });
}
