import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SecureQueue } from './secure-queue';
import { tableStreamSource } from './stream-source';
import { DETAIL_TYPES, EVENT_SOURCE, eventJsonSchema, type DetailType } from '../../lambdas/events/catalog';
import { CHANGE_KEY_PREFIXES } from '../../lambdas/events/derive';
import { ENV } from '../../lambdas/shared/env';
import { CaretakerFunction } from './caretaker-function';

export interface RegistryEventsProps {
  /** The metadata table; its stream (NEW_AND_OLD_IMAGES) is the outbox events are derived from. */
  readonly table: dynamodb.ITable;
  /** Encrypts the publisher's environment and logs, the dead-letter queue, and a bus the construct creates. */
  readonly encryptionKey: kms.IKey;
  /** Bus the events go to. @default - the account's default event bus */
  readonly eventBus?: events.IEventBus;
  /** Base URL of the Caretaker console, linked from ApprovalRequested. @default - no link */
  readonly consoleUrl?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Caretaker's registry events on EventBridge (`source: caretaker`), published from the metadata
 * table's stream — a transactional outbox: what changed is already written once, with its old
 * and new image, so no handler writes an event a second time. One publisher Lambda reads the
 * stream in order (batch item failures, bisect on error, retries, then a dead-letter queue);
 * every detail type has a JSON Schema (draft 4) in an EventBridge schema registry, generated
 * from the same zod definition the publisher validates against.
 */
export class RegistryEvents extends Construct {
  public readonly eventBus: events.IEventBus;
  public readonly publisher: CaretakerFunction;
  /** Stream batches that failed every retry (their shard and sequence range, as Lambda reports them). */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly schemaRegistry: eventschemas.CfnRegistry;
  public readonly schemas: Readonly<Record<DetailType, eventschemas.CfnSchema>>;

  constructor(scope: Construct, id: string, props: RegistryEventsProps) {
    super(scope, id);
    if (!props.table.tableStreamArn) throw new Error('RegistryEvents: table must have a stream (events are derived from it)');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');

    this.publisher = new CaretakerFunction(this, 'Publisher', {
      entry: 'events/publisher.handler.ts',
      description: 'Caretaker: publishes registry events from the metadata table stream to EventBridge',
      encryptionKey: props.encryptionKey,
      removalPolicy,
      environment: {
        [ENV.eventBusName]: this.eventBus.eventBusName,
        ...(props.consoleUrl ? { [ENV.consoleUrl]: props.consoleUrl } : {}),
      },
    });
    this.eventBus.grantPutEventsTo(this.publisher.role);

    this.deadLetterQueue = new SecureQueue(this, 'PublishFailures', { encryptionKey: props.encryptionKey, removalPolicy, deadLetterOf: 'the events publisher' });

    this.publisher.function.addEventSource(
      // Only the items events are derived from.
      tableStreamSource(props.table, this.deadLetterQueue, {
        eventName: ['INSERT', 'MODIFY'],
        dynamodb: { Keys: { pk: { S: CHANGE_KEY_PREFIXES.map((prefix) => ({ prefix })) } } },
      }),
    );
    Validations.of(this.publisher.role).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Sending a failed batch\'s record to the KMS-encrypted dead-letter queue needs GenerateDataKey on the stack key (that key only).' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Part of CDK\'s encrypt grant on the stack key for the dead-letter queue; scoped to that one key.' },
    );

    this.schemaRegistry = new eventschemas.CfnRegistry(this, 'Schemas', {
      description: 'Caretaker registry events (source caretaker): one schema per detail type',
    });
    const schemas = {} as Record<DetailType, eventschemas.CfnSchema>;
    for (const detailType of DETAIL_TYPES) {
      schemas[detailType] = new eventschemas.CfnSchema(this, `Schema${detailType}`, {
        registryName: this.schemaRegistry.attrRegistryName,
        schemaName: `${EVENT_SOURCE}@${detailType}`,
        type: 'JSONSchemaDraft4',
        content: JSON.stringify(eventJsonSchema(detailType)),
        description: `Caretaker ${detailType} event`,
      });
    }
    this.schemas = schemas;
  }

  /** A rule on the bus for these Caretaker detail types (all of them when empty), optionally of some models only. */
  rule(id: string, options: { readonly detailTypes?: readonly DetailType[]; readonly models?: readonly string[]; readonly description?: string } = {}): events.Rule {
    const detailTypes = options.detailTypes?.length ? options.detailTypes : undefined;
    return new events.Rule(this, id, {
      eventBus: this.eventBus,
      description: options.description ?? 'Caretaker registry events',
      eventPattern: {
        source: [EVENT_SOURCE],
        ...(detailTypes ? { detailType: [...detailTypes] } : {}),
        ...(options.models?.length ? { detail: { model: [...options.models] } } : {}),
      },
    });
  }
}
