/**
 * Renders a model's `caretaker.config.json` entry into the settings one pipeline execution
 * reads (`lambdas/pipeline/settings.ts`). Pure: the construct passes resolved names or tokens,
 * the offline executions pass literal ones.
 */
import type { ModelConfig, ServerlessDeployment } from './config';
import { featureTypesOf } from '../lambdas/drift/baseline';
import { artifactPrefixes } from '../lambdas/shared/layout';
import { EVALUATION_CONTAINER_ARGUMENTS, type ModelSettings } from '../lambdas/pipeline/settings';
import { executionBound, loadTrainingPipelineDefinition, type ExecutionBound } from './execution-bound';
import { gpuHyperparametersOf } from './sagemaker-images';

export interface ModelSettingsNames {
  /** Starts every SageMaker resource name; IAM is scoped to it. */
  readonly resourcePrefix: string;
  /** The model's endpoint. */
  readonly endpointName: string;
  /** CloudWatch alarms that roll a blue/green deployment back. */
  readonly rollbackAlarmNames: readonly string[];
  /** Key for EBS storage volumes of jobs and endpoints (not used on instance-storage types). */
  readonly volumeKmsKeyArn: string;
  /** The artifacts bucket's name: batch models' transform input and output live in it. Required for batch models. */
  readonly artifactsBucket?: string;
}

/**
 * Instance families whose storage is local NVMe. SageMaker refuses a volume KmsKeyId for them
 * (CreateTrainingJob, CreateProcessingJob, CreateEndpointConfig); the instance store is
 * encrypted by the hardware instead.
 */
const INSTANCE_STORAGE = /^ml\.(g4dn|g5|g6|g6e|gr6|p3dn|p4d|p4de|p5|p5e|p5en|m5d|m6id|c5d|c6id|r5d|r6id|trn1|trn1n|inf2)\./;

/** Whether SageMaker accepts a customer-managed key for this instance type's storage volume. */
export function takesVolumeKmsKey(instanceType: string): boolean {
  return !INSTANCE_STORAGE.test(instanceType);
}

/** Margin on top of SageMaker's own limits before a `.sync` task gives up on a job. */
const TASK_TIMEOUT_MARGIN_SECONDS = 3600;

/**
 * A serverless variant's `ServerlessConfig` (SageMaker CreateEndpointConfig,
 * ProductionVariant.ServerlessConfig): memory, the concurrency cap, and provisioned (warm)
 * concurrency only when configured; without it the endpoint scales to zero.
 */
export function renderServerlessConfig(deployment: ServerlessDeployment): { MemorySizeInMB: number; MaxConcurrency: number; ProvisionedConcurrency?: number } {
  return {
    MemorySizeInMB: deployment.memorySizeInMB,
    MaxConcurrency: deployment.maxConcurrency,
    ...(deployment.provisionedConcurrency !== undefined ? { ProvisionedConcurrency: deployment.provisionedConcurrency } : {}),
  };
}

/**
 * The production variant of a serverless endpoint config, as the pipeline's
 * CreateServerlessEndpointConfig state sends it: `ServerlessConfig` in place of the instance
 * fields. No DataCaptureConfig and no network isolation go with it: serverless endpoints support
 * neither (serverless-endpoints.html, feature exclusions).
 */
export function renderServerlessVariant(deployment: ServerlessDeployment, modelName: string): Record<string, unknown> {
  return { VariantName: 'AllTraffic', ModelName: modelName, ServerlessConfig: renderServerlessConfig(deployment) };
}

/**
 * A model's settings, with `deployment.leaseSeconds` (how long a deployment may hold the
 * endpoint) set to the deploy path's bound, computed from the ASL and these settings.
 */
export function renderModelSettings(model: ModelConfig, names: ModelSettingsNames): ModelSettings {
  const draft = renderWithoutLease(model, names);
  const { deploySeconds } = executionBound(loadTrainingPipelineDefinition(), draft);
  return { ...draft, deployment: { ...draft.deployment, leaseSeconds: deploySeconds } };
}

/** The longest one execution for this model can run (lib/execution-bound.ts), names aside. */
export function executionBoundOf(model: ModelConfig): ExecutionBound {
  return executionBound(loadTrainingPipelineDefinition(), renderModelSettings(model, { resourcePrefix: 'bound', endpointName: 'bound', rollbackAlarmNames: [], volumeKmsKeyArn: 'bound', artifactsBucket: 'bound' }));
}

function renderWithoutLease(model: ModelConfig, names: ModelSettingsNames): ModelSettings {
  return { ...renderCommon(model, names), deployment: renderDeployment(model, names) };
}

function renderDeployment(model: ModelConfig, names: ModelSettingsNames): ModelSettings['deployment'] {
  const { training, deployment } = model;
  const imageUri = model.inferenceImageUri ?? model.trainingImageUri;
  if (deployment.mode === 'batch') {
    if (names.artifactsBucket === undefined) throw new Error(`model ${model.name}: deployment.mode "batch" needs the artifacts bucket's name to render its transform input and output`);
    const s3 = (prefix: string) => `s3://${names.artifactsBucket}/${prefix}`;
    return {
      mode: 'batch',
      endpointName: names.endpointName,
      imageUri,
      networkIsolation: training.networkIsolation,
      // Set by renderModelSettings from the computed bound.
      leaseSeconds: 1,
      transform: {
        inputUri: s3(deployment.inputPrefix ?? artifactPrefixes.batchInput(model.name)),
        outputUri: s3(deployment.outputPrefix ?? artifactPrefixes.batchOutput(model.name)),
        contentType: deployment.contentType,
        maxPayloadInMB: deployment.maxPayloadInMB,
        resources: {
          InstanceType: deployment.instanceType,
          InstanceCount: deployment.instanceCount,
          ...(takesVolumeKmsKey(deployment.instanceType) ? { VolumeKmsKeyId: names.volumeKmsKeyArn } : {}),
        },
        taskTimeoutSeconds: deployment.timeoutSeconds,
      },
    };
  }
  const shifting = deployment.trafficShifting;
  const trafficRouting =
    shifting.type === 'CANARY'
      ? { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: shifting.canaryPercent }, WaitIntervalInSeconds: shifting.waitSeconds }
      : shifting.type === 'LINEAR'
        ? { Type: 'LINEAR', LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: shifting.stepPercent }, WaitIntervalInSeconds: shifting.waitSeconds }
        : { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 };

  const endpoint = {
    endpointName: names.endpointName,
    imageUri,
    // Set by renderModelSettings from the computed bound.
    leaseSeconds: 1,
    deploymentConfig: {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: trafficRouting,
        // Baking time: how long the new fleet serves all traffic, watched by the alarms, before the old one goes.
        TerminationWaitInSeconds: deployment.bakeSeconds,
      },
      AutoRollbackConfiguration: { Alarms: names.rollbackAlarmNames.map((AlarmName) => ({ AlarmName })) },
    },
  };

  if (deployment.mode === 'serverless') {
    return {
      mode: 'serverless',
      ...endpoint,
      // Serverless endpoints do not support network isolation (feature exclusions); the model runs without it.
      networkIsolation: false,
      serverlessConfig: renderServerlessConfig(deployment),
    };
  }
  return {
    mode: 'realtime',
    ...endpoint,
    networkIsolation: training.networkIsolation,
    instanceType: deployment.instanceType,
    initialInstanceCount: deployment.initialInstanceCount,
    dataCapturePercent: deployment.dataCapturePercent,
    encryptStorageVolume: takesVolumeKmsKey(deployment.instanceType),
  };
}

function renderCommon(model: ModelConfig, names: ModelSettingsNames): Omit<ModelSettings, 'deployment'> {
  const { training } = model;
  const longestTraining = training.maxWaitSeconds ?? training.maxRuntimeSeconds;
  return {
    model: model.name,
    datasetName: model.dataset.name,
    resourcePrefix: names.resourcePrefix,
    training: {
      imageUri: model.trainingImageUri,
      instanceTypes: [...training.instanceTypes],
      instanceCount: training.instanceCount,
      volumeSizeGb: training.volumeSizeGb,
      managedSpot: training.managedSpot,
      resourceConfigs: training.instanceTypes.map((InstanceType) => ({
        InstanceType,
        InstanceCount: training.instanceCount,
        VolumeSizeInGB: training.volumeSizeGb,
        ...(takesVolumeKmsKey(InstanceType) ? { VolumeKmsKeyId: names.volumeKmsKeyArn } : {}),
      })),
      stoppingCondition: {
        MaxRuntimeInSeconds: training.maxRuntimeSeconds,
        ...(training.managedSpot && training.maxWaitSeconds !== undefined ? { MaxWaitTimeInSeconds: training.maxWaitSeconds } : {}),
      },
      networkIsolation: training.networkIsolation,
      hyperparameters: { ...training.hyperparameters },
      taskTimeoutSeconds: longestTraining + TASK_TIMEOUT_MARGIN_SECONDS,
    },
    evaluation: {
      imageUri: model.evaluation.imageUri ?? model.trainingImageUri,
      containerArguments: [...EVALUATION_CONTAINER_ARGUMENTS],
      instanceType: model.evaluation.instanceType,
      clusterConfig: {
        InstanceCount: 1,
        InstanceType: model.evaluation.instanceType,
        VolumeSizeInGB: 30,
        ...(takesVolumeKmsKey(model.evaluation.instanceType) ? { VolumeKmsKeyId: names.volumeKmsKeyArn } : {}),
      },
      maxRuntimeSeconds: model.evaluation.maxRuntimeSeconds,
      taskTimeoutSeconds: model.evaluation.maxRuntimeSeconds + TASK_TIMEOUT_MARGIN_SECONDS,
    },
    objective: { ...model.objective },
    gate: { minImprovement: model.gate.minImprovement, thresholds: { ...model.gate.thresholds } },
    baseline: {
      exclude: model.dataset.targetColumn !== undefined ? [model.dataset.targetColumn] : [],
      types: featureTypesOf(model.dataset.columns ?? []),
    },
    approval: {
      timeoutSeconds: model.approval.timeoutSeconds,
      heartbeatSeconds: model.approval.heartbeatSeconds ?? model.approval.timeoutSeconds,
    },
  };
}

/** SageMaker's accelerated instance families (GPUs): g4dn, g5, g6, g6e, p3, p4d, p5 … (`ml.<family>.<size>`). */
const GPU_FAMILY = /^ml\.[gp]\d/;

/**
 * The hyperparameters that make a built-in image train on the GPU (lib/sagemaker-images.ts: XGBoost
 * 1.x `tree_method=gpu_hist`, 2.x `device=cuda` + `tree_method=hist`), when every instance type the
 * run may fall back to has one: `device=cuda` on a CPU instance fails the job. Read from the image's
 * name, before it is resolved to a URI (TrainingPipeline); the config's own hyperparameters are
 * spread after these, so a model can still set them itself.
 */
export function trainingHyperparameters(imageUri: string, instanceTypes: readonly string[]): Readonly<Record<string, string>> {
  return instanceTypes.length > 0 && instanceTypes.every((type) => GPU_FAMILY.test(type)) ? gpuHyperparametersOf(imageUri) : {};
}
