/**
 * A batch model's drift window: the input its scoring run's transform job read, instead of an
 * endpoint's data capture. Batch Transform input is the model's own request format, one record
 * per line (SplitType Line: CSV rows without a header, or JSON Lines), so each line becomes one
 * captured request, stamped at the window's start; the analyzer then reads it exactly as it reads
 * endpoint capture (`capture.ts`), against the LIVE version's baseline.
 */
import * as z from '../shared/zod';
import { Invalid } from '../shared/errors';
import type { DriftPorts } from './analyze';

/** What the scoring state machine passes the analyzer (`batch-scoring.asl.json`, AnalyzeDrift). */
export const batchWindowSchema = z.strictObject({
  /** The transform job's S3Prefix input, `s3://<artifacts bucket>/<inputPrefix>`. */
  inputUri: z.string().check(z.regex(/^s3:\/\/[^/]+\/(.+\/)?$/, 'must be s3://<bucket>/<prefix>/')),
  contentType: z.enum(['text/csv', 'application/jsonlines']),
  transformJobName: z.string().check(z.minLength(1)),
});
export type BatchWindow = z.infer<typeof batchWindowSchema>;

/**
 * The key prefix of the window's input in the artifacts bucket: what the analyzer reads, and
 * what the window's report names as its current data.
 */
export function batchInputPrefix(window: BatchWindow, bucket: string | undefined): string {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(window.inputUri);
  if (!match || match[1] !== bucket) throw new Invalid(`batch.inputUri ${window.inputUri} is not in the artifacts bucket ${bucket}`);
  return match[2] ?? '';
}

/**
 * Ports whose "capture" is the batch input under `inputUri` (which must be in the bucket the
 * analyzer reads), each line a capture record at `at`. Everything else is `ports`' own.
 */
export function batchInputPorts(ports: DriftPorts, window: BatchWindow, bucket: string | undefined, at: Date): DriftPorts {
  const list = ports.objectsUnder?.bind(ports);
  if (!list) throw new Invalid('these drift ports cannot list a batch window\'s input');
  const prefix = batchInputPrefix(window, bucket);
  const inputKeys = new Set<string>();
  const observedContentType = window.contentType;
  const encoding = window.contentType === 'text/csv' ? 'CSV' : 'JSON';
  const inferenceTime = at.toISOString();
  return {
    ...ports,
    async *captureObjects() {
      for await (const key of list(prefix)) {
        inputKeys.add(key);
        yield key;
      }
    },
    async *lines(key) {
      if (!inputKeys.has(key)) {
        yield* ports.lines(key);
        return;
      }
      for await (const line of ports.lines(key)) {
        if (line.trim() === '') continue;
        yield JSON.stringify({ captureData: { endpointInput: { observedContentType, mode: 'INPUT', data: line, encoding } }, eventMetadata: { inferenceTime } });
      }
    },
  };
}
