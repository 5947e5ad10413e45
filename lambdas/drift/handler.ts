/**
 * Drift analyzer Lambda, invoked per model by EventBridge Scheduler every
 * `drift.scheduleMinutes` with the model's settings and the scheduled time.
 */
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { createDocumentClient } from '../shared/dynamo';
import { ENV, envValue } from '../shared/env';
import { Invalid } from '../shared/errors';
import { logger } from '../shared/powertools';
import { analyzeWindow, type AnalyzeResult, type DriftPorts } from './analyze';
import { batchInputPorts, batchWindowSchema } from './batch';
import { awsDriftPorts } from './store';
import { sdkClientConfig } from '../shared/sdk';

export const analyzerEventSchema = z.strictObject({
  model: z.string().min(1).max(64),
  /** End of the window (exclusive); the scheduler passes its scheduled time. @default now */
  windowEnd: z.iso.datetime({ offset: true }).optional(),
  windowMinutes: z.number().int().min(1).max(1440),
  psiThreshold: z.number().positive(),
  objectiveMetric: z.string().min(1).optional(),
  /** Fewer records than this in the window are too few to judge drift (the report says so; no DriftScore). @default DEFAULT_MIN_RECORDS */
  minRecords: z.number().int().min(0).optional(),
  /** A batch model's scoring run: the window is the transform job's input (`batch.ts`), not endpoint capture. @default - endpoint capture */
  batch: batchWindowSchema.optional(),
});
export type AnalyzerEvent = z.infer<typeof analyzerEventSchema>;

export interface AnalyzerDeps {
  readonly ports: DriftPorts;
  /** The bucket the ports read; a batch window's input must be in it. @default - batch windows are refused */
  readonly bucket?: string;
  readonly now?: () => Date;
  readonly labelLookbackHours?: number;
  readonly maxLabels?: number;
}

export function createHandler(deps: AnalyzerDeps) {
  return async (event: unknown): Promise<AnalyzeResult> => {
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
    return analyzeWindow(
      {
        model: input.model,
        windowStart,
        windowEnd,
        psiThreshold: input.psiThreshold,
        objectiveMetric: input.objectiveMetric,
        minRecords: input.minRecords,
        labelLookbackMs: (deps.labelLookbackHours ?? 24) * 3_600_000,
        maxLabels: deps.maxLabels ?? 1_000_000,
      },
      ports,
    );
  };
}

/** The analyzer's environment, as the DriftMonitor construct sets it (parsed in `analyzer.handler.ts`). */
export const analyzerEnvironmentSchema = z.object({
  [ENV.artifactsBucket]: envValue.name,
  [ENV.tableName]: envValue.name,
  /** How far back ground-truth labels are looked for. @default 24 */
  [ENV.labelLookbackHours]: z.coerce.number().positive().default(24),
});

/** The analyzer with its AWS ports, from the parsed environment. */
export function handlerFromEnvironment(env: z.output<typeof analyzerEnvironmentSchema>) {
  return createHandler({
    bucket: env[ENV.artifactsBucket],
    ports: awsDriftPorts({
      s3: new S3Client(sdkClientConfig()),
      documents: createDocumentClient(),
      bucket: env[ENV.artifactsBucket],
      tableName: env[ENV.tableName],
      // EMF documents go to stdout as they are; Lambda ships them to the log group, where
      // CloudWatch extracts the metrics.
      emit: (document) => process.stdout.write(`${document}\n`),
      log: (level, message, details) => logger[level](message, details ?? {}),
    }),
    labelLookbackHours: env[ENV.labelLookbackHours],
  });
}
