import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { exampleConfigInput, synthCaretaker } from '../support/stack';

describe('CaretakerStack', () => {
  const { template, stack } = synthCaretaker();

  it('encrypts the metadata table with the stack key and keeps it on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [stack.getLogicalId(stack.key.node.defaultChild as never), 'Arn'] },
        },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    });
  });

  it('keys the table and its indexes as the repositories expect', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
  });

  it('rotates the key and retains it', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ EnableKeyRotation: true }),
    });
  });

  it('encrypts both topics with the stack key', () => {
    const keyRef = { 'Fn::GetAtt': [stack.getLogicalId(stack.key.node.defaultChild as never), 'Arn'] };
    for (const displayName of ['Caretaker approval requests', 'Caretaker alerts']) {
      template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: displayName, KmsMasterKeyId: keyRef });
    }
  });

  it('denies publishing to the topics without TLS', () => {
    const policies = template.findResources('AWS::SNS::TopicPolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      },
    });
    const protectedTopics = Object.values(policies).flatMap((p) => (p as { Properties: { Topics: unknown[] } }).Properties.Topics);
    expect(protectedTopics).toHaveLength(2);
  });

  it('subscribes the configured addresses to the right topic', () => {
    const input = exampleConfigInput();
    const config = parseConfig({ ...input, notifications: { alertEmails: ['ops@example.com'] } });
    const { template: withEmail, stack: s } = synthCaretaker({ config });
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: s.getLogicalId(s.notifications.alerts.node.defaultChild as never) },
    });
  });

  it('keeps data by default and warns at synth when told to destroy it', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('DESTROY'));
    const config = parseConfig({ ...exampleConfigInput(), removalPolicy: 'destroy' });
    const { stack: throwaway, template: throwawayTemplate } = synthCaretaker({ config });
    Annotations.fromStack(throwaway).hasWarning('*', Match.stringLikeRegexp('removalPolicy is DESTROY'));
    throwawayTemplate.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('is environment-agnostic, so it synthesizes with no account', () => {
    expect(stack.account).toMatch(/^\$\{Token/);
    expect(stack.region).toMatch(/^\$\{Token/);
  });

  it('keeps artifacts in a versioned, KMS-encrypted, TLS-only, private, access-logged bucket it retains', () => {
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.key.node.defaultChild as never), 'Arn'] };
    const artifactsId = stack.getLogicalId(stack.artifacts.bucket.node.defaultChild as never);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: stack.getLogicalId(stack.accessLogs.bucket.node.defaultChild as never) },
          LogFilePrefix: 'artifacts/',
        },
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: artifactsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });
});
