/**
 * Drift analyzer Lambda, invoked per model by EventBridge Scheduler every
 * `drift.scheduleMinutes` with the model's settings and the scheduled time.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from '../shared/zod';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, envValue } from '../shared/env';
import { Invalid } from '../shared/errors';
import { logger } from '../shared/powertools';
import { analyzeWindow, type AnalyzeRequest, type AnalyzeResult, type DriftPorts } from './analyze';
import { batchInputPorts, batchInputPrefix, batchWindowSchema } from './batch';
import { qualityMetricFor } from './quality';
import { chooseAnalysisPath, mapExecutionInput, mapExecutionName, SINGLE_PASS_MAX_BYTES, type MapExecutionInput } from './map';
import { awsDriftPorts, listCaptureObjects, type CaptureObject } from './store';
import { sdkClientConfig } from '../shared/sdk';

export const analyzerEventSchema = z.strictObject({
  model: z.string().check(z.minLength(1), z.maxLength(64)),
  /** End of the window (exclusive); the scheduler passes its scheduled time. @default now */
  windowEnd: z.optional(z.iso.datetime({ offset: true })),
  windowMinutes: z.int().check(z.minimum(1), z.maximum(1440)),
  psiThreshold: z.number().check(z.positive()),
  objectiveMetric: z.optional(z.string().check(z.minLength(1))),
  /** Fewer records than this in the window are too few to judge drift (the report says so; no DriftScore). @default DEFAULT_MIN_RECORDS */
  minRecords: z.optional(z.int().check(z.minimum(0))),
  /** A batch model's scoring run: the window is the transform job's input (`batch.ts`), not endpoint capture. @default - endpoint capture */
  batch: z.optional(batchWindowSchema),
});
export type AnalyzerEvent = z.infer<typeof analyzerEventSchema>;

/** The Distributed Map path's ports: the window's capture listing (with sizes) and the map state machine. */
export interface MapPathPorts {
  captureListing(model: string, from: Date, to: Date): AsyncIterable<CaptureObject>;
  /** StartExecution with this name; `existing` when an execution of that name was already started (a retry). */
  startMap(name: string, input: MapExecutionInput): Promise<{ readonly executionArn?: string; readonly existing: boolean }>;
  /** Capture bytes above which a window goes to the map. @default SINGLE_PASS_MAX_BYTES */
  readonly thresholdBytes?: number;
}

/** What the analyzer answers: the single pass's result, or the window handed to the Distributed Map. */
export type AnalyzerResult =
  | AnalyzeResult
  | {
      readonly status: 'delegated';
      readonly version: number;
      readonly captureBytes: number;
      readonly captureObjects: number;
      readonly executionName: string;
      readonly executionArn?: string;
      /** The execution existed already (this run is a retry): nothing new was started. */
      readonly existing: boolean;
    };

export interface AnalyzerDeps {
  readonly ports: DriftPorts;
  /** The bucket the ports read; a batch window's input must be in it. @default - batch windows are refused */
  readonly bucket?: string;
  /** The Distributed Map path. @default - every window is analysed in a single pass */
  readonly map?: MapPathPorts;
  readonly now?: () => Date;
  readonly labelLookbackHours?: number;
  readonly maxLabels?: number;
}

export function createHandler(deps: AnalyzerDeps) {
  return async (event: unknown): Promise<AnalyzerResult> => {
    const parsed = analyzerEventSchema.safeParse(event);
    if (!parsed.success) {
      throw new Invalid(
        'invalid drift analyzer event',
        parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })),
      );
    }
    const input = parsed.data;
    const windowEnd = input.windowEnd ? new Date(input.windowEnd) : (deps.now?.() ?? new Date());
    const windowStart = new Date(windowEnd.getTime() - input.windowMinutes * 60_000);
    const ports = input.batch ? batchInputPorts(deps.ports, input.batch, deps.bucket, windowStart) : deps.ports;
    const request = {
      model: input.model,
      windowStart,
      windowEnd,
      psiThreshold: input.psiThreshold,
      objectiveMetric: input.objectiveMetric,
      minRecords: input.minRecords,
      labelLookbackMs: (deps.labelLookbackHours ?? 24) * 3_600_000,
      maxLabels: deps.maxLabels ?? 1_000_000,
    };
    // A batch window is the scoring run's input, read whole by the single pass; the map lists endpoint capture.
    if (deps.map && !input.batch) {
      const delegated = await delegateBigWindow(deps.map, deps.ports, request);
      if (delegated) return delegated;
    }
    return analyzeWindow({ ...request, ...(input.batch ? { currentLocation: batchInputPrefix(input.batch, deps.bucket) } : {}) }, ports);
  };
}

/**
 * Sums the capture bytes the single pass would read from the listing; above the threshold,
 * starts the map execution named for the model and window (so a retried analyzer starts exactly
 * one) and answers `delegated`. Under it, or with no live version or baseline (the single pass
 * says why it skips), answers undefined and the single pass runs.
 *
 * With an objective metric Caretaker computes and ground truth written in the window, the single
 * pass reads the label lookback's capture too (to join labels to): so does the listing, and the
 * map is told to join (`MapWindow.quality`). Whether the objects hold usable labels is left to
 * the children, which read them as the single pass does.
 */
async function delegateBigWindow(map: MapPathPorts, ports: DriftPorts, input: AnalyzeRequest): Promise<AnalyzerResult | undefined> {
  const metric = input.objectiveMetric === undefined ? undefined : qualityMetricFor(input.objectiveMetric);
  const joins = metric !== undefined && !(await isEmpty(ports.groundTruthObjects(input.model, input.windowStart, input.windowEnd)));
  const from = joins ? new Date(input.windowStart.getTime() - input.labelLookbackMs) : input.windowStart;
  const keys: string[] = [];
  let captureBytes = 0;
  for await (const object of map.captureListing(input.model, from, input.windowEnd)) {
    keys.push(object.key);
    captureBytes += object.size;
  }
  if (chooseAnalysisPath(captureBytes, map.thresholdBytes ?? SINGLE_PASS_MAX_BYTES) === 'single-pass') return undefined;
  const version = await ports.liveVersion(input.model);
  if (version === undefined || !(await ports.readBaseline(input.model, version))) return undefined;
  const executionName = mapExecutionName(input.model, input.windowEnd);
  const started = await map.startMap(
    executionName,
    mapExecutionInput(
      {
        model: input.model,
        version,
        windowStart: input.windowStart.toISOString(),
        windowEnd: input.windowEnd.toISOString(),
        psiThreshold: input.psiThreshold,
        ...(input.minRecords === undefined ? {} : { minRecords: input.minRecords }),
        ...(joins && input.objectiveMetric !== undefined
          ? { quality: { objectiveMetric: input.objectiveMetric, labelLookbackMs: input.labelLookbackMs, maxLabels: input.maxLabels } }
          : {}),
      },
      keys,
    ),
  );
  ports.log('info', 'drift window handed to the Distributed Map', { model: input.model, version, captureBytes, captureObjects: keys.length, executionName, existing: started.existing });
  return { status: 'delegated', version, captureBytes, captureObjects: keys.length, executionName, executionArn: started.executionArn, existing: started.existing };
}

async function isEmpty(items: AsyncIterable<unknown>): Promise<boolean> {
  for await (const _ of items) return false;
  return true;
}

/** The analyzer's environment, as the DriftMonitor construct sets it (parsed in `analyzer.handler.ts`). */
export const analyzerEnvironmentSchema = z.object({
  [ENV.artifactsBucket]: envValue.name,
  [ENV.tableName]: envValue.name,
  /** How far back ground-truth labels are looked for. @default 24 */
  [ENV.labelLookbackHours]: z._default(z.coerce.number().check(z.positive()), 24),
  /** The Distributed Map path; unset, every window is a single pass. */
  [ENV.driftMapStateMachineArn]: z.optional(envValue.arn),
});

/** The analyzer with its AWS ports, from the parsed environment. */
export function handlerFromEnvironment(env: z.output<typeof analyzerEnvironmentSchema>) {
  const s3 = new S3Client(sdkClientConfig());
  const bucket = env[ENV.artifactsBucket];
  const stateMachineArn = env[ENV.driftMapStateMachineArn];
  const sfn = stateMachineArn === undefined ? undefined : new SFNClient(sdkClientConfig());
  return createHandler({
    bucket,
    map:
      stateMachineArn === undefined || sfn === undefined
        ? undefined
        : {
            captureListing: (model, from, to) => listCaptureObjects(s3, bucket, model, from, to),
            async startMap(name, input) {
              try {
                // Same name and input while it runs: Step Functions answers the running execution.
                const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
                return { executionArn: started.executionArn, existing: false };
              } catch (error) {
                // The name was used (the execution closed, or another input): this window was handed over already.
                if (error instanceof ExecutionAlreadyExists) return { existing: true };
                throw error;
              }
            },
          },
    ports: awsDriftPorts({
      s3,
      documents: createDocumentClient(),
      bucket,
      tableName: env[ENV.tableName],
      // EMF documents go to stdout as they are; Lambda ships them to the log group, where
      // CloudWatch extracts the metrics.
      emit: (document) => process.stdout.write(`${document}\n`),
      log: (level, message, details) => logger[level](message, details ?? {}),
    }),
    labelLookbackHours: env[ENV.labelLookbackHours],
  });
}
