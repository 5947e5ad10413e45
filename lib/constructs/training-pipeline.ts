import { resolve } from 'node:path';
import { loadTrainingPipelineDefinition } from '../execution-bound';
import { executionBoundOf } from '../pipeline-settings';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement, type CfnResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { datasetCatalogFromConfig } from '../dataset-catalog';
import { artifactPrefixes, datasetPrefix } from '../../lambdas/shared/layout';
import { ENV } from '../../lambdas/shared/env';

/** `datasets` (from `datasets/<dataset>/`): the dataset bucket area jobs may read. */
const DATASETS_AREA = datasetPrefix('').split('/')[0] ?? 'datasets';
/** Every run's staged training input: `models/<model>/<runId>/input/` (artifactPrefixes.trainingInput). */
const STAGED_INPUTS = 'models/*/*/input/*';
const STAGED_CHANNELS = 'models/*/*/channels/*';
import { endpointDeployment, type ModelConfig } from '../config';
import { renderModelSettings } from '../pipeline-settings';
import { resolveImageUri } from './sagemaker-image-uri';
import { isBuiltInImage } from '../sagemaker-images';
import { CaretakerFunction } from './caretaker-function';

/** The ASL file this construct deploys. */
export { TRAINING_PIPELINE_DEFINITION } from '../execution-bound';

/**
 * The steps Lambda's timeout. Every state that invokes it has a TimeoutSeconds above this
 * (930 in the ASL, checked by test/lib/execution-bound.test.ts), so a step can never outlive its
 * state and write after the state moved on (RELIABILITY row 26).
 */
export const STEPS_FUNCTION_TIMEOUT = Duration.minutes(15);

const RESOURCE_PREFIX = /^[a-z][a-z0-9]{1,11}$/;
const ECR_REPOSITORY = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/;

export interface TrainingPipelineProps {
  /** The models from `caretaker.config.json`; each gets its settings parameter and rollback alarms. */
  readonly models: readonly ModelConfig[];
  /** Key for the logs, the steps function's environment, SageMaker volumes, outputs and endpoint data capture. */
  readonly encryptionKey: kms.IKey;
  /** The metadata table (runs, versions, deployments, lineage, audit). */
  readonly table: dynamodb.ITable;
  /** Checkpoints, model artifacts, evaluation reports, data capture and baselines (`lambdas/shared/layout.ts`). */
  readonly artifactsBucket: s3.IBucket;
  /**
   * Registered dataset versions live under its `datasets/` prefix. The steps function checks
   * them, copies a run's exact object versions to the artifacts bucket (what the jobs read), and
   * summarizes them into the drift baseline; SageMaker itself gets no access to it.
   */
  readonly datasetBucket: s3.IBucket;
  /** Approval requests go here. */
  readonly approvalsTopic: sns.ITopic;
  /** Failed runs, failed executions and rollback alarms go here. */
  readonly alertsTopic: sns.ITopic;
  /**
   * Starts every SageMaker resource name (jobs, models, endpoint configs, endpoints), and the
   * IAM policies are scoped to it. 2–12 lowercase letters and digits.
   * @default 'caretaker'
   */
  readonly resourcePrefix?: string;
  /** @default logs.RetentionDays.SIX_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the execution log group on stack delete. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The training pipeline: one Step Functions Standard workflow (`state-machines/training-pipeline.asl.json`)
 * shared by all models, each model's settings in its own SSM parameter (read by the first state),
 * a steps Lambda, a SageMaker execution role and a state machine role that grant exactly what
 * each state needs, logs (ALL, KMS) and X-Ray, and an alarm on failed executions.
 */
export class TrainingPipeline extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** Role SageMaker jobs, models and endpoints run as. */
  public readonly sagemakerRole: iam.Role;
  /** The role the state machine runs as. */
  public readonly role: iam.Role;
  public readonly steps: CaretakerFunction;
  public readonly logGroup: logs.LogGroup;
  /** Settings parameter per model name. */
  public readonly settings: Readonly<Record<string, ssm.StringParameter>>;
  /** Blue/green auto-rollback alarms per model name (5XX errors, p99 model latency). */
  public readonly rollbackAlarms: Readonly<Record<string, readonly cloudwatch.Alarm[]>>;
  public readonly failedExecutionsAlarm: cloudwatch.Alarm;
  /** Prefix of every SageMaker resource the pipeline creates. */
  public readonly resourcePrefix: string;
  /** SSM parameters `<settingsParameterPrefix>/<model>` hold each model's settings (read by the pipeline and by batch scoring). */
  public readonly settingsParameterPrefix: string;
  /**
   * The state machine's top-level TimeoutSeconds: the largest execution bound of the configured
   * models (lib/execution-bound.ts). Retraining leases are derived from it.
   */
  public readonly executionTimeout: Duration;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const resourcePrefix = props.resourcePrefix ?? 'caretaker';
    if (!RESOURCE_PREFIX.test(resourcePrefix)) {
      throw new Error(`TrainingPipeline resourcePrefix must be 2–12 lowercase letters and digits, starting with a letter; got "${resourcePrefix}"`);
    }
    if (props.models.length === 0) throw new Error('TrainingPipeline models must list at least one model');
    this.resourcePrefix = resourcePrefix;
    this.executionTimeout = Duration.seconds(Math.max(...props.models.map((model) => executionBoundOf(model).seconds)));
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const sagemakerArn = (type: string) => stack.formatArn({ service: 'sagemaker', resource: type, resourceName: `${resourcePrefix}-*` });

    this.sagemakerRole = this.createSageMakerRole(props);

    this.steps = new CaretakerFunction(this, 'Steps', {
      entry: 'pipeline/steps.handler.ts',
      description: 'Caretaker training pipeline steps: run records, dataset staging, gate, registry, approval requests, deployments, baselines',
      encryptionKey: props.encryptionKey,
      // StageTrainingData copies up to 100 objects server-side (multipart above 5 GiB); RecordDeployment
      // reads the training objects one at a time into the drift baseline.
      timeout: STEPS_FUNCTION_TIMEOUT,
      memorySize: 2048,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.approvalsTopicArn]: props.approvalsTopic.topicArn,
        [ENV.artifactsBucket]: props.artifactsBucket.bucketName,
        [ENV.datasetsBucket]: props.datasetBucket.bucketName,
        [ENV.datasetsCatalog]: JSON.stringify(datasetCatalogFromConfig({ models: [...props.models] })),
      },
      removalPolicy,
    });
    // Exactly the calls the steps make (no CDK grant helpers: those add action wildcards).
    this.steps.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
        resources: [props.table.tableArn, `${props.table.tableArn}/index/*`],
      }),
    );
    this.steps.role.addToPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.approvalsTopic.topicArn] }));
    this.steps.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.artifactsBucket.arnForObjects('evaluations/*')] }));
    // StartRun/StageTrainingData check that each registered object version still exists and copy it
    // (the copy source is read with its version id); RecordDeployment reads them into the baseline.
    this.steps.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [props.datasetBucket.arnForObjects(`${DATASETS_AREA}/*`)],
      }),
    );
    // The run's staged copy (models/<model>/<runId>/input/…), multipart above 5 GiB, and for a
    // SageMaker algorithm image its encoded channels (…/channels/…, multipart uploads).
    const algorithmInputs = props.models.some((model) => isBuiltInImage(model.trainingImageUri));
    this.steps.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [STAGED_INPUTS, ...(algorithmInputs ? [STAGED_CHANNELS] : [])].map((pattern) => props.artifactsBucket.arnForObjects(pattern)),
      }),
    );
    // RecordDeployment writes the deployed version's drift baseline.
    this.steps.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.artifactsBucket.arnForObjects('baselines/*')] }));
    if (props.datasetBucket.encryptionKey && props.datasetBucket.encryptionKey !== props.encryptionKey) {
      this.steps.role.addToPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.datasetBucket.encryptionKey.keyArn] }));
    }
    // Table, topic and bucket are all encrypted with the stack key.
    this.steps.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resources: [props.encryptionKey.keyArn] }),
    );

    // Per model: rollback alarms and the settings one execution reads.
    const settings: Record<string, ssm.StringParameter> = {};
    const rollbackAlarms: Record<string, cloudwatch.Alarm[]> = {};
    const settingsPrefix = `/caretaker/${stack.stackName}/pipeline/models`;
    this.settingsParameterPrefix = settingsPrefix;
    for (const model of props.models) {
      const endpointName = this.endpointName(model.name);
      // Batch models have no endpoint to roll back.
      rollbackAlarms[model.name] = model.deployment.mode === 'batch' ? [] : this.createRollbackAlarms(model, endpointName);
      const value = stack.toJsonString(
        renderModelSettings(model, {
          // SageMaker's own images by name (sagemaker-xgboost:1.7-1) become the region's URI here.
          resolveImage: (name, field) => resolveImageUri(this, name, field),
          ...(model.evaluation.script !== undefined ? { evaluationCode: this.evaluationScript(model.name, model.evaluation.script) } : {}),
          resourcePrefix,
          endpointName,
          rollbackAlarmNames: (rollbackAlarms[model.name] ?? []).map((alarm) => alarm.alarmName),
          volumeKmsKeyArn: props.encryptionKey.keyArn,
          artifactsBucket: props.artifactsBucket.bucketName,
        }),
      );
      settings[model.name] = new ssm.StringParameter(this, `Settings-${model.name}`, {
        parameterName: `${settingsPrefix}/${model.name}`,
        description: `Caretaker training pipeline settings of model ${model.name} (rendered from caretaker.config.json)`,
        stringValue: value,
        // Standard parameters hold 4 KB; long hyperparameter lists need the advanced tier.
        tier: Token.isUnresolved(value) || value.length < 3500 ? ssm.ParameterTier.STANDARD : ssm.ParameterTier.ADVANCED,
      });
    }
    this.settings = settings;
    this.rollbackAlarms = rollbackAlarms;
    // SageMaker reads the auto-rollback alarms during a blue/green update.
    const alarmArns = Object.values(rollbackAlarms).flatMap((alarms) => alarms.map((alarm) => alarm.alarmArn));
    if (alarmArns.length > 0) this.sagemakerRole.addToPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: alarmArns }));

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Caretaker training pipeline state machine',
    });
    this.grantStates(props, sagemakerArn);
    for (const parameter of Object.values(settings)) parameter.grantRead(this.role);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.SIX_MONTHS,
      encryptionKey: props.encryptionKey,
      removalPolicy,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      // The ASL file with a top-level TimeoutSeconds: the longest any configured model's execution can run.
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify({ ...loadTrainingPipelineDefinition(), TimeoutSeconds: this.executionTimeout.toSeconds() })),
      definitionSubstitutions: {
        StepsFunctionArn: this.steps.function.functionArn,
        SettingsParameterPrefix: settingsPrefix,
        SageMakerRoleArn: this.sagemakerRole.roleArn,
        KmsKeyArn: props.encryptionKey.keyArn,
        AlertsTopicArn: props.alertsTopic.topicArn,
      },
      role: this.role,
      tracingEnabled: true,
      // Every event, without its data: states' inputs carry the approval task token
      // ($$.Task.Token), which would let anyone who reads the logs answer the approval.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'Caretaker training pipeline: dataset version → training → gate → approval → blue/green deployment',
    });

    this.failedExecutionsAlarm = new cloudwatch.Alarm(this, 'FailedExecutionsAlarm', {
      alarmDescription: 'A Caretaker training pipeline execution failed (the run record and the alert say why).',
      metric: this.metricFailed(),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failedExecutionsAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alertsTopic));
    // CloudWatch publishes to the KMS-encrypted alerts topic: the stack grants it the key for exactly
    // its notifying alarms (allowAlarmsToPublish).

    // CDK makes the state machine depend on its whole role construct (role + default policy, so
    // the policy exists before the first execution); the role half duplicates the GetAtt.
    (this.stateMachine.node.defaultChild as CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });

    this.acknowledgeInherentFindings(props, resourcePrefix);
  }

  /** Failed executions (training failed, deploy failed, approval expired …), summed over 5 minutes. */
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /**
   * A model's evaluation script as a file asset: `cdk deploy` uploads it to the bootstrap assets
   * bucket (as it does the Lambda code), and the evaluation job gets it as its `code` input. The
   * SageMaker role may read exactly that object.
   */
  private evaluationScript(model: string, path: string): { s3Uri: string; fileName: string } {
    const asset = new s3assets.Asset(this, `EvaluationScript-${model}`, { path: resolve(path) });
    this.sagemakerRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)] }));
    return { s3Uri: asset.s3ObjectUrl, fileName: asset.s3ObjectKey };
  }

  /** Allow `grantee` to start runs (StartExecution with the deterministic run id as the name). */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Allow `grantee` (the approval API) to answer the approval task token. */
  grantTaskResponse(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantTaskResponse(grantee);
  }

  private createSageMakerRole(props: TrainingPipelineProps): iam.Role {
    const role = new iam.Role(this, 'SageMakerRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Caretaker SageMaker jobs and endpoints: staged run inputs in, artifacts out, nothing else',
    });
    const { artifactsBucket } = props;
    const allow = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      role.addToPolicy(new iam.PolicyStatement({ actions, resources, conditions }));
    // Training and evaluation read the run's staged copy of its dataset version (models/<model>/<runId>/input/),
    // never the datasets bucket, whose prefixes can change under a running job.
    // Checkpoints are synced both ways (spot resume); models are written by training, read by endpoints.
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [artifactsBucket.arnForObjects('checkpoints/*')]);
    allow(['s3:GetObject', 's3:PutObject'], [artifactsBucket.arnForObjects('models/*')]);
    // Evaluation reports and endpoint data capture are only written.
    allow(['s3:PutObject'], [artifactsBucket.arnForObjects('evaluations/*'), artifactsBucket.arnForObjects('capture/*')]);
    // Batch Transform jobs (deploy path and scheduled scoring) read each batch model's input prefix and
    // write under its output prefix, nothing else.
    const batch = batchPrefixes(props.models);
    if (batch.inputs.length > 0) {
      allow(['s3:GetObject'], batch.inputs.map((p) => artifactsBucket.arnForObjects(`${p}*`)));
      allow(['s3:PutObject'], batch.outputs.map((p) => artifactsBucket.arnForObjects(`${p}*`)));
    }
    allow(['s3:ListBucket'], [artifactsBucket.bucketArn], { StringLike: { 's3:prefix': ['checkpoints/*', 'models/*', ...batch.inputs.map((p) => `${p}*`)] } });
    allow(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], [props.encryptionKey.keyArn]);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );

    const repositories = new Set<string>();
    for (const model of props.models) {
      for (const uri of [model.trainingImageUri, model.inferenceImageUri, model.evaluation.imageUri]) {
        const match = uri ? ECR_REPOSITORY.exec(uri) : null;
        if (match) repositories.add(`arn:${Stack.of(this).partition}:ecr:${match[2]}:${match[1]}:repository/${match[3]}`);
      }
    }
    // SageMaker's own images (sagemaker-xgboost:…) are pulled with service credentials: no grant.
    if (repositories.size > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          resources: [...repositories].sort(),
        }),
      );
    }
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
    return role;
  }

  /** The SageMaker endpoint a model is deployed to (`<resourcePrefix>-<model>`). */
  endpointName(model: string): string {
    return `${this.resourcePrefix}-${model}`;
  }

  private createRollbackAlarms(model: ModelConfig, endpointName: string): cloudwatch.Alarm[] {
    const { latencyAlarmMs } = endpointDeployment(model);
    const dimensionsMap = { EndpointName: endpointName, VariantName: 'AllTraffic' };
    const errors = new cloudwatch.Alarm(this, `Rollback5xx-${model.name}`, {
      alarmDescription: `Endpoint ${endpointName} returns 5XX errors; rolls a blue/green deployment of ${model.name} back.`,
      metric: new cloudwatch.Metric({ namespace: 'AWS/SageMaker', metricName: 'Invocation5XXErrors', dimensionsMap, statistic: 'Sum', period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latency = new cloudwatch.Alarm(this, `RollbackLatency-${model.name}`, {
      alarmDescription: `Endpoint ${endpointName} p99 ModelLatency above ${latencyAlarmMs} ms; rolls a blue/green deployment of ${model.name} back.`,
      // ModelLatency is reported in microseconds.
      metric: new cloudwatch.Metric({ namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensionsMap, statistic: 'p99', period: Duration.minutes(1) }),
      threshold: latencyAlarmMs * 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return [errors, latency];
  }

  /** What each state needs; the ASL file generates no IAM (DefinitionBody.fromFile). */
  private grantStates(props: TrainingPipelineProps, sagemakerArn: (type: string) => string): void {
    const stack = Stack.of(this);
    const add = (statement: iam.PolicyStatementProps) => this.role.addToPolicy(new iam.PolicyStatement(statement));

    // StartRun, Gate, RegisterVersion, WaitForApproval, StartDeployment, RecordDeployment, Record*.
    this.steps.function.grantInvoke(this.role);
    // TrainModel (.sync) — as CDK's SageMakerCreateTrainingJob with RUN_JOB grants, scoped to our names.
    add({
      actions: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'],
      resources: [sagemakerArn('training-job')],
    });
    // Evaluate (.sync).
    add({
      actions: ['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob'],
      resources: [sagemakerArn('processing-job')],
    });
    // CreateModel, CreateEndpointConfig, CreateEndpoint/UpdateEndpoint, DescribeEndpoint.
    add({ actions: ['sagemaker:CreateModel'], resources: [sagemakerArn('model')] });
    add({ actions: ['sagemaker:CreateEndpointConfig'], resources: [sagemakerArn('endpoint-config')] });
    add({
      actions: ['sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint'],
      resources: [sagemakerArn('endpoint'), sagemakerArn('endpoint-config')],
    });
    add({ actions: ['sagemaker:DescribeEndpoint'], resources: [sagemakerArn('endpoint')] });
    // UpdateEndpoint validates the auto-rollback alarms it is given (batch models have none).
    const rollbackAlarmArns = Object.values(this.rollbackAlarms).flatMap((alarms) => alarms.map((alarm) => alarm.alarmArn));
    if (rollbackAlarmArns.length > 0) add({ actions: ['cloudwatch:DescribeAlarms'], resources: rollbackAlarmArns });
    const batch = props.models.some((model) => model.deployment.mode === 'batch');
    // ScoreWithTransform (.sync): a batch model's deployment scores with a transform job.
    if (batch) grantTransformJobs(this.role, sagemakerArn);
    // Every create above carries Tags; `.sync` lists a job's tags while it polls.
    add({
      actions: ['sagemaker:AddTags', 'sagemaker:ListTags'],
      resources: ['training-job', 'processing-job', 'model', 'endpoint-config', 'endpoint'].map(sagemakerArn),
    });
    // `.sync` on training and processing jobs: the managed EventBridge rules Step Functions creates.
    add({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: ['StepFunctionsGetEventsForSageMakerTrainingJobsRule', 'StepFunctionsGetEventsForSageMakerProcessingJobsRule'].map((rule) =>
        stack.formatArn({ service: 'events', resource: 'rule', resourceName: rule }),
      ),
    });
    add({
      actions: ['iam:PassRole'],
      resources: [this.sagemakerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    // SageMaker encrypts volumes, outputs and endpoint storage with the key on the caller's behalf.
    add({
      actions: ['kms:CreateGrant', 'kms:DescribeKey'],
      resources: [props.encryptionKey.keyArn],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
    // PublishFailureAlert (the topic is encrypted with the stack key).
    add({ actions: ['sns:Publish'], resources: [props.alertsTopic.topicArn] });
    add({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.encryptionKey.keyArn] });
  }

  private acknowledgeInherentFindings(props: TrainingPipelineProps, prefix: string): void {
    const stack = Stack.of(this);
    /** How cdk-nag spells an ARN in a finding id: `<LogicalId.Arn>` for a GetAtt, the text otherwise. */
    const nagArn = (arn: string): string => {
      const resolved: unknown = stack.resolve(arn);
      if (typeof resolved === 'string') return resolved;
      const getAtt = (resolved as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      return getAtt ? `<${getAtt[0]}.${getAtt[1]}>` : JSON.stringify(resolved);
    };
    const objects = (bucket: s3.IBucket, area: string) => `AwsSolutions-IAM5[Resource::${nagArn(bucket.bucketArn)}/${area}/*]`;
    const sagemakerResource = (type: string) => `Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${type}/${prefix}-*`;

    Validations.of(this.role).acknowledge(
      ...['training-job', 'processing-job', 'model', 'endpoint-config', 'endpoint', 'transform-job'].map((type) => ({
        id: `AwsSolutions-IAM5[${sagemakerResource(type)}]`,
        reason: `Run-scoped ${type} names are made at run time; the wildcard is confined to the pipeline's "${prefix}-" prefix.`,
      })),
      {
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.steps.function.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: "Invoking any version or alias of the pipeline's own steps function (CDK grantInvoke).",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "X-Ray segments and CloudWatch Logs vended delivery (the state machine's ALL-level logging) support no resource-level permissions.",
      },
    );
    Validations.of(this.sagemakerRole).acknowledge(
      ...(
        [
          [props.artifactsBucket, 'checkpoints', 'spot checkpoints of every run'],
          [props.artifactsBucket, 'models', 'model artifacts and staged training input of every run'],
          [props.artifactsBucket, 'evaluations', 'evaluation reports (write only)'],
          [props.artifactsBucket, 'capture', 'endpoint data capture (write only)'],
        ] as const
      ).map(([bucket, area, what]) => ({
        id: objects(bucket, area),
        reason: `Object keys are per model and run; the wildcard is confined to the ${area}/ prefix: ${what}.`,
      })),
      ...(() => {
        const batch = batchPrefixes(props.models);
        return [
          ...batch.inputs.map((p) => ({ id: `AwsSolutions-IAM5[Resource::${nagArn(props.artifactsBucket.bucketArn)}/${p}*]`, reason: `Batch Transform reads every object a batch model's producers put under its input prefix ${p} (read only).` })),
          ...batch.outputs.map((p) => ({ id: `AwsSolutions-IAM5[Resource::${nagArn(props.artifactsBucket.bucketArn)}/${p}*]`, reason: `Batch Transform writes <input key>.out objects into one folder per job under the output prefix ${p} (write only).` })),
        ];
      })(),
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*]',
        reason: 'SageMaker jobs and endpoints log to log groups it names under /aws/sagemaker/.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions (PutMetricData is limited to /aws/sagemaker/ namespaces by condition).',
      },
    );
    Validations.of(this.steps.role).acknowledge(
      { id: objects(props.artifactsBucket, 'evaluations'), reason: 'The gate reads the evaluation report of any run; read-only, evaluations/ prefix only.' },
      { id: objects(props.datasetBucket, DATASETS_AREA), reason: 'Dataset versions are per dataset and registration; read-only, datasets/ prefix only.' },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(props.artifactsBucket.bucketArn)}/${STAGED_INPUTS}]`,
        reason: "Each run stages its training input under its own models/<model>/<runId>/input/; write-only, that shape only.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(props.artifactsBucket.bucketArn)}/${STAGED_CHANNELS}]`,
        reason: "Each run of a SageMaker algorithm image writes its encoded channels under its own models/<model>/<runId>/channels/; write-only, that shape only.",
      },
      { id: objects(props.artifactsBucket, 'baselines'), reason: 'Drift baselines are per model and version; write-only, baselines/ prefix only.' },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(props.table.tableArn)}/index/*]`,
        reason: 'Queries the table\'s own secondary indexes (live version by status).',
      },
    );
  }
}

/** The input and output prefixes of the batch models (config or `batch/<model>/…` defaults), each ending in `/`. */
export function batchPrefixes(models: readonly ModelConfig[]): { inputs: string[]; outputs: string[] } {
  const inputs: string[] = [];
  const outputs: string[] = [];
  for (const model of models) {
    if (model.deployment.mode !== 'batch') continue;
    inputs.push(model.deployment.inputPrefix ?? artifactPrefixes.batchInput(model.name));
    outputs.push(model.deployment.outputPrefix ?? artifactPrefixes.batchOutput(model.name));
  }
  return { inputs, outputs };
}

/**
 * What a state that runs `createTransformJob.sync` needs, as CDK's SageMakerCreateTransformJob with
 * RUN_JOB grants it, scoped to the pipeline's names: create, describe (the poll) and stop (a
 * timed-out or aborted execution stops its job), tags on the job, and the managed EventBridge
 * rule Step Functions creates for `.sync` on transform jobs.
 */
export function grantTransformJobs(role: iam.IRole, sagemakerArn: (type: string) => string): void {
  const stack = Stack.of(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['sagemaker:CreateTransformJob', 'sagemaker:DescribeTransformJob', 'sagemaker:StopTransformJob', 'sagemaker:AddTags', 'sagemaker:ListTags'],
      resources: [sagemakerArn('transform-job')],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForSageMakerTransformJobsRule' })],
    }),
  );
}
