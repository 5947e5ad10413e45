/**
 * The datasets Lambda handlers: parse the event with zod, call the domain function with its
 * ports, log the outcome. Ports are built once per process by `ports.ts`; tests pass fakes or
 * moto-backed clients to the `create*Handler` factories.
 */
import * as z from '../shared/zod';
import { CaretakerError } from '../shared/errors';
import { logger } from '../shared/powertools';
import { countNewObject, type CountResult, type NewDataPorts } from './new-data';
import { assertTrainable, type TrainableDataset } from './queries';
import { DatasetNotTrainable, type DatasetPorts } from './records';
import { registerDatasetVersion, registerDatasetVersionInputSchema, type RegisterResult } from './register';

/**
 * Bundles are minified, so class names are not error names: callers (Step Functions Catch,
 * the CLI) see the stable `code` (`Invalid`, `NotFound`, …) or `DatasetNotTrainable` instead.
 */
async function withErrorNames<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof z.ZodError) {
      const message = error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
      logger.warn('rejected event', { problems: message });
      const invalid = new Error(message);
      invalid.name = 'Invalid';
      throw invalid;
    }
    if (error instanceof CaretakerError) {
      if (!(error instanceof DatasetNotTrainable)) error.name = error.code;
      logger.warn('refused', { error: error.name, reason: error.message });
    }
    throw error;
  }
}

/** Direct invocation (CLI, automation): `{ dataset, objects: [{ key, versionId?, sha256? }], registeredBy, schema? }`. */
export function createRegisterHandler(ports: DatasetPorts): (event: unknown) => Promise<RegisterResult> {
  return (event) =>
    withErrorNames(async () => {
      const input = registerDatasetVersionInputSchema.parse(event);
      const result = await registerDatasetVersion(ports, input);
      logger.info(result.created ? 'registered dataset version' : 'same bytes already registered', {
        dataset: result.record.dataset,
        datasetVersion: result.record.datasetVersion,
        status: result.record.validation.status,
        contentAddress: result.record.contentAddress,
      });
      return result;
    });
}

/**
 * The pipeline's first state. Input: the pipeline input (`{ model, datasetVersion?, … }`) or
 * `{ dataset, datasetVersion? }`; other fields are ignored. Output: the exact objects to train on.
 * Fails with `DatasetNotTrainable` or `NotFound`.
 */
const nonEmpty = z.string().check(z.minLength(1));

export const trainableEventSchema = z.object({
  model: z.optional(nonEmpty),
  dataset: z.optional(nonEmpty),
  datasetVersion: z.optional(nonEmpty),
});

export function createTrainableHandler(ports: DatasetPorts): (event: unknown) => Promise<TrainableDataset> {
  return (event) =>
    withErrorNames(async () => {
      const input = trainableEventSchema.parse(event);
      const trainable = await assertTrainable(ports, input);
      logger.info('dataset version may train', { dataset: trainable.dataset, datasetVersion: trainable.datasetVersion });
      return trainable;
    });
}

/** EventBridge `Object Created` events from the datasets bucket. */
export const objectCreatedEventSchema = z.object({
  'detail-type': z.literal('Object Created'),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: nonEmpty, 'version-id': z.optional(z.string()), etag: z.optional(z.string()) }),
  }),
});

export function createNewDataHandler(ports: NewDataPorts): (event: unknown) => Promise<CountResult> {
  return (event) =>
    withErrorNames(async () => {
      const { detail } = objectCreatedEventSchema.parse(event);
      const result = await countNewObject(ports, {
        key: detail.object.key,
        versionId: detail.object['version-id'],
        eTag: detail.object.etag,
      });
      logger.info('new object', { key: detail.object.key, ...result, requests: result.requests.map((r) => r.runId) });
      return result;
    });
}
