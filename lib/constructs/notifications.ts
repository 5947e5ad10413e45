import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  /**
   * Customer-managed key that encrypts both topics. Publishers (CloudWatch alarms,
   * EventBridge) are granted use of it by the constructs that wire them.
   */
  readonly encryptionKey: kms.IKey;

  /**
   * Addresses subscribed to approval requests.
   * @default - no subscriptions; wire your own (chat bot, ticketing)
   */
  readonly approvalEmails?: readonly string[];

  /**
   * Addresses subscribed to failures and alarms.
   * @default - no subscriptions
   */
  readonly alertEmails?: readonly string[];
}

/**
 * The two SNS topics people are told through: `approvals` (a version waits for a decision)
 * and `alerts` (a run failed, an alarm fired). Both KMS-encrypted and SSL-only.
 */
export class Notifications extends Construct {
  /** Approval requests: model, version, metrics against the champion, how to approve. */
  public readonly approvals: sns.Topic;
  /** Pipeline failures, rollbacks and alarms. */
  public readonly alerts: sns.Topic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.approvals = this.topic('Approvals', 'Caretaker approval requests', props.encryptionKey, props.approvalEmails);
    this.alerts = this.topic('Alerts', 'Caretaker alerts', props.encryptionKey, props.alertEmails);
  }

  private topic(id: string, displayName: string, masterKey: kms.IKey, emails: readonly string[] = []): sns.Topic {
    const topic = new sns.Topic(this, id, { displayName, masterKey, enforceSSL: true });
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  /** Allow `grantee` to publish approval requests. */
  grantPublishApprovals(grantee: iam.IGrantable): iam.Grant {
    return this.approvals.grantPublish(grantee);
  }

  /** Allow `grantee` to publish alerts. */
  grantPublishAlerts(grantee: iam.IGrantable): iam.Grant {
    return this.alerts.grantPublish(grantee);
  }
}
