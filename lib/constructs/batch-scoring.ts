import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement, type CfnResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { artifactPrefixes, batchOutputs } from '../../lambdas/shared/layout';
import type { BatchDeployment, ModelConfig } from '../config';
import { taskWorstSeconds, type AslDefinition } from '../execution-bound';
import { BOUND_NAMES, renderModelSettings } from '../pipeline-settings';
import { grantTransformJobs } from './training-pipeline';

/** The ASL file this construct deploys. */
export const BATCH_SCORING_DEFINITION = fileURLToPath(new URL('../../state-machines/batch-scoring.asl.json', import.meta.url));

export function loadBatchScoringDefinition(): AslDefinition {
  return JSON.parse(readFileSync(BATCH_SCORING_DEFINITION, 'utf8')) as AslDefinition;
}

/** What a scoring execution is started with (the scheduler's input); the ASL reads these fields. */
export interface ScoringInput {
  readonly model: string;
  /** What started the run: tagged on the transform job and named in a failure alert. */
  readonly trigger: 'schedule';
  /** The analyzer's settings for the run's drift window (the model's `drift` config). */
  readonly drift: { readonly psiThreshold: number; readonly minRecords: number };
}

export interface BatchScoringProps {
  /** The models from the config; those with `deployment.mode: "batch"` get a schedule each. At least one must be batch. */
  readonly models: readonly ModelConfig[];
  /** The pipeline's steps function: StartScoring and RecordScoring (lambdas/pipeline/steps/scoring.ts). */
  readonly steps: lambda.IFunction;
  /** The drift analyzer, invoked after each successful run with the job's input as the window. */
  readonly analyzer: lambda.IFunction;
  /** The role SageMaker runs the transform jobs as (the pipeline's SageMaker role, which reads the input and writes the outputs). */
  readonly sagemakerRole: iam.IRole;
  /** Each model's settings parameter (the pipeline's), read by the first state. */
  readonly settings: Readonly<Record<string, ssm.IStringParameter>>;
  /** The prefix of those parameters' names, `<prefix>/<model>`. */
  readonly settingsParameterPrefix: string;
  /** Holds each batch model's input and output prefixes. */
  readonly artifactsBucket: s3.IBucket;
  /** Encrypts the outputs, the transform volumes, the logs and the schedules. */
  readonly encryptionKey: kms.IKey;
  /** A failed run alerts here (the run's own message, and the failed-runs alarm). */
  readonly alertsTopic: sns.ITopic;
  /** Starts every SageMaker name; the transform-job grants are scoped to it (the pipeline's). */
  readonly resourcePrefix: string;
  /** @default logs.RetentionDays.SIX_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group on stack delete. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

type BatchModel = ModelConfig & { readonly deployment: BatchDeployment };

/**
 * Scheduled scoring of batch models: one Step Functions workflow (`state-machines/batch-scoring.asl.json`)
 * started per model by EventBridge Scheduler at `deployment.schedule`. Each run scores the input
 * prefix with the LIVE version's model in a Batch Transform job (`.sync`) writing into a folder of
 * its own, moves `<outputPrefix>latest.json` to it only when the job completed, and gives the job's
 * input to the drift analyzer as its window. A failed run alerts (its own message with SageMaker's
 * reason, and an alarm on failed or timed-out runs) and leaves the pointer and earlier outputs as they were.
 */
export class BatchScoring extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The role the state machine runs as. */
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** Role EventBridge Scheduler assumes to start runs. */
  public readonly schedulerRole: iam.Role;
  /** The schedule of each batch model. */
  public readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** Failed or timed-out scoring runs; notifies the alerts topic. */
  public readonly failedRunsAlarm: cloudwatch.Alarm;
  /** The state machine's top-level TimeoutSeconds: the longest run of any batch model, every Task at its worst. */
  public readonly executionTimeout: Duration;

  constructor(scope: Construct, id: string, props: BatchScoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const models = props.models.filter((m): m is BatchModel => m.deployment.mode === 'batch');
    if (models.length === 0) throw new Error('BatchScoring: props.models has no model with deployment.mode "batch"');
    for (const model of models) {
      if (model.deployment.onNewData) {
        throw new Error(`BatchScoring: models[${model.name}].deployment.onNewData is not deployed by this release (scoring runs on deployment.schedule only); remove it or set it false`);
      }
      if (model.deployment.schedule === undefined) throw new Error(`BatchScoring: models[${model.name}].deployment.schedule is required`);
      if (!props.settings[model.name]) throw new Error(`BatchScoring: props.settings has no parameter for model ${model.name}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const sagemakerArn = (type: string) => stack.formatArn({ service: 'sagemaker', resource: type, resourceName: `${props.resourcePrefix}-*` });

    const definition = loadBatchScoringDefinition();
    this.executionTimeout = Duration.seconds(Math.max(...models.map((model) => scoringBound(definition, model, props.resourcePrefix))));

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Caretaker batch scoring state machine',
    });
    this.grantStates(props, sagemakerArn);
    this.grantScoringSteps(props, models);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.SIX_MONTHS,
      encryptionKey: props.encryptionKey,
      removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify({ ...definition, TimeoutSeconds: this.executionTimeout.toSeconds() })),
      definitionSubstitutions: {
        StepsFunctionArn: props.steps.functionArn,
        DriftAnalyzerArn: props.analyzer.functionArn,
        SettingsParameterPrefix: props.settingsParameterPrefix,
        KmsKeyArn: props.encryptionKey.keyArn,
        AlertsTopicArn: props.alertsTopic.topicArn,
      },
      role: this.role,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'Caretaker batch scoring: LIVE version → Batch Transform over the input prefix → latest.json → drift window',
    });
    // As the pipeline's: CDK's dependency on the whole role construct duplicates the GetAtt.
    (this.stateMachine.node.defaultChild as CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Caretaker: EventBridge Scheduler starts batch scoring runs',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    const schedules = new Map<string, scheduler.Schedule>();
    for (const model of models) {
      const { schedule } = model.deployment;
      if (schedule === undefined) continue;
      const input: ScoringInput = { model: model.name, trigger: 'schedule', drift: { psiThreshold: model.drift.psiThreshold, minRecords: model.drift.minRecords } };
      schedules.set(
        model.name,
        new scheduler.Schedule(this, `Schedule-${model.name}`, {
          description: `Caretaker: batch scoring of ${model.name} at ${model.deployment.schedule}`,
          schedule: scheduler.ScheduleExpression.expression(schedule),
          key: props.encryptionKey,
          target: new targets.StepFunctionsStartExecution(this.stateMachine, {
            input: scheduler.ScheduleTargetInput.fromObject(input),
            role: this.schedulerRole,
            retryAttempts: 3,
            maxEventAge: Duration.hours(1),
          }),
        }),
      );
    }
    this.schedules = schedules;

    const period = Duration.minutes(5);
    this.failedRunsAlarm = new cloudwatch.Alarm(this, 'FailedRunsAlarm', {
      alarmDescription: 'A Caretaker batch scoring run failed or timed out. Its alert names the model and SageMaker\'s reason; latest.json and earlier outputs were left as they were.',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
          timedOut: this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
        },
        period,
        label: 'failed or timed-out scoring runs',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The stack lets CloudWatch use the key for this alarm's notifications (allowAlarmsToPublish).
    this.failedRunsAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alertsTopic));

    this.acknowledge(props);
  }

  /** What each state needs; the ASL generates no IAM. */
  private grantStates(props: BatchScoringProps, sagemakerArn: (type: string) => string): void {
    const add = (statement: iam.PolicyStatementProps) => this.role.addToPolicy(new iam.PolicyStatement(statement));
    // LoadSettings.
    for (const parameter of Object.values(props.settings)) parameter.grantRead(this.role);
    // StartScoring, RecordScoring; AnalyzeDrift.
    props.steps.grantInvoke(this.role);
    props.analyzer.grantInvoke(this.role);
    // ScoreBatch (.sync).
    grantTransformJobs(this.role, sagemakerArn);
    add({ actions: ['iam:PassRole'], resources: [props.sagemakerRole.roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } } });
    // SageMaker encrypts the outputs and the volumes with the key on the caller's behalf.
    add({ actions: ['kms:CreateGrant', 'kms:DescribeKey'], resources: [props.encryptionKey.keyArn], conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } });
    // PublishScoringFailure (the topic is encrypted with the key).
    add({ actions: ['sns:Publish'], resources: [props.alertsTopic.topicArn] });
    add({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.encryptionKey.keyArn] });
  }

  /** RecordScoring reads and moves each model's `latest.json`, and nothing else of the outputs. */
  private grantScoringSteps(props: BatchScoringProps, models: readonly BatchModel[]): void {
    const keys = models.map((model) => batchOutputs.latest(model.deployment.outputPrefix ?? artifactPrefixes.batchOutput(model.name)));
    props.steps.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: keys.map((key) => props.artifactsBucket.arnForObjects(key)) }));
    // Without ListBucket, S3 answers a missing pointer (the first run) with 403 instead of NoSuchKey.
    props.steps.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.artifactsBucket.bucketArn], conditions: { StringEquals: { 's3:prefix': keys } } }));
  }

  private acknowledge(props: BatchScoringProps): void {
    const stack = Stack.of(this);
    const functionArn = (fn: lambda.IFunction) => {
      const resolved: unknown = stack.resolve(fn.functionArn);
      const getAtt = (resolved as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
      return getAtt ? `<${getAtt[0]}.${getAtt[1]}>` : Token.isUnresolved(fn.functionArn) ? `<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>` : fn.functionArn;
    };
    Validations.of(this.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:transform-job/${props.resourcePrefix}-*]`,
        reason: `Each scoring run names its transform job at run time; the wildcard is confined to the pipeline's "${props.resourcePrefix}-" prefix.`,
      },
      { id: `AwsSolutions-IAM5[Resource::${functionArn(props.steps)}:*]`, reason: "Invoking any version or alias of the pipeline's own steps function (CDK grantInvoke)." },
      { id: `AwsSolutions-IAM5[Resource::${functionArn(props.analyzer)}:*]`, reason: 'Invoking any version or alias of the drift analyzer function (CDK grantInvoke).' },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "X-Ray segments and CloudWatch Logs vended delivery (the state machine's ALL-level logging) support no resource-level permissions.",
      },
    );
    Validations.of(this.schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement)}>:*]`,
      reason: 'The scheduler target grant covers executions of the scoring state machine only.',
    });
  }
}

/** The longest one scoring run of `model` can take: every Task once, at its worst (timeouts, retries, backoff); there are no loops. */
export function scoringBound(definition: AslDefinition, model: ModelConfig, resourcePrefix: string): number {
  const settings = renderModelSettings(model, { ...BOUND_NAMES, resourcePrefix });
  let seconds = 0;
  for (const [name, state] of Object.entries(definition.States)) if (state.Type === 'Task') seconds += taskWorstSeconds(name, state, settings);
  return Math.ceil(seconds);
}
