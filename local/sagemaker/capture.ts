/**
 * Endpoint data capture in SageMaker's format: JSON Lines under
 * `<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mss>-<uuid>.jsonl`, one record per
 * sampled invocation:
 *
 * {"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"…","encoding":"CSV"},
 *                 "endpointOutput":{…,"mode":"OUTPUT",…}},
 *  "eventMetadata":{"eventId":"<uuid>","inferenceId":"<if sent>","inferenceTime":"2026-11-22T15:04:05Z"},
 *  "eventVersion":"0"}
 *
 * Records are buffered and written every `captureFlushMs` (SageMaker writes about once a
 * minute), and when the endpoint's variant stops.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { joinKey, putObject } from './s3';

export interface DataCaptureConfig {
  readonly EnableCapture?: boolean;
  readonly InitialSamplingPercentage: number;
  readonly DestinationS3Uri: string;
  readonly CaptureOptions: readonly { readonly CaptureMode: 'Input' | 'Output' | 'InputAndOutput' }[];
  readonly CaptureContentTypeHeader?: { readonly CsvContentTypes?: readonly string[]; readonly JsonContentTypes?: readonly string[] };
}

export interface Exchange {
  readonly variant: string;
  readonly inputContentType: string;
  readonly input: Buffer;
  readonly outputContentType: string;
  readonly output: Buffer;
  readonly inferenceId?: string;
  readonly at: Date;
}

const mediaType = (contentType: string) => contentType.split(';')[0]?.trim().toLowerCase() ?? '';

export class CaptureWriter {
  private seen = 0;
  private readonly buffer = new Map<string, string[]>();
  private readonly timer: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly s3: S3Client,
    private readonly endpointName: string,
    private readonly config: DataCaptureConfig,
    flushMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** Exactly `InitialSamplingPercentage` % of invocations, evenly spread (deterministic). */
  private sampled(): boolean {
    const p = this.config.InitialSamplingPercentage;
    const n = this.seen;
    this.seen += 1;
    return Math.floor(((n + 1) * p) / 100) > Math.floor((n * p) / 100);
  }

  private encode(contentType: string, body: Buffer): { encoding: 'CSV' | 'JSON' | 'BASE64'; data: string } {
    const type = mediaType(contentType);
    const csv = this.config.CaptureContentTypeHeader?.CsvContentTypes ?? ['text/csv'];
    const json = this.config.CaptureContentTypeHeader?.JsonContentTypes ?? ['application/json'];
    if (csv.map(mediaType).includes(type)) return { encoding: 'CSV', data: body.toString('utf8') };
    if (json.map(mediaType).includes(type)) return { encoding: 'JSON', data: body.toString('utf8') };
    return { encoding: 'BASE64', data: body.toString('base64') };
  }

  record(exchange: Exchange): void {
    if (this.config.EnableCapture === false || !this.sampled()) return;
    const modes = new Set(this.config.CaptureOptions.map((o) => o.CaptureMode));
    const captureData: Record<string, unknown> = {};
    if (modes.has('Input') || modes.has('InputAndOutput')) {
      captureData.endpointInput = { observedContentType: exchange.inputContentType, mode: 'INPUT', ...this.encode(exchange.inputContentType, exchange.input) };
    }
    if (modes.has('Output') || modes.has('InputAndOutput')) {
      captureData.endpointOutput = { observedContentType: exchange.outputContentType, mode: 'OUTPUT', ...this.encode(exchange.outputContentType, exchange.output) };
    }
    const line = JSON.stringify({
      captureData,
      eventMetadata: {
        eventId: randomUUID(),
        ...(exchange.inferenceId && { inferenceId: exchange.inferenceId }),
        inferenceTime: exchange.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      eventVersion: '0',
    });
    const hour = exchange.at.toISOString().slice(0, 13).replace(/[-T]/g, '/');
    const key = `${exchange.variant}\n${hour}`;
    const lines = this.buffer.get(key) ?? [];
    lines.push(line);
    this.buffer.set(key, lines);
  }

  /** Writes what is buffered; concurrent calls are serialized. */
  flush(): Promise<void> {
    this.pending = this.pending.then(async () => {
      const batches = [...this.buffer];
      this.buffer.clear();
      const now = new Date();
      const stamp = `${String(now.getUTCMinutes()).padStart(2, '0')}-${String(now.getUTCSeconds()).padStart(2, '0')}-${String(now.getUTCMilliseconds()).padStart(3, '0')}`;
      for (const [key, lines] of batches) {
        const [variant = '', hour = ''] = key.split('\n');
        const uri = joinKey(this.config.DestinationS3Uri, this.endpointName, variant, hour, `${stamp}-${randomUUID()}.jsonl`);
        try {
          await putObject(this.s3, uri, `${lines.join('\n')}\n`, 'application/jsonl');
        } catch (error) {
          this.onError(error);
        }
      }
    });
    return this.pending;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
