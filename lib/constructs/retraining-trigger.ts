import { executionBoundOf } from '../pipeline-settings';
import { Aws, type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { allowEventBridgeDeadLetters, SecureQueue } from './secure-queue';
import { SCHEDULE_SOURCE } from '../../lambdas/retraining/messages';
import { RETRAINING_ALARM_KINDS } from '../../lambdas/shared/contracts';
import { ENV } from '../../lambdas/shared/env';
import { METRICS_NAMESPACE, RETRAINING_DIMENSIONS, RETRAINING_METRICS } from '../../lambdas/shared/metrics';
import type { ModelConfig } from '../config';
import { CaretakerFunction } from './caretaker-function';

/** What the trigger needs to know about one model. */
export interface RetrainingModel {
  /** Model name (`models[].name`); the FIFO message group of its requests. */
  readonly name: string;
  /** Dataset the model trains on; its newest validated version is used when a request names none. */
  readonly dataset: string;
  /** EventBridge Scheduler expression, `rate(…)` or `cron(…)`. @default - no scheduled retraining */
  readonly schedule?: string;
  /** No automatic run starts this soon after the previous run started or ended. */
  readonly cooldown: Duration;
  /** At most this many runs start in any 24 hours, counting automatic triggers. */
  readonly maxRunsPerDay: number;
  /**
   * A run's lease is considered lost after this long (its release event never arrived), so the
   * model can retrain again. Make it longer than the pipeline can run, approval wait included.
   */
  readonly leaseTimeout: Duration;
  /**
   * The SageMaker endpoint the model deploys to. When an execution ends (aborted and timed-out
   * ones included) the releaser frees this endpoint's deployment lease if that execution still
   * holds it.
   * @default - the releaser frees no deployment lease; a lease an aborted run held expires after the deploy path's bound
   */
  readonly endpointName?: string;
}

export interface RetrainingTriggerProps {
  /** The models that retrain. */
  readonly models: readonly RetrainingModel[];
  /** The training pipeline. The starter may start executions of this state machine only. */
  readonly stateMachine: sfn.IStateMachine;
  /** The metadata table (leases, requests, runs, trigger history, audit; dataset versions read). */
  readonly table: dynamodb.ITable;
  /** Encrypts the queues and the functions' logs and environment; the table's key too. */
  readonly encryptionKey: kms.IKey;
  /** Told when requests or events land in a dead-letter queue. */
  readonly alertsTopic: sns.ITopic;
  /**
   * Alarms named `<alarmNamePrefix><model>-…` in ALARM request a retraining run of `<model>`,
   * e.g. `Caretaker-<stackName>-`.
   */
  readonly alarmNamePrefix: string;
  /** What happens to the queues' messages on stack delete. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The starter's per-model settings as its environment carries them: `[dataset, cooldownHours, maxRunsPerDay, leaseSeconds]`. */
export type PolicyTuple = readonly [string, number, number, number];

const STARTER_TIMEOUT = Duration.seconds(60);
/** Lambda allows 4 KB of environment in total. */
const MAX_POLICIES_ENV_LENGTH = 3072;

/**
 * The event pattern of the alarm rule: CloudWatch alarm state changes to ALARM, from this
 * account, of the drift and quality alarms (`<prefix><model>-drift|quality`) of the given models.
 * Endpoint-health alarms of the same models do not match. Exported so tests evaluate
 * the exact pattern the rule deploys with an EventBridge matcher.
 */
export function alarmEventPattern(alarmNamePrefix: string, models: readonly string[], account: string) {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    account: [account],
    detail: {
      alarmName: models.flatMap((model) => RETRAINING_ALARM_KINDS.map((kind) => `${alarmNamePrefix}${model}-${kind}`)),
      state: { value: ['ALARM'] },
    },
  };
}

/** The event pattern of pipeline executions that ended. */
export function executionEndedPattern(stateMachineArn: string) {
  return {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: { stateMachineArn: [stateMachineArn], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
  };
}

/**
 * Exactly-once retraining: every trigger — drift and quality alarms, schedules, the dataset
 * store's "enough new data", `POST /models/{model}/retrain` — becomes a `RetrainingRequest` on
 * one SQS FIFO queue (group = model, deduplication id = runId), and a starter Lambda turns each
 * into at most one pipeline execution: per-model lease (one run in flight), cooldown, daily
 * cap, execution name = runId. Alarms and schedules reach the queue through a small intake
 * function that computes their runId. Pipeline executions that end release the lease.
 * Undeliverable messages and events land in dead-letter queues that alarm to the alerts topic.
 */
export class RetrainingTrigger extends Construct {
  /** Retraining requests (FIFO; MessageGroupId = model, MessageDeduplicationId = runId). */
  public readonly queue: sqs.Queue;
  /** Requests the starter failed on `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Scheduler and EventBridge deliveries that failed (standard queue: they do not accept FIFO). */
  public readonly undeliveredEvents: sqs.Queue;
  /** Alarm state changes and schedule ticks → `RetrainingRequest`s on the queue. */
  public readonly intake: CaretakerFunction;
  /** Queue → at most one pipeline execution per request (claim, lease, cooldown, cap). */
  public readonly starter: CaretakerFunction;
  /** Pipeline execution ended → the model's lease is released. */
  public readonly releaser: CaretakerFunction;
  /** Our models' alarms going to ALARM → intake. */
  public readonly alarmRule: events.Rule;
  /** Scheduled retraining, per model that has `schedule`. */
  public readonly schedules: Readonly<Record<string, scheduler.Schedule>>;
  /** The pipeline's executions reaching SUCCEEDED, FAILED, TIMED_OUT or ABORTED → releaser. */
  public readonly executionEndedRule: events.Rule;

  constructor(scope: Construct, id: string, props: RetrainingTriggerProps) {
    super(scope, id);
    validate(this, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = props.encryptionKey;

    this.deadLetterQueue = new SecureQueue(this, 'DeadLetters', { fifo: true, encryptionKey: key, removalPolicy });
    this.queue = new SecureQueue(this, 'Requests', {
      fifo: true,
      // Senders set the deduplication id to the runId — never a hash of the body, which
      // differs between two deliveries of the same trigger (requestedAt, event id).
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryptionKey: key,
      visibilityTimeout: Duration.seconds(STARTER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
      removalPolicy,
    });
    this.undeliveredEvents = new SecureQueue(this, 'UndeliveredEvents', {
      encryptionKey: key,
      removalPolicy,
      deadLetterOf: 'the EventBridge and Scheduler targets (their DeadLetterConfig, which cdk-nag recognizes only for SQS redrive)',
    });

    // --- starter
    const policies = Object.fromEntries(
      props.models.map((m): [string, PolicyTuple] => [m.name, [m.dataset, m.cooldown.toHours({ integral: false }), m.maxRunsPerDay, m.leaseTimeout.toSeconds()]]),
    );
    const policiesJson = JSON.stringify(policies);
    if (policiesJson.length > MAX_POLICIES_ENV_LENGTH) {
      throw invalid(this, `models: ${props.models.length} models do not fit the starter's environment (${policiesJson.length} > ${MAX_POLICIES_ENV_LENGTH} chars)`);
    }
    this.starter = new CaretakerFunction(this, 'Starter', {
      entry: 'retraining/starter.handler.ts',
      description: 'Caretaker: turns retraining requests into at most one pipeline run per model (lease, cooldown, daily cap)',
      encryptionKey: key,
      timeout: STARTER_TIMEOUT,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.stateMachineArn]: props.stateMachine.stateMachineArn,
        [ENV.retrainingPolicies]: policiesJson,
        // A claim outlives the attempt that holds it, so only a crashed attempt's claim expires.
        [ENV.claimSeconds]: String(STARTER_TIMEOUT.toSeconds() * 2),
      },
      removalPolicy,
    });
    this.starter.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
    grantTableItems(this.starter.role, props, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']);
    props.stateMachine.grantStartExecution(this.starter.role);

    // --- releaser: pipeline executions that end give the lease back (and the endpoint's deployment lease)
    const endpoints = props.models.flatMap((m) => (m.endpointName === undefined ? [] : [[m.name, m.endpointName] as const]));
    this.releaser = new CaretakerFunction(this, 'Releaser', {
      entry: 'retraining/release.handler.ts',
      description: 'Caretaker: releases a model\'s retraining lease when its pipeline execution ends',
      encryptionKey: key,
      environment: {
        [ENV.tableName]: props.table.tableName,
        ...(endpoints.length > 0 ? { [ENV.deploymentEndpoints]: JSON.stringify(Object.fromEntries(endpoints)) } : {}),
      },
      removalPolicy,
    });
    // A version an aborted/timed-out execution left DEPLOYING is closed from DescribeEndpoint
    // (lambdas/retraining/reconcile-version.ts): the status index (Query on gsi1) finds it, the
    // move and its audit event are one transaction, and only the models' endpoints are described.
    grantTableItems(this.releaser.role, props, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    if (endpoints.length > 0) {
      this.releaser.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/gsi1`] }));
      this.releaser.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['sagemaker:DescribeEndpoint'],
          // SageMaker ARNs carry the endpoint name in lower case.
          resources: endpoints.map(([, name]) => Stack.of(this).formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: name.toLowerCase() })),
        }),
      );
    }
    this.executionEndedRule = new events.Rule(this, 'ExecutionEnded', {
      description: 'Caretaker: a training pipeline execution ended; release its model\'s retraining lease',
      eventPattern: toCdkPattern(executionEndedPattern(props.stateMachine.stateMachineArn)),
      targets: [
        new eventTargets.LambdaFunction(this.releaser.function, {
          deadLetterQueue: this.undeliveredEvents,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    // --- intake: alarms and schedules → requests. EventBridge and Scheduler SQS targets need
    // content-based deduplication on FIFO queues, which would key on bodies that differ
    // between two deliveries of one trigger; the intake sends with deduplication id = runId.
    this.intake = new CaretakerFunction(this, 'Intake', {
      entry: 'retraining/intake.handler.ts',
      description: 'Caretaker: turns alarm state changes and schedule ticks into retraining requests',
      encryptionKey: key,
      environment: {
        [ENV.retrainingQueueUrl]: this.queue.queueUrl,
        [ENV.alarmNamePrefix]: props.alarmNamePrefix,
        [ENV.modelNames]: props.models.map((m) => m.name).join(','),
      },
      removalPolicy,
    });
    this.grantSendRequests(this.intake.role);
    for (const fn of [this.intake, this.releaser]) {
      // Asynchronous invocations that keep failing are kept, not dropped.
      fn.function.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: this.undeliveredDestination() });
    }

    const deliveryRetries = { deadLetterQueue: this.undeliveredEvents, retryAttempts: 185, maxEventAge: Duration.hours(24) };
    allowEventBridgeDeadLetters(key);
    this.alarmRule = new events.Rule(this, 'AlarmRule', {
      description: `Caretaker: ${props.alarmNamePrefix}<model>-* alarms in ALARM request a retraining run of <model>`,
      eventPattern: toCdkPattern(alarmEventPattern(props.alarmNamePrefix, props.models.map((m) => m.name), Aws.ACCOUNT_ID)),
      targets: [new eventTargets.LambdaFunction(this.intake.function, deliveryRetries)],
    });

    const scheduled = props.models.filter((m) => m.schedule !== undefined);
    const schedulerRole = scheduled.length === 0 ? undefined : this.schedulerRole();
    this.schedules = Object.fromEntries(
      scheduled.map((model) => [
        model.name,
        new scheduler.Schedule(this, `Schedule-${model.name}`, {
          description: `Caretaker: scheduled retraining of ${model.name}`,
          schedule: scheduler.ScheduleExpression.expression(model.schedule ?? ''),
          target: new schedulerTargets.LambdaInvoke(this.intake.function, {
            role: schedulerRole,
            input: scheduler.ScheduleTargetInput.fromObject({
              source: SCHEDULE_SOURCE,
              model: model.name,
              scheduledTime: scheduler.ContextAttribute.scheduledTime,
            }),
            ...deliveryRetries,
          }),
        }),
      ]),
    );

    // --- dead letters alarm to the alerts topic
    // CloudWatch encrypts the notifications with the topic's key: the stack grants it for exactly
    // its notifying alarms (allowAlarmsToPublish).
    for (const [alarmId, queue, what] of [
      ['DeadLettersAlarm', this.deadLetterQueue, 'retraining requests the starter could not process'],
      ['UndeliveredEventsAlarm', this.undeliveredEvents, 'alarm, schedule or execution-ended events that could not be delivered'],
    ] as const) {
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: `Caretaker: ${what} (see README "Retraining trigger")`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new actions.SnsAction(props.alertsTopic));
    }
  }

  /**
   * Allow `grantee` to send retraining requests (the API's `POST /models/{model}/retrain`, the
   * dataset store's new-data check). Messages: a `RetrainingRequest` body, MessageGroupId = model,
   * MessageDeduplicationId = runId.
   */
  grantSendRequests(grantee: iam.IGrantable): iam.Grant {
    return grantSend(this.queue, grantee);
  }

  /** Retraining runs started, per model (`RetrainingStarted`, dimension Model). */
  metricStarted(model: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(RETRAINING_METRICS.started, { [RETRAINING_DIMENSIONS.model]: model }, props);
  }

  /** Triggers suppressed, per model and reason (`RetrainingSuppressed`, dimensions Model and Reason). */
  metricSuppressed(model: string, reason: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(RETRAINING_METRICS.suppressed, { [RETRAINING_DIMENSIONS.model]: model, [RETRAINING_DIMENSIONS.reason]: reason }, props);
  }

  /** One of the starter's metrics (`lambdas/shared/metrics.ts`), summed; as aws-lambda's `FunctionBase.metric`. */
  metric(metricName: string, dimensionsMap: Record<string, string>, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap, statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** The role Scheduler invokes the intake with; it also writes undeliverable ticks to the encrypted dead-letter queue. */
  private schedulerRole(): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'SchedulerRole', {
      description: 'Caretaker: EventBridge Scheduler invokes the retraining intake',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    this.undeliveredEvents.encryptionMasterKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    const intakeId = Stack.of(this).getLogicalId(this.intake.function.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${intakeId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the intake function and its versions/aliases (Lambda\'s grantInvoke shape); no other function.',
    });
    return role;
  }

  /** Lambda on-failure destination: the undelivered-events queue, with a narrow send grant. */
  private undeliveredDestination(): lambda.IDestination {
    const queue = this.undeliveredEvents;
    return {
      bind: (_scope, fn) => {
        grantSend(queue, fn);
        return { destination: queue.queueArn };
      },
    };
  }
}

/** sqs:SendMessage and the key operations it needs: no wildcard actions (unlike `grantSendMessages`). */
function grantSend(queue: sqs.IQueue, grantee: iam.IGrantable): iam.Grant {
  const send = iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
  const key = queue.encryptionMasterKey;
  return key ? send.combine(key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt')) : send;
}

function toCdkPattern(pattern: { source: string[]; 'detail-type': string[]; account?: string[]; detail: Record<string, unknown> }): events.EventPattern {
  return {
    source: pattern.source,
    detailType: pattern['detail-type'],
    ...(pattern.account ? { account: pattern.account } : {}),
    detail: pattern.detail,
  };
}

/** Item-level actions on the table itself (no index, no scan) and the key that encrypts it. */
function grantTableItems(role: iam.IRole, props: RetrainingTriggerProps, dynamoActions: string[]): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: dynamoActions, resources: [props.table.tableArn] }));
  (props.table.encryptionKey ?? props.encryptionKey).grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
}

const invalid = (scope: Construct, message: string) => new Error(`RetrainingTrigger ${scope.node.path}: ${message}`);

function validate(scope: Construct, props: RetrainingTriggerProps): void {
  const seen = new Set<string>();
  for (const [index, model] of props.models.entries()) {
    const where = `models[${index}]`;
    if (seen.has(model.name)) throw invalid(scope, `${where}.name: "${model.name}" is listed twice`);
    seen.add(model.name);
    if (!Number.isInteger(model.maxRunsPerDay) || model.maxRunsPerDay < 1) {
      throw invalid(scope, `${where}.maxRunsPerDay: must be a positive integer, got ${model.maxRunsPerDay}`);
    }
    if (!model.leaseTimeout.isUnresolved() && model.leaseTimeout.toSeconds() < 3600) {
      throw invalid(scope, `${where}.leaseTimeout: must be at least 1 hour, got ${model.leaseTimeout.toHumanString()}`);
    }
    if (model.schedule !== undefined && !Token.isUnresolved(model.schedule) && !/^(rate|cron)\(.+\)$/.test(model.schedule)) {
      throw invalid(scope, `${where}.schedule: must be rate(…) or cron(…), got "${model.schedule}"`);
    }
  }
  if (!Token.isUnresolved(props.alarmNamePrefix) && !/^[A-Za-z0-9_.-]+-$/.test(props.alarmNamePrefix)) {
    throw invalid(scope, `alarmNamePrefix: must end with "-", got "${props.alarmNamePrefix}"`);
  }
}

/** Margin on top of the pipeline's own limits before a lease counts as lost. */
const LEASE_MARGIN = Duration.hours(6);

/**
 * A model's retraining settings from its config. The lease outlasts any execution: it is the
 * pipeline's execution bound (lib/execution-bound.ts: every Task at its worst, every training
 * attempt and fallback, the approval timeout, the longest endpoint polling) — or the state
 * machine's top-level TimeoutSeconds when given, which stops any execution before then — plus a margin.
 */
export function retrainingModelFromConfig(model: ModelConfig, executionTimeout?: Duration): RetrainingModel {
  const pipelineSeconds = Math.max(executionBoundOf(model).seconds, executionTimeout?.toSeconds() ?? 0);
  return {
    name: model.name,
    dataset: model.dataset.name,
    ...(model.retraining.schedule === undefined ? {} : { schedule: model.retraining.schedule }),
    cooldown: Duration.minutes(Math.round(model.retraining.cooldownHours * 60)),
    maxRunsPerDay: model.retraining.maxRunsPerDay,
    leaseTimeout: Duration.seconds(pipelineSeconds + LEASE_MARGIN.toSeconds()),
  };
}
