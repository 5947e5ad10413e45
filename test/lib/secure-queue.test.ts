/**
 * Every queue of the stack is a `SecureQueue` (issue 11: one secure-by-default construct, as
 * `SecureBucket` is for buckets): before it, the dead-letter queues were built three ways, one of
 * them SQS-managed encryption and deleted with the stack.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { exampleConfigInput, synthCaretaker } from '../support/stack';

// The example config and one webhook, so that the webhook's dead-letter queue is built too.
const webhooks = [{ name: 'ops', url: 'https://hooks.example.com/caretaker', events: ['ApprovalRequested'] }];
const { template } = synthCaretaker({ config: parseConfig({ ...exampleConfigInput(), notifications: { webhooks } }) });
const queues = Object.entries(template.findResources('AWS::SQS::Queue'));

describe('SecureQueue', () => {
  it('builds every queue with the stack key, retained on delete', () => {
    expect(queues.length).toBeGreaterThanOrEqual(6);
    for (const [id, queue] of queues) {
      const props = (queue as { Properties: Record<string, unknown>; DeletionPolicy?: string }).Properties;
      expect(props.KmsMasterKeyId, id).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Key/), 'Arn'] });
      expect(props.SqsManagedSseEnabled, id).toBeUndefined();
      expect((queue as { DeletionPolicy?: string }).DeletionPolicy, id).toBe('Retain');
    }
  });

  it('denies every request to every queue that is not over TLS', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as { Properties: { Queues: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } } }[];
    const guarded = new Set(
      policies
        .filter((p) => p.Properties.PolicyDocument.Statement.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } })))
        .flatMap((p) => p.Properties.Queues.map((q) => JSON.stringify(q))),
    );
    for (const [id] of queues) expect(guarded.has(JSON.stringify({ Ref: id })), id).toBe(true);
  });

  it('lets EventBridge use the key for its dead-letter queues from this account only, in one statement', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key')) as { Properties: { KeyPolicy: { Statement: Record<string, unknown>[] } } }[];
    const statements = keys.flatMap((k) => k.Properties.KeyPolicy.Statement).filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } });
    expect([...(statements[0]!.Action as string[])].sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    template.hasResourceProperties('AWS::KMS::Key', { KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })]) } });
  });
});
