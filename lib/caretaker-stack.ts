import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { CaretakerConfig } from './config';
import { DriftMonitor } from './constructs/drift-monitor';
import { MetadataTable } from './constructs/metadata-table';
import { Notifications } from './constructs/notifications';
import { warnOnDestroy } from './constructs/removal';
import { AccessLogsBucket, SecureBucket } from './constructs/secure-bucket';

export interface CaretakerStackProps extends StackProps {
  /** The parsed `caretaker.config.json`. */
  readonly config: CaretakerConfig;
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
  /** Drift analyzer, its schedules, the per-model alarms and the ops dashboard. */
  public readonly drift: DriftMonitor;

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

    // --- drift monitoring (issue 6) ---
    this.drift = new DriftMonitor(this, 'Drift', {
      models: config.models,
      artifactsBucket: this.artifacts.bucket,
      metadataTable: this.metadata.table,
      encryptionKey: this.key,
      alertsTopic: this.notifications.alerts,
      removalPolicy,
    });
    new CfnOutput(this, 'DriftDashboardName', { value: this.drift.dashboard.dashboardName });

    new CfnOutput(this, 'ArtifactsBucketName', { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, 'MetadataTableName', { value: this.metadata.table.tableName });
    new CfnOutput(this, 'ApprovalsTopicArn', { value: this.notifications.approvals.topicArn });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.notifications.alerts.topicArn });
  }
}
