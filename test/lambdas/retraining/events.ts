/**
 * Real-shaped events, as AWS sends them (fields and formats copied from the CloudWatch and
 * Step Functions EventBridge event references).
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export interface AlarmEventOptions {
  readonly state?: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  readonly stateTimestamp?: string;
  readonly account?: string;
  readonly source?: string;
  readonly id?: string;
}

export function alarmStateChange(alarmName: string, options: AlarmEventOptions = {}) {
  const account = options.account ?? ACCOUNT;
  const state = options.state ?? 'ALARM';
  const timestamp = options.stateTimestamp ?? '2026-11-22T10:00:00.000+0000';
  return {
    version: '0',
    id: options.id ?? randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: options.source ?? 'aws.cloudwatch',
    account,
    time: '2026-11-22T10:00:01Z',
    region: REGION,
    resources: [`arn:aws:cloudwatch:${REGION}:${account}:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: {
        value: state,
        reason:
          state === 'ALARM'
            ? 'Threshold Crossed: 2 out of the last 2 datapoints [0.31 (22/11/26 09:45:00), 0.27 (22/11/26 09:30:00)] were greater than the threshold (0.2) (minimum 2 datapoints for OK -> ALARM transition).'
            : 'Threshold Crossed: 1 datapoint [0.05 (22/11/26 09:45:00)] was not greater than the threshold (0.2).',
        reasonData:
          '{"version":"1.0","queryDate":"2026-11-22T10:00:00.983+0000","startDate":"2026-11-22T09:30:00.000+0000","statistic":"Maximum","period":900,"recentDatapoints":[0.27,0.31],"threshold":0.2,"evaluatedDatapoints":[{"timestamp":"2026-11-22T09:45:00.000+0000","sampleCount":1.0,"value":0.31}]}',
        timestamp,
      },
      previousState: {
        value: state === 'ALARM' ? 'OK' : 'ALARM',
        reason: 'Threshold Crossed',
        timestamp: '2026-11-22T08:00:00.000+0000',
      },
      configuration: {
        description: 'Drift of churn: DriftScore (max PSI) above 0.2. Runbook: README.md#drift-alarm',
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: { namespace: 'Caretaker', name: 'DriftScore', dimensions: { Model: 'churn' } },
              period: 900,
              stat: 'Maximum',
            },
            returnData: true,
          },
        ],
      },
    },
  };
}

export function executionStatusChange(
  stateMachineArn: string,
  name: string,
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED',
  input: unknown,
  stopDate = Date.parse('2026-11-22T12:00:00Z'),
) {
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: new Date(stopDate).toISOString(),
    region: REGION,
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn,
      name,
      status,
      startDate: stopDate - 3_600_000,
      stopDate: status === 'RUNNING' ? null : stopDate,
      input: JSON.stringify(input),
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      error: status === 'FAILED' ? 'States.TaskFailed' : null,
      cause: status === 'FAILED' ? 'Train: ResourceLimitExceeded' : null,
    },
  };
}

/** An SQS record as the Lambda event source mapping passes it for a FIFO queue. */
export function sqsRecord(body: string, groupId: string, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1763805600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1763805600000',
      SequenceNumber: '18849496460467696128',
      MessageGroupId: groupId,
      MessageDeduplicationId: messageId,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:caretaker-retraining.fifo`,
    awsRegion: REGION,
  };
}
