/**
 * A model's pipeline settings: what one execution of the (single, shared) training pipeline
 * needs to know about the model it trains. The `TrainingPipeline` construct renders them from
 * `caretaker.config.json` into one SSM parameter per model (`<prefix>/<model>`); the state
 * machine's first task reads that parameter into `$.config.model`, and the steps Lambda
 * receives the parts it needs in its payload. SageMaker-shaped pieces (`stoppingCondition`,
 * `deploymentConfig`) are rendered ready to pass through, so the ASL needs no conditionals.
 */
import * as z from '../shared/zod';
import { ALGORITHM_CSV_FORMAT } from '../datasets/algorithm-csv';

const direction = z.enum(['maximize', 'minimize']);
const nonEmpty = z.string().check(z.minLength(1));
const positiveInt = z.int().check(z.positive());
const s3UriString = z.string().check(z.startsWith('s3://'));

export const objectiveSchema = z.object({ metricName: nonEmpty, direction });
export type Objective = z.infer<typeof objectiveSchema>;

export const gateSettingsSchema = z.object({
  minImprovement: z.number().check(z.minimum(0)),
  thresholds: z.record(z.string(), z.object({ min: z.optional(z.number()), max: z.optional(z.number()) })),
});
export type GateSettings = z.infer<typeof gateSettingsSchema>;

/** How RecordDeployment summarizes the training data into the drift baseline (`lambdas/drift/baseline.ts` options). */
export const baselineSettingsSchema = z.object({
  /** Columns left out: the label. */
  exclude: z.array(z.string()),
  /** Feature types from the declared dataset columns; columns not listed are inferred. */
  types: z.record(z.string(), z.enum(['numeric', 'categorical'])),
  /** How the model's CSV requests lay out the features, when it trains on a SageMaker algorithm's encoding (baseline.json `csvColumns`). */
  csvColumns: z.optional(z.readonly(z.array(z.string()))),
});
export type BaselineSettings = z.infer<typeof baselineSettingsSchema>;

/** What every endpoint mode's deploy states read (`$.config.model.deployment`). */
const endpointSettings = {
  endpointName: nonEmpty,
  imageUri: z.string(),
  /** CreateModel's EnableNetworkIsolation: the training setting for realtime; false for serverless, which does not support it. */
  networkIsolation: z.boolean(),
  /** How long a deployment may hold the endpoint's lease: the deploy path's computed bound (lib/execution-bound.ts). */
  leaseSeconds: positiveInt,
  /** SageMaker `DeploymentConfig`: blue/green traffic routing, baking time, auto-rollback alarms. */
  deploymentConfig: z.object({
    BlueGreenUpdatePolicy: z.record(z.string(), z.unknown()),
    AutoRollbackConfiguration: z.object({ Alarms: z.array(z.object({ AlarmName: z.string() })) }),
  }),
};

/** `FeatureEncoding` (lambdas/datasets/algorithm-csv.ts): how StageTrainingData writes a record for a SageMaker algorithm. */
const featureEncodingSchema = z.object({
  format: z.literal(ALGORITHM_CSV_FORMAT),
  label: nonEmpty,
  features: z.readonly(
    z.array(
      z.discriminatedUnion('kind', [
        z.object({ name: nonEmpty, kind: z.literal('number') }),
        z.object({ name: nonEmpty, kind: z.literal('boolean') }),
        z.object({ name: nonEmpty, kind: z.literal('one-hot'), categories: z.readonly(z.array(z.string()).check(z.minLength(1))) }),
      ]),
    ),
  ),
  columns: z.readonly(z.array(nonEmpty).check(z.minLength(1))),
  validationShare: z.number().check(z.gt(0), z.lt(1)),
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
  model: nonEmpty,
  datasetName: nonEmpty,
  /** Starts every SageMaker resource name the pipeline creates; the IAM policies are scoped to it. */
  resourcePrefix: nonEmpty,
  training: z.object({
    imageUri: z.string(),
    instanceTypes: z.array(z.string()).check(z.minLength(1)),
    instanceCount: positiveInt,
    volumeSizeGb: positiveInt,
    managedSpot: z.boolean(),
    /** SageMaker `ResourceConfig` per entry of `instanceTypes`, same order. */
    resourceConfigs: z
      .array(
        z.object({
          InstanceType: z.string(),
          InstanceCount: positiveInt,
          VolumeSizeInGB: positiveInt,
          VolumeKmsKeyId: z.optional(z.string()),
        }),
      )
      .check(z.minLength(1)),
    stoppingCondition: z.object({
      MaxRuntimeInSeconds: positiveInt,
      MaxWaitTimeInSeconds: z.optional(positiveInt),
    }),
    networkIsolation: z.boolean(),
    hyperparameters: z.record(z.string(), z.string()),
    input: trainingInputSchema,
    /** Task timeout of the `.sync` training state: the longest SageMaker may take, plus a margin. */
    taskTimeoutSeconds: positiveInt,
  }),
  evaluation: z.object({
    /**
     * SageMaker `AppSpecification`: the image run with `ContainerArguments: ["evaluate"]`, or, for
     * an evaluation script, `ContainerEntrypoint: ["python3", "<code dir>/<script>"]`.
     */
    appSpecification: z.object({
      ImageUri: z.string(),
      ContainerEntrypoint: z.optional(z.array(z.string()).check(z.minLength(1))),
      ContainerArguments: z.optional(z.array(z.string())),
    }),
    /** The evaluation script, passed to the job as the processing input `code` (S3 URI of the one object). */
    code: z.optional(z.object({ s3Uri: s3UriString })),
    instanceType: z.string(),
    /** SageMaker `ProcessingResources.ClusterConfig`. */
    clusterConfig: z.object({
      InstanceCount: positiveInt,
      InstanceType: z.string(),
      VolumeSizeInGB: positiveInt,
      VolumeKmsKeyId: z.optional(z.string()),
    }),
    maxRuntimeSeconds: positiveInt,
    taskTimeoutSeconds: positiveInt,
  }),
  objective: objectiveSchema,
  gate: gateSettingsSchema,
  baseline: baselineSettingsSchema,
  approval: z.object({ timeoutSeconds: positiveInt, heartbeatSeconds: positiveInt }),
  deployment: z.discriminatedUnion('mode', [
    z.object({
      mode: z.literal('realtime'),
      ...endpointSettings,
      instanceType: z.string(),
      initialInstanceCount: positiveInt,
      dataCapturePercent: z.int().check(z.minimum(0), z.maximum(100)),
      /** False for instance types with NVMe instance storage, where SageMaker refuses a volume KmsKeyId. */
      encryptStorageVolume: z.boolean(),
    }),
    z.object({
      mode: z.literal('serverless'),
      ...endpointSettings,
      /** SageMaker `ProductionVariant.ServerlessConfig`, in place of the instance fields. */
      serverlessConfig: z.object({
        MemorySizeInMB: positiveInt,
        MaxConcurrency: positiveInt,
        ProvisionedConcurrency: z.optional(positiveInt),
      }),
    }),
    z.object({
      mode: z.literal('batch'),
      /** No endpoint: the deployment lease's key (one deployment in flight per model's serving name). */
      endpointName: nonEmpty,
      imageUri: z.string(),
      networkIsolation: z.boolean(),
      leaseSeconds: positiveInt,
      /** The Batch Transform job the deploy path runs with the approved version (CreateTransformJob). */
      transform: z.object({
        /** `s3://<artifacts>/<inputPrefix>`: every object under it is scored. */
        inputUri: s3UriString,
        /** `s3://<artifacts>/<outputPrefix>`: each job writes under `<outputUri><job name>/`. */
        outputUri: s3UriString,
        contentType: z.string(),
        maxPayloadInMB: positiveInt,
        /** SageMaker `TransformResources` (VolumeKmsKeyId only on EBS-backed types). */
        resources: z.object({ InstanceType: z.string(), InstanceCount: positiveInt, VolumeKmsKeyId: z.optional(z.string()) }),
        /** Task timeout of the `.sync` transform state: deployment.timeoutSeconds. */
        taskTimeoutSeconds: positiveInt,
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
