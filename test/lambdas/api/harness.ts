/**
 * Builds the registry API handler against the moto server (DynamoDB, S3) with the Step
 * Functions, SQS and deployment ports faked at the client boundary, and event factories.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, ListObjectsV2Command, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { DatasetCatalog } from '../../../lambdas/datasets';
import { CloudWatchMetricsReader, S3DriftReports, S3EvaluationReports, S3GroundTruthStore } from '../../../lambdas/api/aws-ports';
import { datasetsDomain } from '../../../lambdas/api/datasets';
import { DynamoAuditLog, DynamoRegistry } from '../../../lambdas/api/dynamo-registry';
import type { ApprovalCallbacks, ModelSummary, Ports, RetrainingQueue, RollbackRequest } from '../../../lambdas/api/ports';
import { fromIamContext, fromLocalHeader } from '../../../lambdas/api/principal';
import { DeploymentLeases } from '../../../lambdas/pipeline/deployment-lease';
import { type ApiHandler, createHandler } from '../../../lambdas/api/router';
import { keys, type ModelVersionRecord, type RetrainingRequest } from '../../../lambdas/shared/contracts';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { motoClientConfig, serializedMotoConfig, uniqueName } from '../../support/aws';
import { createMetadataTable } from '../../support/table';

/** Callers as API Gateway sends them (`requestContext.identity.userArn`): role sessions, never role ARNs. */
export const ACCOUNT = '123456789012';
export const REQUESTER = `arn:aws:sts::${ACCOUNT}:assumed-role/data-scientist/bob`;
export const APPROVER = `arn:aws:sts::${ACCOUNT}:assumed-role/approver/alice`;
export const OTHER_APPROVER = `arn:aws:sts::${ACCOUNT}:assumed-role/approver-2/carol`;
/** How `approval.approvers` lists the approver: by role ARN, which API Gateway never sends. */
export const APPROVER_ROLE = `arn:aws:iam::${ACCOUNT}:role/approver`;

export const MODELS: ModelSummary[] = [
  {
    name: 'churn',
    datasetName: 'churn',
    objective: { metricName: 'validation:auc', direction: 'maximize' },
    approvalTimeoutSeconds: 604800,
  },
  {
    name: 'fraud',
    datasetName: 'payments',
    objective: { metricName: 'validation:f1', direction: 'maximize' },
    approvers: [APPROVER_ROLE],
    approvalTimeoutSeconds: 3600,
  },
];

/** The datasets of MODELS, as the stack renders them from the config. */
export const DATASETS: DatasetCatalog = {
  churn: {
    columns: [
      { name: 'tenure_months', type: 'integer', nullable: false, min: 0 },
      { name: 'churned', type: 'integer', nullable: false, min: 0, max: 1 },
    ],
    minRows: 3,
    models: [{ name: 'churn' }],
  },
  payments: { models: [{ name: 'fraud' }] },
};

/** Records every task-token call; `behaviour` decides what the next call does. */
export class FakeCallbacks implements ApprovalCallbacks {
  readonly calls: { kind: 'success' | 'failure'; token: string; payload: unknown }[] = [];
  behaviour: () => Promise<void> = () => Promise.resolve();

  async approve(token: string, output: unknown): Promise<void> {
    await this.behaviour();
    this.calls.push({ kind: 'success', token, payload: output });
  }

  async reject(token: string, failure: unknown): Promise<void> {
    await this.behaviour();
    this.calls.push({ kind: 'failure', token, payload: failure });
  }
}

export class FakeQueue implements RetrainingQueue {
  readonly sent: RetrainingRequest[] = [];
  assertWired(): void {
    // wired
  }
  send(request: RetrainingRequest): Promise<void> {
    this.sent.push(request);
    return Promise.resolve();
  }
}

export interface Harness {
  readonly handler: ApiHandler;
  readonly localHandler: ApiHandler;
  readonly ports: Ports;
  readonly callbacks: FakeCallbacks;
  readonly queue: FakeQueue;
  readonly rollbacks: RollbackRequest[];
  readonly tableName: string;
  /** With `createHarness({ stream: true })`: the table's stream (NEW_AND_OLD_IMAGES, as the stack's). */
  readonly streamArn?: string;
  readonly bucket: string;
  /** Versioned, like the stack's datasets bucket. */
  readonly datasetsBucket: string;
  readonly s3: S3Client;
  readonly client: ReturnType<typeof createDocumentClient>;
  putVersion(record: Partial<ModelVersionRecord> & { model: string; version: number }): Promise<void>;
  itemCount(): Promise<number>;
  objectCount(): Promise<number>;
  drop(): Promise<void>;
}

export async function createHarness(options: { readonly stream?: boolean } = {}): Promise<Harness> {
  const table = await createMetadataTable(motoClientConfig(), options);
  // Decisions race each other in these tests: one connection keeps moto's writes atomic.
  const client = createDocumentClient(serializedMotoConfig());
  const s3 = new S3Client(motoClientConfig());
  const bucket = uniqueName('artifacts');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const datasetsBucket = uniqueName('datasets');
  await s3.send(new CreateBucketCommand({ Bucket: datasetsBucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: datasetsBucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const callbacks = new FakeCallbacks();
  const queue = new FakeQueue();
  const rollbacks: RollbackRequest[] = [];
  let ids = 0;
  const ports: Ports = {
    registry: new DynamoRegistry(client, table.tableName),
    audit: new DynamoAuditLog(client, table.tableName),
    datasets: datasetsDomain({ s3, db: client, tableName: table.tableName, bucket: datasetsBucket, catalog: DATASETS }),
    callbacks,
    retraining: queue,
    deployments: {
      startRollback: (request) => {
        rollbacks.push(request);
        return Promise.resolve({ deploymentId: request.deploymentId });
      },
    },
    leases: new DeploymentLeases(client, table.tableName),
    groundTruth: new S3GroundTruthStore(s3, bucket),
    metrics: new CloudWatchMetricsReader(new CloudWatchClient(motoClientConfig())),
    evaluations: new S3EvaluationReports(s3),
    driftReports: new S3DriftReports(s3, bucket, () => new Date()),
    // No execution exists unless a test backs this with local Step Functions (SfnExecutionHistory).
    executions: { read: () => Promise.resolve(undefined) },
    clock: { now: () => new Date() },
    newId: () => `id-${String(++ids).padStart(6, '0')}-${Math.random().toString(36).slice(2, 8)}`,
  };
  return {
    handler: createHandler({ principal: fromIamContext, ports, models: MODELS }),
    localHandler: createHandler({ principal: fromLocalHeader, ports, models: MODELS }),
    ports,
    callbacks,
    queue,
    rollbacks,
    tableName: table.tableName,
    ...(table.streamArn ? { streamArn: table.streamArn } : {}),
    bucket,
    datasetsBucket,
    s3,
    client,
    async putVersion(record) {
      const status = record.status ?? 'PENDING_APPROVAL';
      const item: ModelVersionRecord = {
        status,
        runId: `run-${record.model}-${record.version}`,
        requestedBy: REQUESTER,
        datasetName: record.model,
        datasetVersion: '2026-11-01',
        trainingJobName: `job-${record.version}`,
        modelArtifactUri: 's3://artifacts/models/x/model.tar.gz',
        imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1',
        instanceType: 'ml.g5.xlarge',
        hyperparameters: { eta: '0.2' },
        metrics: { 'validation:auc': 0.81 },
        comparison: { metricName: 'validation:auc', direction: 'maximize', candidate: 0.81, champion: 0.79, championVersion: 1 },
        evaluationReportUri: 's3://artifacts/evaluations/x/report.json',
        createdAt: '2026-11-20T10:00:00.000Z',
        updatedAt: '2026-11-20T10:00:00.000Z',
        taskToken: `token-${record.model}-${record.version}`,
        ...record,
      };
      await client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...keys.version(item.model, item.version), ...keys.versionByStatus(item.model, status, item.version), ...item },
        }),
      );
    },
    async itemCount() {
      let count = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start, Select: 'COUNT' }));
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
      return count;
    },
    async objectCount() {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return listed.KeyCount ?? 0;
    },
    drop: () => table.drop(),
  };
}

export interface RequestOptions {
  readonly body?: unknown;
  /** The rest of `requestContext.identity` (Cognito fields), as API Gateway fills it. */
  readonly identity?: Partial<APIGatewayProxyEvent['requestContext']['identity']>;
  /** Raw body text, sent as is. */
  readonly rawBody?: string;
  readonly principal?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
}

/** An API Gateway REST proxy event as a SigV4-authenticated call produces it. */
export function apiEvent(method: string, path: string, options: RequestOptions = {}): APIGatewayProxyEvent {
  const body = options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body));
  return {
    httpMethod: method,
    path,
    resource: path,
    body,
    isBase64Encoded: false,
    headers: { ...(body !== null && options.rawBody === undefined ? { 'Content-Type': 'application/json' } : {}), ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      identity: { ...identityOf(options.principal ?? APPROVER), ...options.identity },
    } as APIGatewayProxyEvent['requestContext'],
  };
}

/**
 * The identity fields API Gateway sets for a SigV4 caller (API Gateway developer guide,
 * `$context.identity.*`): `user`/`caller` are the principal id (`AROA…:session` for role
 * sessions, `AIDA…` for users), `accountId` the caller's account.
 */
export function identityOf(userArn: string | null): Partial<APIGatewayProxyEvent['requestContext']['identity']> {
  if (userArn === null) return { userArn: null, user: null, caller: null, accountId: null };
  const session = /:assumed-role\/[^/]+\/([^/]+)$/.exec(userArn)?.[1];
  const principalId = session ? `AROAEXAMPLEROLEID0001:${session}` : 'AIDAEXAMPLEUSERID0001';
  return { userArn, user: principalId, caller: principalId, accountId: userArn.split(':')[4] ?? null, accessKey: 'ASIAEXAMPLEKEY000001' };
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- tests name the shape they expect
export function bodyOf<T = Record<string, unknown>>(result: { body: string }): T {
  return JSON.parse(result.body) as T;
}
