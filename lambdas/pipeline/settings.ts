/**
 * A model's pipeline settings: what one execution of the (single, shared) training pipeline
 * needs to know about the model it trains. The `TrainingPipeline` construct renders them from
 * `caretaker.config.json` into one SSM parameter per model (`<prefix>/<model>`); the state
 * machine's first task reads that parameter into `$.config.model`, and the steps Lambda
 * receives the parts it needs in its payload. SageMaker-shaped pieces (`stoppingCondition`,
 * `deploymentConfig`) are rendered ready to pass through, so the ASL needs no conditionals.
 */
import * as z from 'zod';
import { ALGORITHM_CSV_FORMAT } from '../datasets/algorithm-csv';

const direction = z.enum(['maximize', 'minimize']);

export const objectiveSchema = z.object({ metricName: z.string().min(1), direction });
export type Objective = z.infer<typeof objectiveSchema>;

export const gateSettingsSchema = z.object({
  minImprovement: z.number().min(0),
  thresholds: z.record(z.string(), z.object({ min: z.number().optional(), max: z.number().optional() })),
});
export type GateSettings = z.infer<typeof gateSettingsSchema>;

/** How RecordDeployment summarizes the training data into the drift baseline (`lambdas/drift/baseline.ts` options). */
export const baselineSettingsSchema = z.object({
  /** Columns left out: the label. */
  exclude: z.array(z.string()),
  /** Feature types from the declared dataset columns; columns not listed are inferred. */
  types: z.record(z.string(), z.enum(['numeric', 'categorical'])),
  /** How the model's CSV requests lay out the features, when it trains on a SageMaker algorithm's encoding (baseline.json `csvColumns`). */
  csvColumns: z.array(z.string()).readonly().optional(),
});
export type BaselineSettings = z.infer<typeof baselineSettingsSchema>;

/** What every endpoint mode's deploy states read (`$.config.model.deployment`). */
const endpointSettings = {
  endpointName: z.string().min(1),
  imageUri: z.string(),
  /** CreateModel's EnableNetworkIsolation: the training setting for realtime; false for serverless, which does not support it. */
  networkIsolation: z.boolean(),
  /** How long a deployment may hold the endpoint's lease: the deploy path's computed bound (lib/execution-bound.ts). */
  leaseSeconds: z.number().int().positive(),
  /** SageMaker `DeploymentConfig`: blue/green traffic routing, baking time, auto-rollback alarms. */
  deploymentConfig: z.object({
    BlueGreenUpdatePolicy: z.record(z.string(), z.unknown()),
    AutoRollbackConfiguration: z.object({ Alarms: z.array(z.object({ AlarmName: z.string() })) }),
  }),
};

/** `FeatureEncoding` (lambdas/datasets/algorithm-csv.ts): how StageTrainingData writes a record for a SageMaker algorithm. */
const featureEncodingSchema = z.object({
  format: z.literal(ALGORITHM_CSV_FORMAT),
  label: z.string().min(1),
  features: z.array(
    z.discriminatedUnion('kind', [
      z.object({ name: z.string().min(1), kind: z.literal('number') }),
      z.object({ name: z.string().min(1), kind: z.literal('boolean') }),
      z.object({ name: z.string().min(1), kind: z.literal('one-hot'), categories: z.array(z.string()).min(1).readonly() }),
    ]),
  ).readonly(),
  columns: z.array(z.string().min(1)).min(1).readonly(),
  validationShare: z.number().gt(0).lt(1),
});

/**
 * What the training job reads. `dataset-csv`: one `train` channel, the run's copy of the dataset
 * version as registered (header row, the dataset's columns), for an image of the team's own.
 * `sagemaker-algorithm-csv`: a SageMaker algorithm image's `train` and `validation` channels,
 * written by StageTrainingData with this encoding (label first, no header, numbers only).
 */
export const trainingInputSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('dataset-csv') }),
  z.object({ format: z.literal(ALGORITHM_CSV_FORMAT), encoding: featureEncodingSchema }),
]);
export type TrainingInput = z.infer<typeof trainingInputSchema>;

export const modelSettingsSchema = z.object({
  model: z.string().min(1),
  datasetName: z.string().min(1),
  /** Starts every SageMaker resource name the pipeline creates; the IAM policies are scoped to it. */
  resourcePrefix: z.string().min(1),
  training: z.object({
    imageUri: z.string(),
    instanceTypes: z.array(z.string()).min(1),
    instanceCount: z.number().int().positive(),
    volumeSizeGb: z.number().int().positive(),
    managedSpot: z.boolean(),
    /** SageMaker `ResourceConfig` per entry of `instanceTypes`, same order. */
    resourceConfigs: z
      .array(
        z.object({
          InstanceType: z.string(),
          InstanceCount: z.number().int().positive(),
          VolumeSizeInGB: z.number().int().positive(),
          VolumeKmsKeyId: z.string().optional(),
        }),
      )
      .min(1),
    stoppingCondition: z.object({
      MaxRuntimeInSeconds: z.number().int().positive(),
      MaxWaitTimeInSeconds: z.number().int().positive().optional(),
    }),
    networkIsolation: z.boolean(),
    hyperparameters: z.record(z.string(), z.string()),
    input: trainingInputSchema,
    /** Task timeout of the `.sync` training state: the longest SageMaker may take, plus a margin. */
    taskTimeoutSeconds: z.number().int().positive(),
  }),
  evaluation: z.object({
    /**
     * SageMaker `AppSpecification`: the image run with `ContainerArguments: ["evaluate"]`, or, for
     * an evaluation script, `ContainerEntrypoint: ["python3", "<code dir>/<script>"]`.
     */
    appSpecification: z.object({
      ImageUri: z.string(),
      ContainerEntrypoint: z.array(z.string()).min(1).optional(),
      ContainerArguments: z.array(z.string()).optional(),
    }),
    /** The evaluation script, passed to the job as the processing input `code` (S3 URI of the one object). */
    code: z.object({ s3Uri: z.string().startsWith('s3://') }).optional(),
    instanceType: z.string(),
    /** SageMaker `ProcessingResources.ClusterConfig`. */
    clusterConfig: z.object({
      InstanceCount: z.number().int().positive(),
      InstanceType: z.string(),
      VolumeSizeInGB: z.number().int().positive(),
      VolumeKmsKeyId: z.string().optional(),
    }),
    maxRuntimeSeconds: z.number().int().positive(),
    taskTimeoutSeconds: z.number().int().positive(),
  }),
  objective: objectiveSchema,
  gate: gateSettingsSchema,
  baseline: baselineSettingsSchema,
  approval: z.object({ timeoutSeconds: z.number().int().positive(), heartbeatSeconds: z.number().int().positive() }),
  deployment: z.discriminatedUnion('mode', [
    z.object({
      mode: z.literal('realtime'),
      ...endpointSettings,
      instanceType: z.string(),
      initialInstanceCount: z.number().int().positive(),
      dataCapturePercent: z.number().int().min(0).max(100),
      /** False for instance types with NVMe instance storage, where SageMaker refuses a volume KmsKeyId. */
      encryptStorageVolume: z.boolean(),
    }),
    z.object({
      mode: z.literal('serverless'),
      ...endpointSettings,
      /** SageMaker `ProductionVariant.ServerlessConfig`, in place of the instance fields. */
      serverlessConfig: z.object({
        MemorySizeInMB: z.number().int().positive(),
        MaxConcurrency: z.number().int().positive(),
        ProvisionedConcurrency: z.number().int().positive().optional(),
      }),
    }),
    z.object({
      mode: z.literal('batch'),
      /** No endpoint: the deployment lease's key (one deployment in flight per model's serving name). */
      endpointName: z.string().min(1),
      imageUri: z.string(),
      networkIsolation: z.boolean(),
      leaseSeconds: z.number().int().positive(),
      /** The Batch Transform job the deploy path runs with the approved version (CreateTransformJob). */
      transform: z.object({
        /** `s3://<artifacts>/<inputPrefix>`: every object under it is scored. */
        inputUri: z.string().startsWith('s3://'),
        /** `s3://<artifacts>/<outputPrefix>`: each job writes under `<outputUri><job name>/`. */
        outputUri: z.string().startsWith('s3://'),
        contentType: z.string(),
        maxPayloadInMB: z.number().int().positive(),
        /** SageMaker `TransformResources` (VolumeKmsKeyId only on EBS-backed types). */
        resources: z.object({ InstanceType: z.string(), InstanceCount: z.number().int().positive(), VolumeKmsKeyId: z.string().optional() }),
        /** Task timeout of the `.sync` transform state: deployment.timeoutSeconds. */
        taskTimeoutSeconds: z.number().int().positive(),
      }),
    }),
  ]),
});
export type ModelSettings = z.infer<typeof modelSettingsSchema>;

/** The evaluation container's contract: it is run with these arguments … */
export const EVALUATION_CONTAINER_ARGUMENTS = ['evaluate'] as const;
/** … or an evaluation script is: the `code` processing input's local path, where SageMaker puts the script. */
export const EVALUATION_CODE_PATH = '/opt/ml/processing/input/code';
/** … and writes this file into its `report` output (`evaluations/<model>/<runId>/`). */
export const EVALUATION_REPORT_FILE = 'evaluation.json';

/** `evaluation.json`'s shape: the pipeline's gate and the API's evaluation view both read it. */
export { evaluationReportSchema, type EvaluationReport } from '../shared/contracts';
