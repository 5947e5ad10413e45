/**
 * The pipeline's view of the metadata table: runs, versions, deployments, lineage and audit
 * events, with every status change conditional on the status it leaves, so a retried Lambda or
 * a concurrent API decision can never move a version twice.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import {
  keys,
  type AuditEvent,
  type ModelVersionRecord,
  type RunRecord,
  type VersionStatus,
} from '../shared/contracts';
import { applied, auditPut, isConditionFailure, queryPages, transactWithAudit } from '../shared/dynamo';

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** Where each dataset version → model version link is written (the datasets part's `recordLineage` on AWS). */
export interface LineagePort {
  record(link: {
    readonly dataset: string;
    readonly datasetVersion: string;
    readonly model: string;
    readonly version: number;
    readonly runId: string;
    readonly trainingJobName: string;
    readonly at: string;
  }): Promise<void>;
}

export class PipelineStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.run(runId), ConsistentRead: true }));
    return Item as RunRecord | undefined;
  }

  async getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.version(model, version), ConsistentRead: true }),
    );
    return Item as ModelVersionRecord | undefined;
  }

  /** The version currently serving traffic, if any (newest LIVE, though there is at most one). */
  async findLiveVersion(model: string): Promise<ModelVersionRecord | undefined> {
    const { gsi1pk } = keys.versionByStatus(model, 'LIVE', 1);
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': gsi1pk },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    return Items?.[0] as ModelVersionRecord | undefined;
  }

  /** Every version of `model` in `status` (the gsi1 status index), newest first. */
  async findVersionsByStatus(model: string, status: VersionStatus): Promise<ModelVersionRecord[]> {
    const { gsi1pk } = keys.versionByStatus(model, status, 1);
    const found: ModelVersionRecord[] = [];
    for await (const items of queryPages(this.client, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': gsi1pk },
      ScanIndexForward: false,
    })) {
      found.push(...(items as unknown as ModelVersionRecord[]));
    }
    return found;
  }

  /**
   * Marks the run RUNNING under this execution, keeping whatever else is already on the item
   * (the retraining starter may have recorded the request under the same run id). A retry of
   * the same execution is harmless; another execution's run is left alone.
   */
  async createRun(run: RunRecord): Promise<void> {
    const { gsi1pk, gsi1sk } = keys.runsOfModel(run.model, run.startedAt);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.run(run.runId),
          UpdateExpression:
            'SET runId = :runId, model = :model, #status = :status, executionArn = :arn, requestedBy = :by, #trigger = :trigger, ' +
            'datasetVersion = :dv, currentState = :state, startedAt = if_not_exists(startedAt, :at), ' +
            'gsi1pk = :gsi1pk, gsi1sk = if_not_exists(gsi1sk, :gsi1sk)',
          ConditionExpression: 'attribute_not_exists(executionArn) OR executionArn = :arn',
          ExpressionAttributeNames: { '#status': 'status', '#trigger': 'trigger' },
          ExpressionAttributeValues: {
            ':runId': run.runId,
            ':model': run.model,
            ':status': run.status,
            ':arn': run.executionArn,
            ':by': run.requestedBy,
            ':trigger': run.trigger,
            ':dv': run.datasetVersion,
            ':state': run.currentState,
            ':at': run.startedAt,
            ':gsi1pk': gsi1pk,
            ':gsi1sk': gsi1sk,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Another execution already owns this run id: leave its record alone.
    }
  }

  /** Sets fields on the run (creating it if a failure happened before StartRun wrote it). */
  async updateRun(runId: string, fields: Partial<RunRecord>): Promise<void> {
    const entries = (Object.entries(fields) as [string, unknown][]).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.run(runId),
        UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
      }),
    );
  }

  /** The next version number of a model: an atomic counter on the model item. */
  async nextVersionNumber(model: string, at: string): Promise<number> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.model(model),
        UpdateExpression: 'ADD versionCounter :one SET model = :model, gsi1pk = :gsi1pk, gsi1sk = :model, updatedAt = :at',
        ExpressionAttributeValues: { ':one': 1, ':model': model, ':gsi1pk': 'MODELS', ':at': at },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.versionCounter);
  }

  /**
   * Writes the version (PENDING_APPROVAL), links it to the run and audits it, all or nothing.
   * Returns false when the run already has a version (a retried step), writing nothing.
   */
  async registerVersion(record: ModelVersionRecord): Promise<boolean> {
    const outcome = await transactWithAudit(this.client, {
      tableName: this.tableName,
      items: [
        {
          Put: {
            TableName: this.tableName,
            Item: { ...keys.version(record.model, record.version), ...keys.versionByStatus(record.model, record.status, record.version), ...record },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: keys.run(record.runId),
            UpdateExpression: 'SET version = :v, currentState = :state',
            ConditionExpression: 'attribute_not_exists(version)',
            ExpressionAttributeValues: { ':v': record.version, ':state': 'RegisterVersion' },
          },
        },
      ],
      audit: {
        eventId: `${record.runId}#VERSION_REGISTERED`,
        model: record.model,
        at: record.createdAt,
        type: 'VERSION_REGISTERED',
        actor: 'caretaker:pipeline',
        version: record.version,
        runId: record.runId,
        details: { datasetVersion: record.datasetVersion, trainingJobName: record.trainingJobName, comparison: record.comparison },
      },
    });
    return outcome.written;
  }

  /**
   * Moves a version from one of `from` to `to`, keeping its status index in step.
   * Returns false (and changes nothing) when the version is not in one of `from`.
   */
  async transitionVersion(
    model: string,
    version: number,
    from: readonly VersionStatus[],
    to: VersionStatus,
    options: { readonly set?: Readonly<Record<string, unknown>>; readonly remove?: readonly string[]; readonly at: string },
  ): Promise<boolean> {
    return applied(this.client.send(new UpdateCommand(this.transitionUpdate(model, version, from, to, options))));
  }

  /**
   * `transitionVersion` and its audit event in one transaction (RELIABILITY row 21): both, or
   * neither. Returns false (nothing written) when the version is not in one of `from`, or the
   * event was already written.
   */
  async transitionVersionWithAudit(
    model: string,
    version: number,
    from: readonly VersionStatus[],
    to: VersionStatus,
    options: { readonly set?: Readonly<Record<string, unknown>>; readonly remove?: readonly string[]; readonly at: string },
    event: AuditEvent,
  ): Promise<boolean> {
    const outcome = await transactWithAudit(this.client, { tableName: this.tableName, items: [{ Update: this.transitionUpdate(model, version, from, to, options) }], audit: event });
    return outcome.written;
  }

  /**
   * The version goes LIVE, the previous live one RETIRED, a deployment history item is written,
   * the model summary points at the new version, the run SUCCEEDED — in one transaction.
   */
  async recordDeployment(input: {
    readonly model: string;
    readonly version: number;
    readonly previousVersion?: number;
    readonly runId: string;
    readonly at: string;
    readonly endpointName: string;
    readonly endpointConfigName: string;
    readonly modelName: string;
    readonly baselineUri: string;
    readonly trainingDataUri: string;
    /** Statuses the version may go LIVE from. @default ['DEPLOYING'] */
    readonly from?: readonly VersionStatus[];
    /** Why the version went LIVE other than by its own deployment's RecordDeployment (kept on the version). */
    readonly note?: string;
    /** Also mark the run SUCCEEDED. @default true */
    readonly closesRun?: boolean;
    /** Fields set on the version besides the deployment's own. */
    readonly set?: Readonly<Record<string, unknown>>;
  }): Promise<void> {
    const { model, version, previousVersion, runId, at } = input;
    const items: TransactItem[] = [
      {
        Update: this.transitionUpdate(model, version, input.from ?? ['DEPLOYING'], 'LIVE', {
          at,
          set: {
            deployedAt: at,
            endpointConfigName: input.endpointConfigName,
            endpointName: input.endpointName,
            modelName: input.modelName,
            baselineUri: input.baselineUri,
            trainingDataUri: input.trainingDataUri,
            ...(input.note === undefined ? {} : { liveNote: input.note }),
            ...input.set,
          },
          remove: ['deployingRunId', 'deployingEndpointConfigName', 'statusBeforeDeploy'],
        }),
      },
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.deployment(model, at),
            model,
            version,
            previousVersion,
            runId,
            at,
            endpointName: input.endpointName,
            endpointConfigName: input.endpointConfigName,
            modelName: input.modelName,
          },
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: keys.model(model),
          UpdateExpression: 'SET liveVersion = :v, liveSince = :at, endpointName = :endpoint, updatedAt = :at',
          ExpressionAttributeValues: { ':v': version, ':at': at, ':endpoint': input.endpointName },
        },
      },
    ];
    if (input.closesRun ?? true) {
      items.push({
        Update: {
          TableName: this.tableName,
          Key: keys.run(runId),
          UpdateExpression: 'SET #status = :status, endedAt = :at, currentState = :state',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': 'SUCCEEDED', ':at': at, ':state': 'RecordDeployment' },
        },
      });
    }
    if (previousVersion !== undefined && previousVersion !== version) {
      items.push({ Update: this.transitionUpdate(model, previousVersion, ['LIVE'], 'RETIRED', { at, set: { retiredAt: at } }) });
    }
    const outcome = await transactWithAudit(this.client, {
      tableName: this.tableName,
      items,
      audit: {
        eventId: input.note === undefined ? `${runId}#DEPLOYED` : `${runId}#DEPLOYED#v${version}`,
        model,
        at,
        type: 'DEPLOYED',
        actor: 'caretaker:pipeline',
        version,
        runId,
        ...(input.note === undefined ? {} : { reason: input.note }),
        details: { endpointConfigName: input.endpointConfigName, previousVersion },
      },
    });
    // The version was not DEPLOYING (or the event exists): nothing was written; the step fails as before.
    if (!outcome.written) throw outcome.error;
  }

  /** Sets fields of an existing version (never its status). */
  async setVersionFields(model: string, version: number, fields: Readonly<Record<string, unknown>>): Promise<void> {
    const entries = Object.entries(fields);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.version(model, version),
          UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
          ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Appends an audit event once; a repeat of the same event (same time and id) is already there. */
  async putAudit(event: AuditEvent): Promise<void> {
    try {
      await this.client.send(new PutCommand(auditPut(this.tableName, event)));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private transitionUpdate(
    model: string,
    version: number,
    from: readonly VersionStatus[],
    to: VersionStatus,
    options: { readonly set?: Readonly<Record<string, unknown>>; readonly remove?: readonly string[]; readonly at: string },
  ) {
    const set = Object.entries({ ...options.set, updatedAt: options.at, ...keys.versionByStatus(model, to, version) });
    const remove = options.remove ?? [];
    return {
      TableName: this.tableName,
      Key: keys.version(model, version),
      UpdateExpression:
        `SET #status = :to, ${set.map((_, i) => `#s${i} = :s${i}`).join(', ')}` +
        (remove.length ? ` REMOVE ${remove.map((_, i) => `#r${i}`).join(', ')}` : ''),
      ConditionExpression: `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
      ExpressionAttributeNames: {
        '#status': 'status',
        ...Object.fromEntries(set.map(([name], i) => [`#s${i}`, name])),
        ...Object.fromEntries(remove.map((name, i) => [`#r${i}`, name])),
      },
      ExpressionAttributeValues: {
        ':to': to,
        ...Object.fromEntries(set.map(([, value], i) => [`:s${i}`, value])),
        ...Object.fromEntries(from.map((status, i) => [`:from${i}`, status])),
      },
    };
  }
}
