import { CfnOutput, Duration, Lazy, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { CaretakerConfig } from './config';
import { BatchScoring } from './constructs/batch-scoring';
import { DriftMonitor } from './constructs/drift-monitor';
import { OpsDashboard } from './constructs/ops-dashboard';
import { MetadataTable } from './constructs/metadata-table';
import { Notifications } from './constructs/notifications';
import { RetrainingTrigger, retrainingModelFromConfig } from './constructs/retraining-trigger';
import { RegistryApi } from './constructs/registry-api';
import { RegistryEvents } from './constructs/registry-events';
import { Webhooks } from './constructs/webhooks';
import * as events from 'aws-cdk-lib/aws-events';
import { warnOnDestroy } from './constructs/removal';
import { AccessLogsBucket, SecureBucket } from './constructs/secure-bucket';
import { allowAlarmsToPublish } from './constructs/alarm-publishing';
import { ConsoleHosting, resolveConsoleApprovers } from './constructs/console-hosting';
import { datasetCatalogFromConfig } from './dataset-catalog';
import { DatasetRegistry } from './constructs/dataset-registry';
import { DatasetStore } from './constructs/dataset-store';
import { TrainingPipeline } from './constructs/training-pipeline';

export interface CaretakerStackProps extends StackProps {
  /** The parsed `caretaker.config.json`. */
  readonly config: CaretakerConfig;
  /**
   * The built console deployed to its bucket (a directory with `index.html` at its top).
   * @default CONSOLE_DIST (`console/dist/`, written by `npm run build:console`)
   */
  readonly consoleAssetsPath?: string;
}

/**
 * Everything Caretaker deploys into one account and region, composed from `lib/constructs/`.
 * Environment-agnostic: it synthesizes with no account, credentials or network.
 */
export class CaretakerStack extends Stack {
  /** Encrypts every store Caretaker writes: table, topics, buckets, logs. */
  public readonly key: kms.Key;
  public readonly metadata: MetadataTable;
  public readonly notifications: Notifications;
  /** Target of every bucket's server access logs. */
  public readonly accessLogs: AccessLogsBucket;
  /**
   * Checkpoints, model artifacts, evaluation reports, endpoint data capture and drift
   * baselines, under the prefixes in `lambdas/shared/layout.ts`.
   */
  public readonly artifacts: SecureBucket;
  /** Dataset objects under `datasets/<dataset>/`: versioned, KMS, TLS-only, private, retained. */
  public readonly datasets: DatasetStore;
  /** Dataset registration, the training gate on datasets, and the new-data trigger. */
  public readonly datasetRegistry: DatasetRegistry;
  /** The training pipeline state machine and its roles (issue 4). */
  public readonly pipeline: TrainingPipeline;
  /** Alarms, schedules, new data and retrain requests → at most one training run per model. */
  public readonly retraining: RetrainingTrigger;
  /** Registry and approval API (issue 5), with its write-once audit copy. */
  public readonly api: RegistryApi;
  /** Drift analyzer, its schedules and the per-model alarms. */
  public readonly drift: DriftMonitor;
  /** The operations dashboard (output `DriftDashboardName`). */
  public readonly dashboard: OpsDashboard;
  /** Scheduled Batch Transform scoring of `deployment.mode: "batch"` models (issue 18). Unset when no model is batch. */
  public readonly batchScoring?: BatchScoring;
  /** Registry events on EventBridge (source `caretaker`), from the table stream, with their schemas. */
  public readonly events: RegistryEvents;
  /** `notifications.webhooks`: rules → API destinations with connections, retries and a DLQ each. */
  public readonly webhooks: Webhooks;
  /** `console`: the web console (CloudFront, S3) and its Cognito sign-in (issue 15). Unset when `console.enabled` is false. */
  public readonly console?: ConsoleHosting;

  constructor(scope: Construct, id: string, props: CaretakerStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.key = new kms.Key(this, 'Key', {
      description: 'Caretaker: encrypts datasets, metadata, topics and logs',
      enableKeyRotation: true,
      removalPolicy,
    });
    warnOnDestroy(this.key, removalPolicy);
    // CloudWatch Logs encrypts this account's log groups in this region with the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*` },
        },
      }),
    );

    this.metadata = new MetadataTable(this, 'Metadata', { encryptionKey: this.key, removalPolicy });
    this.notifications = new Notifications(this, 'Notifications', {
      encryptionKey: this.key,
      approvalEmails: config.notifications.approvalEmails,
      alertEmails: config.notifications.alertEmails,
    });

    this.accessLogs = new AccessLogsBucket(this, 'AccessLogs', { removalPolicy });
    this.artifacts = new SecureBucket(this, 'Artifacts', {
      encryptionKey: this.key,
      accessLogsBucket: this.accessLogs.bucket,
      accessLogsPrefix: 'artifacts/',
      // Checkpoints and superseded artifact versions are only worth keeping for a while.
      lifecycleRules: [
        { id: 'expire-old-checkpoints', prefix: 'checkpoints/', expiration: Duration.days(30) },
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(90) },
      ],
      removalPolicy,
    });

    // --- datasets (issue 3) ---
    this.datasets = new DatasetStore(this, 'Datasets', {
      encryptionKey: this.key,
      accessLogsBucket: this.accessLogs.bucket,
      removalPolicy,
    });
    // The retraining trigger connects its queue with `datasetRegistry.sendNewDataRequestsTo(queue)`.
    this.datasetRegistry = new DatasetRegistry(this, 'DatasetRegistry', {
      store: this.datasets,
      table: this.metadata.table,
      encryptionKey: this.key,
      catalog: datasetCatalogFromConfig(config),
    });
    new CfnOutput(this, 'DatasetsBucketName', { value: this.datasets.bucket.bucketName });
    new CfnOutput(this, 'RegisterDatasetFunctionName', { value: this.datasetRegistry.register.function.functionName });

    // --- training pipeline (issue 4) ---
    this.pipeline = new TrainingPipeline(this, 'Pipeline', {
      models: config.models,
      encryptionKey: this.key,
      table: this.metadata.table,
      artifactsBucket: this.artifacts.bucket,
      datasetBucket: this.datasets.bucket,
      approvalsTopic: this.notifications.approvals,
      alertsTopic: this.notifications.alerts,
      removalPolicy,
    });
    new CfnOutput(this, 'TrainingPipelineArn', { value: this.pipeline.stateMachine.stateMachineArn });

    // --- retraining trigger (issue 6) ---
    this.retraining = new RetrainingTrigger(this, 'Retraining', {
      models: config.models.map((model) => ({ ...retrainingModelFromConfig(model, this.pipeline.executionTimeout), endpointName: this.pipeline.endpointName(model.name) })),
      stateMachine: this.pipeline.stateMachine,
      table: this.metadata.table,
      encryptionKey: this.key,
      alertsTopic: this.notifications.alerts,
      alarmNamePrefix: `Caretaker-${this.stackName}-`,
      removalPolicy,
    });
    this.datasetRegistry.sendNewDataRequestsTo(this.retraining.queue);
    new CfnOutput(this, 'RetrainingQueueUrl', { value: this.retraining.queue.queueUrl });
    // --- drift monitoring (issue 6) ---
    this.drift = new DriftMonitor(this, 'Drift', {
      models: config.models,
      endpointName: (model) => this.pipeline.endpointName(model),
      artifactsBucket: this.artifacts.bucket,
      metadataTable: this.metadata.table,
      encryptionKey: this.key,
      alertsTopic: this.notifications.alerts,
      removalPolicy,
    });
    this.dashboard = new OpsDashboard(this, 'Ops', {
      models: config.models,
      drift: this.drift,
      retraining: this.retraining,
      pipeline: this.pipeline.stateMachine,
      endpointName: (model) => this.pipeline.endpointName(model),
    });
    new CfnOutput(this, 'DriftDashboardName', { value: this.dashboard.dashboard.dashboardName });

    // --- batch scoring (issue 18) ---
    if (config.models.some((model) => model.deployment.mode === 'batch')) {
      this.batchScoring = new BatchScoring(this, 'BatchScoring', {
        models: config.models,
        steps: this.pipeline.steps.function,
        analyzer: this.drift.analyzer.function,
        sagemakerRole: this.pipeline.sagemakerRole,
        settings: this.pipeline.settings,
        settingsParameterPrefix: this.pipeline.settingsParameterPrefix,
        artifactsBucket: this.artifacts.bucket,
        encryptionKey: this.key,
        alertsTopic: this.notifications.alerts,
        resourcePrefix: this.pipeline.resourcePrefix,
        removalPolicy,
      });
      new CfnOutput(this, 'BatchScoringArn', { value: this.batchScoring.stateMachine.stateMachineArn });
    }

    // --- registry events (issue 16) ---
    this.events = new RegistryEvents(this, 'Events', {
      table: this.metadata.table,
      encryptionKey: this.key,
      ...(config.events.bus === 'create' ? { eventBus: new events.EventBus(this, 'EventBus', { description: 'Caretaker registry events', kmsKey: this.key }) } : {}),
      ...(config.events.consoleUrl ? { consoleUrl: config.events.consoleUrl } : {}),
      removalPolicy,
    });
    this.webhooks = new Webhooks(this, 'Webhooks', { events: this.events, webhooks: config.notifications.webhooks, encryptionKey: this.key, removalPolicy });
    new CfnOutput(this, 'EventBusName', { value: this.events.eventBus.eventBusName, description: 'Bus of the registry events (source caretaker)' });

    new CfnOutput(this, 'ArtifactsBucketName', { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, 'MetadataTableName', { value: this.metadata.table.tableName });
    new CfnOutput(this, 'ApprovalsTopicArn', { value: this.notifications.approvals.topicArn });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.notifications.alerts.topicArn });

    // --- registry and approval API (issue 5) ---
    // Rollback needs a deploy-only path through the pipeline, which does not exist yet: until it
    // does, `POST /models/{model}/rollback` answers 503 "not wired" (see the issue 5 note).
    // `{ cognitoGroup }` approvers get the console's approver role, created below (it needs the API).
    const consoleApproverRole = Lazy.string({ produce: () => this.console?.approverRole.roleArn });
    this.api = new RegistryApi(this, 'RegistryApi', {
      models: resolveConsoleApprovers(config.models, consoleApproverRole),
      retrainingQueue: this.retraining.queue,
      pipeline: this.pipeline.stateMachine,
      // Rollback starts the pipeline with { kind: 'rollback', … }, which takes its deploy path only.
      deploymentStateMachine: this.pipeline.stateMachine,
      endpointName: (model) => this.pipeline.endpointName(model),
      driftAlarms: new Map([...this.drift.alarms].map(([model, alarms]) => [model, alarms.drift])),
      table: this.metadata.table,
      artifactsBucket: this.artifacts.bucket,
      datasetBucket: this.datasets.bucket,
      accessLogsBucket: this.accessLogs.bucket,
      encryptionKey: this.key,
      alertsTopic: this.notifications.alerts,
      removalPolicy,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Caretaker API base URL (CARETAKER_API_URL)' });

    // --- console hosting and sign-in (issue 15) ---
    if (config.console.enabled) {
      const { domain, federation } = config.console;
      const secret = (ref: { secretId: string; jsonField?: string }) =>
        SecretValue.secretsManager(ref.secretId, ref.jsonField ? { jsonField: ref.jsonField } : {}).unsafeUnwrap();
      this.console = new ConsoleHosting(this, 'Console', {
        api: this.api,
        accessLogsBucket: this.accessLogs.bucket,
        groups: config.console.groups,
        mfa: config.console.mfa === 'optional' ? cognito.Mfa.OPTIONAL : cognito.Mfa.REQUIRED,
        ...(domain ? { domainNames: domain.names, certificate: acm.Certificate.fromCertificateArn(this, 'ConsoleCertificate', domain.certificateArn) } : {}),
        ...(config.console.webAclArn ? { webAclArn: config.console.webAclArn } : {}),
        ...(federation
          ? {
              federation: {
                ...(federation.saml ? { saml: federation.saml } : {}),
                ...(federation.oidc ? { oidc: { ...federation.oidc, clientSecret: secret(federation.oidc.clientSecret) } } : {}),
              },
            }
          : {}),
        ...(props.consoleAssetsPath ? { assetsPath: props.consoleAssetsPath } : {}),
        removalPolicy,
      });
    }

    // Last: every alarm that notifies a topic exists by now.
    allowAlarmsToPublish(this, this.key, `Caretaker-${this.stackName}-`);
  }
}
