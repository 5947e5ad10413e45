import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../../lambdas/shared/table-schema';
import { warnOnDestroy } from './removal';

export interface MetadataTableProps {
  /**
   * Customer-managed key that encrypts the table and its stream.
   */
  readonly encryptionKey: kms.IKey;

  /**
   * What happens to the table when it leaves the stack.
   * DESTROY also turns deletion protection off, and adds a warning to the synth output.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The one DynamoDB table holding Caretaker's registry, runs, datasets, leases and audit trail.
 * On-demand, point-in-time recovery, deletion protection, KMS, a NEW_AND_OLD_IMAGES stream
 * (the audit trail's write-once copy reads it), retained on stack delete.
 */
export class MetadataTable extends Construct {
  /** The table, for callers that wire their own grants. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: MetadataTableProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    warnOnDestroy(this, removalPolicy);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
      removalPolicy,
    });
    for (const index of TABLE_SCHEMA.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }

  /** Read items and query indexes. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** Read and write items. */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }
}
