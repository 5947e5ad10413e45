import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowEventBridgeDeadLetters, SecureQueue } from './secure-queue';
import type { DatasetCatalog } from '../../lambdas/datasets/catalog';
import { KEY_PREFIX } from '../../lambdas/shared/contracts';
import { ENV } from '../../lambdas/shared/env';
import { datasetPrefix } from '../../lambdas/shared/layout';
import { CaretakerFunction } from './caretaker-function';
import type { DatasetStore } from './dataset-store';

/** Lambda environments are limited to 4 KB in all; the catalog must leave room for the rest. */
const MAX_CATALOG_ENV_LENGTH = 3000;

export interface DatasetRegistryProps {
  /** Where the datasets are. */
  readonly store: DatasetStore;
  /** The metadata table; the functions may touch only its `DATASET#…` partitions. */
  readonly table: dynamodb.ITable;
  /** The stack key (encrypts the table, function logs and environments). */
  readonly encryptionKey: kms.IKey;
  /** The datasets the config declares, with their validation rules (`datasetCatalogFromConfig`). */
  readonly catalog: DatasetCatalog;
  /**
   * The retraining trigger's FIFO queue. When given, and a model sets
   * `retraining.newObjectsThreshold`, objects created under its dataset's prefix are counted
   * and each threshold's worth asks for a run there (same as calling `sendNewDataRequestsTo`).
   * @default - no "enough new data" trigger
   */
  readonly retrainingQueue?: sqs.IQueue;
}

/**
 * The dataset functions: `register` (register a version from S3 objects: hash, profile,
 * validate, record), `trainable` (the training pipeline's first state: the exact objects of a
 * version that passed, or a `DatasetNotTrainable` failure) and, once a retraining queue is
 * connected, the "enough new data" counter behind an EventBridge rule.
 */
export class DatasetRegistry extends Construct {
  /** Registers dataset versions (direct invocation; the API calls the same domain code). */
  public readonly register: CaretakerFunction;
  /** Checks a dataset version may train and returns its objects (the pipeline's first state). */
  public readonly trainable: CaretakerFunction;
  /** Counts new objects; created by `sendNewDataRequestsTo`. */
  public newData?: CaretakerFunction;
  /** The S3 "Object Created" rule feeding `newData`. */
  public newDataRule?: events.Rule;

  private readonly props: DatasetRegistryProps;
  private readonly catalogJson: string;

  constructor(scope: Construct, id: string, props: DatasetRegistryProps) {
    super(scope, id);
    this.props = props;
    this.catalogJson = JSON.stringify(props.catalog);
    if (this.catalogJson.length > MAX_CATALOG_ENV_LENGTH) {
      throw new Error(
        `DatasetRegistry catalog is ${this.catalogJson.length} characters as JSON; Lambda environments hold at most ${MAX_CATALOG_ENV_LENGTH} for it. Declare fewer or shorter dataset columns.`,
      );
    }
    const environment = {
      [ENV.tableName]: props.table.tableName,
      [ENV.datasetsBucket]: props.store.bucket.bucketName,
      [ENV.datasetsCatalog]: this.catalogJson,
    };

    this.register = new CaretakerFunction(this, 'Register', {
      entry: 'datasets/register.handler.ts',
      description: 'Caretaker: register a dataset version (stream, hash, validate, record)',
      encryptionKey: props.encryptionKey,
      environment,
      // Streams every object once; a few GB of CSV take minutes, memory stays flat.
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    props.store.grantRead(this.register.role);
    this.grantDatasetItems(this.register.role, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']);

    this.trainable = new CaretakerFunction(this, 'Trainable', {
      entry: 'datasets/trainable.handler.ts',
      description: 'Caretaker: refuse training on a dataset version that failed validation',
      encryptionKey: props.encryptionKey,
      environment,
      timeout: Duration.seconds(60),
      memorySize: 256,
    });
    props.store.grantRead(this.trainable.role);
    this.grantDatasetItems(this.trainable.role, ['dynamodb:GetItem']);
    if (props.retrainingQueue) this.sendNewDataRequestsTo(props.retrainingQueue);
  }

  /**
   * Counts objects created under the prefixes of datasets whose models set
   * `retraining.newObjectsThreshold`, and sends a `RetrainingRequest` to `queue` (FIFO:
   * group = model, deduplication id = run id) each time one model's threshold is reached.
   * Does nothing when no model sets a threshold. Call at most once.
   */
  sendNewDataRequestsTo(queue: sqs.IQueue): void {
    if (this.newData) throw new Error('DatasetRegistry: a retraining queue is already connected');
    const watched = Object.entries(this.props.catalog)
      .filter(([, rules]) => rules.models.some((m) => m.newObjectsThreshold !== undefined))
      .map(([name]) => name)
      .sort();
    if (watched.length === 0) return;

    this.newData = new CaretakerFunction(this, 'NewData', {
      entry: 'datasets/new-data.handler.ts',
      description: 'Caretaker: count new dataset objects and request retraining past the threshold',
      encryptionKey: this.props.encryptionKey,
      environment: {
        [ENV.tableName]: this.props.table.tableName,
        [ENV.datasetsCatalog]: this.catalogJson,
        [ENV.retrainingQueueUrl]: queue.queueUrl,
      },
      timeout: Duration.seconds(30),
      memorySize: 256,
    });
    this.grantDatasetItems(this.newData.role, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // Explicit instead of `queue.grantSendMessages`, which adds wildcard KMS actions.
    this.newData.role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    queue.encryptionMasterKey?.grant(this.newData.role, 'kms:GenerateDataKey', 'kms:Decrypt');

    // Events the function could not take (after retries) wait here instead of vanishing.
    const deadLetters = new SecureQueue(this, 'NewDataDeadLetters', { encryptionKey: this.props.encryptionKey, deadLetterOf: 'the new-data rule target' });
    allowEventBridgeDeadLetters(this.props.encryptionKey);

    this.newDataRule = new events.Rule(this, 'ObjectCreated', {
      description: 'Caretaker: objects created under watched dataset prefixes',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.props.store.bucket.bucketName] },
          object: { key: watched.map((name) => ({ prefix: datasetPrefix(name) })) },
        },
      },
      targets: [
        new targets.LambdaFunction(this.newData.function, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: deadLetters,
        }),
      ],
    });
  }

  /** Item actions on the table, only for partition keys `DATASET#…` (no index, no other entity). */
  private grantDatasetItems(role: iam.Role, actions: string[]): void {
    const { table, encryptionKey } = this.props;
    role.addToPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${KEY_PREFIX.dataset}*`] } },
      }),
    );
    const kmsActions = actions.some((a) => a !== 'dynamodb:GetItem' && a !== 'dynamodb:Query' && a !== 'dynamodb:BatchGetItem')
      ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']
      : ['kms:Decrypt', 'kms:DescribeKey'];
    encryptionKey.grant(role, ...kmsActions);
  }
}
