/**
 * How alarms and schedules become `RetrainingRequest`s.
 *
 * The retraining queue carries `RetrainingRequest`s only, each sent with
 * MessageGroupId = model and MessageDeduplicationId = runId. The API and the dataset store
 * compute `runId` themselves (`runIdFor`). EventBridge rules and Scheduler cannot — and their
 * SQS targets only deliver to FIFO queues with content-based deduplication, which would key on
 * bodies that differ between deliveries — so the intake function normalizes their events here:
 * - a "CloudWatch Alarm State Change" to ALARM → `runIdFor(model, 'alarm', alarmName|stateTimestamp)`
 * - a schedule tick `{ source: 'caretaker.schedule', model, scheduledTime }` → `runIdFor(model, 'schedule', window)`
 *
 * Normalization is deterministic: every delivery of the same alarm state change or schedule
 * window yields the same `runId`, which is what makes duplicates detectable downstream.
 */
import * as z from 'zod';
import { runIdFor, type RetrainingRequest } from '../shared/contracts';

/** The fields of a CloudWatch alarm state change the starter relies on (others pass through). */
export const alarmStateChangeSchema = z.object({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  id: z.string(),
  account: z.string(),
  time: z.string(),
  detail: z.object({
    alarmName: z.string().min(1),
    state: z.object({
      value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
      reason: z.string().default(''),
      /** CloudWatch's format: `2026-11-22T10:00:00.000+0000`. */
      timestamp: z.string().min(1),
    }),
  }),
});
export type AlarmStateChange = z.infer<typeof alarmStateChangeSchema>;

export const SCHEDULE_SOURCE = 'caretaker.schedule';

export const scheduleTickSchema = z.strictObject({
  source: z.literal(SCHEDULE_SOURCE),
  model: z.string().min(1),
  /** EventBridge Scheduler's `<aws.scheduler.scheduled-time>`: the window this run is for. */
  scheduledTime: z.iso.datetime({ offset: true }),
});
export type ScheduleTick = z.infer<typeof scheduleTickSchema>;

export const intakeEventSchema = z.union([alarmStateChangeSchema, scheduleTickSchema]);
export type IntakeEvent = z.infer<typeof intakeEventSchema>;

/** What the starter knows about the stack's alarms and models, to map an alarm to its model. */
export interface AlarmNaming {
  /** `Caretaker-<stackName>-`: every per-model alarm is named `<prefix><model>-<kind>`. */
  readonly alarmNamePrefix: string;
  /** Configured model names. */
  readonly models: readonly string[];
}

/**
 * The model an alarm belongs to: the longest configured model whose `<prefix><model>-` starts
 * the alarm name (so `churn-eu-drift` belongs to `churn-eu`, not `churn`), or undefined.
 */
export function modelOfAlarm(alarmName: string, naming: AlarmNaming): string | undefined {
  let best: string | undefined;
  for (const model of naming.models) {
    if (alarmName.startsWith(`${naming.alarmNamePrefix}${model}-`) && (best === undefined || model.length > best.length)) {
      best = model;
    }
  }
  return best;
}

/** `2026-11-22T10:00:00.000+0000` → `2026-11-22T10:00:00.000Z` (UTC ISO, as records store times). */
export function cloudWatchTimestampToIso(timestamp: string): string {
  const withColon = timestamp.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const date = new Date(withColon);
  if (Number.isNaN(date.getTime())) throw new TypeError(`not a timestamp: ${timestamp}`);
  return date.toISOString();
}

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export type Normalized =
  | { readonly kind: 'request'; readonly request: RetrainingRequest }
  | { readonly kind: 'ignored'; readonly why: string };

/** Turns an alarm or schedule event into the request it stands for, or says why it is not one. */
export function normalize(message: IntakeEvent, naming: AlarmNaming): Normalized {
  if (message.source === SCHEDULE_SOURCE) {
    if (!naming.models.includes(message.model)) return { kind: 'ignored', why: `schedule for unknown model ${message.model}` };
    const requestedAt = new Date(message.scheduledTime).toISOString();
    return {
      kind: 'request',
      request: {
        runId: runIdFor(message.model, 'schedule', requestedAt),
        model: message.model,
        trigger: { kind: 'schedule', id: requestedAt, reason: `scheduled retraining for ${requestedAt}` },
        requestedBy: 'caretaker:schedule',
        requestedAt,
      },
    };
  }

  const { alarmName, state } = message.detail;
  if (state.value !== 'ALARM') return { kind: 'ignored', why: `alarm ${alarmName} is ${state.value}, not ALARM` };
  const model = modelOfAlarm(alarmName, naming);
  if (model === undefined) return { kind: 'ignored', why: `alarm ${alarmName} belongs to no configured model` };
  const triggerId = `${alarmName}|${state.timestamp}`;
  return {
    kind: 'request',
    request: {
      runId: runIdFor(model, 'alarm', triggerId),
      model,
      trigger: { kind: 'alarm', id: truncate(triggerId, 512), reason: truncate(state.reason || `${alarmName} in ALARM`, 1024) },
      requestedBy: 'caretaker:alarm',
      requestedAt: cloudWatchTimestampToIso(state.timestamp),
    },
  };
}
