/**
 * DynamoDB implementations of the registry and audit log ports over the
 * single metadata table. Every read is one Get or one Query on a key or gsi1; pages carry
 * DynamoDB's LastEvaluatedKey as an opaque, validated token.
 */
import type { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AuditEvent,
  KEY_PREFIX,
  keys,
  type ModelVersionRecord,
  type RetrainingRequest,
  type RunRecord,
  type RunRequestView,
  type VersionStatus,
} from '../shared/contracts';
import { auditPut, decodePageToken, encodePageToken, isConditionFailure, transactWithAudit, type PageQuery } from '../shared/dynamo';
import type {
  AuditLog,
  DecisionOutcome,
  DecisionWrite,
  DeploymentRecord,
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
    const request = accepted.Item as Partial<RetrainingRequest> | undefined;
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
    return { ...base, status: 'QUEUED' };
  }

  async decide(write: DecisionWrite): Promise<DecisionOutcome> {
    const { model, version, decision } = write;
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.version(model, version),
          UpdateExpression: 'SET #status = :to, #decision = :decision, updatedAt = :at, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk',
          // The rules were checked against this requester; requestedBy never changes, but the write says so.
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND requestedBy = :requestedBy',
          ExpressionAttributeNames: { '#status': 'status', '#decision': 'decision' },
          ExpressionAttributeValues: {
            ':to': decision.decision,
            ':decision': decision,
            ':at': decision.at,
            ':pending': 'PENDING_APPROVAL',
            ':requestedBy': write.requestedBy,
            ...prefixed(keys.versionByStatus(model, decision.decision, version)),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'won', record: result.Attributes as unknown as ModelVersionRecord };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // ALL_OLD comes back as raw attribute values; the two fields that explain the loss suffice.
      const old = (error as ConditionalCheckFailedException).Item;
      if (old) {
        const status = old.status?.S;
        const requestedBy = old.requestedBy?.S;
        if (status !== undefined && requestedBy !== undefined) return { kind: 'lost', status: status as VersionStatus, requestedBy };
      }
      // Only when the service did not return the old item (older emulators): read it once.
      const current = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: keys.version(model, version), ConsistentRead: true }),
      );
      if (!current.Item) return { kind: 'missing' };
      const record = current.Item as unknown as ModelVersionRecord;
      return { kind: 'lost', status: record.status, requestedBy: record.requestedBy };
    }
  }

  revertDecision(write: DecisionWrite): Promise<boolean> {
    return this.undecide(write, 'PENDING_APPROVAL', 'REMOVE #decision');
  }

  expire(write: DecisionWrite, at: string): Promise<boolean> {
    return this.undecide(write, 'EXPIRED', 'REMOVE #decision, taskToken', at);
  }

  /** Moves a version out of exactly this decision (same principal and time), or does nothing. */
  private async undecide(write: DecisionWrite, to: VersionStatus, remove: string, at = write.decision.at): Promise<boolean> {
    const { model, version, decision } = write;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.version(model, version),
          UpdateExpression: `SET #status = :to, updatedAt = :at, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk ${remove}`,
          ConditionExpression: '#status = :decided AND #decision.#by = :by AND #decision.#at = :decidedAt',
          ExpressionAttributeNames: { '#status': 'status', '#decision': 'decision', '#by': 'by', '#at': 'at' },
          ExpressionAttributeValues: {
            ':to': to,
            ':at': at,
            ':decided': decision.decision,
            ':by': decision.by,
            ':decidedAt': decision.at,
            ...prefixed(keys.versionByStatus(model, to, version)),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async hasRetrainRequest(runId: string): Promise<boolean> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.retrainRequest(runId), ConsistentRead: true, ProjectionExpression: 'pk' }),
    );
    return result.Item !== undefined;
  }

  async recordRetrainRequest(request: RetrainingRequest, event: AuditEvent): Promise<boolean> {
    const outcome = await transactWithAudit(this.client, {
      tableName: this.tableName,
      items: [{ Put: { TableName: this.tableName, Item: { ...keys.retrainRequest(request.runId), ...request }, ConditionExpression: 'attribute_not_exists(pk)' } }],
      audit: event,
    });
    return outcome.written;
  }
}

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
