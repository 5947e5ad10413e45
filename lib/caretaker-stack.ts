import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { CaretakerConfig } from './config';
import { MetadataTable } from './constructs/metadata-table';
import { Notifications } from './constructs/notifications';
import { RetrainingTrigger, retrainingModelFromConfig } from './constructs/retraining-trigger';
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
  /** Alarms, schedules and retrain requests → at most one training run per model (`wireRetraining`). */
  public retraining?: RetrainingTrigger;
  private readonly config: CaretakerConfig;

  constructor(scope: Construct, id: string, props: CaretakerStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
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

    new CfnOutput(this, 'ArtifactsBucketName', { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, 'MetadataTableName', { value: this.metadata.table.tableName });
    new CfnOutput(this, 'ApprovalsTopicArn', { value: this.notifications.approvals.topicArn });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.notifications.alerts.topicArn });

    // --- Retraining trigger (issue 6) ---
    // TODO(lead, at merge): once the pipeline part adds `this.pipeline`, call
    // `this.wireRetraining(this.pipeline.stateMachine);` here. Until then the trigger is not
    // built: nothing fake stands in for the pipeline.
  }

  /** Builds the retraining trigger for the configured models around the training pipeline. */
  wireRetraining(stateMachine: sfn.IStateMachine): RetrainingTrigger {
    const retraining = new RetrainingTrigger(this, 'Retraining', {
      models: this.config.models.map(retrainingModelFromConfig),
      stateMachine,
      table: this.metadata.table,
      encryptionKey: this.key,
      alertsTopic: this.notifications.alerts,
      alarmNamePrefix: `Caretaker-${this.stackName}-`,
      removalPolicy: this.config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    new CfnOutput(this, 'RetrainingQueueUrl', { value: retraining.queue.queueUrl });
    this.retraining = retraining;
    return retraining;
  }
}
