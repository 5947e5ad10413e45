import { CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct, type IConstruct } from 'constructs';
import * as z from 'zod';
import type { ModelSummary } from '../../lambdas/api/ports';
import { CORS_REQUEST_HEADERS, ROUTES, type RouteSpec } from '../../lambdas/api/schemas';
import { datasetCatalogFromConfig } from '../dataset-catalog';
import { ENV, envValue } from '../../lambdas/shared/env';
import { datasetPrefix, type artifactAreas } from '../../lambdas/shared/layout';
import { KEY_PREFIX, keys } from '../../lambdas/shared/contracts';
import { TABLE_SCHEMA } from '../../lambdas/shared/table-schema';
import { AUDIT_METRICS, METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import type { CaretakerConfig, ModelConfig } from '../config';
import type { ApproverEntry } from '../../lambdas/api/principal';
import { CaretakerFunction } from './caretaker-function';
import { SecureBucket } from './secure-bucket';
import { SecureQueue } from './secure-queue';
import { tableStreamSource } from './stream-source';

export interface RegistryApiProps {
  /** The configured models; the function serves their summaries and approver lists. */
  readonly models: CaretakerConfig['models'];
  /** The metadata table (registry, runs, datasets, audit). Must have a stream: the audit copy reads it. */
  readonly table: dynamodb.ITable;
  /** Artifacts bucket; the API writes ground truth under `ground-truth/`. */
  readonly artifactsBucket: s3.IBucket;
  /**
   * The datasets bucket: `POST /datasets/{dataset}/versions` reads (hashes and validates) the
   * exact object versions under its `datasets/` prefix, through the datasets part's domain code.
   */
  readonly datasetBucket: s3.IBucket;
  /** Target of the audit bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** Encrypts the function environments, log groups, the audit bucket and the DLQ. */
  readonly encryptionKey: kms.IKey;
  /**
   * The retraining FIFO queue `POST /models/{model}/retrain` sends `RetrainingRequest`s to.
   * @default - retrain returns 503 "not wired"
   */
  readonly retrainingQueue?: sqs.IQueue;
  /**
   * The training pipeline whose waiting approval tasks approve/reject resume (SendTaskSuccess/Failure).
   * @default - no task-response permission; decisions are undone and return 503
   */
  readonly pipeline?: sfn.IStateMachine;
  /**
   * The state machine that runs the deploy path; rollback starts it with `{ kind: 'rollback', ... }`.
   * @default - rollback returns 503 "not wired"
   */
  readonly deploymentStateMachine?: sfn.IStateMachine;
  /**
   * The SageMaker endpoint each model deploys to. A rollback reads its deployment lease first and
   * answers 409 naming the run that holds it, before anything is written.
   * @default - rollback is accepted without that check; the pipeline's StartRollback still refuses it
   */
  readonly endpointName?: (model: string) => string;
  /**
   * Each model's drift alarm, by model name: `GET /models/{model}/metrics` shows its state.
   * @default - no alarm state is shown
   */
  readonly driftAlarms?: ReadonlyMap<string, cloudwatch.IAlarm>;
  /** Stage throttling. @default - 20 requests/s, bursts of 40 */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Put an AWS WAF web ACL (AWS managed common rules, known bad inputs, a per-IP rate limit) in front. @default false */
  readonly waf?: boolean;
  /** How long audit objects are locked (Object Lock, governance mode). @default Duration.days(365) */
  readonly auditRetention?: Duration;
  /**
   * How far back the audit reconciler proves the write-once copy complete, and how often it runs.
   * @default - the last 7 days, every hour
   */
  readonly auditReconcile?: { readonly windowDays: number; readonly every: Duration };
  /** Where the audit copy's alarms (copy late, copier failures, reconciler errors) notify. @default - alarms without actions */
  readonly alertsTopic?: sns.ITopic;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The API function's timeout: under API Gateway's 29 s integration timeout, so no request outlives its caller. */
export const API_FUNCTION_TIMEOUT = Duration.seconds(25);

/** Where the API writes in the artifacts bucket (see lambdas/shared/layout.ts). */
const GROUND_TRUTH_AREA: (typeof artifactAreas)[number] = 'ground-truth';
/** Where the API reads evaluation reports (the console's candidate-vs-champion view). */
const EVALUATIONS_AREA: (typeof artifactAreas)[number] = 'evaluations';
/** Where the API reads the drift analyzer's reports (the console's drift page). */
const REPORTS_AREA: (typeof artifactAreas)[number] = 'reports';
/** `datasets` (from `datasets/<dataset>/`): where dataset versions are registered from. */
const DATASETS_AREA = datasetPrefix('').split('/')[0] ?? 'datasets';

/** The route paths with `{param}` as `*`, as execute-api ARNs spell them. */
const arnPath = (route: RouteSpec) => route.path.replace(/\{[^}]+\}/g, '*');

/** A zod schema as an API Gateway (JSON Schema draft 4) model schema. */
export function apiGatewaySchema(schema: z.core.$ZodType): apigw.JsonSchema {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'draft-04', io: 'input', unrepresentable: 'any' });
  return json as unknown as apigw.JsonSchema;
}

/**
 * What the API's code sends to the metadata table (lambdas/api, and lambdas/datasets through
 * it): item reads, queries on the table and its two indexes, conditional Put/Update, and
 * TransactWriteItems, which has no IAM action of its own — DynamoDB authorizes each of its
 * Put / Update / ConditionCheck items as PutItem / UpdateItem / ConditionCheckItem (DynamoDB API
 * Reference, TransactWriteItems). No DeleteItem, Scan or BatchWriteItem: nothing the API does
 * deletes or scans, so a compromised function cannot either.
 */
export const API_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
] as const;

/**
 * Grants `API_TABLE_ACTIONS` on the table and its indexes, the table key's use, and denies
 * changing an audit item: audit events (`AUDIT#<model>` partitions) are only ever created, by a
 * Put conditioned on `attribute_not_exists(pk)`; an UpdateItem (or DeleteItem) whose leading key
 * is an audit partition is refused by IAM whatever the code asks (`dynamodb:LeadingKeys`).
 */
export function grantApiTableAccess(role: iam.IRole, table: dynamodb.ITable): void {
  const indexes = TABLE_SCHEMA.indexes.map((index) => `${table.tableArn}/index/${index.indexName}`);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: API_TABLE_ACTIONS.filter((a) => a !== 'dynamodb:Query'), resources: [table.tableArn] }),
  );
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [table.tableArn, ...indexes] }));
  denyAuditRewrites(role, table);
  table.encryptionKey?.grantEncryptDecrypt(role);
}

/** Audit items are written once: whatever else a role may do to the table, never update or delete one. */
function denyAuditRewrites(role: iam.IRole, table: dynamodb.ITable): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [table.tableArn],
      conditions: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': [`${KEY_PREFIX.audit}*`] } },
    }),
  );
}

/**
 * The delivery sweep's table access: its index entries (gsi2, leading keys `DELIVERY#OWED` for
 * owed decisions and `RETRAIN#OWED` for owed retrain sends), consistent reads and updates of
 * versions and retrain requests, and audit events created by conditional Puts (a closed or expired
 * delivery) — never an update or delete of an audit item.
 */
export function grantSweeperTableAccess(role: iam.IRole, table: dynamodb.ITable): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [`${table.tableArn}/index/gsi2`],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [keys.owedDeliveries.gsi2pk, keys.owedRetrainSends.gsi2pk] } },
    }),
  );
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));
  denyAuditRewrites(role, table);
  table.encryptionKey?.grantEncryptDecrypt(role);
}

export function modelSummaries(models: CaretakerConfig['models'], endpointName?: (model: string) => string): ModelSummary[] {
  return models.map((m) => ({
    name: m.name,
    ...(endpointName ? { endpointName: endpointName(m.name) } : {}),
    ...(m.description !== undefined ? { description: m.description } : {}),
    datasetName: m.dataset.name,
    objective: m.objective,
    ...(m.approval.approvers ? { approvers: m.approval.approvers.map((entry, i) => withRoleArn(entry, `models.${m.name}.approval.approvers[${i}]`)) } : {}),
    ...(m.approval.requireDistinctRole ? { requireDistinctRole: true } : {}),
    approvalTimeoutSeconds: m.approval.timeoutSeconds,
    gate: { minImprovement: m.gate.minImprovement, thresholds: m.gate.thresholds },
  }));
}

/** A `{ cognitoGroup }` entry has its role filled in by the stack (the console's approver role) before it gets here. */
function withRoleArn(entry: NonNullable<ModelConfig['approval']['approvers']>[number], field: string): ApproverEntry {
  if (typeof entry === 'string' || 'roleArn' in entry) return entry;
  throw new Error(`RegistryApi: ${field} { cognitoGroup: "${entry.cognitoGroup}" } has no roleArn; the console's approver role fills it in (resolveConsoleApprovers)`);
}

/**
 * The registry and approval API: API Gateway REST with AWS_IAM on every route's method (the CORS
 * preflights of `allowBrowserOrigin` excepted: browsers send them without credentials), request
 * validation from the route table's zod schemas, access logs to a KMS-encrypted log group,
 * stage throttling and tracing, optional WAF; one router Lambda; and the audit trail's
 * write-once copy (stream → Lambda → Object Lock bucket).
 */
export class RegistryApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly handler: CaretakerFunction;
  public readonly accessLogGroup: logs.LogGroup;
  /** Write-once copy of the audit trail (Object Lock, governance). */
  public readonly auditBucket: SecureBucket;
  public readonly auditCopier: CaretakerFunction;
  /** Copies audit events missing from the bucket, from the table, on a schedule. */
  public readonly auditReconciler: CaretakerFunction;
  /** Finishes the delivery of decisions recorded but not yet delivered to the pipeline (RELIABILITY row 19). */
  public readonly decisionSweeper: CaretakerFunction;
  /** The audit copy's alarms: events copied late by the reconciler, copier batches given up, reconciler errors. */
  public readonly auditAlarms: readonly cloudwatch.Alarm[];
  public readonly webAcl?: wafv2.CfnWebACL;
  /** The web origin allowed to call the API from a browser (`allowBrowserOrigin`), once set. */
  public get browserOrigin(): string | undefined {
    return this.corsOrigin;
  }
  private corsOrigin?: string;
  private readonly gatewayResponses: apigw.GatewayResponse[] = [];

  constructor(scope: Construct, id: string, props: RegistryApiProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const throttle = props.throttle ?? { rateLimit: 20, burstLimit: 40 };
    if (throttle.rateLimit <= 0 || throttle.burstLimit <= 0) {
      throw new Error(`RegistryApi: throttle must be positive, got ${JSON.stringify(throttle)}`);
    }
    if (!props.table.tableStreamArn) throw new Error('RegistryApi: table must have a stream (the audit copy reads it)');

    this.handler = new CaretakerFunction(this, 'Handler', {
      entry: 'api/handler.ts',
      description: 'Caretaker registry and approval API',
      encryptionKey: props.encryptionKey,
      removalPolicy,
      // API Gateway gives up on the integration at 29 s: the function stops before it does.
      timeout: API_FUNCTION_TIMEOUT,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.artifactsBucket]: props.artifactsBucket.bucketName,
        [ENV.models]: JSON.stringify(modelSummaries(props.models, props.endpointName)),
        // Alarm names are tokens until deploy: a map of their own, so MODELS stays a literal.
        ...(props.driftAlarms ? { [ENV.driftAlarms]: Stack.of(scope).toJsonString(Object.fromEntries([...props.driftAlarms].map(([model, alarm]) => [model, alarm.alarmName]))) } : {}),
        [ENV.datasetsBucket]: props.datasetBucket.bucketName,
        [ENV.datasetsCatalog]: JSON.stringify(datasetCatalogFromConfig({ models: props.models })),
        ...(props.retrainingQueue ? { [ENV.retrainingQueueUrl]: props.retrainingQueue.queueUrl } : {}),
        ...(props.deploymentStateMachine ? { [ENV.deployStateMachineArn]: props.deploymentStateMachine.stateMachineArn } : {}),
      },
    });
    grantApiTableAccess(this.handler.role, props.table);
    props.artifactsBucket.grantPut(this.handler.role, `${GROUND_TRUTH_AREA}/*`);
    // Registering a dataset version reads (HEAD, GET) the exact object versions it names.
    this.handler.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [props.datasetBucket.arnForObjects(`${DATASETS_AREA}/*`)] }),
    );
    if (props.datasetBucket.encryptionKey && props.datasetBucket.encryptionKey !== props.encryptionKey) {
      this.handler.role.addToPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.datasetBucket.encryptionKey.keyArn] }));
    }
    props.artifactsBucket.grantRead(this.handler.role, `${EVALUATIONS_AREA}/*`);
    // The drift report routes: list the windows (ListObjectsV2 is authorized as s3:ListBucket,
    // limited here by s3:prefix) and read report.json, under reports/ only; the objects are
    // encrypted with the bucket's key.
    this.handler.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.artifactsBucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${REPORTS_AREA}/*`] } } }),
    );
    this.handler.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.artifactsBucket.arnForObjects(`${REPORTS_AREA}/*`)] }));
    props.artifactsBucket.encryptionKey?.grantDecrypt(this.handler.role);
    // The drift view: CloudWatch's metric reads have no resource-level permissions (Service
    // Authorization Reference, Amazon CloudWatch); DescribeAlarms is scoped to the drift alarms.
    this.handler.role.addToPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'], resources: ['*'] }));
    const alarms = [...(props.driftAlarms?.values() ?? [])];
    if (alarms.length > 0) {
      this.handler.role.addToPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: alarms.map((a) => a.alarmArn) }));
    }
    props.retrainingQueue?.grantSendMessages(this.handler.role);
    props.pipeline?.grantTaskResponse(this.handler.role);
    // The run timeline (GET /runs/{runId}/timeline) reads the history of the pipeline's executions
    // only: CDK's execution grant is `…:execution:<state machine name>:*`, any execution of that machine.
    props.pipeline?.grantExecution(this.handler.role, 'states:GetExecutionHistory');

    // Decisions recorded but still owed to the pipeline are delivered (or closed) every minute,
    // and retrain requests recorded but still owed to the retraining queue are sent.
    this.decisionSweeper = new CaretakerFunction(this, 'DecisionSweeper', {
      entry: 'api/sweep.handler.ts',
      description: 'Caretaker: delivers approval decisions and retrain requests still owed',
      encryptionKey: props.encryptionKey,
      removalPolicy,
      timeout: Duration.minutes(1),
      environment: {
        [ENV.tableName]: props.table.tableName,
        ...(props.retrainingQueue ? { [ENV.retrainingQueueUrl]: props.retrainingQueue.queueUrl } : {}),
      },
    });
    grantSweeperTableAccess(this.decisionSweeper.role, props.table);
    props.pipeline?.grantTaskResponse(this.decisionSweeper.role);
    props.retrainingQueue?.grantSendMessages(this.decisionSweeper.role);
    new events.Rule(this, 'DecisionSweepSchedule', {
      description: 'Caretaker: deliver approval decisions still owed to the pipeline',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new eventTargets.LambdaFunction(this.decisionSweeper.function, { retryAttempts: 0 })],
    });
    props.deploymentStateMachine?.grantStartExecution(this.handler.role);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      encryptionKey: props.encryptionKey,
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy,
    });

    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Caretaker registry and approval API (SigV4)',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: removalPolicy,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });

    this.addGatewayResponses();

    const bodyAndParams = this.api.addRequestValidator('BodyAndParams', { validateRequestBody: true, validateRequestParameters: true });
    const paramsOnly = this.api.addRequestValidator('Params', { validateRequestBody: false, validateRequestParameters: true });
    const integration = new apigw.LambdaIntegration(this.handler.function, { proxy: true, allowTestInvoke: false });
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      const requestParameters: Record<string, boolean> = {};
      for (const match of route.path.matchAll(/\{([^}]+)\}/g)) requestParameters[`method.request.path.${match[1] ?? ''}`] = true;
      const query = z.toJSONSchema(route.query, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> };
      for (const name of Object.keys(query.properties ?? {})) requestParameters[`method.request.querystring.${name}`] = false;
      resource.addMethod(route.method, integration, {
        authorizationType: apigw.AuthorizationType.IAM,
        operationName: route.id,
        requestParameters,
        requestValidator: route.body ? bodyAndParams : paramsOnly,
        requestModels: route.body
          ? {
              'application/json': new apigw.Model(this, `${route.id}Body`, {
                restApi: this.api,
                contentType: 'application/json',
                description: `${route.method} ${route.path} body`,
                schema: apiGatewaySchema(route.body),
              }),
            }
          : undefined,
      });
    }

    if (props.waf) this.webAcl = this.addWaf();
    else {
      Validations.of(this.api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is opt-in (RegistryApi waf prop): every method already requires SigV4 and the stage is throttled.',
      });
    }

    // Audit trail: stream → copier → write-once bucket.
    this.auditBucket = new SecureBucket(this, 'AuditTrail', {
      encryptionKey: props.encryptionKey,
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'audit/',
      objectLockRetention: props.auditRetention ?? Duration.days(365),
      removalPolicy,
    });
    this.auditCopier = new CaretakerFunction(this, 'AuditCopier', {
      entry: 'audit/handler.ts',
      description: 'Caretaker: copies audit events to the write-once audit bucket',
      encryptionKey: props.encryptionKey,
      removalPolicy,
      environment: { [ENV.auditBucket]: this.auditBucket.bucket.bucketName },
    });
    this.auditBucket.bucket.grantPut(this.auditCopier.role, 'audit/*');
    const dlq = new SecureQueue(this, 'AuditCopyFailures', { encryptionKey: props.encryptionKey, removalPolicy, deadLetterOf: 'the audit copy' });
    this.auditCopier.function.addEventSource(
      // What FilterRule.isEqual / beginsWith produce, spelled out (those helpers are typed `any`).
      tableStreamSource(props.table, dlq, { eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: KEY_PREFIX.audit }] } } } }),
    );

    const reconcile = props.auditReconcile ?? { windowDays: 7, every: Duration.hours(1) };
    if (!Number.isInteger(reconcile.windowDays) || reconcile.windowDays < 2) {
      // Shorter than the stream's 24 h plus a day's outage would leave a gap the reconciler never looks at.
      throw new Error(`RegistryApi: auditReconcile.windowDays must be an integer ≥ 2, got ${reconcile.windowDays}`);
    }
    this.auditReconciler = new CaretakerFunction(this, 'AuditReconciler', {
      entry: 'audit/reconcile.handler.ts',
      description: 'Caretaker: proves every recent audit event is in the write-once bucket; copies the missing ones',
      encryptionKey: props.encryptionKey,
      removalPolicy,
      timeout: Duration.minutes(5),
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.auditBucket]: this.auditBucket.bucket.bucketName,
        [ENV.auditReconcileDays]: String(reconcile.windowDays),
      },
    });
    // Reads only the audit index partition: Query on gsi1, leading key AUDIT.
    this.auditReconciler.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.table.tableArn}/index/gsi1`],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['AUDIT'] } },
      }),
    );
    props.table.encryptionKey?.grantDecrypt(this.auditReconciler.role);
    this.auditReconciler.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.auditBucket.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['audit/*'] } },
      }),
    );
    this.auditBucket.bucket.grantPut(this.auditReconciler.role, 'audit/*');
    new events.Rule(this, 'AuditReconcileSchedule', {
      description: 'Caretaker: run the audit reconciler',
      schedule: events.Schedule.rate(reconcile.every),
      targets: [new eventTargets.LambdaFunction(this.auditReconciler.function, { retryAttempts: 2 })],
    });

    this.auditAlarms = [
      new cloudwatch.Alarm(this, 'AuditCopyLateAlarm', {
        alarmDescription: 'The audit reconciler had to copy events the stream copier should have copied: the write-once copy lagged.',
        metric: new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: AUDIT_METRICS.late, statistic: 'Sum', period: reconcile.every }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'AuditCopyFailuresAlarm', {
        alarmDescription: 'The audit copier gave up on a stream batch (its metadata is on the failure queue); the reconciler copies the events from the table.',
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'DecisionSweeperErrorsAlarm', {
        alarmDescription: 'The decision sweep could not deliver an approval decision the pipeline is owed; it retries every minute.',
        metric: this.decisionSweeper.function.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
        threshold: 3,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'AuditReconcilerErrorsAlarm', {
        alarmDescription: 'The audit reconciler failed: nothing proves the write-once copy complete until it runs again.',
        metric: this.auditReconciler.function.metricErrors({ period: reconcile.every, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    if (props.alertsTopic) for (const alarm of this.auditAlarms) alarm.addAlarmAction(new actions.SnsAction(props.alertsTopic));

    this.acknowledgeInherentFindings(props);
  }

  /** The stage's invoke URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1/`. */
  get url(): string {
    return this.api.url;
  }

  /** May call every GET route (models, versions, runs, datasets, audit, the OpenAPI document). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, 'read');
  }

  /** May request retraining runs. */
  grantRetrain(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, 'retrain');
  }

  /** May approve, reject and roll back. */
  grantApprove(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, 'approve');
  }

  /** May upload ground truth and register dataset versions. */
  grantSubmitData(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, 'submit');
  }

  private grantRoutes(grantee: iam.IGrantable, intent: RouteSpec['intent']): iam.Grant {
    const stage = this.api.deploymentStage.stageName;
    const routes = ROUTES.filter((r) => r.intent === intent);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: routes.map((r) => this.api.arnForExecuteApi(r.method, arnPath(r), stage)),
    });
    // Each `*` in these ARNs stands for one path parameter ({model}, {version} …) of one route.
    if (Construct.isConstruct(grantee)) {
      const stack = Stack.of(this);
      const apiId = stack.getLogicalId(this.api.node.defaultChild as CfnElement);
      const stageId = stack.getLogicalId(this.api.deploymentStage.node.defaultChild as CfnElement);
      const findings = routes
        .filter((r) => r.path.includes('{'))
        .map((r) => ({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/<${stageId}>/${r.method}${arnPath(r)}]`,
          reason: `Invoke ${r.method} ${r.path} of this API for any value of its path parameters (intent-level grant).`,
        }));
      if (findings.length > 0) Validations.of(grantee).acknowledge(...findings);
    }
    return grant;
  }

  /** API Gateway's own refusals use the same `{ error, message }` shape as the function's. */
  private addGatewayResponses(): void {
    const respond = (id: string, type: apigw.ResponseType, statusCode: string | undefined, error: string, message: string) =>
      this.gatewayResponses.push(
        this.api.addGatewayResponse(id, {
          type,
          ...(statusCode !== undefined ? { statusCode } : {}),
          templates: { 'application/json': `{"error":"${error}","message":${message}}` },
        }),
      );
    respond('BadBody', apigw.ResponseType.BAD_REQUEST_BODY, '400', 'Invalid', '"$context.error.validationErrorString"');
    respond('BadParameters', apigw.ResponseType.BAD_REQUEST_PARAMETERS, '400', 'Invalid', '"$context.error.validationErrorString"');
    respond('TooLarge', apigw.ResponseType.REQUEST_TOO_LARGE, '413', 'PayloadTooLarge', '"the body is too large"');
    // $context.error.messageString is already quoted (API Gateway developer guide, "$context
    // variables": "the quoted value of $context.error.message"); it is API Gateway's own default
    // template, {"message":$context.error.messageString}.
    respond('Denied', apigw.ResponseType.ACCESS_DENIED, '403', 'Forbidden', '$context.error.messageString');
    respond('NoRoute', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, '403', 'Forbidden', '"no such route, or the request is not signed"');
    respond('Throttled', apigw.ResponseType.THROTTLED, '429', 'Throttled', '"too many requests; retry with backoff"');
    respond('Default5xx', apigw.ResponseType.DEFAULT_5XX, '502', 'Unavailable', '"the API is unavailable; retry"');
    // Every other refusal (INVALID_SIGNATURE, EXPIRED_TOKEN, UNAUTHORIZED …) keeps its status and
    // names its type, so a browser can tell expired credentials from a refusal.
    respond('Default4xx', apigw.ResponseType.DEFAULT_4XX, undefined, '$context.error.responseType', '$context.error.messageString');
  }

  /**
   * Lets pages served from `origin` (`https://host[:port]`, e.g. the console's CloudFront URL)
   * call the API from a browser, and read its answers, refusals included (CORS):
   * - an OPTIONS method on each route's resource, a mock integration with no authorization (a
   *   browser's preflight carries no credentials, so it cannot be SigV4-signed), answering 204
   *   with exactly this origin, the route's methods and `CORS_REQUEST_HEADERS`;
   * - `Access-Control-Allow-Origin` on the function's responses (`CONSOLE_ORIGIN`);
   * - the same header on API Gateway's own responses (IAM 403s, throttling, 4XX and 5XX).
   * One origin, never `*`: the header holds one value, and a wildcard would let any site's page
   * read a signed-in person's answers. Call it once.
   */
  allowBrowserOrigin(origin: string): void {
    if (this.corsOrigin !== undefined) {
      throw new Error(`RegistryApi ${this.node.path}: allowBrowserOrigin was already called with ${this.corsOrigin}; one origin per API, got ${origin}`);
    }
    if (!Token.isUnresolved(origin) && !envValue.origin.safeParse(origin).success) {
      throw new Error(`RegistryApi ${this.node.path}: allowBrowserOrigin(origin) must be https://host[:port] with no path or trailing slash (not "*"), got ${origin}`);
    }
    this.corsOrigin = origin;
    const methodsByPath = new Map<string, string[]>();
    for (const route of ROUTES) methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);
    for (const [path, methods] of methodsByPath) {
      const preflight = this.api.root.resourceForPath(path).addCorsPreflight({
        allowOrigins: [origin],
        allowMethods: methods,
        allowHeaders: [...CORS_REQUEST_HEADERS],
        maxAge: Duration.minutes(10),
      });
      Validations.of(preflight).acknowledge(
        { id: 'AwsSolutions-APIG4', reason: 'CORS preflight (OPTIONS, mock integration): browsers send it without credentials, so it cannot be signed; it answers headers only and reaches no function or data.' },
        { id: 'AwsSolutions-COG4', reason: 'CORS preflight: unauthenticated by the Fetch standard; every route method itself requires AWS_IAM.' },
      );
    }
    this.handler.function.addEnvironment(ENV.consoleOrigin, origin);
    for (const response of this.gatewayResponses) {
      const cfn = response.node.defaultChild as apigw.CfnGatewayResponse;
      const existing = (cfn.responseParameters ?? {}) as Record<string, string>;
      cfn.responseParameters = { ...existing, 'gatewayresponse.header.Access-Control-Allow-Origin': `'${origin}'`, 'gatewayresponse.header.Vary': "'Origin'" };
    }
  }

  private addWaf(): wafv2.CfnWebACL {
    const visibility = (metricName: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });
    const managed = (name: string, priority: number) => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: visibility(name),
    });
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('caretaker-api'),
      rules: [
        managed('AWSManagedRulesCommonRuleSet', 0),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 1),
        {
          name: 'rate-limit-per-ip',
          priority: 2,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: 1000, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('rate-limit-per-ip'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
    return acl;
  }

  private acknowledgeInherentFindings(props: RegistryApiProps): void {
    const stack = Stack.of(this);
    const logicalId = (element: IConstruct) => {
      const child = element.node.defaultChild;
      return child && CfnElement.isCfnElement(child) ? stack.getLogicalId(child) : undefined;
    };
    for (const method of this.api.methods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: 'Callers are IAM principals (AWS_IAM, SigV4) — people through SSO roles and pipelines through roles; no Cognito user pool.',
      });
    }
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'API Gateway\'s account-level logging role; the AWS managed policy is the documented one for execution logs.',
      });
    }
    const tableId = logicalId(props.table);
    const bucketId = logicalId(props.artifactsBucket);
    const datasetsId = logicalId(props.datasetBucket);
    const auditId = logicalId(this.auditBucket.bucket) ?? '';
    const pipelineId = props.pipeline ? logicalId(props.pipeline) : undefined;
    Validations.of(this.handler.role).acknowledge(
      ...(pipelineId
        ? [{
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${pipelineId}"}]}]}:*]`,
          reason: 'GetExecutionHistory on the training pipeline\'s executions only (CDK\'s execution grant: that state machine\'s name, any execution), for the run timeline.',
        }]
        : []),
      ...(bucketId
        ? [{ id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/ground-truth/*]`, reason: 'Writes ground-truth objects, whose keys are per upload, under ground-truth/ only.' }]
        : []),
      ...(datasetsId
        ? [{ id: `AwsSolutions-IAM5[Resource::<${datasetsId}.Arn>/${DATASETS_AREA}/*]`, reason: 'Reads the objects a dataset version is registered from, under datasets/ only (read-only).' }]
        : []),
      ...(bucketId
        ? [{ id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${EVALUATIONS_AREA}/*]`, reason: 'Reads evaluation reports (per run) under evaluations/ only, for the console\'s candidate-vs-champion view.' }]
        : []),
      ...(bucketId
        ? [{ id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${REPORTS_AREA}/*]`, reason: 'Reads the drift analyzer\'s reports (one folder per model and window) under reports/ only, for the console\'s drift page; listing is limited to that prefix by s3:prefix.' }]
        : []),
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'cloudwatch:GetMetricData and ListMetrics support no resource-level permissions; read-only, for the drift view.' },
      { id: 'AwsSolutions-IAM5[Action::s3:GetObject*]', reason: 'CDK\'s read grant (GetObject*, GetBucket*, List*) on evaluations/ only.' },
      { id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]', reason: 'CDK\'s read grant on the artifacts bucket, objects limited to evaluations/.' },
      { id: 'AwsSolutions-IAM5[Action::s3:List*]', reason: 'CDK\'s read grant on the artifacts bucket, objects limited to evaluations/.' },
      { id: 'AwsSolutions-IAM5[Action::s3:Abort*]', reason: 'CDK\'s put grant lets multipart uploads under ground-truth/ be aborted; no other prefix.' },
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Encrypting with the stack key (table, bucket) needs GenerateDataKey and its variants.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'CDK\'s table grant includes ReEncrypt* for the stack key; scoped to that one key.' },
    );
    Validations.of(this.decisionSweeper.role).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Encrypting table items with the stack key needs GenerateDataKey and its variants.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Part of CDK\'s encrypt grant on the stack key; scoped to that key.' },
    );
    Validations.of(this.auditReconciler.role).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::<${auditId}.Arn>/audit/*]`, reason: 'Copies missing audit events, one object each, under audit/ only.' },
      ...(tableId ? [{ id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/gsi1]`, reason: 'Query on the audit index only, leading key AUDIT (dynamodb:LeadingKeys).' }] : []),
      { id: 'AwsSolutions-IAM5[Action::s3:Abort*]', reason: 'CDK\'s put grant lets multipart uploads under audit/ be aborted; no other prefix.' },
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Encrypting audit objects with the stack key.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Part of CDK\'s encrypt grant on the stack key; scoped to that key.' },
    );
    Validations.of(this.auditCopier.role).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::<${auditId}.Arn>/audit/*]`, reason: 'Writes one object per audit event under audit/ only.' },
      { id: 'AwsSolutions-IAM5[Action::s3:Abort*]', reason: 'CDK\'s put grant lets multipart uploads under audit/ be aborted; no other prefix.' },
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Encrypting audit objects with the stack key.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Part of CDK\'s encrypt grant on the stack key; scoped to that key.' },
    );
  }
}
