import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface SecureQueueProps extends Omit<sqs.QueueProps, 'encryption' | 'encryptionMasterKey' | 'enforceSSL'> {
  /** Customer-managed key the queue's messages are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * Set when this queue is itself a dead-letter queue: what it keeps the failures of (e.g.
   * `the audit copy`). It gets no dead-letter queue of its own, which cdk-nag's AwsSolutions-SQS3
   * is acknowledged for with this description.
   * @default - not a dead-letter queue
   */
  readonly deadLetterOf?: string;
}

/**
 * An SQS queue with settings callers cannot switch off by accident, as `SecureBucket` is for
 * buckets: SSE-KMS with a customer-managed key, TLS-only access, 14 days' retention and retained
 * on stack delete unless told otherwise. A subclass of `sqs.Queue`, so a queue keeps its logical id.
 */
export class SecureQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: SecureQueueProps) {
    const { encryptionKey, deadLetterOf, ...queueProps } = props;
    super(scope, id, {
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
      ...queueProps,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: encryptionKey,
      enforceSSL: true,
    });
    if (deadLetterOf !== undefined) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: `This queue is itself the dead-letter queue of ${deadLetterOf}; nothing consumes it automatically.`,
      });
    }
  }
}

/**
 * Lets EventBridge write undeliverable events to dead-letter queues encrypted with `key` (a rule
 * target's `DeadLetterConfig`): EventBridge calls KMS as its service principal, from this account
 * only (EventBridge User Guide, "Using dead-letter queues to process undelivered events": a queue
 * encrypted with a customer managed key needs EventBridge allowed kms:Decrypt and kms:GenerateDataKey).
 */
export function allowEventBridgeDeadLetters(key: kms.IKey): void {
  key.grant(
    new iam.ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
    'kms:GenerateDataKey',
    'kms:Decrypt',
  );
}
