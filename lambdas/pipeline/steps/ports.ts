/**
 * What every pipeline step shares: its ports, SageMaker naming, and the datasets part's training
 * check under the one error name the state machine reads.
 */
import { createHash } from 'node:crypto';
import * as z from '../../shared/zod';
import { assertTrainable, DatasetNotTrainable, type DatasetPorts, type TrainableDataset } from '../../datasets';
import { Invalid, NotFound, PIPELINE_ERRORS } from '../../shared/errors';
import type { RunRecord } from '../../shared/contracts';
import type { BaselineSettings } from '../settings';
import type { DeploymentLeases } from '../deployment-lease';
import type { LineagePort, PipelineStore } from '../store';

/** The fields that say what a step acts on, as the ASL passes them; each step's input spreads the ones it needs. */
const nonEmpty = z.string().check(z.minLength(1));
/** The run a step belongs to and its model. */
export const RUN_FIELDS = { runId: nonEmpty, model: nonEmpty } as const;
/** A model version. */
export const VERSION_FIELDS = { model: nonEmpty, version: z.int().check(z.positive()) } as const;
/** The run, its model and the model version it acts on. */
export const RUN_VERSION_FIELDS = { ...RUN_FIELDS, ...VERSION_FIELDS } as const;
/** The dataset version a run trains on (the datasets part's canonical id). */
export const DATASET_FIELDS = { datasetName: nonEmpty, datasetVersion: nonEmpty } as const;

/**
 * Opens the execution's run record, RUNNING, with who and what started it: the first thing
 * StartRun and StartRollback write (`state` is which of them).
 */
export function openRun(
  ports: StepPorts,
  execution: Pick<RunRecord, 'runId' | 'model' | 'executionArn' | 'requestedBy' | 'trigger'>,
  run: { readonly datasetVersion: string; readonly state: 'StartRun' | 'StartRollback'; readonly startedAt: string },
): Promise<void> {
  const { runId, model, executionArn, requestedBy, trigger } = execution;
  return ports.store.createRun({ runId, model, status: 'RUNNING', executionArn, requestedBy, trigger, datasetVersion: run.datasetVersion, currentState: run.state, startedAt: run.startedAt });
}

/** Where RecordDeployment writes the drift baseline of a deployed version (lambdas/drift/store.ts on AWS). */
export interface BaselinePort {
  /** Summarizes the exact objects into `baselines/<model>/<version>/baseline.json`; returns the object's key. */
  write(input: {
    readonly model: string;
    readonly version: number;
    readonly objects: readonly { readonly bucket: string; readonly key: string; readonly versionId: string }[];
    readonly options: BaselineSettings;
  }): Promise<string>;
}

export interface StepPorts {
  readonly store: PipelineStore;
  /** One deployment in flight per endpoint. */
  readonly leases: DeploymentLeases;
  readonly lineage: LineagePort;
  /** The datasets part's ports: the training check, staging and the registered objects. */
  readonly datasets: DatasetPorts;
  readonly baselines: BaselinePort;
  /** Reads a JSON object from `s3://bucket/key`. */
  readonly readJson: (s3Uri: string) => Promise<unknown>;
  /** Writes a JSON object to `s3://bucket/key` (a batch model's scoring pointer). */
  readonly writeJson: (s3Uri: string, value: unknown) => Promise<void>;
  /** Publishes to the approvals topic. */
  readonly publishApproval: (message: { readonly subject: string; readonly body: string }) => Promise<void>;
  readonly artifactsBucket: string;
  readonly now: () => Date;
}

/** A dataset version that is unknown or did not pass validation: training never starts on it. */
export class DatasetNotValidated extends Invalid {
  constructor(message: string) {
    super(message);
    this.name = PIPELINE_ERRORS.datasetNotValidated;
  }
}

export const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);
export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** SageMaker names: ≤ 63 chars of `[a-zA-Z0-9-]`. Config limits (prefix ≤ 12, model ≤ 24) keep these short. */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export function sagemakerName(name: string): string {
  if (!SAGEMAKER_NAME.test(name)) throw new Invalid(`"${name}" is not a valid SageMaker resource name`);
  return name;
}

/**
 * The datasets part's training check, with its refusals (FAILED or unknown version, an object
 * version gone from S3, a model that does not train on the dataset) under the one error name the
 * state machine and the run record use.
 */
export async function trainableDataset(ports: StepPorts, model: string, dataset: string, datasetVersion: string): Promise<TrainableDataset> {
  try {
    return await assertTrainable(ports.datasets, { model, dataset, datasetVersion });
  } catch (error) {
    if (error instanceof DatasetNotTrainable || error instanceof NotFound || error instanceof Invalid) {
      throw new DatasetNotValidated(error.message);
    }
    throw error;
  }
}

/** The gate's comparison, as registerVersion and requestApproval read it. */
export const metricComparison = z.object({
  metricName: z.string(),
  direction: z.enum(['maximize', 'minimize']),
  candidate: z.number(),
  champion: z.optional(z.number()),
  championVersion: z.optional(z.int()),
});
