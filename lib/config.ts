/**
 * The Caretaker configuration file (`caretaker.config.json`): what a platform team edits to
 * declare its models. Parsed with zod at synth; every error names the field path and the bad
 * value, and nothing is synthesized from a config that does not parse.
 */
import { statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import * as z from 'zod';
import { approverEntrySchema } from '../lambdas/api/principal';
import { columnRuleSchema, type ColumnRule } from '../lambdas/datasets/catalog';
import { featureEncoding } from '../lambdas/datasets/algorithm-csv';
import { Invalid } from '../lambdas/shared/errors';
import { DETAIL_TYPES } from '../lambdas/events/catalog';
import { FileError, readJson } from './files';
import { isBuiltInImage } from './sagemaker-images';

/** Model names become part of SageMaker job names (≤ 63 chars) and execution names (≤ 80). */
export const MODEL_NAME_MAX_LENGTH = 24;
const MODEL_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const SAGEMAKER_INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;
/** An ECR image URI with a tag or digest, or a SageMaker image by name (`sagemaker-xgboost:1.7-1`, resolved per region at synth: lib/sagemaker-images.ts). */
const ECR_IMAGE_URI =
  /^(\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9]+([._/-][a-z0-9]+)*(:[\w.-]{1,128}|@sha256:[a-f0-9]{64})|sagemaker-xgboost:\d+\.\d+-\d+)$/;
const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$/;
const METRIC_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;

/** GPU instance families SageMaker trains on; the default is the cheapest current one. */
export const DEFAULT_TRAINING_INSTANCE_TYPE = 'ml.g5.xlarge';

const positiveInt = z.number().int().positive();

/** The runtime's column rule (`lambdas/datasets/catalog.ts`, one definition), documented for the config schema. */
const columnShape = columnRuleSchema.shape;
const columnSchema = z.strictObject({
  ...columnShape,
  name: columnShape.name.check(z.describe('Column name as it appears in the header row.')),
  type: columnShape.type.check(z.describe('Value type of the column.')),
  nullable: columnShape.nullable.check(z.describe('Whether empty values are allowed.')),
  maxNullRate: columnShape.maxNullRate.check(z.describe('Largest accepted share of empty values (0–1).')),
  min: columnShape.min.check(z.describe('Smallest accepted value (numeric columns).')),
  max: columnShape.max.check(z.describe('Largest accepted value (numeric columns).')),
  categories: columnShape.categories.check(
    z.describe(
      "The values of a string column, in encoding order: a model trained on SageMaker's algorithm CSV format (sagemaker-xgboost) gets one 0/1 column per category. Required for such a model's string features.",
    ),
  ),
});

const trainingSchema = z
  .strictObject({
    instanceTypes: z
      .array(z.string().regex(SAGEMAKER_INSTANCE_TYPE, 'must look like ml.<family>.<size>'))
      .min(1)
      .max(4)
      .default([DEFAULT_TRAINING_INSTANCE_TYPE])
      .describe(
        'Training instance types, in order of preference. After retries on capacity errors the pipeline falls back to the next one.',
      ),
    instanceCount: positiveInt.max(16).default(1).describe('Instances per training job.'),
    volumeSizeGb: positiveInt.max(16384).default(50).describe('Training volume size in GB.'),
    managedSpot: z.boolean().default(true).describe('Use managed spot training with checkpoints.'),
    maxRuntimeSeconds: positiveInt
      .max(28 * 24 * 3600)
      .default(4 * 3600)
      .describe('Longest a training job may run (StoppingCondition.MaxRuntimeInSeconds).'),
    maxWaitSeconds: positiveInt
      .max(28 * 24 * 3600)
      .optional()
      .describe(
        'Longest to wait for spot capacity plus runtime (MaxWaitTimeInSeconds); must be ≥ maxRuntimeSeconds. Default: twice maxRuntimeSeconds when managedSpot is on.',
      ),
    networkIsolation: z.boolean().default(true).describe('Run the training container without network access.'),
    hyperparameters: z
      .record(z.string().regex(/^[A-Za-z0-9_.:-]{1,256}$/), z.string().max(2500))
      .default({})
      .describe('Hyperparameters passed to the training container, as strings.'),
  })
  .transform((training, ctx) => {
    const maxWaitSeconds = training.maxWaitSeconds ?? (training.managedSpot ? 2 * training.maxRuntimeSeconds : undefined);
    if (maxWaitSeconds !== undefined && !training.managedSpot) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxWaitSeconds'],
        input: maxWaitSeconds,
        message: 'only applies when managedSpot is true',
      });
    }
    if (maxWaitSeconds !== undefined && maxWaitSeconds < training.maxRuntimeSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxWaitSeconds'],
        input: maxWaitSeconds,
        message: `must be ≥ maxRuntimeSeconds (${training.maxRuntimeSeconds})`,
      });
    }
    if (new Set(training.instanceTypes).size !== training.instanceTypes.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['instanceTypes'],
        input: training.instanceTypes,
        message: 'must not list an instance type twice',
      });
    }
    return { ...training, maxWaitSeconds };
  });

const thresholdSchema = z
  .strictObject({
    min: z.number().optional().describe('The candidate must score at least this.'),
    max: z.number().optional().describe('The candidate must score at most this.'),
  })
  .refine((t) => t.min !== undefined || t.max !== undefined, 'needs min or max')
  .refine((t) => t.min === undefined || t.max === undefined || t.min <= t.max, 'min must be ≤ max');

/**
 * SageMaker Serverless Inference's documented exclusions ("Feature exclusions", Deploy models
 * with Amazon SageMaker Serverless Inference:
 * https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html#serverless-endpoints-how-it-works-exclusions):
 * GPUs, AWS Marketplace model packages, private Docker registries, multi-model endpoints, VPC
 * configuration, network isolation, data capture, multiple production variants, Model Monitor
 * and inference pipelines are not supported. Caretaker hosts one ECR image, one variant, no VPC
 * and no Marketplace package in every mode, so what is left to refuse is below; network
 * isolation is left off the serverless model by the pipeline (see pipeline-settings.ts).
 */
const SERVERLESS_EXCLUSIONS = 'SageMaker Serverless Inference feature exclusions, docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html';

/** A field one deployment mode does not take: present at all → refused with `message`. */
const refusedField = (message: string) => z.never({ error: message }).optional();

/** CANARY/LINEAR sizes as SageMaker bounds them (TrafficRoutingConfig, CapacitySize: canary ≤ 50 % of the fleet; linear steps 10–50 %). */
const trafficShiftingSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('CANARY'),
      canaryPercent: z
        .number()
        .int()
        .min(1)
        .max(50, 'must be ≤ 50: SageMaker caps a canary at half of the new fleet (deployment guardrails, canary traffic shifting)')
        .default(10),
      waitSeconds: positiveInt.max(3600).default(600),
    }),
    z.strictObject({
      type: z.literal('LINEAR'),
      stepPercent: z
        .number()
        .int()
        .min(10, 'must be 10–50: SageMaker shifts each linear step between 10 % and 50 % of the new fleet (deployment guardrails, linear traffic shifting)')
        .max(50, 'must be 10–50: SageMaker shifts each linear step between 10 % and 50 % of the new fleet (deployment guardrails, linear traffic shifting)')
        .default(25),
      waitSeconds: positiveInt.max(3600).default(300),
    }),
    z.strictObject({ type: z.literal('ALL_AT_ONCE') }),
  ])
  .default({ type: 'CANARY', canaryPercent: 10, waitSeconds: 600 })
  .describe('Blue/green traffic shifting of an endpoint update (SageMaker deployment guardrails).');

/** Inference instances default to a CPU type: a churn-sized model does not need a GPU, and an idle ml.g5.xlarge costs ~$1,000 a month. */
export const DEFAULT_INFERENCE_INSTANCE_TYPE = 'ml.m5.large';

const bakeSeconds = z
  .number()
  .int()
  .min(0)
  .max(3600)
  .default(600)
  .describe('How long the new fleet serves all traffic, watched by the rollback alarms, before the old one is removed (TerminationWaitInSeconds).');
const latencyAlarmMs = positiveInt.default(1000).describe('p99 ModelLatency above this rolls the deployment back.');

const realtimeDeploymentSchema = z.strictObject({
  mode: z.literal('realtime').default('realtime').describe('"realtime": an endpoint on always-on instances (the default).'),
  instanceType: z
    .string()
    .regex(SAGEMAKER_INSTANCE_TYPE, 'must look like ml.<family>.<size>')
    .default(DEFAULT_INFERENCE_INSTANCE_TYPE)
    .describe('Endpoint instance type. Default: ml.m5.large (CPU).'),
  initialInstanceCount: positiveInt.max(100).default(1),
  dataCapturePercent: z.number().int().min(0).max(100).default(20).describe('Share of requests SageMaker data capture writes to S3 for the drift analyzer.'),
  trafficShifting: trafficShiftingSchema,
  bakeSeconds,
  latencyAlarmMs,
});

/** The memory sizes SageMaker offers a serverless endpoint (ServerlessConfig.MemorySizeInMB: 1 GB steps, 1024–6144). */
export const SERVERLESS_MEMORY_SIZES_MB = [1024, 2048, 3072, 4096, 5120, 6144] as const;

const serverlessDeploymentSchema = z
  .strictObject({
    mode: z.literal('serverless').describe('"serverless": a SageMaker serverless endpoint; nothing runs, and nothing bills, between requests.'),
    memorySizeInMB: z
      .number()
      .int()
      .refine((mb) => (SERVERLESS_MEMORY_SIZES_MB as readonly number[]).includes(mb), `must be one of ${SERVERLESS_MEMORY_SIZES_MB.join(', ')} (ServerlessConfig.MemorySizeInMB, 1 GB steps)`)
      .default(2048)
      .describe('Memory of each serverless worker; SageMaker gives vCPUs in proportion. At least the model\'s size.'),
    maxConcurrency: z.number().int().min(1).max(200).default(5).describe('ServerlessConfig.MaxConcurrency: concurrent invocations before SageMaker throttles (1–200).'),
    provisionedConcurrency: z
      .number()
      .int()
      .min(1)
      .max(200)
      .optional()
      .describe('ServerlessConfig.ProvisionedConcurrency: workers kept warm (billed while provisioned); ≤ maxConcurrency. Default: none, the endpoint scales to zero.'),
    trafficShifting: z
      .strictObject({
        type: z.literal('ALL_AT_ONCE', {
          error:
            'serverless endpoints update blue/green all at once: CANARY and LINEAR sizes are instance counts or shares of a fleet, and a serverless variant has no instances',
        }),
      })
      .default({ type: 'ALL_AT_ONCE' })
      .describe('Only ALL_AT_ONCE (with bakeSeconds and the auto-rollback alarms).'),
    bakeSeconds,
    latencyAlarmMs,
    instanceType: refusedField(`serverless endpoints take no instance type: SageMaker chooses the compute, CPU only (no GPUs), from memorySizeInMB (${SERVERLESS_EXCLUSIONS})`),
    initialInstanceCount: refusedField('serverless endpoints have no instances: they scale with requests up to maxConcurrency'),
    dataCapturePercent: refusedField(
      `serverless endpoints do not support data capture (${SERVERLESS_EXCLUSIONS}); drift for a serverless model reads request records the caller writes to the capture prefix (README, Serving modes)`,
    ),
  })
  .refine((d) => d.provisionedConcurrency === undefined || d.provisionedConcurrency <= d.maxConcurrency, {
    path: ['provisionedConcurrency'],
    message: 'must be ≤ maxConcurrency (ServerlessConfig.ProvisionedConcurrency)',
  });

const S3_KEY_PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/;

const batchDeploymentSchema = z
  .strictObject({
    mode: z.literal('batch').describe('"batch": no endpoint; the approved version scores input files with a SageMaker Batch Transform job, on a schedule or when new data lands.'),
    instanceType: z
      .string()
      .regex(SAGEMAKER_INSTANCE_TYPE, 'must look like ml.<family>.<size>')
      .default(DEFAULT_INFERENCE_INSTANCE_TYPE)
      .describe('Transform instance type. Default: ml.m5.large (CPU).'),
    instanceCount: positiveInt.max(100).default(1).describe('Instances per transform job.'),
    schedule: z
      .string()
      .regex(SCHEDULE_EXPRESSION, 'must be rate(N unit) or cron(...)')
      .optional()
      .describe('When to score, e.g. cron(0 2 * * ? *). Required.'),
    onNewData: z.boolean().default(false).describe('Also score when new objects land under inputPrefix. Not deployed by this release: true is refused.'),
    inputPrefix: z
      .string()
      .regex(S3_KEY_PREFIX, 'must be an S3 key prefix ending in "/", e.g. batch/churn/input/')
      .optional()
      .describe('Key prefix in the artifacts bucket the job reads. Default: batch/<model>/input/.'),
    outputPrefix: z
      .string()
      .regex(S3_KEY_PREFIX, 'must be an S3 key prefix ending in "/", e.g. batch/churn/output/')
      .optional()
      .describe('Key prefix the job writes under, one folder per job. Default: batch/<model>/output/.'),
    contentType: z.enum(['text/csv', 'application/jsonlines']).default('text/csv').describe('Content type of the input records, split by line.'),
    maxPayloadInMB: z.number().int().min(1).max(100).default(6).describe('MaxPayloadInMB of each mini-batch (SageMaker: ≤ 100).'),
    timeoutSeconds: positiveInt
      .min(300)
      .max(7 * 24 * 3600)
      .default(4 * 3600)
      .describe('Longest a scoring run may take before it is stopped and alerted.'),
    trafficShifting: refusedField('batch models have no endpoint to shift traffic on'),
    dataCapturePercent: refusedField('batch models have no endpoint to capture: the drift window is each transform job\'s own input'),
    initialInstanceCount: refusedField('batch transform jobs take instanceCount'),
    latencyAlarmMs: refusedField('batch models have no endpoint latency'),
    bakeSeconds: refusedField('batch models have no endpoint rollout'),
  })
  .superRefine((d, ctx) => {
    // Scoring on each upload needs coalescing (one Batch Transform per object would score the
    // whole prefix again and again), which this release does not deploy: say so at config check.
    if (d.onNewData) {
      ctx.addIssue({ code: 'custom', path: ['onNewData'], input: d.onNewData, message: 'is not deployed by this release: batch models score on deployment.schedule; remove it or set it false' });
    }
    if (d.schedule === undefined) {
      ctx.addIssue({ code: 'custom', path: ['schedule'], input: d.schedule, message: 'a batch model needs a schedule (e.g. cron(0 2 * * ? *))' });
    }
    if (d.inputPrefix !== undefined && d.outputPrefix !== undefined && (d.outputPrefix.startsWith(d.inputPrefix) || d.inputPrefix.startsWith(d.outputPrefix))) {
      ctx.addIssue({ code: 'custom', path: ['outputPrefix'], input: d.outputPrefix, message: `must not overlap inputPrefix (${d.inputPrefix}): a job would score its own outputs` });
    }
  });

export const deploymentSchema = z
  .discriminatedUnion('mode', [realtimeDeploymentSchema, serverlessDeploymentSchema, batchDeploymentSchema], {
    error: 'mode must be "realtime", "serverless" or "batch"',
  })
  .prefault({})
  .describe('How the approved version serves: deployment.mode "realtime" (default), "serverless" or "batch".');

export type DeploymentConfig = z.output<typeof deploymentSchema>;
export type RealtimeDeployment = Extract<DeploymentConfig, { mode: 'realtime' }>;
export type ServerlessDeployment = Extract<DeploymentConfig, { mode: 'serverless' }>;
export type BatchDeployment = Extract<DeploymentConfig, { mode: 'batch' }>;

/** The endpoint a realtime or serverless model serves from; batch models have none. */
export function endpointDeployment(model: { readonly name: string; readonly deployment: DeploymentConfig }): RealtimeDeployment | ServerlessDeployment {
  if (model.deployment.mode === 'batch') throw new Error(`model ${model.name} is deployment.mode "batch": it has no endpoint`);
  return model.deployment;
}

/** Seconds an endpoint update spends shifting traffic and baking (both fleets serve); 0 for batch. */
export function rolloutSeconds(deployment: DeploymentConfig): number {
  if (deployment.mode === 'batch') return 0;
  const shifting = deployment.trafficShifting;
  const shiftSeconds = shifting.type === 'CANARY' ? shifting.waitSeconds : shifting.type === 'LINEAR' ? Math.ceil(100 / shifting.stepPercent) * shifting.waitSeconds : 0;
  return shiftSeconds + deployment.bakeSeconds;
}

/** The console's group as an approver entry; the stack fills in the role it creates for the group. */
const consoleGroupApproverSchema = z.strictObject({
  cognitoGroup: z.string().min(1).max(128).describe('console.groups.approvers: its members, through the console approver role the stack creates.'),
});
export type ConsoleGroupApprover = z.output<typeof consoleGroupApproverSchema>;

const modelSchema = z
  .strictObject({
    name: z
      .string()
      .max(MODEL_NAME_MAX_LENGTH)
      .regex(MODEL_NAME, 'must be lowercase letters, digits and single hyphens, starting with a letter')
      .describe('Model name; part of job, endpoint and execution names.'),
    description: z.string().max(512).optional().describe('What the model is for.'),
    trainingImageUri: z
      .string()
      .regex(ECR_IMAGE_URI, 'must be an ECR image URI with a tag or digest, or sagemaker-xgboost:<version>')
      .describe('Training container image: an ECR URI, or a SageMaker image by name (sagemaker-xgboost:1.7-1), resolved for the stack region at synth.'),
    inferenceImageUri: z
      .string()
      .regex(ECR_IMAGE_URI, 'must be an ECR image URI with a tag or digest, or sagemaker-xgboost:<version>')
      .optional()
      .describe('Serving container image. Default: the training image.'),
    dataset: z
      .strictObject({
        name: z.string().regex(MODEL_NAME, 'must be lowercase letters, digits and single hyphens').max(64),
        columns: z.array(columnSchema).min(1).optional().describe('Declared schema the dataset is validated against.'),
        targetColumn: z.string().min(1).optional().describe('Label column; excluded from drift analysis.'),
        minRows: positiveInt.optional().describe('Fewest rows a dataset version may have.'),
        maxRows: positiveInt.optional().describe('Most rows a dataset version may have.'),
        maxPsi: z
          .number()
          .positive()
          .max(10)
          .optional()
          .describe(
            'Fail validation when a column\'s population stability index against the previous passed version exceeds this. Default: the shift is recorded, not enforced (retraining on shifted data is often the point).',
          ),
      })
      .describe('The dataset this model trains on.'),
    training: trainingSchema.prefault({}),
    objective: z
      .strictObject({
        metricName: z.string().regex(METRIC_NAME).describe('Metric the gate compares, e.g. validation:auc.'),
        direction: z.enum(['maximize', 'minimize']).describe('Whether larger or smaller is better.'),
      })
      .describe('The metric that decides champion vs challenger.'),
    gate: z
      .strictObject({
        minImprovement: z
          .number()
          .min(0)
          .default(0)
          .describe('How much better (absolute, in the objective direction) the candidate must be than the champion.'),
        thresholds: z
          .record(z.string().regex(METRIC_NAME), thresholdSchema)
          .default({})
          .describe('Absolute bounds per metric the candidate must meet, champion or not.'),
      })
      .prefault({}),
    evaluation: z
      .strictObject({
        instanceType: z.string().regex(SAGEMAKER_INSTANCE_TYPE).default('ml.m5.xlarge'),
        maxRuntimeSeconds: positiveInt.max(24 * 3600).default(3600),
        imageUri: z
          .string()
          .regex(ECR_IMAGE_URI, 'must be an ECR image URI with a tag or digest, or sagemaker-xgboost:<version>')
          .optional()
          .describe('Evaluation container: run with the argument "evaluate", or with "python3 <script>" when script is set. Default: the training image.'),
        script: z
          .string()
          .regex(/\.py$/, 'must name a Python file (.py)')
          .optional()
          .describe(
            'Your evaluation script, run as a SageMaker Processing job with "python3 <script>" in the evaluation image (SageMaker\'s own images, such as sagemaker-xgboost, are framework images with python3 and their library), the code passed as a processing input; path relative to the config file. Required when the evaluation image is a SageMaker image, which has no "evaluate" entry point.',
          ),
      })
      .prefault({}),
    approval: z
      .strictObject({
        approvers: z
          .array(z.union([approverEntrySchema, consoleGroupApproverSchema]))
          .min(1)
          .optional()
          .describe(
            'Who may approve or reject. Each entry is an IAM user ARN (that user), an IAM role ARN (any session of the role: role sessions, Identity Center permission sets, Cognito identity-pool roles), a role session ARN arn:aws:sts::<account>:assumed-role/<role>/<session> (exactly that session; for Identity Center, that user in that permission set), or { cognitoGroup, roleArn } (signed-in Cognito user pool users acting through the IAM role the identity pool assumes for that group); { cognitoGroup } alone names console.groups.approvers, whose role the stack creates and fills in. Default: anyone holding the approve grant.',
          ),
        requireDistinctRole: z
          .boolean()
          .default(false)
          .describe(
            'Also refuse an approver acting through the same IAM role as the requester. The requester can never approve as the same person; but sessions of a directly assumed role are named by whoever assumes it (ds/bob and ds/bob-2 look like two people), so only this option stops one person approving their own run through a second session of the same role.',
          ),
        timeoutSeconds: positiveInt
          .min(300)
          .max(365 * 24 * 3600)
          .default(7 * 24 * 3600)
          .describe('How long a version waits for a decision before it expires.'),
        heartbeatSeconds: positiveInt.optional().describe('Heartbeat for the waiting task. Default: the timeout.'),
      })
      .prefault({})
      .refine((a) => a.heartbeatSeconds === undefined || a.heartbeatSeconds <= a.timeoutSeconds, {
        path: ['heartbeatSeconds'],
        message: 'must be ≤ timeoutSeconds',
      }),
    deployment: deploymentSchema,
    drift: z
      .strictObject({
        psiThreshold: z.number().positive().max(10).default(0.2),
        evaluationPeriods: positiveInt.max(24).default(2),
        scheduleMinutes: positiveInt.min(5).max(1440).default(15),
        minRecords: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('Fewest captured records in a window for its drift to count; below it the window report says too few records and no DriftScore is published.'),
        qualityThreshold: z
          .number()
          .optional()
          .describe(
            'Objective-metric value over a window beyond which the model-quality alarm fires (below it when maximizing, above when minimizing). Default: the gate threshold for the objective metric, if any.',
          ),
      })
      .prefault({}),
    retraining: z
      .strictObject({
        schedule: z
          .string()
          .regex(SCHEDULE_EXPRESSION, 'must be rate(N unit) or cron(...)')
          .optional()
          .describe('Scheduled retraining, e.g. rate(7 days). Default: none.'),
        cooldownHours: z.number().min(0).max(24 * 30).default(6),
        maxRunsPerDay: positiveInt.max(48).default(3),
        newObjectsThreshold: positiveInt.optional().describe('Start a run once this many new objects land under the dataset prefix.'),
      })
      .prefault({}),
  })
  .superRefine((model, ctx) => {
    const { minRows, maxRows } = model.dataset;
    if (minRows !== undefined && maxRows !== undefined && minRows > maxRows) {
      ctx.addIssue({ code: 'custom', path: ['dataset', 'maxRows'], input: maxRows, message: `must be ≥ minRows (${minRows})` });
    }
    if (isBuiltInImage(model.trainingImageUri)) {
      // SageMaker's algorithm images read the algorithm CSV format: the encoding must be derivable from the declared columns.
      const issue = algorithmEncodingIssue(model.dataset);
      if (issue) ctx.addIssue({ code: 'custom', path: ['dataset', ...issue.path], input: issue.input, message: `${issue.message} (${model.trainingImageUri} trains on the algorithm CSV format)` });
    }
    if (isBuiltInImage(model.evaluation.imageUri ?? model.trainingImageUri) && model.evaluation.script === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'script'],
        input: undefined,
        message: `is required: the evaluation image ${model.evaluation.imageUri ?? model.trainingImageUri} is SageMaker's and has no "evaluate" entry point; name a Python script to run in it`,
      });
    }
  });

/** Why a dataset's declared columns cannot be written in the algorithm CSV format, or undefined. */
function algorithmEncodingIssue(dataset: { readonly columns?: readonly ColumnRule[]; readonly targetColumn?: string }): { path: PropertyKey[]; input: unknown; message: string } | undefined {
  if (dataset.columns === undefined) return { path: ['columns'], input: undefined, message: 'must be declared' };
  if (dataset.targetColumn === undefined) return { path: ['targetColumn'], input: undefined, message: 'must be declared' };
  try {
    featureEncoding(dataset.columns, dataset.targetColumn);
    return undefined;
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    const [field] = error.details ?? [];
    const path = (field?.field ?? 'dataset.columns').replace(/^dataset\./, '').split('.');
    const index = path[0] === 'columns' && path[1] !== undefined ? dataset.columns.findIndex((c) => c.name === path[1]) : -1;
    const resolved = index >= 0 ? ['columns', index, ...path.slice(2)] : path;
    return { path: resolved, input: undefined, message: field?.message ?? error.message };
  }
}

/** A Secrets Manager secret (name or ARN), optionally one JSON field of it; resolved at deploy time, never stored in the template. */
const secretReference = z.strictObject({
  secretId: z.string().min(1).max(2048).describe('Name or ARN of the Secrets Manager secret.'),
  jsonField: z.string().min(1).optional().describe('The field of a JSON secret to use. Default: the whole secret string.'),
});

const httpsUrl = z.url({ protocol: /^https$/, hostname: z.regexes.domain, error: 'must be an https:// URL with a host name' });

const webhookAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('apiKey'),
    header: z.string().regex(/^[A-Za-z0-9-]{1,512}$/, 'must be an HTTP header name').describe('Header that carries the key, e.g. x-api-key.'),
    value: secretReference,
  }),
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1).max(512), password: secretReference }),
  z.strictObject({
    type: z.literal('oauthClientCredentials'),
    tokenUrl: httpsUrl.describe('The authorization server\'s token endpoint.'),
    clientId: z.string().min(1).max(512),
    clientSecret: secretReference,
    scope: z.string().min(1).max(1024).optional(),
  }),
]);

const webhookSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be lower-case letters, digits and single hyphens')
    .max(40)
    .describe('Names the webhook\'s rule, destination and dead-letter queue.'),
  url: httpsUrl.describe('Endpoint the events are POSTed to (an EventBridge API destination).'),
  events: z.array(z.enum(DETAIL_TYPES)).min(1).describe('Caretaker event detail types to send, e.g. ["ApprovalRequested"].'),
  models: z.array(z.string().min(1)).min(1).optional().describe('Only events of these models. Default: every model.'),
  format: z
    .enum(['event', 'slack'])
    .default('event')
    .describe('"event": the EventBridge event as JSON. "slack": a Slack incoming-webhook message (ApprovalRequested carries the console link and the approve command).'),
  auth: webhookAuthSchema
    .optional()
    .describe('How EventBridge authenticates (credentials kept by EventBridge in Secrets Manager). Default: none (e.g. a Slack webhook URL is its own secret; then pass it as url).'),
  rateLimitPerSecond: z.number().int().min(1).max(300).default(10),
  retryAttempts: z.number().int().min(0).max(185).default(24).describe('EventBridge retries before the event goes to the webhook\'s dead-letter queue.'),
  maxEventAgeHours: z.number().int().min(1).max(24).default(24),
});
export type WebhookConfig = z.output<typeof webhookSchema>;


/** Cognito group names (CreateGroup GroupName: 1–128 printable characters; kept to IAM-name characters here). */
const cognitoGroupName = z.string().regex(/^[\w+=,.@-]{1,128}$/, 'must be 1–128 letters, digits or _+=,.@-');
/** User pool identity provider names (CreateIdentityProvider ProviderName, 3–32 characters). */
const identityProviderName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,30}[A-Za-z0-9]$/, 'must be 3–32 letters, digits, dots, hyphens or underscores')
  .refine((name) => name.toUpperCase() !== 'COGNITO', 'is reserved by Cognito');
/** ACM certificates for CloudFront must be in us-east-1 (CloudFront developer guide, "Requirements for using SSL/TLS certificates"). */
const CLOUDFRONT_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;
/** Web ACLs for CloudFront have CLOUDFRONT (global) scope and live in us-east-1. */
const CLOUDFRONT_WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]{1,128}\/[0-9a-f-]{36}$/;

const consoleSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Deploy the web console (CloudFront, S3) and its sign-in (Cognito user pool and identity pool).'),
    groups: z
      .strictObject({
        readers: cognitoGroupName.default('caretaker-readers').describe('User pool group whose members get the reader role (the API\'s read grant).'),
        approvers: cognitoGroupName
          .default('caretaker-approvers')
          .describe('User pool group whose members get the approver role (read and approve grants). List it in approval.approvers as { "cognitoGroup": "<name>" }.'),
      })
      .prefault({})
      .refine((g) => g.readers !== g.approvers, { path: ['approvers'], message: 'must differ from console.groups.readers' }),
    mfa: z
      .enum(['required', 'optional'])
      .default('required')
      .describe('TOTP MFA for users of the user pool itself (federated users do MFA at their IdP).'),
    domain: z
      .strictObject({
        names: z.array(z.string().regex(z.regexes.domain, 'must be a domain name')).min(1).max(10).describe('Custom domain names of the console (CNAMEs of the distribution).'),
        certificateArn: z
          .string()
          .regex(CLOUDFRONT_CERTIFICATE_ARN, 'must be an ACM certificate ARN in us-east-1 (CloudFront uses certificates from there)')
          .describe('ACM certificate covering the names.'),
      })
      .optional()
      .describe('Custom domain. Default: the distribution\'s *.cloudfront.net name.'),
    webAclArn: z
      .string()
      .regex(CLOUDFRONT_WEB_ACL_ARN, 'must be a CLOUDFRONT-scope AWS WAF web ACL ARN (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>)')
      .optional()
      .describe('AWS WAF web ACL in front of the console. Default: none.'),
    federation: z
      .strictObject({
        saml: z
          .strictObject({
            name: identityProviderName.describe('Provider name on the sign-in page.'),
            metadataUrl: httpsUrl.describe('The IdP\'s SAML metadata document URL.'),
            emailAttribute: z.string().min(1).max(2048).optional().describe('SAML attribute with the email. Default: the emailaddress claim URI.'),
          })
          .optional(),
        oidc: z
          .strictObject({
            name: identityProviderName.describe('Provider name on the sign-in page.'),
            issuerUrl: httpsUrl.describe('The OpenID Connect issuer.'),
            clientId: z.string().min(1).max(255),
            clientSecret: secretReference.describe('The client secret, resolved by CloudFormation at deploy time.'),
            scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be an OAuth scope')).min(1).optional().describe('Default: openid email profile.'),
          })
          .optional(),
      })
      .refine((f) => f.saml !== undefined || f.oidc !== undefined, 'needs saml or oidc')
      .refine((f) => f.saml === undefined || f.oidc === undefined || f.saml.name !== f.oidc.name, { path: ['oidc', 'name'], message: 'must differ from federation.saml.name' })
      .optional()
      .describe('Sign in through the company\'s identity provider. Group membership is still managed in the user pool.'),
  })
  .prefault({});
export type ConsoleConfig = z.output<typeof consoleSchema>;

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    models: z.array(modelSchema).min(1).max(50).describe('The models Caretaker takes care of.'),
    notifications: z
      .strictObject({
        approvalEmails: z.array(z.email()).default([]).describe('Subscribed to approval requests.'),
        alertEmails: z.array(z.email()).default([]).describe('Subscribed to failures and alarms.'),
        webhooks: z
          .array(webhookSchema)
          .max(50)
          .default([])
          .describe('Registry events sent to HTTP endpoints (chat, CI) through EventBridge API destinations.'),
      })
      .prefault({}),
    events: z
      .strictObject({
        bus: z
          .enum(['default', 'create'])
          .default('default')
          .describe('Where registry events (source "caretaker") go: the account\'s default bus, or a bus the stack creates.'),
        consoleUrl: z.url({ protocol: /^https$/ }).optional().describe('Base URL of the Caretaker console, linked from ApprovalRequested events.'),
      })
      .prefault({}),
    console: consoleSchema,
    removalPolicy: z
      .enum(['retain', 'destroy'])
      .default('retain')
      .describe('What happens to data on stack delete. "destroy" is for throwaway stacks only.'),
  })
  .superRefine((config, ctx) => {
    // Models may share a dataset, but a dataset version is validated once, by one set of rules.
    const datasetRules = new Map<string, { index: number; rules: string }>();
    config.models.forEach((model, index) => {
      const { name, columns, minRows, maxRows, maxPsi } = model.dataset;
      const rules = JSON.stringify({ columns, minRows, maxRows, maxPsi });
      const first = datasetRules.get(name);
      if (first === undefined) datasetRules.set(name, { index, rules });
      else if (first.rules !== rules) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'dataset', 'name'],
          input: name,
          message: `models[${first.index}] declares this dataset with other columns/minRows/maxRows/maxPsi; models sharing a dataset must declare the same rules`,
        });
      }
    });
    const hooks = new Map<string, number>();
    config.notifications.webhooks.forEach((hook, index) => {
      const first = hooks.get(hook.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['notifications', 'webhooks', index, 'name'], input: hook.name, message: `duplicates notifications.webhooks[${first}].name` });
      }
      hooks.set(hook.name, index);
      const models = new Set(config.models.map((m) => m.name));
      hook.models?.forEach((model, m) => {
        if (!models.has(model)) {
          ctx.addIssue({ code: 'custom', path: ['notifications', 'webhooks', index, 'models', m], input: model, message: 'is not a configured model' });
        }
      });
    });
    config.models.forEach((model, index) => {
      model.approval.approvers?.forEach((entry, e) => {
        if (typeof entry === 'string' || 'roleArn' in entry) return;
        const path = ['models', index, 'approval', 'approvers', e, 'cognitoGroup'];
        if (!config.console.enabled) {
          ctx.addIssue({ code: 'custom', path, input: entry.cognitoGroup, message: 'needs roleArn when console.enabled is false (no console approver role is created)' });
        } else if (entry.cognitoGroup !== config.console.groups.approvers) {
          ctx.addIssue({
            code: 'custom',
            path,
            input: entry.cognitoGroup,
            message: `without roleArn must be console.groups.approvers ("${config.console.groups.approvers}"): only that group's role has the approve grant`,
          });
        }
      });
    });
    const seen = new Map<string, number>();
    config.models.forEach((model, index) => {
      const first = seen.get(model.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'name'],
          input: model.name,
          message: `duplicates models[${first}].name`,
        });
      }
      seen.set(model.name, index);
    });
  });

export type CaretakerConfig = z.output<typeof configSchema>;
export type ModelConfig = CaretakerConfig['models'][number];
export type ConfigInput = z.input<typeof configSchema>;

/** A config that does not parse. `message` lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file} is not a valid Caretaker config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `['models', 0, 'training', 'maxWaitSeconds']` → `models[0].training.maxWaitSeconds` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out === '' ? String(key) : `${out}.${String(key)}`;
  }, '');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function show(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turns zod issues into one line each: `path (value): message`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const path = formatPath(issue.path) || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    const value = 'input' in issue && issue.input !== undefined ? issue.input : valueAt(input, issue.path);
    return `${path} (${show(value)}): ${issue.message}`;
  });
}

/** Parses an already-loaded config value. Throws `ConfigError` naming each bad field. */
export function parseConfig(input: unknown, file = 'caretaker.config.json'): CaretakerConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(file, describeIssues(result.error.issues, input));
  return withScriptPaths(result.data, file);
}

/** Evaluation scripts are named relative to the config file; each must be a file there. */
function withScriptPaths(config: CaretakerConfig, file: string): CaretakerConfig {
  const problems: string[] = [];
  const models = config.models.map((model, index) => {
    const { script } = model.evaluation;
    if (script === undefined) return model;
    const path = resolvePath(dirname(file), script);
    if (!isFile(path)) problems.push(`models[${index}].evaluation.script (${show(script)}): no such file (${path})`);
    return { ...model, evaluation: { ...model.evaluation, script: path } };
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { ...config, models };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Reads and parses a config file as every command reads files (`lib/files.ts`): missing, non-UTF-8 and malformed files are named with line and column. */
export function loadConfig(file: string): CaretakerConfig {
  let input: unknown;
  try {
    input = readJson(file);
  } catch (error) {
    if (error instanceof FileError) throw new ConfigError(file, [error.message.slice(file.length + 2)]);
    throw error;
  }
  return parseConfig(input, file);
}

/** The JSON Schema users' editors validate against (`caretaker.config.schema.json`). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
