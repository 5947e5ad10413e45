import { Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { datasetPrefix } from '../../lambdas/shared/layout';
import { SecureBucket } from './secure-bucket';

export interface DatasetStoreProps {
  /** Customer-managed key for SSE-KMS (with an S3 bucket key). */
  readonly encryptionKey: kms.IKey;
  /** Bucket that receives the datasets bucket's server access logs (prefix `datasets/`). */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Delete superseded object versions this long after they stop being current. A dataset
   * version whose bytes are expired can no longer train (the training gate checks).
   * @default - keep every version forever (a registered version can always be rebuilt)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * S3 Object Lock in governance mode with this default retention: object versions cannot be
   * overwritten or deleted for this long without `s3:BypassGovernanceRetention`. Can only be
   * set when the bucket is created.
   * @default - no Object Lock
   */
  readonly objectLockRetention?: Duration;
  /**
   * Send the bucket's events to EventBridge (the "enough new data" trigger listens there).
   * @default true
   */
  readonly eventBridgeEnabled?: boolean;
  /**
   * What happens to the bucket on stack delete. DESTROY empties it first, and warns at synth.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where datasets live: a `SecureBucket` (versioned, SSE-KMS with a bucket key, TLS-only,
 * public access blocked, access-logged, retained), optionally with Object Lock, with
 * EventBridge notifications on. Objects of dataset `d` go under `datasets/d/`; grants can be
 * narrowed to one dataset's prefix.
 */
export class DatasetStore extends Construct {
  /** The datasets bucket. */
  public readonly bucket: s3.Bucket;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: DatasetStoreProps) {
    super(scope, id);
    const expiration = props.noncurrentVersionExpiration;
    if (expiration !== undefined && !Token.isUnresolved(expiration.toDays({ integral: false })) && expiration.toDays({ integral: false }) < 1) {
      throw new Error(`DatasetStore noncurrentVersionExpiration must be at least 1 day, got ${expiration.toHumanString()}`);
    }
    if (props.objectLockRetention !== undefined && props.objectLockRetention.toDays({ integral: false }) < 1) {
      throw new Error(`DatasetStore objectLockRetention must be at least 1 day, got ${props.objectLockRetention.toHumanString()}`);
    }
    this.key = props.encryptionKey;
    const secure = new SecureBucket(this, 'Store', {
      encryptionKey: props.encryptionKey,
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'datasets/',
      lifecycleRules:
        expiration !== undefined ? [{ id: 'expire-noncurrent-versions', noncurrentVersionExpiration: expiration }] : [],
      objectLockRetention: props.objectLockRetention,
      removalPolicy: props.removalPolicy,
    });
    this.bucket = secure.bucket;
    if (props.eventBridgeEnabled ?? true) {
      // The CloudFormation property, not `enableEventBridgeNotification()`, which deploys a
      // custom-resource Lambda to do the same.
      (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
        eventBridgeConfiguration: { eventBridgeEnabled: true },
      };
    }
  }

  /** `datasets/<dataset>/` or, for every dataset, `datasets/`. */
  private prefix(dataset?: string): string {
    return dataset === undefined ? 'datasets/' : datasetPrefix(dataset);
  }

  /**
   * Read (and list) objects and their versions under one dataset's prefix, or every dataset's.
   * Includes `kms:Decrypt` on the key.
   */
  grantRead(grantee: iam.IGrantable, dataset?: string): iam.Grant {
    const prefix = this.prefix(dataset);
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
    const listing = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    });
    this.acknowledgePrefixWildcard(grantee, prefix);
    return objects.combine(listing).combine(this.key.grant(grantee, 'kms:Decrypt'));
  }

  /**
   * Put objects under one dataset's prefix, or every dataset's (new versions; nothing is
   * deleted or overwritten in place: the bucket is versioned). Includes the KMS actions SSE-KMS
   * uploads need (multipart uploads decrypt their parts).
   */
  grantWrite(grantee: iam.IGrantable, dataset?: string): iam.Grant {
    const prefix = this.prefix(dataset);
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
    this.acknowledgePrefixWildcard(grantee, prefix);
    return objects.combine(this.key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt'));
  }

  /** Object ARNs under a prefix are a wildcard by nature; say so on the grantee, narrowly. */
  private acknowledgePrefixWildcard(grantee: iam.IGrantable, prefix: string): void {
    const principal = grantee.grantPrincipal as Partial<IConstruct>;
    if (principal.node === undefined) return;
    const bucketId = Stack.of(this.bucket).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    Validations.of(principal as IConstruct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason: `Dataset objects are addressed by key under ${prefix}; the grant is confined to that prefix of the datasets bucket.`,
    });
  }
}
