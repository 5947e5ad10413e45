import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { DatasetStore } from '../../lib/constructs/dataset-store';
import { exampleConfigInput, synthCaretaker } from '../support/stack';
import { ENV } from '../../lambdas/shared/env';

const run = promisify(execFile);

describe('DatasetStore in the stack (reliability row 15)', () => {
  const { template, stack } = synthCaretaker();
  const bucketId = stack.getLogicalId(stack.datasets.bucket.node.defaultChild as never);
  const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.key.node.defaultChild as never), 'Arn'] };

  it('is versioned, encrypted with the stack key and a bucket key, logged, EventBridge-enabled and retained', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    expect(bucket).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
          ],
        },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: stack.getLogicalId(stack.accessLogs.bucket.node.defaultChild as never) },
          LogFilePrefix: 'datasets/',
        },
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      },
    });
  });

  it('blocks every kind of public access and disables ACLs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'datasets/' }),
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('denies every request without TLS 1.2+', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('keeps noncurrent versions by default (only incomplete uploads are cleaned up)', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId] as { Properties: { LifecycleConfiguration: { Rules: unknown[] } } };
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
    ]);
  });

  it('lets the register function read only dataset objects, and only DATASET# items of the table', () => {
    const roleId = stack.getLogicalId(stack.datasetRegistry.register.role.node.defaultChild as never);
    for (const statement of [
      { Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/datasets/*']] } },
      { Action: ['s3:ListBucket', 's3:ListBucketVersions'], Condition: { StringLike: { 's3:prefix': ['datasets/*'] } } },
      {
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(stack.metadata.table.node.defaultChild as never), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DATASET#*'] } },
      },
    ]) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleId }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(statement)]) },
      });
    }
  });

  it('passes the datasets the config declares to the functions', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('register a dataset version'),
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          [ENV.datasetsCatalog]: Match.serializedJson(Match.objectLike({ churn: Match.objectLike({ minRows: 1000, models: [{ name: 'churn' }] }) })),
          [ENV.datasetsBucket]: { Ref: bucketId },
        }),
      },
    });
  });

  it('creates no new-data counter when no model sets a new-objects threshold', () => {
    expect(stack.datasetRegistry.newData).toBeUndefined();
  });
});

describe('the new-data trigger', () => {
  const input = exampleConfigInput();
  const config = parseConfig({
    ...input,
    models: [{ ...input.models[0]!, retraining: { ...input.models[0]!.retraining, newObjectsThreshold: 50 } }],
  });
  // The stack connects the retraining trigger's queue; a threshold makes the counter exist.
  const { template, stack, app, outdir } = synthCaretaker({ config });

  it('sends S3 Object Created events under watched dataset prefixes to the counter, with retries and a DLQ', () => {
    const fn = stack.datasetRegistry.newData!;
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: stack.getLogicalId(stack.datasets.bucket.node.defaultChild as never) }] },
          object: { key: [{ prefix: 'datasets/churn/' }] },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [stack.getLogicalId(fn.function.node.defaultChild as never), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      ],
    });
  });

  it('lets the counter send to the queue and touch only DATASET# items', () => {
    const roleId = stack.getLogicalId(stack.datasetRegistry.newData!.role.node.defaultChild as never);
    const queueId = stack.getLogicalId(stack.retraining.queue.node.defaultChild as never);
    for (const statement of [
      { Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      {
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DATASET#*'] } },
      },
    ]) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleId }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(statement)]) },
      });
    }
  });

  it('passes cfn-lint with the trigger wired', async () => {
    app.synth();
    const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f));
    const output = await run('cfn-lint', ['--format', 'parseable', '--', ...templates]).then(
      ({ stdout }) => stdout,
      (error: unknown) => (error as { stdout?: string }).stdout ?? String(error),
    );
    expect(output).toBe('');
  });

  it('refuses a second queue', () => {
    expect(() => stack.datasetRegistry.sendNewDataRequestsTo(sqs.Queue.fromQueueArn(stack, 'Other', 'arn:aws:sqs:us-east-1:123456789012:q.fifo'))).toThrow(
      /already connected/,
    );
  });
});

describe('DatasetStore options', () => {
  function store(props: Partial<ConstructorParameters<typeof DatasetStore>[2]> = {}) {
    const stack = new Stack(new App());
    const key = new kms.Key(stack, 'Key');
    const logs = new s3.Bucket(stack, 'Logs');
    const datasets = new DatasetStore(stack, 'Datasets', { encryptionKey: key, accessLogsBucket: logs, ...props });
    return { stack, datasets, template: Template.fromStack(stack) };
  }

  it('expires noncurrent versions after the configured days', () => {
    const { template } = store({ noncurrentVersionExpiration: Duration.days(400) });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 400 }, Status: 'Enabled' })]) },
    });
  });

  it('turns on Object Lock in governance mode', () => {
    const { template } = store({ objectLockRetention: Duration.days(30) });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } },
    });
  });

  it('rejects retention or expiry shorter than a day, naming the prop', () => {
    expect(() => store({ noncurrentVersionExpiration: Duration.hours(1) })).toThrow(/noncurrentVersionExpiration must be at least 1 day, got 1 hour/);
    expect(() => store({ objectLockRetention: Duration.hours(2) })).toThrow(/objectLockRetention must be at least 1 day/);
  });

  it('deletes with the stack only when told to', () => {
    const { template } = store({ removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ VersioningConfiguration: { Status: 'Enabled' } }) });
  });

  it('grants write to one dataset prefix, with the KMS actions uploads need, as an iam.Grant', () => {
    const stack = new Stack(new App());
    const key = new kms.Key(stack, 'Key');
    const datasets = new DatasetStore(stack, 'Datasets', { encryptionKey: key, accessLogsBucket: new s3.Bucket(stack, 'Logs') });
    const role = new iam.Role(stack, 'Uploader', { assumedBy: new iam.AccountRootPrincipal() });
    const grant = datasets.grantWrite(role, 'churn');
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    const bucketId = stack.getLogicalId(datasets.bucket.node.defaultChild as never);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/datasets/churn/*']] },
          }),
          Match.objectLike({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'] }),
        ]),
      },
    });
  });
});
