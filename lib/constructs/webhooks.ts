import { Duration, RemovalPolicy, SecretValue, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowEventBridgeDeadLetters, SecureQueue } from './secure-queue';
import type { DetailType } from '../../lambdas/events/catalog';
import type { WebhookConfig } from '../config';
import type { RegistryEvents } from './registry-events';

export interface WebhooksProps {
  /** The registry events the webhooks subscribe to (their bus and rules). */
  readonly events: RegistryEvents;
  /** One entry per webhook, as `notifications.webhooks` in the config. */
  readonly webhooks: readonly WebhookConfig[];
  /** Encrypts the dead-letter queues. */
  readonly encryptionKey: kms.IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** One configured webhook: its connection, API destination, rules and dead-letter queue. */
export interface Webhook {
  readonly connection: events.Connection;
  readonly destination: events.ApiDestination;
  readonly rules: readonly events.Rule[];
  /** Events EventBridge could not deliver after every retry (with the error as message attributes). */
  readonly deadLetterQueue: sqs.Queue;
}

const field = (path: string) => events.EventField.fromPath(path);

/**
 * The Slack incoming-webhook message of an ApprovalRequested event: what, who asked, the score,
 * the command an approver runs and the console link (an input transformer: EventBridge builds it).
 */
export function slackApprovalMessage(): events.RuleTargetInput {
  return events.RuleTargetInput.fromObject({
    text: `Caretaker: ${field('$.detail.model')} v${field('$.detail.version')} awaits approval`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            `*${field('$.detail.model')} v${field('$.detail.version')} awaits approval*\n` +
            `${field('$.detail.scoreSummary')}\n` +
            `Requested by ${field('$.detail.requestedBy')}; expires ${field('$.detail.expiresAt')}`,
        },
      },
      { type: 'section', text: { type: 'mrkdwn', text: `Approve: \`${field('$.detail.approveCommand')}\`\nConsole: ${field('$.detail.consoleUrl')}` } },
    ],
  });
}

/** Any other Caretaker event as a one-line Slack message. */
export function slackEventMessage(): events.RuleTargetInput {
  return events.RuleTargetInput.fromObject({
    text: `Caretaker ${field('$.detail-type')}: ${field('$.detail.model')} ${field('$.detail.version')} ${field('$.detail.runId')}`,
  });
}

/**
 * Webhooks for registry events: per configured webhook an EventBridge connection (API key,
 * basic or OAuth client credentials — EventBridge keeps the credentials in a Secrets Manager
 * secret of its own; the config only names the secret they are read from at deploy time), an
 * API destination with a rate limit, and rules on the Caretaker bus whose targets retry and
 * then dead-letter into a KMS-encrypted queue per webhook.
 */
export class Webhooks extends Construct {
  public readonly webhooks: Readonly<Record<string, Webhook>>;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const all: Record<string, Webhook> = {};
    for (const hook of props.webhooks) {
      if (all[hook.name]) throw new Error(`Webhooks: two webhooks are named ${hook.name}`);
      if (!Token.isUnresolved(hook.url) && !hook.url.startsWith('https://')) throw new Error(`Webhooks: ${hook.name}.url must be https, got ${hook.url}`);
      const scopeOf = new Construct(this, hook.name);
      const connection = new events.Connection(scopeOf, 'Connection', {
        description: `Caretaker webhook ${hook.name}`,
        authorization: authorizationOf(hook),
      });
      const destination = new events.ApiDestination(scopeOf, 'Destination', {
        description: `Caretaker webhook ${hook.name}`,
        connection,
        endpoint: hook.url,
        httpMethod: events.HttpMethod.POST,
        rateLimitPerSecond: hook.rateLimitPerSecond,
      });
      const deadLetterQueue = new SecureQueue(scopeOf, 'Undelivered', { encryptionKey: props.encryptionKey, removalPolicy, deadLetterOf: `webhook ${hook.name}` });

      const groups: { id: string; detailTypes: DetailType[]; input?: events.RuleTargetInput }[] = [];
      if (hook.format === 'slack') {
        const approval = hook.events.filter((t) => t === 'ApprovalRequested');
        const others = hook.events.filter((t) => t !== 'ApprovalRequested');
        if (approval.length) groups.push({ id: 'ApprovalRule', detailTypes: approval, input: slackApprovalMessage() });
        if (others.length) groups.push({ id: 'Rule', detailTypes: others, input: slackEventMessage() });
      } else {
        groups.push({ id: 'Rule', detailTypes: [...hook.events] });
      }
      const rules = groups.map((group) => {
        const rule = new events.Rule(scopeOf, group.id, {
          eventBus: props.events.eventBus,
          description: `Caretaker webhook ${hook.name}: ${group.detailTypes.join(', ')}`,
          eventPattern: {
            source: ['caretaker'],
            detailType: group.detailTypes,
            ...(hook.models ? { detail: { model: [...hook.models] } } : {}),
          },
        });
        rule.addTarget(
          new targets.ApiDestination(destination, {
            ...(group.input ? { event: group.input } : {}),
            deadLetterQueue,
            retryAttempts: hook.retryAttempts,
            maxEventAge: Duration.hours(hook.maxEventAgeHours),
          }),
        );
        return rule;
      });
      all[hook.name] = { connection, destination, rules, deadLetterQueue };
    }
    if (props.webhooks.length > 0) {
      allowEventBridgeDeadLetters(props.encryptionKey);
    }
    this.webhooks = all;
  }
}

function secretOf(reference: { readonly secretId: string; readonly jsonField?: string }): SecretValue {
  return SecretValue.secretsManager(reference.secretId, reference.jsonField ? { jsonField: reference.jsonField } : {});
}

function authorizationOf(hook: WebhookConfig): events.Authorization {
  const auth = hook.auth;
  if (!auth) {
    // EventBridge connections always carry an authorization; an endpoint without one (a Slack
    // incoming webhook, whose URL is its secret) gets a header naming the webhook, nothing secret.
    return events.Authorization.apiKey('X-Caretaker-Webhook', SecretValue.unsafePlainText(hook.name));
  }
  switch (auth.type) {
    case 'apiKey':
      return events.Authorization.apiKey(auth.header, secretOf(auth.value));
    case 'basic':
      return events.Authorization.basic(auth.username, secretOf(auth.password));
    case 'oauthClientCredentials':
      return events.Authorization.oauth({
        authorizationEndpoint: auth.tokenUrl,
        httpMethod: events.HttpMethod.POST,
        clientId: auth.clientId,
        clientSecret: secretOf(auth.clientSecret),
        bodyParameters: {
          grant_type: events.HttpParameter.fromString('client_credentials'),
          ...(auth.scope ? { scope: events.HttpParameter.fromString(auth.scope) } : {}),
        },
      });
  }
}
