import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/**
 * CloudWatch encrypts an alarm's notification to a KMS-encrypted SNS topic with the topic's key,
 * calling KMS as `cloudwatch.amazonaws.com` with the alarm's ARN as `aws:SourceArn` (SNS Developer
 * Guide, "Enable compatibility between event sources from AWS services and encrypted topics").
 * The key lets it do so for exactly the stack's alarms that notify someone: one statement listing
 * their ARNs.
 *
 * An ARN taken from the alarm (GetAtt) would be a cycle: key policy → alarm → topic → key. So the
 * ARNs are written from names known at synth: an alarm given no name is named here, under
 * `prefix`, after its construct path (`<prefix>Pipeline-FailedExecutionsAlarm`). Call this once,
 * after every construct of the stack has made its alarms.
 */
export function allowAlarmsToPublish(stack: Stack, key: kms.IKey, prefix: string): string[] {
  const names: string[] = [];
  for (const construct of stack.node.findAll()) {
    if (!(construct instanceof cloudwatch.CfnAlarm)) continue;
    // The L2 alarm's action lists are lazy: resolved, an alarm with none is empty or undefined.
    const actions = [construct.alarmActions, construct.okActions, construct.insufficientDataActions].flatMap((list) => (stack.resolve(list) as unknown[] | undefined) ?? []);
    if (actions.length === 0) continue;
    // An L2 alarm given no name holds a lazy token that resolves to nothing.
    let name = construct.alarmName;
    if (name === undefined || stack.resolve(name) === undefined) {
      name = `${prefix}${construct.node.path.split('/').slice(1, -1).join('-')}`.slice(0, 255);
      construct.alarmName = name;
    }
    names.push(name);
  }
  if (names.length === 0) return names;
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisStackPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnEquals: { 'aws:SourceArn': names.map((name) => `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${name}`) },
      },
    }),
  );
  return names;
}
