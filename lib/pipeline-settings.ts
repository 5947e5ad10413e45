/**
 * Renders a model's `caretaker.config.json` entry into the settings one pipeline execution
 * reads (`lambdas/pipeline/settings.ts`). Pure: the construct passes resolved names or tokens,
 * the offline executions pass literal ones.
 */
import type { ModelConfig, ServerlessDeployment } from './config';
import { featureTypesOf } from '../lambdas/drift/baseline';
import { artifactPrefixes } from '../lambdas/shared/layout';
import { ALGORITHM_CSV_FORMAT, featureEncoding, type FeatureEncoding } from '../lambdas/datasets/algorithm-csv';
import { EVALUATION_CODE_PATH, EVALUATION_CONTAINER_ARGUMENTS, type ModelSettings, type TrainingInput } from '../lambdas/pipeline/settings';
import { executionBound, loadTrainingPipelineDefinition, type ExecutionBound } from './execution-bound';
import { gpuHyperparametersOf, isBuiltInImage } from './sagemaker-images';

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
  /**
   * A config image name as the URI SageMaker pulls (`sagemaker-xgboost:1.7-1` → the region's
   * registry: lib/constructs/sagemaker-image-uri.ts). @default the name as given
   */
  readonly resolveImage?: (name: string, field: string) => string;
  /** Where the stack put `evaluation.script` (one S3 object) and its file name there. Required when the model names a script. */
  readonly evaluationCode?: { readonly s3Uri: string; readonly fileName: string };
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

/** Names for a rendering whose only use is the execution bound: none of them changes it. */
export const BOUND_NAMES: ModelSettingsNames = {
  resourcePrefix: 'bound',
  endpointName: 'bound',
  rollbackAlarmNames: [],
  volumeKmsKeyArn: 'bound',
  artifactsBucket: 'bound',
  evaluationCode: { s3Uri: 's3://bound/evaluate.py', fileName: 'evaluate.py' },
};

/** The longest one execution for this model can run (lib/execution-bound.ts), names aside. */
export function executionBoundOf(model: ModelConfig): ExecutionBound {
  return executionBound(loadTrainingPipelineDefinition(), renderModelSettings(model, BOUND_NAMES));
}

function renderWithoutLease(model: ModelConfig, names: ModelSettingsNames): ModelSettings {
  return { ...renderCommon(model, names), deployment: renderDeployment(model, names) };
}

function renderDeployment(model: ModelConfig, names: ModelSettingsNames): ModelSettings['deployment'] {
  const { training, deployment } = model;
  const imageUri = imageOf(names, model.inferenceImageUri ?? model.trainingImageUri, `models[${model.name}].${model.inferenceImageUri ? 'inferenceImageUri' : 'trainingImageUri'}`);
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
  const evaluationImage = model.evaluation.imageUri ?? model.trainingImageUri;
  const input = trainingInputOf(model);
  return {
    model: model.name,
    datasetName: model.dataset.name,
    resourcePrefix: names.resourcePrefix,
    training: {
      imageUri: imageOf(names, model.trainingImageUri, `models[${model.name}].trainingImageUri`),
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
      // The image's name (before resolution) says which GPU hyperparameters its version takes; the config's own win.
      hyperparameters: { ...trainingHyperparameters(model.trainingImageUri, training.instanceTypes), ...training.hyperparameters },
      input,
      taskTimeoutSeconds: longestTraining + TASK_TIMEOUT_MARGIN_SECONDS,
    },
    evaluation: {
      ...evaluationContainer(model, names, imageOf(names, evaluationImage, `models[${model.name}].${model.evaluation.imageUri ? 'evaluation.imageUri' : 'trainingImageUri'}`)),
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
      ...(input.format === ALGORITHM_CSV_FORMAT ? { csvColumns: input.encoding.columns } : {}),
    },
    approval: {
      timeoutSeconds: model.approval.timeoutSeconds,
      heartbeatSeconds: model.approval.heartbeatSeconds ?? model.approval.timeoutSeconds,
    },
  };
}

function imageOf(names: ModelSettingsNames, name: string, field: string): string {
  return names.resolveImage ? names.resolveImage(name, field) : name;
}

/** SageMaker's algorithm images read the algorithm CSV format, written with the encoding of the declared columns; other images read the dataset as registered. */
function trainingInputOf(model: ModelConfig): TrainingInput {
  const encoding = algorithmEncodingOf(model);
  return encoding ? { format: ALGORITHM_CSV_FORMAT, encoding } : { format: 'dataset-csv' };
}

/**
 * The encoding a model trained by a SageMaker algorithm image reads and is called with (requests
 * are its feature columns, label left out); undefined for an image of the team's own.
 */
export function algorithmEncodingOf(model: ModelConfig): FeatureEncoding | undefined {
  if (!isBuiltInImage(model.trainingImageUri)) return undefined;
  const { columns, targetColumn } = model.dataset;
  // The config check refuses a built-in image without them (lib/config.ts); a config built by hand gets the same answer here.
  if (columns === undefined || targetColumn === undefined) {
    throw new Error(`model ${model.name}: ${model.trainingImageUri} trains on the algorithm CSV format, which needs dataset.columns and dataset.targetColumn`);
  }
  return featureEncoding(columns, targetColumn);
}

/** The evaluation job's AppSpecification: the image's `evaluate` entry point, or `python3 <script>` with the script as the `code` input. */
function evaluationContainer(model: ModelConfig, names: ModelSettingsNames, imageUri: string): Pick<ModelSettings['evaluation'], 'appSpecification' | 'code'> {
  if (model.evaluation.script === undefined) return { appSpecification: { ImageUri: imageUri, ContainerArguments: [...EVALUATION_CONTAINER_ARGUMENTS] } };
  const code = names.evaluationCode;
  if (code === undefined) throw new Error(`model ${model.name}: evaluation.script needs the S3 location the stack uploaded it to (evaluationCode)`);
  return {
    appSpecification: { ImageUri: imageUri, ContainerEntrypoint: ['python3', `${EVALUATION_CODE_PATH}/${code.fileName}`] },
    code: { s3Uri: code.s3Uri },
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
