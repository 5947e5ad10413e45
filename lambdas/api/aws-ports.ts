/**
 * AWS-backed ports of the registry API: Step Functions task callbacks, the retraining FIFO
 * queue, the deployment starter and the ground-truth store.
 */
import { randomUUID } from 'node:crypto';
import { type CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, ListMetricsCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, type HistoryEvent, SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { approvalOutput, rejectionFailure, type ApprovalOutput, type RejectionCause } from '../shared/approval';
import { retrainingRequestSchema } from '../shared/contracts';
import { Unavailable } from '../shared/errors';
import { artifactPrefixes, driftReportKeys } from '../shared/layout';
import { DRIFT_DIMENSIONS, DRIFT_METRICS, METRICS_NAMESPACE } from '../shared/metrics';
import {
  type AlarmStatus,
  type DriftMetrics,
  type EvaluationReports,
  type MetricSeries,
  type MetricsReader,
  type ApprovalCallbacks,
  type DeploymentStarter,
  type DriftReports,
  type ExecutionHistory,
  type ExecutionHistoryEvent,
  type GroundTruthStore,
  type RetrainingQueue,
  type RollbackRequest,
  TaskTokenGone,
} from './ports';

/** Errors that mean the waiting task is gone for good: it timed out or its execution ended. */
const DEAD_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

async function deliver(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (error instanceof Error && DEAD_TOKEN_ERRORS.has(error.name)) throw new TaskTokenGone(error.name);
    throw error;
  }
}

export class SfnApprovalCallbacks implements ApprovalCallbacks {
  constructor(private readonly client: SFNClient) {}

  /** `SendTaskSuccess` with exactly the pipeline's `approvalOutputSchema` output. */
  approve(taskToken: string, output: ApprovalOutput): Promise<void> {
    return deliver(() => this.client.send(new SendTaskSuccessCommand({ taskToken, output: approvalOutput(output) })));
  }

  /** `SendTaskFailure` with `APPROVAL_REJECTED_ERROR` and the JSON `rejectionCauseSchema` cause. */
  reject(taskToken: string, cause: RejectionCause): Promise<void> {
    const failure = rejectionFailure(cause);
    return deliver(() => this.client.send(new SendTaskFailureCommand({ taskToken, error: failure.error, cause: failure.cause })));
  }
}

export class SqsRetrainingQueue implements RetrainingQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string | undefined,
  ) {}

  assertWired(): void {
    if (!this.queueUrl) throw new Unavailable('retraining is not wired into this deployment (no retraining queue); nothing was changed');
  }

  async send(request: Parameters<RetrainingQueue['send']>[0]): Promise<void> {
    this.assertWired();
    const message = retrainingRequestSchema.parse(request);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: message.model,
        MessageDeduplicationId: message.runId,
      }),
    );
  }
}

/**
 * Starts the pipeline's deploy path: the deployment state machine, with the rollback request
 * as input (`{ kind: 'rollback', model, version, requestedBy, reason, requestedAt, deploymentId }`)
 * and the deployment id as execution name, so a repeated start is a no-op.
 */
export class SfnDeploymentStarter implements DeploymentStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string | undefined,
  ) {}

  async startRollback(request: RollbackRequest): Promise<{ deploymentId: string }> {
    if (!this.stateMachineArn) throw new Unavailable('rollback is not wired into this deployment (no deployment state machine)');
    await this.client.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        name: request.deploymentId,
        input: JSON.stringify({ kind: 'rollback', ...request }),
      }),
    ).catch((error: unknown) => {
      // StartExecution with a name already used answers ExecutionAlreadyExists unless the execution
      // is running with the same input (AWS Step Functions API Reference, StartExecution): either
      // way this request's execution exists.
      if (!(error instanceof Error && error.name === 'ExecutionAlreadyExists')) throw error;
    });
    return { deploymentId: request.deploymentId };
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `ground-truth/<model>/<yyyy>/<mm>/<dd>/<hh>/<uuid>.jsonl` in the artifacts bucket. */
export function groundTruthKey(model: string, at: Date, id: string): string {
  return `${artifactPrefixes.groundTruth(model)}${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/${pad(at.getUTCHours())}/${id}.jsonl`;
}

export class S3GroundTruthStore implements GroundTruthStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly newId: () => string = randomUUID,
  ) {}

  async put(model: string, records: readonly { inferenceId: string; label: unknown }[], at: Date, id?: string): Promise<{ key: string }> {
    const key = groundTruthKey(model, at, id ?? this.newId());
    const body = records.map((r) => JSON.stringify({ inferenceId: r.inferenceId, label: r.label })).join('\n') + '\n';
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/x-ndjson', IfNoneMatch: '*' }),
      );
    } catch (error) {
      // S3 conditional writes: If-None-Match on an existing key answers 412 PreconditionFailed
      // (Amazon S3 User Guide, "Conditional writes"). With a content id, that object is this one.
      if (!(id !== undefined && error instanceof Error && error.name === 'PreconditionFailed')) throw error;
    }
    return { key };
  }
}

/** Features one drift view shows at most (GetMetricData takes 500 queries; 3 per feature). */
export const MAX_DRIFT_FEATURES = 150;

const EMPTY_SERIES: MetricSeries = { timestamps: [], values: [] };

/**
 * The drift analyzer's metrics from CloudWatch: ListMetrics finds the model's features (the
 * `Feature` dimension of `PSI`), one GetMetricData call (paged by NextToken) reads every series
 * at the requested period, and DescribeAlarms reads the drift alarm. GetMetricData returns
 * newest first by default (ScanBy TimestampDescending); asked for TimestampAscending, oldest first.
 */
export class CloudWatchMetricsReader implements MetricsReader {
  constructor(private readonly client: CloudWatchClient) {}

  async driftMetrics(model: string, range: { from: Date; to: Date; periodSeconds: number }): Promise<DriftMetrics> {
    const features = await this.features(model);
    const queries: { id: string; metric: string; feature?: string }[] = [
      { id: 'm0', metric: DRIFT_METRICS.driftScore },
      { id: 'm1', metric: DRIFT_METRICS.modelQuality },
      { id: 'm2', metric: DRIFT_METRICS.capturedRecords },
    ];
    for (const feature of features) {
      for (const metric of [DRIFT_METRICS.psi, DRIFT_METRICS.jsDistance, DRIFT_METRICS.ksStatistic]) {
        queries.push({ id: `m${queries.length}`, metric, feature });
      }
    }
    const series = new Map<string, { timestamps: string[]; values: number[] }>();
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new GetMetricDataCommand({
          StartTime: range.from,
          EndTime: range.to,
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
          MetricDataQueries: queries.map(
            (q): MetricDataQuery => ({
              Id: q.id,
              ReturnData: true,
              MetricStat: {
                Metric: {
                  Namespace: METRICS_NAMESPACE,
                  MetricName: q.metric,
                  Dimensions: [{ Name: DRIFT_DIMENSIONS.model, Value: model }, ...(q.feature !== undefined ? [{ Name: DRIFT_DIMENSIONS.feature, Value: q.feature }] : [])],
                },
                Period: range.periodSeconds,
                Stat: q.metric === DRIFT_METRICS.capturedRecords ? 'Sum' : 'Maximum',
              },
            }),
          ),
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        if (result.Id === undefined) continue;
        const found = series.get(result.Id) ?? { timestamps: [], values: [] };
        (result.Timestamps ?? []).forEach((at, index) => {
          const value = result.Values?.[index];
          if (value === undefined) return;
          found.timestamps.push(at.toISOString());
          found.values.push(value);
        });
        series.set(result.Id, found);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    // ScanBy TimestampAscending: "returns the oldest data first and paginates in that order"
    // (GetMetricData, CloudWatch API Reference; moto's get_metric_data honours it too), so the
    // pages, appended in turn, are each series oldest first.
    const of = (id: string): MetricSeries => series.get(id) ?? EMPTY_SERIES;
    return {
      driftScore: of('m0'),
      modelQuality: of('m1'),
      capturedRecords: of('m2'),
      features: features.map((feature, index) => ({
        feature,
        psi: of(`m${3 + index * 3}`),
        jsDistance: of(`m${4 + index * 3}`),
        ksStatistic: of(`m${5 + index * 3}`),
      })),
    };
  }

  private async features(model: string): Promise<string[]> {
    const found = new Set<string>();
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListMetricsCommand({ Namespace: METRICS_NAMESPACE, MetricName: DRIFT_METRICS.psi, Dimensions: [{ Name: DRIFT_DIMENSIONS.model, Value: model }], NextToken: nextToken }),
      );
      for (const metric of page.Metrics ?? []) {
        const feature = metric.Dimensions?.find((d) => d.Name === DRIFT_DIMENSIONS.feature)?.Value;
        if (feature !== undefined) found.add(feature);
      }
      nextToken = page.NextToken;
    } while (nextToken && found.size < MAX_DRIFT_FEATURES);
    return [...found].sort().slice(0, MAX_DRIFT_FEATURES);
  }

  async alarm(name: string): Promise<AlarmStatus | undefined> {
    const { MetricAlarms } = await this.client.send(new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm'] }));
    const alarm = MetricAlarms?.[0];
    if (!alarm?.StateValue) return undefined;
    return { name, state: alarm.StateValue, reason: alarm.StateReason, updatedAt: alarm.StateUpdatedTimestamp?.toISOString() };
  }
}

/** JSON objects (evaluation reports, drift reports) by `s3://bucket/key` URI; a missing object is `undefined`, not an error. */
export class S3EvaluationReports implements EvaluationReports {
  constructor(private readonly client: S3Client) {}

  async read(s3Uri: string): Promise<unknown> {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(s3Uri);
    if (!match?.[1] || !match[2]) return undefined;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
      const text = await object.Body?.transformToString();
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }
}

/**
 * The drift analyzer's reports in the artifacts bucket. S3 lists keys in ascending order only
 * (ListObjectsV2), so newest first walks the months backwards, one listing of
 * `reports/<model>/<yyyymm>` (with Delimiter `/`: one common prefix per window) per month, from
 * the month after now down to the oldest window's, which the first ascending listing names (none: nothing to walk).
 */
export class S3DriftReports implements DriftReports {
  private readonly objects: S3EvaluationReports;
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly now: () => Date,
  ) {
    this.objects = new S3EvaluationReports(client);
  }

  async listWindows(model: string, page: { readonly limit: number; readonly before?: string | undefined }): Promise<{ windows: string[]; more: boolean }> {
    const { limit, before } = page;
    const oldest = Number((await this.windows(model, '', 10))[0]?.slice(0, 6) ?? 1e9);
    const found: string[] = [];
    // Months as yyyymm numbers (202601 - 89 = 202512), from the month after now (or the token's) back to the oldest window's.
    for (let month = Number((before ?? driftReportKeys.windowId(new Date(this.now().getTime() + 31 * 86_400_000))).slice(0, 6)); month >= oldest && found.length <= limit; month -= month % 100 === 1 ? 89 : 1) {
      found.push(...(await this.windows(model, String(month))).filter((id) => before === undefined || id < before).reverse());
    }
    return { windows: found.slice(0, limit), more: found.length > limit };
  }

  /** Window ids under `reports/<model>/<start>`, ascending; with `maxKeys`, of the first listing page only. */
  private async windows(model: string, start: string, maxKeys?: number, token?: string): Promise<string[]> {
    const prefix = artifactPrefixes.reports(model);
    const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix + start, Delimiter: '/', ContinuationToken: token, MaxKeys: maxKeys }));
    const ids = (listed.CommonPrefixes ?? []).map((common) => common.Prefix?.slice(prefix.length, -1) ?? '').filter((id) => driftReportKeys.windowIdPattern.test(id));
    return maxKeys === undefined && listed.NextContinuationToken ? [...ids, ...(await this.windows(model, start, maxKeys, listed.NextContinuationToken))] : ids;
  }

  read(model: string, windowId: string): Promise<unknown> {
    return this.objects.read(`s3://${this.bucket}/${driftReportKeys.files(model, windowId).json}`);
  }
}

/** The failure members of a HistoryEvent (AWS Step Functions API Reference, HistoryEvent), each `{ error?, cause? }`. */
const FAILURE_DETAILS = [
  'taskFailedEventDetails',
  'taskTimedOutEventDetails',
  'taskStartFailedEventDetails',
  'taskSubmitFailedEventDetails',
  'lambdaFunctionFailedEventDetails',
  'lambdaFunctionTimedOutEventDetails',
  'lambdaFunctionStartFailedEventDetails',
  'lambdaFunctionScheduleFailedEventDetails',
  'activityFailedEventDetails',
  'activityTimedOutEventDetails',
  'activityScheduleFailedEventDetails',
  'executionFailedEventDetails',
  'executionTimedOutEventDetails',
  'executionAbortedEventDetails',
] as const satisfies readonly (keyof HistoryEvent)[];

/** Copies only the timeline's fields of an event: no input, output or parameters leave this function. */
function historyEventView(event: HistoryEvent): ExecutionHistoryEvent {
  const name = event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;
  const failure = FAILURE_DETAILS.map((key) => event[key]).find((details) => details !== undefined);
  return {
    id: event.id ?? 0,
    type: event.type ?? 'Unknown',
    timestamp: event.timestamp ?? new Date(0),
    ...(name !== undefined ? { stateName: name } : {}),
    ...(failure?.error !== undefined ? { error: failure.error } : {}),
    ...(failure?.cause !== undefined ? { cause: failure.cause } : {}),
  };
}

/**
 * GetExecutionHistory with `includeExecutionData: false` (no state inputs and outputs: the
 * pipeline's carry the approval task token), 1000 events a page (the API's maximum), at most
 * `maxPages` pages so the request stays within API Gateway's 29 s.
 */
export class SfnExecutionHistory implements ExecutionHistory {
  constructor(
    private readonly client: SFNClient,
    private readonly maxPages = 10,
    private readonly pageSize = 1000,
  ) {}

  async read(executionArn: string): Promise<{ events: ExecutionHistoryEvent[]; truncated: boolean } | undefined> {
    const events: ExecutionHistoryEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < this.maxPages; page += 1) {
      let answer;
      try {
        answer = await this.client.send(new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false, maxResults: this.pageSize, nextToken }));
      } catch (error) {
        if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return undefined;
        throw error;
      }
      events.push(...(answer.events ?? []).map(historyEventView));
      nextToken = answer.nextToken;
      if (!nextToken) return { events, truncated: false };
    }
    return { events, truncated: true };
  }
}
