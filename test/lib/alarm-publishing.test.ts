import { describe, expect, it } from 'vitest';
import { flat, synthCaretaker } from '../support/stack';

type Json = Record<string, unknown>;

describe('CloudWatch may use the stack key for exactly the stack\'s notifying alarms', () => {
  const { template } = synthCaretaker();
  const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Json }> }).Resources;
  const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
  const notifying = alarms.filter(([, r]) => ((r.Properties?.AlarmActions as unknown[] | undefined) ?? []).length > 0);
  const statements = Object.values(resources)
    .filter((r) => r.Type === 'AWS::KMS::Key')
    .flatMap((r) => ((r.Properties?.KeyPolicy as { Statement: Json[] }).Statement))
    .filter((s) => (s.Principal as { Service?: string } | undefined)?.Service === 'cloudwatch.amazonaws.com');

  it('names every alarm that notifies a topic under the stack\'s prefix', () => {
    expect(notifying.length).toBeGreaterThanOrEqual(10);
    for (const [id, alarm] of notifying) expect(flat(alarm.Properties?.AlarmName), id).toMatch(/^Caretaker-Caretaker-/);
    const names = notifying.map(([, a]) => flat(a.Properties?.AlarmName));
    expect(new Set(names).size).toBe(names.length);
  });

  it('grants in one statement, conditioned on the account and the exact ARN of each of those alarms (no wildcard)', () => {
    expect(statements).toHaveLength(1);
    const [statement] = statements as [Json];
    expect(statement.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    const condition = statement.Condition as { StringEquals: Json; ArnEquals: { 'aws:SourceArn': unknown[] } };
    expect(condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    const arns = condition.ArnEquals['aws:SourceArn'].map(flat);
    expect(arns.join(' ')).not.toContain('*');
    const expected = notifying.map(([, a]) => `arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:${flat(a.Properties?.AlarmName)}`);
    expect(arns.sort()).toEqual(expected.sort());
  });

  it('leaves alarms that notify nobody (the blue/green rollback alarms) out', () => {
    const silent = alarms.filter(([, r]) => ((r.Properties?.AlarmActions as unknown[] | undefined) ?? []).length === 0);
    expect(silent.length).toBeGreaterThan(0);
    const arns = JSON.stringify(statements);
    for (const [, alarm] of silent) if (alarm.Properties?.AlarmName !== undefined) expect(arns).not.toContain(flat(alarm.Properties.AlarmName));
  });
});
