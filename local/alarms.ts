/**
 * CloudWatch alarm evaluation, simulated: local mode has no CloudWatch metric pipeline (the
 * analyzer's EMF lines are not extracted), so the value the analyzer published is handed
 * to `record`, and each `AWS::CloudWatch::Alarm` of the template on that metric is evaluated
 * as CloudWatch does (threshold, comparison, EvaluationPeriods/DatapointsToAlarm over the
 * latest periods, missing data not breaching). A state change is put on the event bus as
 * "CloudWatch Alarm State Change", where the stack's own rules route it.
 *
 * With a CloudWatch client (moto), the alarms also exist there (PutMetricAlarm) and each state
 * change is written with SetAlarmState, so DescribeAlarms — what the API's drift view reads —
 * reports the simulated state. moto does not evaluate alarms itself.
 */
import { type CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { CfnTemplate } from './template';

export type AlarmState = 'OK' | 'ALARM';

interface AlarmDefinition {
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly threshold: number;
  readonly comparison: string;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly period: number;
  readonly statistic: string;
}

export interface AlarmTransition {
  readonly alarmName: string;
  readonly from: AlarmState;
  readonly to: AlarmState;
  readonly reason: string;
  /** CloudWatch's format: `2026-11-22T10:00:00.000+0000`. */
  readonly timestamp: string;
  /** The event as put on the bus. */
  readonly event: { Source: string; DetailType: string; Detail: string; Resources: string[] };
}

function breaches(value: number, alarm: AlarmDefinition): boolean {
  switch (alarm.comparison) {
    case 'GreaterThanThreshold':
      return value > alarm.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= alarm.threshold;
    case 'LessThanThreshold':
      return value < alarm.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= alarm.threshold;
    default:
      throw new Error(`alarm ${alarm.name}: comparison ${alarm.comparison} is not simulated`);
  }
}

export class LocalAlarms {
  private readonly alarms: AlarmDefinition[] = [];
  private readonly datapoints = new Map<string, number[]>();
  private readonly states = new Map<string, AlarmState>();

  constructor(
    private readonly options: {
      readonly template: CfnTemplate;
      readonly resolve: (value: unknown) => unknown;
      readonly events: EventBridgeClient;
      readonly accountId: string;
      readonly region: string;
      /** Mirror the alarms and their simulated states into this CloudWatch (moto). @default - not mirrored */
      readonly cloudWatch?: CloudWatchClient;
    },
  ) {
    for (const [, resource] of Object.entries(options.template.Resources)) {
      if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
      const p = resource.Properties ?? {};
      if (typeof p.AlarmName !== 'string' || typeof p.MetricName !== 'string') continue; // math or unnamed alarms: not simulated
      let dimensions: Record<string, string>;
      try {
        dimensions = Object.fromEntries(((options.resolve(p.Dimensions ?? []) as { Name: string; Value: string }[])).map((d) => [d.Name, d.Value]));
      } catch {
        continue;
      }
      const evaluationPeriods = Number(p.EvaluationPeriods ?? 1);
      this.alarms.push({
        name: p.AlarmName,
        namespace: String(p.Namespace),
        metricName: p.MetricName,
        dimensions,
        threshold: Number(p.Threshold),
        comparison: String(p.ComparisonOperator),
        evaluationPeriods,
        datapointsToAlarm: Number(p.DatapointsToAlarm ?? evaluationPeriods),
        period: Number(p.Period ?? 60),
        statistic: typeof p.Statistic === 'string' ? p.Statistic : 'Maximum',
      });
    }
  }

  /** Creates the simulated alarms in the mirror CloudWatch, each in the state evaluation starts from (OK). */
  async mirror(): Promise<void> {
    const cloudWatch = this.options.cloudWatch;
    if (!cloudWatch) return;
    for (const alarm of this.alarms) {
      await cloudWatch.send(
        new PutMetricAlarmCommand({
          AlarmName: alarm.name,
          Namespace: alarm.namespace,
          MetricName: alarm.metricName,
          Dimensions: Object.entries(alarm.dimensions).map(([Name, Value]) => ({ Name, Value })),
          Threshold: alarm.threshold,
          ComparisonOperator: alarm.comparison as PutMetricAlarmCommand['input']['ComparisonOperator'],
          EvaluationPeriods: alarm.evaluationPeriods,
          DatapointsToAlarm: alarm.datapointsToAlarm,
          Period: alarm.period,
          Statistic: alarm.statistic as PutMetricAlarmCommand['input']['Statistic'],
        }),
      );
      await cloudWatch.send(new SetAlarmStateCommand({ AlarmName: alarm.name, StateValue: 'OK', StateReason: 'local mode: alarm evaluation simulated, no breaching datapoints yet' }));
    }
  }

  /** The alarms on a metric, as the template defines them. */
  on(namespace: string, metricName: string, dimensions: Readonly<Record<string, string>>): readonly AlarmDefinition[] {
    return this.alarms.filter(
      (a) => a.namespace === namespace && a.metricName === metricName && Object.entries(a.dimensions).every(([k, v]) => dimensions[k] === v) && Object.keys(a.dimensions).length === Object.keys(dimensions).length,
    );
  }

  state(alarmName: string): AlarmState {
    return this.states.get(alarmName) ?? 'OK';
  }

  /** One period's value of a metric: evaluates its alarms; returns the state changes (already on the bus). */
  async record(namespace: string, metricName: string, dimensions: Readonly<Record<string, string>>, value: number, at = new Date()): Promise<AlarmTransition[]> {
    const transitions: AlarmTransition[] = [];
    for (const alarm of this.on(namespace, metricName, dimensions)) {
      const points = [...(this.datapoints.get(alarm.name) ?? []), value].slice(-alarm.evaluationPeriods);
      this.datapoints.set(alarm.name, points);
      const breaching = points.filter((point) => breaches(point, alarm)).length;
      const to: AlarmState = breaching >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
      const from = this.state(alarm.name);
      if (to === from) continue;
      this.states.set(alarm.name, to);
      const reason = `Threshold Crossed: ${breaching} out of the last ${points.length} datapoints [${points.map((p) => p.toFixed(4)).join(', ')}] ${to === 'ALARM' ? 'were' : 'were not'} ${alarm.comparison.replace('Threshold', '')} the threshold (${alarm.threshold}).`;
      await this.options.cloudWatch?.send(new SetAlarmStateCommand({ AlarmName: alarm.name, StateValue: to, StateReason: reason }));
      transitions.push(await this.publish(alarm.name, from, to, reason, at));
    }
    return transitions;
  }

  /** Puts a state-change event on the bus (also to show what a redelivered event does). */
  async publish(alarmName: string, from: AlarmState, to: AlarmState, reason: string, at: Date): Promise<AlarmTransition> {
    const timestamp = at.toISOString().replace('Z', '+0000');
    const arn = `arn:aws:cloudwatch:${this.options.region}:${this.options.accountId}:alarm:${alarmName}`;
    const event = {
      Source: 'aws.cloudwatch',
      DetailType: 'CloudWatch Alarm State Change',
      Resources: [arn],
      Detail: JSON.stringify({ alarmName, state: { value: to, reason, timestamp }, previousState: { value: from, timestamp } }),
    };
    await this.options.events.send(new PutEventsCommand({ Entries: [event] }));
    return { alarmName, from, to, reason, timestamp, event };
  }

  /** Puts an already-published event on the bus again, as EventBridge's at-least-once delivery may. */
  async redeliver(transition: AlarmTransition): Promise<void> {
    await this.options.events.send(new PutEventsCommand({ Entries: [transition.event] }));
  }
}
