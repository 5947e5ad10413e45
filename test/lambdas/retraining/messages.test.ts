import { describe, expect, it } from 'vitest';
import { cloudWatchTimestampToIso, intakeEventSchema, modelOfAlarm, normalize } from '../../../lambdas/retraining/messages';
import { runIdFor } from '../../../lambdas/shared/contracts';
import { alarmStateChange } from './events';

const naming = { alarmNamePrefix: 'Caretaker-Prod-', models: ['churn', 'churn-eu', 'fraud'] };
const alarm = (name: string, options?: Parameters<typeof alarmStateChange>[1]) => intakeEventSchema.parse(alarmStateChange(name, options));

describe('modelOfAlarm', () => {
  it('picks the longest configured model the alarm name starts with', () => {
    expect(modelOfAlarm('Caretaker-Prod-churn-drift', naming)).toBe('churn');
    expect(modelOfAlarm('Caretaker-Prod-churn-eu-drift', naming)).toBe('churn-eu');
    expect(modelOfAlarm('Caretaker-Prod-churnx-drift', naming)).toBeUndefined();
    expect(modelOfAlarm('Caretaker-Staging-churn-drift', naming)).toBeUndefined();
  });
});

describe('cloudWatchTimestampToIso', () => {
  it('reads CloudWatch\'s +0000 offsets', () => {
    expect(cloudWatchTimestampToIso('2026-11-22T10:00:00.123+0000')).toBe('2026-11-22T10:00:00.123Z');
    expect(cloudWatchTimestampToIso('2026-11-22T12:00:00.000+0200')).toBe('2026-11-22T10:00:00.000Z');
  });

  it('rejects what is not a timestamp', () => {
    expect(() => cloudWatchTimestampToIso('yesterday')).toThrow('not a timestamp: yesterday');
  });
});

describe('normalize', () => {
  it('turns an alarm into a request whose runId is the same for every delivery of that state change', () => {
    const first = normalize(alarm('Caretaker-Prod-churn-eu-drift', { stateTimestamp: '2026-11-22T10:00:00.000+0000' }), naming);
    const again = normalize(alarm('Caretaker-Prod-churn-eu-drift', { stateTimestamp: '2026-11-22T10:00:00.000+0000' }), naming);
    const later = normalize(alarm('Caretaker-Prod-churn-eu-drift', { stateTimestamp: '2026-11-22T11:00:00.000+0000' }), naming);
    expect(first).toEqual(again);
    expect(first).toMatchObject({
      kind: 'request',
      request: { model: 'churn-eu', runId: runIdFor('churn-eu', 'alarm', 'Caretaker-Prod-churn-eu-drift|2026-11-22T10:00:00.000+0000') },
    });
    expect(later).not.toEqual(first);
  });

  it('ignores alarms that are not in ALARM or belong to no model', () => {
    expect(normalize(alarm('Caretaker-Prod-churn-drift', { state: 'OK' }), naming)).toEqual({
      kind: 'ignored',
      why: 'alarm Caretaker-Prod-churn-drift is OK, not ALARM',
    });
    expect(normalize(alarm('Caretaker-Prod-spam-drift'), naming)).toMatchObject({ kind: 'ignored' });
  });

  it('turns a schedule tick into a request for its window', () => {
    const tick = intakeEventSchema.parse({ source: 'caretaker.schedule', model: 'fraud', scheduledTime: '2026-11-29T10:00:00Z' });
    expect(normalize(tick, naming)).toEqual({
      kind: 'request',
      request: {
        runId: runIdFor('fraud', 'schedule', '2026-11-29T10:00:00.000Z'),
        model: 'fraud',
        trigger: { kind: 'schedule', id: '2026-11-29T10:00:00.000Z', reason: 'scheduled retraining for 2026-11-29T10:00:00.000Z' },
        requestedBy: 'caretaker:schedule',
        requestedAt: '2026-11-29T10:00:00.000Z',
      },
    });
  });
});
