/**
 * DynamoDB implementations of the registry and audit log ports over the
 * single metadata table. Every read is one Get or one Query on a key or gsi1; pages carry
 * DynamoDB's LastEvaluatedKey as an opaque, validated token.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type AuditEvent,
  type DeliveryState,
  KEY_PREFIX,
  keys,
  type ModelVersionRecord,
  type RetrainingRequest,
  retrainingRequestSchema,
  type RetrainSendState,
  type RunRecord,
  type RunRequestView,
  type VersionStatus,
} from '../shared/contracts';
import { auditPut, conditionalUpdate, decodePageToken, encodePageToken, transactWithAudit, type PageQuery, type TransactItem } from '../shared/dynamo';
import type {
  AuditLog,
  DecisionOutcome,
  DecisionWrite,
  DeploymentRecord,
  OwedDelivery,
  RecordedRequest,
  RecordedRetrainRequest,
  Page,
  PageRequest,
  RegistryRepository,
} from './ports';

const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'expiresAt'] as const;
type Item = Record<string, unknown>;

/** Drops key attributes and anything the API must never return (the task token). */
function strip(item: Item, hidden: readonly string[] = []): Item {
  const drop = new Set<string>([...KEY_ATTRIBUTES, ...hidden]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => !drop.has(name)));
}

const toVersion = (item: Item) => strip(item, ['taskToken']) as unknown as ModelVersionRecord;

// Pages: the shared codec, a token accepted back only for the query that returned it.

async function queryPage(
  client: DynamoDBDocumentClient,
  input: QueryCommandInput,
  page: PageRequest,
  query: PageQuery,
): Promise<{ items: Item[]; nextToken?: string }> {
  const result = await client.send(
    new QueryCommand({ ...input, Limit: page.limit, ExclusiveStartKey: decodePageToken(page.nextToken, query) }),
  );
  return { items: result.Items ?? [], nextToken: encodePageToken(result.LastEvaluatedKey) };
}

const VERSION_PREFIX = KEY_PREFIX.version;

export class DynamoRegistry implements RegistryRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.version(model, version) }));
    return result.Item ? toVersion(result.Item) : undefined;
  }

  async listVersions(model: string, page: PageRequest, status?: VersionStatus): Promise<Page<ModelVersionRecord>> {
    if (status) {
      const gsi1pk = keys.versionByStatus(model, status, 1).gsi1pk;
      const result = await queryPage(
        this.client,
        {
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': gsi1pk },
          ScanIndexForward: false,
        },
        page,
        { index: 'gsi1', partition: gsi1pk },
      );
      return { items: result.items.map(toVersion), nextToken: result.nextToken };
    }
    const pk = keys.model(model).pk;
    const result = await queryPage(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': VERSION_PREFIX },
        ScanIndexForward: false,
      },
      page,
      { partition: pk, sort: { prefix: VERSION_PREFIX } },
    );
    return { items: result.items.map(toVersion), nextToken: result.nextToken };
  }

  async latestVersion(model: string): Promise<ModelVersionRecord | undefined> {
    return (await this.listVersions(model, { limit: 1 })).items[0];
  }

  async liveVersion(model: string): Promise<ModelVersionRecord | undefined> {
    return (await this.listVersions(model, { limit: 1 }, 'LIVE')).items[0];
  }

  async deployments(model: string, limit: number): Promise<readonly DeploymentRecord[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.model(model).pk, ':prefix': KEY_PREFIX.deployment },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => strip(item) as unknown as DeploymentRecord);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.run(runId) }));
    return result.Item ? strip(result.Item) as unknown as RunRecord : undefined;
  }

  async getRunRequest(runId: string): Promise<RunRequestView | undefined> {
    // The API's accepted request (api triggers only) and the starter's decision on any request.
    const [accepted, decided] = await Promise.all([
      this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.retrainRequest(runId), ConsistentRead: true })),
      this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.retrainingRequest(runId), ConsistentRead: true })),
    ]);
    const request = accepted.Item as (Partial<RetrainingRequest> & { sendState?: RetrainSendState }) | undefined;
    const decision = decided.Item as { model?: string; status?: string; reason?: string; detail?: string; decidedAt?: string } | undefined;
    const model = request?.model ?? decision?.model;
    if (model === undefined) return undefined;
    const base = {
      runId,
      model,
      ...(request?.requestedBy === undefined ? {} : { requestedBy: request.requestedBy }),
      ...(request?.requestedAt === undefined ? {} : { requestedAt: request.requestedAt }),
      ...(request?.trigger === undefined ? {} : { trigger: request.trigger }),
    };
    if (decision?.status === 'SUPPRESSED') {
      const reason = decision.reason ?? 'suppressed';
      const detail = decision.detail ?? '';
      return { ...base, status: 'SUPPRESSED', decidedAt: decision.decidedAt, reason: `${reason}: ${detail}`, suppression: { reason, detail } };
    }
    // Not decided yet, or STARTED with the run's record about to be read (the starter writes it first).
    return { ...base, status: 'QUEUED', ...(request?.sendState === undefined ? {} : { sendState: request.sendState }) };
  }

  async readForDecision(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.version(model, version), ConsistentRead: true }));
    return result.Item ? (strip(result.Item) as unknown as ModelVersionRecord) : undefined;
  }

  async recordDecision(write: DecisionWrite, taskToken: string, event: AuditEvent): Promise<DecisionOutcome> {
    const { model, version, decision } = write;
    const written = await this.updateWithAudit(
      {
        Key: keys.version(model, version),
        UpdateExpression:
          'SET #status = :to, #decision = :decision, updatedAt = :at, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, deliveryState = :owed, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk',
        // The rules were checked against this requester and the token is the one the decision will answer.
        ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND requestedBy = :requestedBy AND taskToken = :token',
        ExpressionAttributeNames: { '#status': 'status', '#decision': 'decision' },
        ExpressionAttributeValues: {
          ':to': decision.decision,
          ':decision': decision,
          ':at': decision.at,
          ':pending': 'PENDING_APPROVAL',
          ':requestedBy': write.requestedBy,
          ':token': taskToken,
          ':owed': 'OWED' satisfies DeliveryState,
          ...prefixed(keys.versionByStatus(model, decision.decision, version)),
          ...prefixed(keys.owedDelivery(model, version, decision.at)),
        },
      },
      event,
    );
    if (written) return { kind: 'won' };
    const current = await this.readForDecision(model, version);
    return current ? { kind: 'lost', record: current } : { kind: 'missing' };
  }

  async markDelivered(write: DecisionWrite, at: string): Promise<boolean> {
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: keys.version(write.model, write.version),
      UpdateExpression: 'SET deliveryState = :delivered, deliveredAt = :at REMOVE gsi2pk, gsi2sk',
      ConditionExpression: `deliveryState = :owed AND ${SAME_DECISION}`,
      ExpressionAttributeNames: DECISION_NAMES,
      ExpressionAttributeValues: { ':delivered': 'DELIVERED' satisfies DeliveryState, ':owed': 'OWED' satisfies DeliveryState, ':at': at, ...decisionValues(write) },
    });
  }

  async closeDelivery(write: DecisionWrite, event: AuditEvent): Promise<boolean> {
    return this.updateWithAudit(
      {
        Key: keys.version(write.model, write.version),
        UpdateExpression: 'SET deliveryState = :closed, deliveryClosedAt = :at REMOVE gsi2pk, gsi2sk',
        ConditionExpression: `deliveryState = :owed AND ${SAME_DECISION}`,
        ExpressionAttributeNames: DECISION_NAMES,
        ExpressionAttributeValues: { ':closed': 'CLOSED' satisfies DeliveryState, ':owed': 'OWED' satisfies DeliveryState, ':at': event.at, ...decisionValues(write) },
      },
      event,
    );
  }

  async expireUndelivered(write: DecisionWrite, event: AuditEvent): Promise<boolean> {
    const { model, version, decision } = write;
    return this.updateWithAudit(
      {
        Key: keys.version(model, version),
        UpdateExpression:
          'SET #status = :expired, updatedAt = :at, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, deliveryState = :closed, deliveryClosedAt = :at REMOVE #decision, taskToken, gsi2pk, gsi2sk',
        ConditionExpression: `#status = :decided AND deliveryState = :owed AND ${SAME_DECISION}`,
        ExpressionAttributeNames: { ...DECISION_NAMES, '#status': 'status' },
        ExpressionAttributeValues: {
          ':expired': 'EXPIRED' satisfies VersionStatus,
          ':decided': decision.decision,
          ':closed': 'CLOSED' satisfies DeliveryState,
          ':owed': 'OWED' satisfies DeliveryState,
          ':at': event.at,
          ...decisionValues(write),
          ...prefixed(keys.versionByStatus(model, 'EXPIRED', version)),
        },
      },
      event,
    );
  }

  async owedDeliveries(before: string, limit: number): Promise<readonly OwedDelivery[]> {
    const items = await this.owedBefore(keys.owedDeliveries.gsi2pk, before, limit, 'model, version');
    return items.map((item) => ({ model: String(item.model), version: Number(item.version) }));
  }


  /** Updates one item under its condition together with its audit event: true when both were written, false when the condition did not hold. */
  private async updateWithAudit(update: Omit<NonNullable<TransactItem['Update']>, 'TableName'>, audit: AuditEvent): Promise<boolean> {
    const outcome = await transactWithAudit(this.client, { tableName: this.tableName, items: [{ Update: { TableName: this.tableName, ...update } }], audit });
    return outcome.written;
  }

  async recordRequest(key: { pk: string; sk: string }, item: Readonly<Record<string, unknown>>, event: AuditEvent): Promise<RecordedRequest> {
    const outcome = await transactWithAudit(this.client, {
      tableName: this.tableName,
      items: [{ Put: { TableName: this.tableName, Item: { ...item, ...key }, ConditionExpression: 'attribute_not_exists(pk)' } }],
      audit: event,
    });
    if (outcome.written) return { written: true };
    const existing = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return { written: false, ...(existing.Item ? { existing: strip(existing.Item) } : {}) };
  }

  async getRetrainRequest(runId: string): Promise<RecordedRetrainRequest | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.retrainRequest(runId), ConsistentRead: true }));
    return result.Item ? retrainRequestOf(result.Item) : undefined;
  }

  async recordRetrainRequest(request: RetrainingRequest, event: AuditEvent): Promise<boolean> {
    const outcome = await transactWithAudit(this.client, {
      tableName: this.tableName,
      items: [
        {
          Put: {
            TableName: this.tableName,
            // Recorded with its send still owed: the gsi2 entry is the sweep's way to it.
            Item: {
              ...request,
              ...keys.retrainRequest(request.runId),
              sendState: 'OWED' satisfies RetrainSendState,
              ...keys.owedRetrainSend(request.requestedAt, request.runId),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
      audit: event,
    });
    return outcome.written;
  }

  async markRetrainSent(runId: string, at: string): Promise<boolean> {
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: keys.retrainRequest(runId),
      UpdateExpression: 'SET sendState = :sent, sentAt = :at REMOVE gsi2pk, gsi2sk',
      ConditionExpression: 'sendState = :owed',
      ExpressionAttributeValues: { ':sent': 'SENT' satisfies RetrainSendState, ':owed': 'OWED' satisfies RetrainSendState, ':at': at },
    });
  }

  async owedRetrainSends(before: string, limit: number): Promise<readonly string[]> {
    const items = await this.owedBefore(keys.owedRetrainSends.gsi2pk, before, limit, 'runId');
    return items.map((item) => String(item.runId));
  }

  /** The oldest `limit` items of an owed-work list on gsi2 (`gsi2pk`), owed since before `before`. */
  private async owedBefore(gsi2pk: string, before: string, limit: number, projection: string): Promise<readonly Record<string, unknown>[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk < :before',
        ExpressionAttributeValues: { ':pk': gsi2pk, ':before': before },
        ProjectionExpression: projection,
        Limit: limit,
      }),
    );
    return result.Items ?? [];
  }

}

/**
 * The retrain request item as the queue message it stands for, and its send state. Items
 * recorded before send states existed were recorded after their send: SENT.
 */
function retrainRequestOf(item: Item): RecordedRetrainRequest {
  const fields = Object.fromEntries(Object.entries(item).filter(([name]) => name in retrainingRequestSchema.shape));
  return { request: retrainingRequestSchema.parse(fields), sendState: item.sendState === 'OWED' ? 'OWED' : 'SENT' };
}

/** The version still holds exactly this decision (same kind, principal and time). */
const SAME_DECISION = '#decision.#kind = :kind AND #decision.#by = :by AND #decision.#at = :decidedAt';
const DECISION_NAMES = { '#decision': 'decision', '#kind': 'decision', '#by': 'by', '#at': 'at' };
const decisionValues = (write: DecisionWrite) => ({ ':kind': write.decision.decision, ':by': write.decision.by, ':decidedAt': write.decision.at });

/** `{ gsi1pk, gsi1sk }` → `{ ':gsi1pk': …, ':gsi1sk': … }` */
function prefixed(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`:${k}`, v]));
}

/** Audit times are stored as UTC ISO strings, so range conditions compare them as text. */
const utc = (time: string) => new Date(time).toISOString();

export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async append(event: AuditEvent): Promise<void> {
    await this.client.send(
      new PutCommand(auditPut(this.tableName, event)),
    );
  }

  async list(query: { model?: string; from?: string; to?: string }, page: PageRequest): Promise<Page<AuditEvent>> {
    const byModel = query.model !== undefined;
    const partitionName = byModel ? 'pk' : 'gsi1pk';
    const sortName = byModel ? 'sk' : 'gsi1sk';
    const partitionValue = byModel ? keys.auditOf(query.model ?? '').pk : keys.auditIndex.gsi1pk;
    const values: Item = { ':p': partitionValue };
    let range = '';
    const sort: { from?: string; to?: string } = {};
    // Sort keys are `<iso time>#<eventId>`: `~` sorts after `#`, so `<to>~` includes all of `to`.
    if (query.from !== undefined && query.to !== undefined) {
      range = ` AND ${sortName} BETWEEN :from AND :to`;
      Object.assign(values, { ':from': utc(query.from), ':to': `${utc(query.to)}~` });
      Object.assign(sort, { from: values[':from'], to: values[':to'] });
    } else if (query.from !== undefined) {
      range = ` AND ${sortName} >= :from`;
      values[':from'] = sort.from = utc(query.from);
    } else if (query.to !== undefined) {
      range = ` AND ${sortName} <= :to`;
      values[':to'] = sort.to = `${utc(query.to)}~`;
    }
    const result = await queryPage(
      this.client,
      {
        TableName: this.tableName,
        IndexName: byModel ? undefined : 'gsi1',
        KeyConditionExpression: `${partitionName} = :p${range}`,
        ExpressionAttributeValues: values,
      },
      page,
      { ...(byModel ? {} : { index: 'gsi1' as const }), partition: partitionValue, sort },
    );
    return { items: result.items.map((item) => strip(item) as unknown as AuditEvent), nextToken: result.nextToken };
  }
}
