/**
 * Simulated CloudWatch alarm evaluation: the template's alarm definition decides, and only a
 * state change goes on the bus, shaped as CloudWatch's "Alarm State Change" event.
 */
import type { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { alarmStateChangeSchema } from '../../lambdas/retraining/messages';
import { LocalAlarms } from '../../local/alarms';
import type { CfnTemplate } from '../../local/template';

const template: CfnTemplate = {
  Resources: {
    Drift: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: 'Caretaker-Caretaker-churn-drift',
        Namespace: 'Caretaker',
        MetricName: 'DriftScore',
        Dimensions: [{ Name: 'Model', Value: 'churn' }],
        Threshold: 0.2,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 2,
      },
    },
  },
};

function alarms() {
  const sent: PutEventsCommand[] = [];
  const events = { send: (command: PutEventsCommand) => (sent.push(command), Promise.resolve({})) } as unknown as EventBridgeClient;
  return { sent, local: new LocalAlarms({ template, resolve: (v) => v, events, accountId: '123456789012', region: 'us-east-1' }) };
}

describe('LocalAlarms', () => {
  it('goes to ALARM only after EvaluationPeriods breaching values, and publishes that one change', async () => {
    const { sent, local } = alarms();
    const dims = { Model: 'churn' };
    expect(await local.record('Caretaker', 'DriftScore', dims, 0.5)).toEqual([]);
    expect(local.state('Caretaker-Caretaker-churn-drift')).toBe('OK');
    const [change] = await local.record('Caretaker', 'DriftScore', dims, 0.6);
    expect(change).toMatchObject({ alarmName: 'Caretaker-Caretaker-churn-drift', from: 'OK', to: 'ALARM' });
    expect(await local.record('Caretaker', 'DriftScore', dims, 0.7)).toEqual([]);
    expect(sent).toHaveLength(1);

    const entry = sent[0]!.input.Entries![0]!;
    expect(entry).toMatchObject({ Source: 'aws.cloudwatch', DetailType: 'CloudWatch Alarm State Change' });
    // What EventBridge delivers is what the retraining intake parses.
    const delivered = { id: 'e', account: '123456789012', time: '2026-11-22T10:00:00Z', source: entry.Source, 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail!) as unknown };
    expect(alarmStateChangeSchema.parse(delivered).detail.state.value).toBe('ALARM');
  });

  it('does not alarm on one breaching value between normal ones, and returns to OK', async () => {
    const { local } = alarms();
    const dims = { Model: 'churn' };
    await local.record('Caretaker', 'DriftScore', dims, 0.5);
    await local.record('Caretaker', 'DriftScore', dims, 0.1);
    await local.record('Caretaker', 'DriftScore', dims, 0.5);
    expect(local.state('Caretaker-Caretaker-churn-drift')).toBe('OK');
    await local.record('Caretaker', 'DriftScore', dims, 0.5);
    expect(local.state('Caretaker-Caretaker-churn-drift')).toBe('ALARM');
    const [back] = await local.record('Caretaker', 'DriftScore', dims, 0.1);
    expect(back).toMatchObject({ from: 'ALARM', to: 'OK' });
  });

  it('ignores metrics of other models', async () => {
    const { sent, local } = alarms();
    await local.record('Caretaker', 'DriftScore', { Model: 'other' }, 0.9);
    await local.record('Caretaker', 'DriftScore', { Model: 'other' }, 0.9);
    expect(sent).toEqual([]);
  });
});
