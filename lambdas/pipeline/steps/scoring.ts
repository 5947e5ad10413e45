/**
 * Scheduled (and on-new-data) scoring of a batch model (`state-machines/batch-scoring.asl.json`):
 * StartScoring finds the LIVE version and names the run's transform job and output folder;
 * after the job completed, RecordScoring moves the model's `latest.json` pointer to it. A failed
 * job never reaches RecordScoring, so the pointer and every earlier output stay where they were.
 */
import * as z from '../../shared/zod';
import { logger } from '../../shared/powertools';
import { batchOutputs } from '../../shared/layout';
import { sagemakerName, shortHash, type StepPorts } from './ports';

const nonEmpty = z.string().check(z.minLength(1));
const outputUri = z.string().check(z.startsWith('s3://'), z.endsWith('/'));

export const startScoringInput = z.object({
  step: z.literal('startScoring'),
  model: nonEmpty,
  resourcePrefix: nonEmpty,
  /** The execution's name: the job name is derived from it, so a retried step names the same job. */
  executionName: nonEmpty,
  /** When the execution started (`$$.Execution.StartTime`). */
  startedAt: z.iso.datetime({ offset: true }),
  /** `s3://<artifacts>/<outputPrefix>` (the model's settings). */
  outputUri,
});

export type StartScoringResult =
  | { readonly live: false; readonly reason: string }
  | { readonly live: true; readonly version: number; readonly modelName: string; readonly transformJobName: string; readonly outputPath: string };

/**
 * The version that scores is the one LIVE now: the SageMaker model its deployment created
 * (`modelName`; versions recorded before it was kept carry the same name as `endpointConfigName`,
 * as StartDeployment names both alike). No LIVE version: nothing is scored, and the run says why.
 */
export async function startScoring(input: z.infer<typeof startScoringInput>, ports: StepPorts): Promise<StartScoringResult> {
  const live = await ports.store.findLiveVersion(input.model);
  if (!live) return { live: false, reason: `${input.model} has no LIVE version to score with` };
  const modelName = live.modelName ?? live.endpointConfigName;
  if (modelName === undefined) return { live: false, reason: `LIVE version ${live.version} of ${input.model} names no SageMaker model` };
  // <prefix>-<model>-<yyyymmddHHMM>-<hash>: ≤ 12 + 24 + 12 + 4 + 3 = 55 characters.
  const stamp = input.startedAt.replace(/[-:T]/g, '').slice(0, 12);
  const transformJobName = sagemakerName(`${input.resourcePrefix}-${input.model}-${stamp}-${shortHash(input.executionName, 4)}`);
  return { live: true, version: live.version, modelName, transformJobName, outputPath: batchOutputs.run(input.outputUri, transformJobName) };
}

export const recordScoringInput = z.object({
  step: z.literal('recordScoring'),
  model: nonEmpty,
  version: z.int().check(z.positive()),
  transformJobName: nonEmpty,
  outputUri,
  /** DescribeTransformJob's output as `.sync` returns it. */
  job: z.looseObject({ TransformJobStatus: z.literal('Completed'), TransformEndTime: z.optional(z.union([z.number(), z.string()])) }),
  executionArn: nonEmpty,
});

/** What `latest.json` says: the newest scoring run that completed. */
export interface LatestScoring {
  readonly model: string;
  readonly version: number;
  readonly transformJobName: string;
  /** The run's output folder (`<outputUri><job>/`). */
  readonly output: string;
  readonly completedAt: string;
  readonly executionArn: string;
}

const latestSchema = z.looseObject({ completedAt: z.string() });

function isoOf(time: number | string | undefined, fallback: Date): string {
  if (time === undefined) return fallback.toISOString();
  if (typeof time === 'string') return new Date(time).toISOString();
  // A number is epoch seconds (the SDK's JSON) or milliseconds; 10^11 s is the year 5138.
  return new Date(time > 1e11 ? time : time * 1000).toISOString();
}

/**
 * Moves `<outputUri>latest.json` to this run's folder, unless the pointer already names a run
 * that completed later (an on-new-data run and a scheduled one may overlap): it only moves forward.
 */
export async function recordScoring(input: z.infer<typeof recordScoringInput>, ports: StepPorts): Promise<LatestScoring & { readonly moved: boolean }> {
  const completedAt = isoOf(input.job.TransformEndTime, ports.now());
  const latest: LatestScoring = {
    model: input.model,
    version: input.version,
    transformJobName: input.transformJobName,
    output: batchOutputs.run(input.outputUri, input.transformJobName),
    completedAt,
    executionArn: input.executionArn,
  };
  const pointer = batchOutputs.latest(input.outputUri);
  const current = await readPointer(ports, pointer);
  if (current !== undefined && current.completedAt > completedAt) return { ...latest, moved: false };
  await ports.writeJson(pointer, latest);
  return { ...latest, moved: true };
}

async function readPointer(ports: StepPorts, uri: string): Promise<z.infer<typeof latestSchema> | undefined> {
  let value: unknown;
  try {
    value = await ports.readJson(uri);
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
  const parsed = latestSchema.safeParse(value);
  // Not a pointer this step wrote: this run's replaces it.
  if (!parsed.success) {
    logger.warn('scoring pointer unreadable; replaced', { uri, error: z.prettifyError(parsed.error) });
    return undefined;
  }
  return parsed.data;
}
