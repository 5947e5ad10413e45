/**
 * Scheduled rules, locally: moto stores a rule's ScheduleExpression but never fires it, so local
 * mode runs the schedules of the functions in `LOCAL_SCHEDULED_FUNCTIONS` itself, at the rate the
 * synthesized template gives (the construct's `events.Schedule.rate(...)`), with the event
 * EventBridge sends a scheduled rule's target (EventBridge User Guide, "Creating a rule that runs
 * on a schedule": `detail-type: "Scheduled Event"`, `source: "aws.events"`, the rule's ARN in
 * `resources`, `detail: {}`).
 */
import { randomUUID } from 'node:crypto';
import type { LocalFunctions } from './functions';
import type { CfnTemplate } from './template';

/**
 * Scheduled functions local mode runs (handler modules under lambdas/): the API's delivery sweep,
 * which delivers owed decisions and sends owed retrain requests, and the audit reconciler, which
 * copies audit events the stream copier missed into the write-once bucket.
 */
export const LOCAL_SCHEDULED_FUNCTIONS: readonly string[] = ['api/sweep.handler.ts', 'audit/reconcile.handler.ts'];

export interface Schedule {
  /** The rule's logical id in the template. */
  readonly ruleLogicalId: string;
  readonly ruleArn: string;
  readonly functionLogicalId: string;
  /** The function's handler module. */
  readonly entry: string;
  readonly expression: string;
  readonly periodMs: number;
}

const UNIT_MS: Readonly<Record<string, number>> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };

/**
 * The period of `rate(value unit)` in ms (EventBridge: a positive whole number, `minute` for 1 and
 * `minutes` otherwise, likewise hours and days). A cron expression, or a malformed rate, is refused.
 */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  const value = Number(match?.[1]);
  const unit = match?.[2] ?? '';
  if (!match || value < 1 || (value === 1) !== !unit.endsWith('s')) {
    throw new Error(`local mode runs rate(<n> <unit>) schedules only; got ${JSON.stringify(expression)}`);
  }
  return value * (UNIT_MS[unit] ?? 0);
}

/** The scheduled rules of the template whose Lambda targets are local functions running one of `entries`. */
export function scheduledFunctions(
  template: CfnTemplate,
  functions: Pick<LocalFunctions, 'byLogicalId'>,
  ruleArnOf: (logicalId: string) => string,
  entries: readonly string[] = LOCAL_SCHEDULED_FUNCTIONS,
): Schedule[] {
  const schedules: Schedule[] = [];
  for (const [ruleLogicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const p = resource.Properties ?? {};
    if (typeof p.ScheduleExpression !== 'string' || p.State === 'DISABLED') continue;
    for (const target of (p.Targets as { Arn?: unknown }[] | undefined) ?? []) {
      const functionLogicalId = (target.Arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
      const fn = functionLogicalId === undefined ? undefined : functions.byLogicalId.get(functionLogicalId);
      if (!fn || !entries.some((entry) => fn.entry.endsWith(entry))) continue;
      schedules.push({ ruleLogicalId, ruleArn: ruleArnOf(ruleLogicalId), functionLogicalId: fn.logicalId, entry: fn.entry, expression: p.ScheduleExpression, periodMs: ratePeriodMs(p.ScheduleExpression) });
    }
  }
  return schedules;
}

export interface RunningSchedules {
  readonly schedules: readonly Schedule[];
  /** Invokes a schedule's function now, as its timer does (waits for it). */
  tick(functionLogicalId: string): Promise<void>;
  /** Stops the timers and waits for the invocations in flight. */
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  readonly schedules: readonly Schedule[];
  readonly functions: Pick<LocalFunctions, 'invoke'>;
  readonly accountId: string;
  readonly region: string;
  readonly log: (line: string) => void;
  /** @default globalThis.setInterval */
  readonly setInterval?: (run: () => void, ms: number) => unknown;
  /** @default globalThis.clearInterval */
  readonly clearInterval?: (timer: never) => void;
}

/** The event EventBridge sends a scheduled rule's target, for one firing now. */
export function scheduledEvent(ruleArn: string, accountId: string, region: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [ruleArn],
    detail: {},
  };
}

/**
 * Fires every schedule at its period. An invocation still running when the next is due is not
 * started again (the sweep and the reconciler are not meant to run twice at once; Lambda could, harmlessly). A
 * failed invocation is logged, as the function's Errors metric would count it.
 */
export function startSchedules(options: ScheduleOptions): RunningSchedules {
  const every = options.setInterval ?? ((run: () => void, ms: number) => setInterval(run, ms));
  const clear = options.clearInterval ?? ((timer: never) => clearInterval(timer));
  const inFlight = new Map<string, Promise<void>>();
  const run = (schedule: Schedule): Promise<void> => {
    const running = inFlight.get(schedule.functionLogicalId);
    if (running) return running;
    const event = scheduledEvent(schedule.ruleArn, options.accountId, options.region);
    const invocation = Promise.resolve()
      .then(() => options.functions.invoke(schedule.functionLogicalId, event))
      .then(
        () => undefined,
        (error: unknown) => options.log(`schedule ${schedule.expression} → ${schedule.entry} failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => inFlight.delete(schedule.functionLogicalId));
    inFlight.set(schedule.functionLogicalId, invocation);
    return invocation;
  };
  const timers = options.schedules.map((schedule) => {
    const timer = every(() => void run(schedule), schedule.periodMs);
    // Node's timers keep the process alive; local mode's cleanups stop them.
    (timer as { unref?: () => void }).unref?.();
    return timer;
  });
  let stopped = false;
  return {
    schedules: options.schedules,
    tick: (functionLogicalId) => {
      const schedule = options.schedules.find((s) => s.functionLogicalId === functionLogicalId);
      if (!schedule) return Promise.reject(new Error(`no local schedule runs ${functionLogicalId}`));
      return run(schedule);
    },
    stop: async () => {
      if (!stopped) for (const timer of timers) clear(timer as never);
      stopped = true;
      await Promise.all(inFlight.values());
    },
  };
}
