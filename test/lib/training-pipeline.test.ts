import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { modelSettingsSchema, type ModelSettings } from '../../lambdas/pipeline/settings';
import { parseConfig } from '../../lib/config';
import { TRAINING_PIPELINE_DEFINITION, TrainingPipeline } from '../../lib/constructs/training-pipeline';
import { renderModelSettings } from '../../lib/pipeline-settings';
import { placeholdersOf } from '../../local/stepfunctions/runner';
import { exampleConfig, exampleConfigInput, flat, synthCaretaker } from '../support/stack';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('TrainingPipeline', () => {
  const { template, stack } = synthCaretaker();
  const pipeline = stack.pipeline;
  const resources = (template.toJSON() as { Resources: Record<string, unknown> }).Resources;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const policyOf = (role: { node: { tryFindChild(id: string): unknown } }) => {
    const policy = role.node.tryFindChild('DefaultPolicy') as { node: { defaultChild?: unknown } };
    const resource = resources[logicalId(policy)] as { Properties: { PolicyDocument: { Statement: Statement[] } } };
    return resource.Properties.PolicyDocument.Statement;
  };
  const machine = () =>
    resources[logicalId(pipeline.stateMachine)] as {
      Properties: { DefinitionSubstitutions: Record<string, unknown>; DefinitionS3Location?: unknown; DefinitionString?: unknown };
    };

  it('substitutes every ${…} placeholder of the ASL file and nothing else', () => {
    const used = placeholdersOf(readFileSync(TRAINING_PIPELINE_DEFINITION, 'utf8'));
    expect(Object.keys(machine().Properties.DefinitionSubstitutions).sort()).toEqual([...used].sort());
  });

  it('logs every execution event without its data (task tokens stay out of the logs) to a KMS-encrypted log group with retention, and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(pipeline.logGroup), 'Arn'] } } }],
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.absent(),
      RetentionInDays: 180,
      KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.key), 'Arn'] },
    });
  });

  it('alarms on failed executions and tells the alerts topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: logicalId(pipeline.stateMachine) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: logicalId(stack.notifications.alerts) }],
    });
  });

  it('grants the state machine no sagemaker:* and no * resource where a prefix or ARN is possible', () => {
    const statements = policyOf(pipeline.role);
    for (const statement of statements) {
      const actions = asList(statement.Action);
      expect(actions.some((a) => a === '*' || a.endsWith(':*')), JSON.stringify(actions)).toBe(false);
      if (asList(statement.Resource).includes('*')) {
        // Only X-Ray and vended log delivery, which have no resource-level permissions.
        expect(actions.every((a) => a.startsWith('xray:') || a.startsWith('logs:')), JSON.stringify(actions)).toBe(true);
      }
    }
    const training = statements.find((s) => asList(s.Action).includes('sagemaker:CreateTrainingJob'));
    expect(training?.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':training-job/caretaker-*']],
    });
  });

  it('passes only the SageMaker execution role, only to SageMaker', () => {
    const passRole = policyOf(pipeline.role).filter((s) => asList(s.Action).includes('iam:PassRole'));
    expect(passRole).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [logicalId(pipeline.sagemakerRole), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
  });

  it('may manage the EventBridge rules that .sync training and processing need', () => {
    const events = policyOf(pipeline.role).find((s) => asList(s.Action).includes('events:PutRule'));
    expect(asList(events!.Action).sort()).toEqual(['events:DescribeRule', 'events:PutRule', 'events:PutTargets']);
    expect(JSON.stringify(events!.Resource)).toContain('rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule');
    expect(JSON.stringify(events!.Resource)).toContain('rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule');
  });

  it('scopes the SageMaker execution role to artifact prefixes and the stack key, with no access to the datasets bucket', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
    });
    const statements = policyOf(pipeline.sagemakerRole);
    const s3Resources = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('s3:'))).flatMap((s) => asList(s.Resource));
    const text = JSON.stringify(s3Resources);
    for (const area of ['/checkpoints/*', '/models/*', '/evaluations/*', '/capture/*']) expect(text).toContain(area);
    expect(text).not.toContain('"/*"');
    // Jobs read the run's staged copy under models/; the dataset prefix could change under them.
    expect(text).not.toContain(logicalId(stack.datasets.bucket));
    for (const statement of statements) {
      expect(asList(statement.Action).some((a) => a === '*' || a.endsWith(':*'))).toBe(false);
      if (asList(statement.Resource).includes('*')) {
        expect(asList(statement.Action).every((a) => a === 'ecr:GetAuthorizationToken' || a === 'cloudwatch:PutMetricData')).toBe(true);
      }
    }
  });

  it('lets the steps function read registered dataset objects, stage them under models/*/*/input/ (and the XGBoost example\'s channels under models/*/*/channels/) and write baselines, nothing wider', () => {
    const statements = policyOf(pipeline.steps.role);
    const s3 = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    const byActions = (actions: string[]) => s3.find((s) => JSON.stringify(asList(s.Action).sort()) === JSON.stringify(actions));
    const datasets = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.datasets.bucket), 'Arn'] }, '/datasets/*']] };
    expect(byActions(['s3:GetObject', 's3:GetObjectVersion'])?.Resource).toEqual(datasets);
    const areas = (resources: unknown) => asList(resources).map((r) => flat(r).replace(/^<[^>]+>\//, '')).sort();
    expect(areas(byActions(['s3:AbortMultipartUpload', 's3:PutObject'])?.Resource)).toEqual(['models/*/*/channels/*', 'models/*/*/input/*']);
    expect(areas(s3.filter((s) => asList(s.Action).includes('s3:PutObject')).flatMap((s) => asList(s.Resource)))).toEqual(['baselines/*', 'models/*/*/channels/*', 'models/*/*/input/*']);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DATASETS_BUCKET: { Ref: logicalId(stack.datasets.bucket) }, DATASETS_CATALOG: Match.stringLikeRegexp('"churn"') }) },
    });
  });

  it("ships the example's evaluation script as a file asset: SageMaker may read that one object, and the settings run it with python3 as the code input", () => {
    const reads = policyOf(pipeline.sagemakerRole).filter((s) => asList(s.Action).includes('s3:GetObject'));
    const script = reads.flatMap((s) => asList(s.Resource).map(flat)).filter((r) => r.includes('cdk-hnb659fds-assets'));
    expect(script).toHaveLength(1);
    expect(script[0]).toMatch(/^arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}\/[0-9a-f]{64}\.py$/);
    const key = script[0]!.split('/').pop()!;
    const settings = JSON.stringify(template.findResources('AWS::SSM::Parameter'));
    expect(settings).toContain(`/opt/ml/processing/input/code/${key}`);
    expect(settings).toContain(`cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}/${key}`);
  });

  it('renders each model\'s settings into its own SSM parameter', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/caretaker/Caretaker/pipeline/models/churn',
      Type: 'String',
      Value: Match.anyValue(),
    });
  });

  it('synthesizes a serverless model: its settings carry ServerlessConfig and no instance fields, and its endpoint gets the rollback alarms', () => {
    const input = exampleConfigInput();
    const config = parseConfig({ ...input, models: [{ ...input.models[0]!, deployment: { mode: 'serverless', memorySizeInMB: 4096 } }] });
    const synthesized = synthCaretaker({ config }).template;
    const parameters = Object.values(synthesized.findResources('AWS::SSM::Parameter')).map((r) => JSON.stringify(r));
    const settings = parameters.find((text) => text.includes('/pipeline/models/churn'));
    expect(settings).toContain('\\"mode\\":\\"serverless\\"');
    expect(settings).toContain('\\"serverlessConfig\\":{\\"MemorySizeInMB\\":4096,\\"MaxConcurrency\\":5}');
    expect(settings).not.toContain('instanceType\\":\\"ml.m5.large');
    synthesized.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocation5XXErrors', Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'caretaker-churn' }]) });
  });

  it('creates 5XX and p99 latency rollback alarms on each model\'s endpoint', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocation5XXErrors',
      Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'caretaker-churn' }]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SageMaker',
      MetricName: 'ModelLatency',
      ExtendedStatistic: 'p99',
      Threshold: 1_000_000,
    });
  });

  it('rejects a resource prefix SageMaker names cannot start with, naming the prop', () => {
    const scope = new Stack(new App(), 'S');
    const key = new kms.Key(scope, 'K');
    const bucket = new s3.Bucket(scope, 'B');
    const topic = new sns.Topic(scope, 'T');
    const table = new dynamodb.Table(scope, 'D', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const base = { models: exampleConfig().models, encryptionKey: key, table, artifactsBucket: bucket, datasetBucket: bucket, approvalsTopic: topic, alertsTopic: topic };
    expect(() => new TrainingPipeline(scope, 'P', { ...base, resourcePrefix: 'Care_Taker' })).toThrow(/resourcePrefix .*"Care_Taker"/);
  });
});

/** The settings of a model served from an endpoint (realtime or serverless). */
function endpointOf(settings: Pick<ModelSettings, 'deployment'>) {
  if (settings.deployment.mode === 'batch') throw new Error('expected an endpoint deployment');
  return settings.deployment;
}

describe('renderModelSettings', () => {
  const names = {
    resourcePrefix: 'caretaker',
    endpointName: 'caretaker-churn',
    rollbackAlarmNames: ['a', 'b'],
    volumeKmsKeyArn: 'arn:aws:kms:us-east-1:1:key/k',
    evaluationCode: { s3Uri: 's3://assets/0123.py', fileName: '0123.py' },
  };

  it('RELIABILITY 2: renders MaxWaitTimeInSeconds ≥ MaxRuntimeInSeconds for spot, and the config refuses less at synth', () => {
    const settings = modelSettingsSchema.parse(renderModelSettings(exampleConfig().models[0]!, names));
    expect(settings.training.managedSpot).toBe(true);
    expect(settings.training.stoppingCondition.MaxWaitTimeInSeconds).toBeGreaterThanOrEqual(settings.training.stoppingCondition.MaxRuntimeInSeconds);
    expect(settings.training.taskTimeoutSeconds).toBeGreaterThan(settings.training.stoppingCondition.MaxWaitTimeInSeconds!);

    const input = exampleConfigInput();
    const model = input.models[0]!;
    const tooShort = { ...input, models: [{ ...model, training: { ...model.training, maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 } }] };
    expect(() => parseConfig(tooShort)).toThrow(/models\[0\]\.training\.maxWaitSeconds \(3600\): must be ≥ maxRuntimeSeconds \(7200\)/);
  });

  it('encrypts EBS volumes with the key but leaves NVMe instance-storage types (g5, g4dn) to hardware encryption', () => {
    const settings = renderModelSettings(exampleConfig().models[0]!, names);
    expect(settings.training.resourceConfigs.map((r) => r.VolumeKmsKeyId)).toEqual([undefined, undefined]);
    expect(settings.evaluation.clusterConfig).toMatchObject({ InstanceType: 'ml.m5.xlarge', VolumeKmsKeyId: names.volumeKmsKeyArn });
    // The example serves from ml.m5.large (EBS): its endpoint volume takes the key.
    expect(settings.deployment).toMatchObject({ mode: 'realtime', encryptStorageVolume: true });
    const input = exampleConfigInput();
    const model = input.models[0]!;
    const ebs = parseConfig({ ...input, models: [{ ...model, training: { ...model.training, instanceTypes: ['ml.p3.2xlarge'] }, deployment: { instanceType: 'ml.g5.xlarge' } }] });
    const rendered = renderModelSettings(ebs.models[0]!, names);
    expect(rendered.training.resourceConfigs).toEqual([{ InstanceType: 'ml.p3.2xlarge', InstanceCount: 1, VolumeSizeInGB: 50, VolumeKmsKeyId: names.volumeKmsKeyArn }]);
    expect(rendered.deployment).toMatchObject({ mode: 'realtime', encryptStorageVolume: false });
  });

  it('omits MaxWaitTimeInSeconds without spot (SageMaker rejects it there)', () => {
    const input = exampleConfigInput();
    const model = input.models[0]!;
    const onDemand = parseConfig({ ...input, models: [{ ...model, training: { ...model.training, managedSpot: false, maxWaitSeconds: undefined } }] });
    expect(renderModelSettings(onDemand.models[0]!, names).training.stoppingCondition).toEqual({ MaxRuntimeInSeconds: 7200 });
  });

  it('renders linear and all-at-once traffic shifting as SageMaker expects', () => {
    const input = exampleConfigInput();
    const model = input.models[0]!;
    const linear = parseConfig({ ...input, models: [{ ...model, deployment: { trafficShifting: { type: 'LINEAR', stepPercent: 20, waitSeconds: 120 } } }] });
    expect(endpointOf(renderModelSettings(linear.models[0]!, names)).deploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration).toEqual({
      Type: 'LINEAR',
      LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 20 },
      WaitIntervalInSeconds: 120,
    });
    const allAtOnce = parseConfig({ ...input, models: [{ ...model, deployment: { trafficShifting: { type: 'ALL_AT_ONCE' } } }] });
    expect(endpointOf(renderModelSettings(allAtOnce.models[0]!, names)).deploymentConfig.AutoRollbackConfiguration).toEqual({
      Alarms: [{ AlarmName: 'a' }, { AlarmName: 'b' }],
    });
  });

  it('renders a serverless deployment: ServerlessConfig and no instance fields, no network isolation, all at once with the bake and the rollback alarms', () => {
    const input = exampleConfigInput();
    const model = input.models[0]!;
    const serverless = parseConfig({ ...input, models: [{ ...model, deployment: { mode: 'serverless', memorySizeInMB: 3072, maxConcurrency: 10, provisionedConcurrency: 2, bakeSeconds: 300 } }] });
    const deployment = modelSettingsSchema.parse(renderModelSettings(serverless.models[0]!, names)).deployment;
    expect(deployment.mode).toBe('serverless');
    expect(Object.keys(deployment).sort()).toEqual(['deploymentConfig', 'endpointName', 'imageUri', 'leaseSeconds', 'mode', 'networkIsolation', 'serverlessConfig']);
    expect(deployment).toMatchObject({ networkIsolation: false, serverlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 10, ProvisionedConcurrency: 2 } });
    expect(endpointOf({ deployment }).deploymentConfig).toEqual({
      BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }, TerminationWaitInSeconds: 300 },
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'a' }, { AlarmName: 'b' }] },
    });
    // Training keeps its isolation; only the serverless model goes without (SageMaker does not support it there).
    expect(renderModelSettings(serverless.models[0]!, names).training.networkIsolation).toBe(model.training?.networkIsolation ?? true);
  });

  it('renders a batch deployment: the transform\'s input and output under the artifacts bucket, its resources with the volume key on EBS types, the job timeout', () => {
    const input = exampleConfigInput();
    const batch = parseConfig({ ...input, models: [{ ...input.models[0]!, deployment: { mode: 'batch', schedule: 'cron(0 2 * * ? *)', timeoutSeconds: 3600 } }] });
    const deployment = modelSettingsSchema.parse(renderModelSettings(batch.models[0]!, { ...names, artifactsBucket: 'artifacts' })).deployment;
    expect(deployment).toMatchObject({
      mode: 'batch',
      endpointName: 'caretaker-churn',
      transform: {
        inputUri: 's3://artifacts/batch/churn/input/',
        outputUri: 's3://artifacts/batch/churn/output/',
        contentType: 'text/csv',
        maxPayloadInMB: 6,
        resources: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeKmsKeyId: names.volumeKmsKeyArn },
        taskTimeoutSeconds: 3600,
      },
    });
    expect(() => renderModelSettings(batch.models[0]!, names)).toThrow(/model churn: deployment\.mode "batch" needs the artifacts bucket's name/);
  });

  it('synthesizes a stack whose only model is batch: no rollback alarms, no DescribeAlarms grant, transform jobs granted to the pipeline role', () => {
    const input = exampleConfigInput();
    const config = parseConfig({ ...input, models: [{ ...input.models[0]!, deployment: { mode: 'batch', schedule: 'cron(0 2 * * ? *)' } }] });
    const { stack, template } = synthCaretaker({ config });
    expect(stack.pipeline.rollbackAlarms.churn).toEqual([]);
    const policyOf = (role: { node: { defaultChild?: unknown } }) => {
      const roleId = stack.getLogicalId(role.node.defaultChild as never);
      return JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes(`"Ref":"${roleId}"`)));
    };
    expect(policyOf(stack.pipeline.role)).not.toContain('cloudwatch:DescribeAlarms');
    expect(policyOf(stack.pipeline.sagemakerRole)).not.toContain('cloudwatch:DescribeAlarms');
    expect(policyOf(stack.pipeline.role)).toContain('StepFunctionsGetEventsForSageMakerTransformJobsRule');
    expect(stack.batchScoring?.schedules.has('churn')).toBe(true);
  });
});
