import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement, type CfnResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { artifactPrefixes, driftReportKeys, type artifactAreas } from '../../lambdas/shared/layout';
import { qualityMetricFor } from '../../lambdas/drift/quality';
import { ENV } from '../../lambdas/shared/env';
import { DRIFT_DIMENSIONS, DRIFT_METRICS, METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import { endpointDeployment, type ModelConfig } from '../config';
import { CaretakerFunction } from './caretaker-function';

const REPORTS_AREA: (typeof artifactAreas)[number] = 'reports';
const CAPTURE_AREA: (typeof artifactAreas)[number] = 'capture';
const GROUND_TRUTH_AREA: (typeof artifactAreas)[number] = 'ground-truth';

/** The drift Distributed Map's ASL file (state-machines/), with its `${…}` placeholders. */
export const DRIFT_MAP_DEFINITION = fileURLToPath(new URL('../../state-machines/drift-map.asl.json', import.meta.url));

/** README anchors the alarm descriptions point operators to. */
export const RUNBOOK = {
  drift: 'README.md#runbook-drift-alarm',
  quality: 'README.md#runbook-model-quality-alarm',
  errors: 'README.md#runbook-endpoint-5xx-alarm',
  latency: 'README.md#runbook-endpoint-latency-alarm',
} as const;

export interface DriftMonitorProps {
  /** The models to watch, from the config (drift settings, objective, deployment latency bound). */
  readonly models: readonly ModelConfig[];
  /** Bucket holding `capture/`, `ground-truth/` and `baselines/` (see lambdas/shared/layout.ts). */
  readonly artifactsBucket: s3.IBucket;
  /** Metadata table; the analyzer reads which version is LIVE from its gsi1 index. */
  readonly metadataTable: dynamodb.ITable;
  /** Key of the stack: the analyzer's logs and environment, the schedules, and the alerts topic it publishes to. */
  readonly encryptionKey: kms.IKey;
  /** Every alarm notifies this topic on ALARM and OK. */
  readonly alertsTopic: sns.ITopic;
  /**
   * Endpoint name of a model, for the 5XX and latency alarms.
   * @default - `caretaker-<model>`
   */
  readonly endpointName?: (model: string) => string;
  /**
   * Production variant the endpoint alarms watch (blue/green updates keep the variant name).
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
  /**
   * Start of every alarm name: `<prefix>-<model>-drift` etc. Rules that react to "our alarms
   * only" match on it.
   * @default - `Caretaker-<stackName>`
   */
  readonly alarmNamePrefix?: string;
  /** What happens to the analyzer's log group on stack delete. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The alarms of one model. */
export interface ModelAlarms {
  /** DriftScore (max PSI over features) above `drift.psiThreshold` for `drift.evaluationPeriods` windows. */
  readonly drift: cloudwatch.Alarm;
  /** The objective metric over labelled traffic beyond its threshold; absent when no threshold is known. */
  readonly quality?: cloudwatch.Alarm;
  /** Endpoint 5XX errors; absent for batch models (no endpoint). */
  readonly errors?: cloudwatch.Alarm;
  /** Endpoint p99 model latency above `deployment.latencyAlarmMs`; absent for batch models. */
  readonly latency?: cloudwatch.Alarm;
}

/**
 * A batch model's drift windows are its scoring runs (the analyzer is invoked by the batch scoring
 * state machine with the job's input, not on a schedule), so its drift alarm evaluates daily
 * periods (the highest DriftScore of the day's runs) and keeps its state between runs.
 */
const BATCH_DRIFT_PERIOD = Duration.days(1);

/**
 * Drift monitoring: an analyzer Lambda run per model on a schedule (EventBridge Scheduler,
 * every `drift.scheduleMinutes`), which compares the endpoint's captured traffic with the live
 * version's baseline (batch models: run by each scoring run on the job's input, no schedule) and publishes `Caretaker` metrics (DriftScore, per-feature PSI/JS/KS,
 * ModelQuality); per model a drift alarm, a model-quality alarm and endpoint 5XX/latency
 * alarms, all notifying the alerts topic and named `<alarmNamePrefix>-<model>-<kind>`. The ops
 * dashboard (ops-dashboard.ts) draws them.
 */
export class DriftMonitor extends Construct {
  public readonly analyzer: CaretakerFunction;
  public readonly alarmNamePrefix: string;
  public readonly alarms: ReadonlyMap<string, ModelAlarms>;
  /** Analyzer schedules of realtime and serverless models (batch models' scoring runs invoke the analyzer). */
  public readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** Role EventBridge Scheduler assumes to invoke the analyzer. */
  public readonly schedulerRole: iam.Role;
  /** Each child of the drift Distributed Map: a batch of capture objects → one WindowPartial in S3. */
  public readonly shardFunction: CaretakerFunction;
  /** Merges the map's partials and publishes the window as the single pass does. */
  public readonly reduceFunction: CaretakerFunction;
  /** The Distributed Map path for windows whose capture is too big for the analyzer alone (state-machines/drift-map.asl.json). */
  public readonly mapStateMachine: sfn.StateMachine;
  /** The map state machine's role. */
  public readonly mapRole: iam.Role;
  private readonly artifactsBucket: s3.IBucket;
  private readonly modelNames: ReadonlySet<string>;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    this.artifactsBucket = props.artifactsBucket;
    this.modelNames = new Set(props.models.map((m) => m.name));
    if (props.models.length === 0) throw new Error('DriftMonitor: props.models must name at least one model');
    const prefix = props.alarmNamePrefix ?? `Caretaker-${Stack.of(this).stackName}`;
    if (!Token.isUnresolved(prefix) && !/^[A-Za-z0-9_.-]{1,200}$/.test(prefix)) {
      throw new Error(`DriftMonitor: props.alarmNamePrefix must be letters, digits, '.', '_' or '-', got "${prefix}"`);
    }
    this.alarmNamePrefix = prefix;
    const endpointName = props.endpointName ?? ((model: string) => `caretaker-${model}`);
    const variantName = props.variantName ?? 'AllTraffic';

    this.analyzer = new CaretakerFunction(this, 'Analyzer', {
      entry: 'drift/analyzer.handler.ts',
      description: 'Caretaker drift analyzer: captured traffic vs the live version baseline, as CloudWatch metrics',
      encryptionKey: props.encryptionKey,
      timeout: Duration.minutes(5),
      memorySize: 1024,
      environment: { [ENV.artifactsBucket]: props.artifactsBucket.bucketName, [ENV.tableName]: props.metadataTable.tableName },
      removalPolicy: props.removalPolicy,
    });
    this.grantAnalyzerReads(props);

    // The Distributed Map path (lambdas/drift/map.ts). Function timeouts stay below their states'
    // TimeoutSeconds (660 s in the ASL; RELIABILITY row 26).
    const mapFunction = (id: string, entry: string, description: string) =>
      new CaretakerFunction(this, id, {
        entry,
        description,
        encryptionKey: props.encryptionKey,
        timeout: Duration.minutes(10),
        memorySize: 1769,
        environment: { [ENV.artifactsBucket]: props.artifactsBucket.bucketName },
        removalPolicy: props.removalPolicy,
      });
    this.shardFunction = mapFunction('MapShard', 'drift/shard.handler.ts', 'Caretaker drift Distributed Map child: capture objects of a window as a mergeable partial');
    this.reduceFunction = mapFunction('MapReduce', 'drift/reduce.handler.ts', 'Caretaker drift Distributed Map reducer: merges the partials, publishes the window report and metrics');
    this.grantMapFunctions(props);
    this.mapRole = new iam.Role(this, 'MapRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Caretaker drift Distributed Map state machine',
    });
    const mapLogs = new logs.LogGroup(this, 'MapLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.mapStateMachine = new sfn.StateMachine(this, 'MapStateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(readFileSync(DRIFT_MAP_DEFINITION, 'utf8')),
      definitionSubstitutions: {
        ArtifactsBucket: props.artifactsBucket.bucketName,
        ShardFunctionArn: this.shardFunction.function.functionArn,
        ReduceFunctionArn: this.reduceFunction.function.functionArn,
      },
      role: this.mapRole,
      tracingEnabled: true,
      logs: { destination: mapLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'Caretaker drift analysis of windows too big for one function: Distributed Map over capture objects, then merge',
    });
    this.grantMapStates(props);
    (this.mapStateMachine.node.defaultChild as CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
    // The analyzer hands big windows to the map (lambdas/drift/handler.ts).
    this.analyzer.function.addEnvironment(ENV.driftMapStateMachineArn, this.mapStateMachine.stateMachineArn);
    this.mapStateMachine.grantStartExecution(this.analyzer.role);

    // One role for all schedules, assumable by EventBridge Scheduler for this account only.
    const stack = Stack.of(this);
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Caretaker: EventBridge Scheduler invokes the drift analyzer',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });

    const alertAction = new actions.SnsAction(props.alertsTopic);
    const alarms = new Map<string, ModelAlarms>();
    const schedules = new Map<string, scheduler.Schedule>();
    for (const model of props.models) {
      if (model.deployment.mode !== 'batch') schedules.set(model.name, this.schedule(model, props.encryptionKey));
      const modelAlarms = this.modelAlarms(model, prefix, endpointName(model.name), variantName, props.artifactsBucket.bucketName);
      for (const alarm of alarmsOf(modelAlarms)) {
        alarm.addAlarmAction(alertAction);
        alarm.addOkAction(alertAction);
      }
      alarms.set(model.name, modelAlarms);
    }
    this.alarms = alarms;
    this.schedules = schedules;
    // The stack lets CloudWatch use the key for these alarms' notifications (allowAlarmsToPublish).
    const functionId = stack.getLogicalId(this.analyzer.function.node.defaultChild as CfnElement);
    Validations.of(this.schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: 'The scheduler target grant covers the analyzer function and its versions/aliases; it names no other function.',
    });
  }

  /**
   * Allow `grantee` (the application that calls a serverless endpoint) to write request records of
   * `model`, in the capture file format, under `capture/<model>/`: a serverless model's drift
   * window, as SageMaker data capture does not support serverless endpoints. Write only, that
   * model's prefix only (and the key, to encrypt what it writes).
   */
  grantCaptureWrite(grantee: iam.IGrantable, model: string): iam.Grant {
    if (!this.modelNames.has(model)) throw new Error(`DriftMonitor.grantCaptureWrite: ${model} is not a configured model`);
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: [this.artifactsBucket.arnForObjects(`${artifactPrefixes.capture(model)}*`)] });
    this.artifactsBucket.encryptionKey?.grant(grantee, 'kms:GenerateDataKey');
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal)) {
      const bucketId = Stack.of(this).getLogicalId(this.artifactsBucket.node.defaultChild as CfnElement);
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${artifactPrefixes.capture(model)}*]`,
        reason: `Request records of ${model} are written one object per batch of requests; the wildcard is confined to its capture/${model}/ prefix, write only.`,
      });
    }
    return grant;
  }

  /** Every alarm of every model. */
  get allAlarms(): cloudwatch.Alarm[] {
    return [...this.alarms.values()].flatMap(alarmsOf);
  }

  /** `DriftScore` of a model: the largest feature PSI in a window. */
  metricDriftScore(model: string, period = Duration.minutes(15)): cloudwatch.Metric {
    return this.metric(DRIFT_METRICS.driftScore, model, { statistic: cloudwatch.Stats.MAXIMUM, period });
  }

  /** `ModelQuality` of a model: its objective metric over labelled traffic in a window. */
  metricModelQuality(model: string, period = Duration.minutes(15)): cloudwatch.Metric {
    return this.metric(DRIFT_METRICS.modelQuality, model, { statistic: cloudwatch.Stats.AVERAGE, period });
  }

  /** One of the analyzer's per-model metrics (`DRIFT_METRICS`, dimension Model); as aws-lambda's `FunctionBase.metric`. */
  metric(metricName: string, model: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { [DRIFT_DIMENSIONS.model]: model }, ...props });
  }

  private grantAnalyzerReads(props: DriftMonitorProps): void {
    const role = this.analyzer.role;
    const bucket = props.artifactsBucket;
    // Batch models' drift windows are their transform input (batch scoring's AnalyzeDrift).
    const batchInputs = props.models.flatMap((m) => (m.deployment.mode === 'batch' ? [`${m.deployment.inputPrefix ?? artifactPrefixes.batchInput(m.name)}*`] : []));
    const readable = ['capture/*', 'ground-truth/*', 'baselines/*', ...batchInputs];
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: readable.map((p) => bucket.arnForObjects(p)),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['capture/*', 'ground-truth/*', ...batchInputs] } },
      }),
    );
    bucket.encryptionKey?.grantDecrypt(role);
    // Each window's report.json / report.html, and reports/<model>/latest.json.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${REPORTS_AREA}/*`)] }));
    // SSE-KMS PutObject needs kms:GenerateDataKey (S3 user guide, "Permissions for uploading an object
    // encrypted with an AWS KMS key"); grantEncrypt would add ReEncrypt*, which a writer never needs.
    bucket.encryptionKey?.grant(role, 'kms:GenerateDataKey');
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.metadataTable.tableArn}/index/gsi1`],
      }),
    );
    const bucketId = Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${REPORTS_AREA}/*]`,
        reason: 'The analyzer writes one report folder per model and window (reports/<model>/<window>/); the wildcard is confined to the reports prefix of the artifacts bucket.',
      },
      ...readable.map((p) => ({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${p}]`,
        reason: `The analyzer reads objects SageMaker, the API or a batch model's producers name at run time; the wildcard is confined to the ${p.slice(0, -2)} prefix of the artifacts bucket.`,
      })),
    );
  }

  /**
   * The shard reads capture, the window's ground truth (listed by hour, to join labels as the
   * single pass does) and baselines, and writes its partial; the reducer reads the map's results
   * and partials and writes the report.
   */
  private grantMapFunctions(props: DriftMonitorProps): void {
    const bucket = props.artifactsBucket;
    const bucketId = Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement);
    const grants: [CaretakerFunction, string[], string][] = [
      [this.shardFunction, [`${CAPTURE_AREA}/*`, `${GROUND_TRUTH_AREA}/*`, 'baselines/*'], 'reads the capture objects of its batch, the window\'s ground truth and the baseline of the window\'s version'],
      [this.reduceFunction, [`${REPORTS_AREA}/*`, 'baselines/*'], 'reads the map run\'s manifest, result files and partials under reports/<model>/<window>/map/, and the baseline'],
    ];
    this.shardFunction.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${GROUND_TRUTH_AREA}/*`] } } }),
    );
    for (const [fn, readable, what] of grants) {
      fn.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: readable.map((p) => bucket.arnForObjects(p)) }));
      fn.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${REPORTS_AREA}/*`)] }));
      bucket.encryptionKey?.grantDecrypt(fn.role);
      bucket.encryptionKey?.grant(fn.role, 'kms:GenerateDataKey');
      Validations.of(fn.role).acknowledge(
        ...[...new Set([...readable, `${REPORTS_AREA}/*`])].map((p) => ({
          id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${p}]`,
          reason: `The function ${what}; it writes only under reports/. Keys are per model, window and map run; the wildcard is confined to the ${p.slice(0, -2)} prefix of the artifacts bucket.`,
        })),
      );
    }
  }

  /**
   * What the map's states need (the ASL generates no IAM), after the Step Functions developer
   * guide's "IAM policies for Distributed Map states", "ItemReader (Map)" and "ResultWriter (Map)":
   * StartExecution on the state machine itself (its children), Describe/StopExecution on its
   * executions; ListBucket for the ItemReader's ListObjectsV2, limited to the capture prefix;
   * PutObject/GetObject/ListMultipartUploadParts/AbortMultipartUpload for the ResultWriter under
   * reports/; InvokeFunction on the two functions.
   */
  private grantMapStates(props: DriftMonitorProps): void {
    const role = this.mapRole;
    const bucket = props.artifactsBucket;
    const stack = Stack.of(this);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${CAPTURE_AREA}/*`] } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [bucket.arnForObjects(`${REPORTS_AREA}/*`)],
      }),
    );
    // SSE-KMS writes need GenerateDataKey; multipart uploads of big result files read parts back (Decrypt).
    bucket.encryptionKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    for (const fn of [this.shardFunction, this.reduceFunction]) {
      role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.function.functionArn] }));
    }
    // On its own ARN: a separate policy, as CDK's DistributedMap does (state-graph.ts), since the
    // state machine depends on its role's default policy and a reference back would be a cycle.
    const self = new iam.Policy(this, 'MapRunPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.mapStateMachine.stateMachineArn] }),
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [
            stack.formatArn({
              service: 'states',
              resource: 'execution',
              resourceName: `${this.mapStateMachine.stateMachineName}/*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      ],
    });
    const bucketId = stack.getLogicalId(bucket.node.defaultChild as CfnElement);
    const machineId = stack.getLogicalId(this.mapStateMachine.node.defaultChild as CfnElement);
    Validations.of(self).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${machineId}.Name>/*]`,
      reason: "The map run's child executions are named by Step Functions at run time (<state machine>/<label>:<id>); the wildcard is confined to this state machine's executions.",
    });
    Validations.of(role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${REPORTS_AREA}/*]`,
        reason: "The ResultWriter writes manifest.json and SUCCEEDED_n/FAILED_n.json under reports/<model>/<window>/map/<map run id>/, named at run time; the wildcard is confined to the reports prefix.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "X-Ray segments and CloudWatch Logs vended delivery (the state machine's logging) support no resource-level permissions.",
      },
    );
  }

  private schedule(model: ModelConfig, key: kms.IKey): scheduler.Schedule {
    const drift = model.drift;
    return new scheduler.Schedule(this, `Schedule-${model.name}`, {
      description: `Caretaker: drift analysis of ${model.name} every ${drift.scheduleMinutes} minutes`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(drift.scheduleMinutes)),
      key,
      target: new targets.LambdaInvoke(this.analyzer.function, {
        input: scheduler.ScheduleTargetInput.fromObject({
          model: model.name,
          windowEnd: scheduler.ContextAttribute.scheduledTime,
          windowMinutes: drift.scheduleMinutes,
          psiThreshold: drift.psiThreshold,
          minRecords: drift.minRecords,
          objectiveMetric: model.objective.metricName,
        }),
        role: this.schedulerRole,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(drift.scheduleMinutes),
      }),
    });
  }

  private modelAlarms(model: ModelConfig, prefix: string, endpointName: string, variantName: string, bucketName: string): ModelAlarms {
    const name = model.name;
    const batch = model.deployment.mode === 'batch';
    const period = batch ? BATCH_DRIFT_PERIOD : Duration.minutes(model.drift.scheduleMinutes);
    const drift = new cloudwatch.Alarm(this, `DriftAlarm-${name}`, {
      alarmName: `${prefix}-${name}-drift`,
      alarmDescription: `Input drift of ${name}: the largest feature PSI stayed above ${model.drift.psiThreshold} for ${model.drift.evaluationPeriods} windows. A retraining run is requested. Report of the newest window: s3://${bucketName}/${driftReportKeys.latest(name)} names its report.html (every window: s3://${bucketName}/${artifactPrefixes.reports(name)}<window>/). Runbook: ${RUNBOOK.drift}`,
      metric: this.metricDriftScore(name, period),
      threshold: model.drift.psiThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: model.drift.evaluationPeriods,
      // No captured traffic is not drift; a day without a batch scoring run leaves the state as it was.
      treatMissingData: batch ? cloudwatch.TreatMissingData.IGNORE : cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    let quality: cloudwatch.Alarm | undefined;
    const threshold = qualityThreshold(model);
    // Batch input carries no inference ids to join labels on: no quality metric, no quality alarm.
    if (!batch && threshold !== undefined && qualityMetricFor(model.objective.metricName) !== undefined) {
      const maximize = model.objective.direction === 'maximize';
      quality = new cloudwatch.Alarm(this, `QualityAlarm-${name}`, {
        alarmName: `${prefix}-${name}-quality`,
        alarmDescription: `Model quality of ${name}: ${model.objective.metricName} on labelled traffic went ${maximize ? 'below' : 'above'} ${threshold} for ${model.drift.evaluationPeriods} windows. Runbook: ${RUNBOOK.quality}`,
        metric: this.metricModelQuality(name, period),
        threshold,
        comparisonOperator: maximize
          ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
          : cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: model.drift.evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    if (batch) return { drift, ...(quality ? { quality } : {}) };
    const endpoint = { EndpointName: endpointName, VariantName: variantName };
    const errors = new cloudwatch.Alarm(this, `ErrorsAlarm-${name}`, {
      alarmName: `${prefix}-${name}-5xx`,
      alarmDescription: `Endpoint ${endpointName} of ${name} returned 5XX errors in 2 consecutive 5-minute periods. Runbook: ${RUNBOOK.errors}`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'Invocation5XXErrors',
        dimensionsMap: endpoint,
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latencyMs = endpointDeployment(model).latencyAlarmMs;
    const latency = new cloudwatch.Alarm(this, `LatencyAlarm-${name}`, {
      alarmName: `${prefix}-${name}-latency`,
      alarmDescription: `Endpoint ${endpointName} of ${name}: p99 model latency above ${latencyMs} ms for 3 consecutive 5-minute periods. Runbook: ${RUNBOOK.latency}`,
      // SageMaker reports ModelLatency in microseconds.
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'ModelLatency',
        dimensionsMap: endpoint,
        statistic: cloudwatch.Stats.p(99),
        period: Duration.minutes(5),
      }),
      threshold: latencyMs * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return { drift, ...(quality ? { quality } : {}), errors, latency };
  }
}

/** The configured quality threshold, else the gate's bound on the objective metric in its direction. */
export function qualityThreshold(model: ModelConfig): number | undefined {
  if (model.drift.qualityThreshold !== undefined) return model.drift.qualityThreshold;
  const bound = model.gate.thresholds[model.objective.metricName];
  return model.objective.direction === 'maximize' ? bound?.min : bound?.max;
}

/** A model's alarms that exist (batch models have no endpoint or quality alarms). */
function alarmsOf(alarms: ModelAlarms): cloudwatch.Alarm[] {
  return [alarms.drift, alarms.quality, alarms.errors, alarms.latency].filter((alarm): alarm is cloudwatch.Alarm => alarm !== undefined);
}
