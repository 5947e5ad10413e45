import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { deriveEvents } from '../../lambdas/events/derive';
import { ConfigError, parseConfig, type ConfigInput } from '../../lib/config';
import { exampleConfigInput, synthCaretaker } from '../support/stack';

const run = promisify(execFile);

const WEBHOOKS = [
  { name: 'team-slack', url: 'https://hooks.slack.com/services/T000/B000/XXXX', events: ['ApprovalRequested', 'DeploymentFailed'], format: 'slack', models: ['churn'] },
  {
    name: 'ci',
    url: 'https://ci.example.com/hooks/caretaker',
    events: ['VersionApproved', 'RolledBack'],
    auth: { type: 'oauthClientCredentials', tokenUrl: 'https://auth.example.com/oauth2/token', clientId: 'caretaker', clientSecret: { secretId: 'caretaker/ci', jsonField: 'clientSecret' }, scope: 'hooks' },
  },
  { name: 'pager', url: 'https://pager.example.com/v1/events', events: ['RunFailed'], auth: { type: 'apiKey', header: 'x-api-key', value: { secretId: 'caretaker/pager' } } },
  { name: 'legacy', url: 'https://legacy.example.com/hook', events: ['DriftDetected'], auth: { type: 'basic', username: 'caretaker', password: { secretId: 'caretaker/legacy', jsonField: 'password' } } },
];
const withWebhooks = (webhooks: unknown[]): ConfigInput => ({ ...exampleConfigInput(), notifications: { webhooks } } as ConfigInput);

describe('webhooks (notifications.webhooks)', () => {
  // Synthesis runs cdk-nag's AwsSolutions pack and throws on any unacknowledged finding.
  const { template, stack, outdir, app } = synthCaretaker({ config: parseConfig(withWebhooks(WEBHOOKS)) });
  const hook = (name: string) => stack.webhooks.webhooks[name]!;
  const resolved = (value: string) => stack.resolve(value) as unknown;

  it('gives each webhook a connection whose credentials EventBridge reads from Secrets Manager at deploy time', () => {
    template.hasResourceProperties('AWS::Events::Connection', {
      AuthorizationType: 'OAUTH_CLIENT_CREDENTIALS',
      AuthParameters: {
        OAuthParameters: {
          AuthorizationEndpoint: 'https://auth.example.com/oauth2/token',
          HttpMethod: 'POST',
          ClientParameters: { ClientID: 'caretaker', ClientSecret: '{{resolve:secretsmanager:caretaker/ci:SecretString:clientSecret::}}' },
          OAuthHttpParameters: { BodyParameters: Match.arrayWith([Match.objectLike({ Key: 'grant_type', Value: 'client_credentials' }), Match.objectLike({ Key: 'scope', Value: 'hooks' })]) },
        },
      },
    });
    template.hasResourceProperties('AWS::Events::Connection', {
      AuthorizationType: 'API_KEY',
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: '{{resolve:secretsmanager:caretaker/pager:SecretString:::}}' } },
    });
    template.hasResourceProperties('AWS::Events::Connection', {
      AuthorizationType: 'BASIC',
      AuthParameters: { BasicAuthParameters: { Username: 'caretaker', Password: '{{resolve:secretsmanager:caretaker/legacy:SecretString:password::}}' } },
    });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"ClientSecret":"[^{]/);
  });

  it('posts to an API destination with a rate limit, from a rule on the Caretaker bus, retrying then dead-lettering', () => {
    template.hasResourceProperties('AWS::Events::ApiDestination', {
      ConnectionArn: resolved(hook('ci').connection.connectionArn),
      InvocationEndpoint: 'https://ci.example.com/hooks/caretaker',
      HttpMethod: 'POST',
      InvocationRateLimitPerSecond: 10,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: { source: ['caretaker'], 'detail-type': ['VersionApproved', 'RolledBack'] },
      Targets: [
        Match.objectLike({
          Arn: resolved(hook('ci').destination.apiDestinationArn),
          DeadLetterConfig: { Arn: resolved(hook('ci').deadLetterQueue.queueArn) },
          RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
    // EventBridge may use the stack key to write to the encrypted dead-letter queues.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] })]) },
    });
  });

  it('sends Slack a ready approval message: the model, version, score, approve command and console link', () => {
    const rules = template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { 'detail-type': ['ApprovalRequested'], detail: { model: ['churn'] } } } });
    const [rule] = Object.values(rules) as { Properties: { Targets: { InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string } }[] } }[];
    const { InputPathsMap, InputTemplate } = rule!.Properties.Targets[0]!.InputTransformer;
    expect(Object.values(InputPathsMap).sort()).toEqual(
      ['$.detail.approveCommand', '$.detail.consoleUrl', '$.detail.expiresAt', '$.detail.model', '$.detail.requestedBy', '$.detail.scoreSummary', '$.detail.version'].sort(),
    );
    // The event as the publisher derives it from a version awaiting approval.
    const [requested] = deriveEvents(
      {
        eventName: 'MODIFY',
        oldImage: { pk: 'MODEL#churn', sk: 'VERSION#0000000007', model: 'churn', version: 7, status: 'REGISTERED', runId: 'run-7' },
        newImage: {
          pk: 'MODEL#churn', sk: 'VERSION#0000000007', model: 'churn', version: 7, status: 'PENDING_APPROVAL', runId: 'run-7',
          requestedBy: 'arn:aws:sts::111122223333:assumed-role/DataScientist/alice',
          comparison: { metricName: 'validation:auc', direction: 'maximize', candidate: 0.775, champion: 0.512 },
          approvalRequestedAt: '2026-12-01T00:00:00.000Z', approvalExpiresAt: '2026-12-08T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z',
        },
      },
      { consoleUrl: 'https://console.example.com/' },
    ).filter((e) => e.detailType === 'ApprovalRequested');
    expect(requested).toBeDefined();
    const event = { detail: requested!.detail } as Record<string, unknown>;
    const at = (path: string) => path.slice(2).split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], event);
    // Filled in raw, each value put in without escaping: the strictest reading of EventBridge's input
    // transformer (moto's does exactly this). The message is valid JSON only if no value the template
    // puts inside a JSON string carries a character JSON would need escaped.
    const filled = InputTemplate.replace(/<([^>]+)>/g, (_, name: string) => String(at(InputPathsMap[name]!)));
    const message = JSON.parse(filled) as { text: string; blocks: { text: { text: string } }[] };
    expect(message.text).toBe('Caretaker: churn v7 awaits approval');
    expect(message.blocks[0]!.text.text).toContain('validation:auc 0.775 (champion 0.512)');
    expect(message.blocks[0]!.text.text).toContain('Requested by arn:aws:sts::111122223333:assumed-role/DataScientist/alice; expires 2026-12-08T00:00:00.000Z');
    expect(message.blocks[1]!.text.text).toBe("Approve: `npx caretaker approve churn 7 --reason '…'`\nConsole: https://console.example.com/#/models/churn/versions/7");
    // The webhook's other events get the one-line format, on a rule of their own.
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['caretaker'], 'detail-type': ['DeploymentFailed'], detail: { model: ['churn'] } } });
  });

  it('is cdk-nag clean and cfn-lint clean', async () => {
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations: unknown[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations)).toEqual([]);
    const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f));
    const result = await run('cfn-lint', ['--format', 'parseable', '--', ...templates]).then(
      ({ stdout }) => stdout,
      (reason: unknown) => {
        const error = reason as { stdout?: string; stderr?: string };
        return `${error.stdout ?? ''}${error.stderr ?? ''}`;
      },
    );
    expect(result.trim()).toBe('');
  });

  it('accepts the README\'s webhook example as it is written', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const block = readme.split('```json').find((b) => b.trimStart().startsWith('"notifications"'))?.split('```')[0];
    expect(block).toBeDefined();
    const config = parseConfig({ ...exampleConfigInput(), ...(JSON.parse(`{${block!}}`) as object) });
    expect(config.notifications.webhooks.map((w) => [w.name, w.format, w.auth?.type])).toEqual([
      ['ml-approvals', 'slack', undefined],
      ['ci', 'event', 'oauthClientCredentials'],
      ['pager', 'event', 'apiKey'],
    ]);
  });

  it('fails config check naming the field for a bad URL, an unknown event name, an unknown model and a repeated name', () => {
    const problems = (webhooks: unknown[]) => {
      try {
        parseConfig(withWebhooks(webhooks));
      } catch (error) {
        if (error instanceof ConfigError) return error.message;
        throw error;
      }
      return '';
    };
    expect(problems([{ name: 'a', url: 'http://ci.example.com/hook', events: ['RunFailed'] }])).toContain('notifications.webhooks[0].url ("http://ci.example.com/hook"): must be an https:// URL');
    expect(problems([{ name: 'a', url: 'not a url', events: ['RunFailed'] }])).toContain('notifications.webhooks[0].url ("not a url")');
    expect(problems([{ name: 'a', url: 'https://ci.example.com/', events: ['RunFailed', 'VersionDeployed'] }])).toContain('notifications.webhooks[0].events[1] ("VersionDeployed")');
    expect(problems([{ name: 'a', url: 'https://ci.example.com/', events: ['RunFailed'], models: ['fraud'] }])).toContain('notifications.webhooks[0].models[0] ("fraud"): is not a configured model');
    expect(problems([WEBHOOKS[2], WEBHOOKS[2]])).toContain('notifications.webhooks[1].name ("pager"): duplicates notifications.webhooks[0].name');
    expect(problems([{ name: 'a', url: 'https://ci.example.com/', events: [] }])).toContain('notifications.webhooks[0].events');
  });
});
