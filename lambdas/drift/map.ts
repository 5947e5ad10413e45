/**
 * The Distributed Map path of drift analysis, for windows too big for one function
 * (state-machines/drift-map.asl.json):
 *
 *   analyzer ─ StartExecution ─► AnalyzeShards (Distributed Map, ItemReader = ListObjectsV2 of
 *   the window's capture prefix, a batch of objects per child) ─► each child: `analyzeShard`,
 *   one WindowPartial written to S3 ─► ResultWriter's manifest.json ─► `reduceShards`: merge
 *   the partials, `publishWindow` (the single pass's report, metrics and log line).
 *
 * The analyzer picks the path by the window's capture bytes (`chooseAnalysisPath`). With ground
 * truth in the window, the map lists the label lookback's capture too, each child joins its
 * records to the window's labels as the single pass does and writes the joined pairs in its
 * partial, and the reducer keeps each label's first join in the single pass's reading order: the
 * map publishes the single pass's ModelQuality.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { Invalid } from '../shared/errors';
import { artifactPrefixes, driftReportKeys } from '../shared/layout';
import { publishWindow, readLabels, recordReader, type AnalyzeResult, type PublishPorts } from './analyze';
import { baselineViews } from './baseline';
import { readCaptureRecords } from './capture';
import { QualityAccumulator, qualityMetricFor } from './quality';
import { hours, type DriftObjectPorts } from './store';
import { CurrentWindow, type WindowPartial } from './window';

/**
 * Capture bytes of one window above which the analyzer hands the window to the Distributed Map.
 *
 * From BENCHMARKS.md, "Drift analysis: single pass vs Distributed Map (issue 17, drift-map)"
 * (`npm run bench:drift-map`): one function reads 81 000–129 000 capture records per CPU second,
 * 23–37 MB/s at 287 bytes a record (CSV payloads, 6 features). Take the low end, 23 MB/s per
 * vCPU. The analyzer runs at 1024 MB, which Lambda gives ≈ 0.58 vCPU (CPU follows memory, one
 * full vCPU at 1769 MB): ≈ 13 MB/s. Its 5-minute timeout with half kept as headroom (S3 reads,
 * slower payloads, JSON instead of CSV) holds ≈ 150 s × 13 MB/s ≈ 2 GB; round down to 1 GiB.
 * Windows above it go to the map, whose children each read `SHARD_BATCH_OBJECTS` objects at
 * 1769 MB with 10 minutes each.
 */
export const SINGLE_PASS_MAX_BYTES = 1024 ** 3;

/** Objects per child of the Distributed Map (the ASL's ItemBatcher.MaxItemsPerBatch; a test checks they agree). */
export const SHARD_BATCH_OBJECTS = 8;

export type AnalysisPath = 'single-pass' | 'distributed-map';

/** The single pass up to and including the threshold, the Distributed Map above it. */
export function chooseAnalysisPath(captureBytes: number, thresholdBytes = SINGLE_PASS_MAX_BYTES): AnalysisPath {
  return captureBytes > thresholdBytes ? 'distributed-map' : 'single-pass';
}

/**
 * The map execution's name for one model and window: the same for every retry of the analyzer,
 * so StartExecution starts exactly one (a repeat with the same input answers the running
 * execution; after it closed, ExecutionAlreadyExists). Step Functions names are ≤ 80 characters
 * of letters, digits, `-` and `_`; a model name too long for that is cut and given a hash.
 */
export function mapExecutionName(model: string, windowEnd: Date): string {
  const windowId = driftReportKeys.windowId(windowEnd);
  const plain = `drift-${model}-${windowId}`;
  if (plain.length <= 80 && /^[A-Za-z0-9_-]+$/.test(plain)) return plain;
  const hash = createHash('sha256').update(model).digest('hex').slice(0, 8);
  const room = 80 - `drift--${hash}-${windowId}`.length;
  return `drift-${model.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, room)}-${hash}-${windowId}`;
}

/**
 * The longest prefix, ending at a `/`, shared by every key: the ItemReader's ListObjectsV2
 * `Prefix`. It may name objects outside the window (other hours under the same day); children
 * skip those by their key (`inWindow`), without reading them.
 */
export function commonPrefix(keys: readonly string[]): string {
  let prefix = keys[0];
  if (prefix === undefined) return '';
  for (const key of keys) {
    let i = 0;
    while (i < prefix.length && i < key.length && prefix[i] === key[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

/** What one drift window asks of the map: the single pass's request, with the version it resolved. */
export const mapWindowSchema = z.strictObject({
  model: z.string().min(1).max(64),
  version: z.number().int().positive(),
  windowStart: z.iso.datetime({ offset: true }),
  windowEnd: z.iso.datetime({ offset: true }),
  psiThreshold: z.number().positive(),
  minRecords: z.number().int().min(0).optional(),
  /**
   * The label join, when the window has ground truth and an objective metric Caretaker computes:
   * the single pass's `objectiveMetric`, `labelLookbackMs` and `maxLabels`. The capture listing
   * then reaches back `labelLookbackMs` before the window.
   * @default - no ModelQuality for the window
   */
  quality: z
    .strictObject({
      objectiveMetric: z.string().min(1),
      labelLookbackMs: z.number().min(0),
      maxLabels: z.number().int().positive(),
    })
    .optional(),
});
export type MapWindow = z.infer<typeof mapWindowSchema>;

/** The map state machine's execution input (the analyzer builds it; the ASL reads these fields). */
export interface MapExecutionInput {
  readonly window: MapWindow;
  /** ItemReader Prefix: every capture object of the window is under it. */
  readonly capturePrefix: string;
  /** Where the shards' partials go (`<prefix>partials/`), and the ResultWriter's Prefix (without the trailing `/`). */
  readonly resultPrefix: string;
}

export function mapExecutionInput(window: MapWindow, captureKeys: readonly string[]): MapExecutionInput {
  const folder = driftReportKeys.mapFolder(window.model, new Date(window.windowEnd));
  return { window, capturePrefix: commonPrefix(captureKeys), resultPrefix: folder.slice(0, -1) };
}

/**
 * One child's input: ItemBatcher's `{ Items, BatchInput }`. Items are what the ListObjectsV2
 * ItemReader yields per object (`Etag`, `Key`, `LastModified` in epoch seconds, `Size`,
 * `StorageClass`: Step Functions developer guide, "ItemReader (Map)", Amazon S3 objects list).
 */
export const shardEventSchema = z.object({
  BatchInput: z.object({ window: mapWindowSchema, resultPrefix: z.string().min(1) }),
  Items: z
    .array(z.object({ Key: z.string().min(1), Size: z.number().int().min(0) }).loose())
    .min(1),
});
export type ShardEvent = z.infer<typeof shardEventSchema>;

export interface ShardResult {
  /** Key of the shard's WindowPartial (JSON) in the artifacts bucket. */
  readonly partial: string;
  readonly rows: number;
  readonly malformedRecords: number;
  /** Capture objects read. */
  readonly objects: number;
  /** Objects under the prefix but outside the window's hours, skipped by key. */
  readonly skipped: number;
  /** Predictions joined with a label (before the reducer keeps one join per label). */
  readonly joined: number;
}

/**
 * Is this capture key one the single pass would read for records in [from, end)? It lists
 * `capture/<model>/<endpoint>/<variant>/<hour>/` for each hour from one before `from` to `end`
 * (store.ts `listCaptureObjects`); `from` is the window's start, or the label lookback's.
 */
export function inRange(key: string, model: string, from: number, end: number): boolean {
  const base = artifactPrefixes.capture(model);
  if (!key.startsWith(base)) return false;
  const match = /^[^/]+\/[^/]+\/(\d{4}\/\d{2}\/\d{2}\/\d{2}\/).+$/.exec(key.slice(base.length));
  const hour = match?.[1];
  if (hour === undefined) return false;
  return hours(new Date(from - 3_600_000), new Date(end)).includes(hour);
}

/**
 * Keys in the order the single pass reads them: S3 lists keys in UTF-8 binary order
 * (ListObjectsV2, Amazon S3 API reference), and `listCaptureObjects` walks endpoint, variant
 * and hour prefixes in that order, so its order is the binary order of the whole keys.
 */
export function listingOrder(keys: readonly string[]): string[] {
  return keys
    .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((entry) => entry.key);
}

/** Whether `a` comes before `b` in S3's listing order (UTF-8 binary, as `listingOrder`). */
const listedBefore = (a: string, b: string): boolean => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) < 0;

/** What the shard needs: the S3 ports, and the log for the labels beyond `maxLabels`. */
export type ShardPorts = DriftObjectPorts & Pick<PublishPorts, 'log'>;

/**
 * One child of the map: the records of its capture objects that fall in the window, as a
 * WindowPartial written to `<resultPrefix>/partials/<hash of the keys>.json` (the same key on a
 * retry of the same batch). The partial goes to S3, not into the result: a 50 000-value sample
 * per numeric feature is ≈ 530 KB of base64, and a child's output is limited to 256 KiB.
 *
 * With `quality`, a child with objects to read loads the window's labels (as the single pass
 * does, at most `maxLabels`) and, when there are any, reads its objects of the lookback too and
 * joins exactly as the single pass (`recordReader`), objects in the single pass's order. Its
 * partial holds the joined pairs: at most one per label, so no more than `maxLabels`.
 */
export async function analyzeShard(event: ShardEvent, ports: ShardPorts): Promise<ShardResult> {
  const { window: request, resultPrefix } = event.BatchInput;
  const baseline = await ports.readBaseline(request.model, request.version);
  if (!baseline) throw new Invalid(`no baseline for ${request.model} version ${request.version}`);
  const window = new CurrentWindow(baselineViews(baseline), { csvColumns: baseline.csvColumns });
  const start = Date.parse(request.windowStart);
  const end = Date.parse(request.windowEnd);
  const keys = event.Items.map((item) => item.Key);
  const lookbackFrom = request.quality ? start - request.quality.labelLookbackMs : start;
  const labels =
    request.quality && keys.some((key) => inRange(key, request.model, lookbackFrom, end))
      ? await readLabels(
          { model: request.model, windowStart: new Date(start), windowEnd: new Date(end), objectiveMetric: request.quality.objectiveMetric, maxLabels: request.quality.maxLabels },
          ports,
        )
      : undefined;
  const labelCount = labels?.size ?? 0;
  // As the single pass: the lookback is read only when there are labels to join to it.
  const from = labelCount > 0 ? lookbackFrom : start;
  const read = listingOrder(keys.filter((key) => inRange(key, request.model, from, end)));
  const pairs: JoinedPair[] = [];
  let keyIndex = 0;
  const use = recordReader(window, start, labelCount > 0 ? labels : undefined, (inferenceId, prediction, label) => {
    pairs.push([inferenceId, prediction, label, keyIndex]);
  });
  let malformedRecords = 0;
  for (const [i, key] of read.entries()) {
    keyIndex = i;
    malformedRecords += await readCaptureRecords(ports.lines(key), from, end, use);
  }
  const partialKey = `${resultPrefix}/partials/${createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 32)}.json`;
  const partial: ShardPartialDocument = { ...window.partial(), malformedRecords, ...(labels ? { join: { labels: labelCount, keys: read, pairs } } : {}) };
  await ports.putObject(partialKey, JSON.stringify(partial), 'application/json');
  return { partial: partialKey, rows: window.rows, malformedRecords, objects: read.length, skipped: keys.length - read.length, joined: pairs.length };
}

/** One joined prediction: `[inferenceId, prediction, label, index in the shard's keys]`, in the order the shard met them. */
type JoinedPair = readonly [string, number, number, number];

/** A shard's label join: how many labels it loaded, the keys it read (in reading order) and its pairs. */
interface ShardJoin {
  readonly labels: number;
  readonly keys: readonly string[];
  readonly pairs: readonly JoinedPair[];
}

type ShardPartialDocument = WindowPartial & { readonly malformedRecords: number; readonly join?: ShardJoin };

/** The reducer's input: the window and the map's output (`ResultWriterDetails`). */
export const reduceEventSchema = z.strictObject({
  window: mapWindowSchema,
  manifest: z.object({ Bucket: z.string().min(1), Key: z.string().min(1) }),
});
export type ReduceEvent = z.infer<typeof reduceEventSchema>;

/**
 * ResultWriter's manifest.json and result files (Step Functions developer guide, "ResultWriter
 * (Map)", Exporting to Amazon S3): the manifest names the result files by status, each a JSON
 * array of child executions whose `Output` is the child's output as a JSON string.
 */
const manifestSchema = z.object({
  DestinationBucket: z.string(),
  MapRunArn: z.string(),
  ResultFiles: z.object({
    SUCCEEDED: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
    FAILED: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
    PENDING: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
  }),
});
const resultFileSchema = z.array(z.object({ Status: z.string(), Output: z.string().optional(), ExecutionArn: z.string().optional() }).loose());
const shardResultSchema = z.object({ partial: z.string().min(1), rows: z.number(), malformedRecords: z.number(), objects: z.number(), skipped: z.number() });

/**
 * Reads the map's manifest and every succeeded child's partial, merges them into one window and
 * publishes it as the single pass would. A map with failed or pending children is refused (the
 * ASL tolerates no failure; a window is published whole or not at all).
 *
 * Joined pairs: each object is read by one child, so a label joined by several children was met
 * in several objects; the single pass joined it to the first, in listing order, and so does the
 * reducer. The kept pairs go into the metric in that order too (sums of squares and absolute
 * errors are order-sensitive in floating point). At most one pair per label is held.
 */
export async function reduceShards(event: ReduceEvent, ports: DriftObjectPorts & PublishPorts): Promise<AnalyzeResult & { readonly shards: number }> {
  const request = event.window;
  const manifest = manifestSchema.parse(JSON.parse(await readText(ports, event.manifest.Key)) as unknown);
  const unfinished = manifest.ResultFiles.FAILED.length + manifest.ResultFiles.PENDING.length;
  if (unfinished > 0) throw new Invalid(`map run ${manifest.MapRunArn} has ${unfinished} failed or pending result files; the window is not published from part of its shards`);
  const baseline = await ports.readBaseline(request.model, request.version);
  if (!baseline) throw new Invalid(`no baseline for ${request.model} version ${request.version}`);
  const window = new CurrentWindow(baselineViews(baseline), { csvColumns: baseline.csvColumns });
  const joins = new FirstJoins();
  let malformedRecords = 0;
  let shards = 0;
  for (const file of manifest.ResultFiles.SUCCEEDED) {
    const results = resultFileSchema.parse(JSON.parse(await readText(ports, file.Key)) as unknown);
    for (const result of results) {
      if (result.Output === undefined) throw new Invalid(`${file.Key}: child ${result.ExecutionArn ?? '?'} has no Output`);
      const shard = shardResultSchema.parse(JSON.parse(result.Output) as unknown);
      const partial = JSON.parse(await readText(ports, shard.partial)) as ShardPartialDocument;
      window.merge(partial);
      if (partial.join) joins.add(partial.join);
      malformedRecords += partial.malformedRecords;
      shards++;
    }
  }
  const result = await publishWindow(ports, {
    model: request.model,
    windowStart: new Date(request.windowStart),
    windowEnd: new Date(request.windowEnd),
    version: request.version,
    psiThreshold: request.psiThreshold,
    minRecords: request.minRecords,
    window,
    currentLocation: artifactPrefixes.capture(request.model),
    malformedRecords,
    quality: joins.quality(request.quality?.objectiveMetric),
  });
  return { ...result, shards };
}

/** Per label (inference id), the join the single pass made: the first in listing order of the objects, then of the records in one. */
class FirstJoins {
  private readonly first = new Map<string, { readonly key: string; readonly seq: number; readonly prediction: number; readonly label: number }>();
  private labels = 0;

  add(join: ShardJoin): void {
    this.labels = Math.max(this.labels, join.labels);
    join.pairs.forEach(([inferenceId, prediction, label, keyIndex], seq) => {
      const key = join.keys[keyIndex];
      if (key === undefined) throw new Invalid(`a shard's joined pair names key ${keyIndex} of its ${join.keys.length}`);
      const known = this.first.get(inferenceId);
      if (known === undefined || listedBefore(key, known.key)) this.first.set(inferenceId, { key, seq, prediction, label });
    });
  }

  /** The single pass's accumulator: present when the metric is computed and the window had labels (joined or not). */
  quality(objectiveMetric: string | undefined): QualityAccumulator | undefined {
    const metric = objectiveMetric === undefined ? undefined : qualityMetricFor(objectiveMetric);
    if (!metric || this.labels === 0) return undefined;
    const rank = new Map(listingOrder([...new Set([...this.first.values()].map((p) => p.key))]).map((key, i) => [key, i]));
    const pairs = [...this.first.values()].map((pair) => ({ ...pair, rank: rank.get(pair.key) ?? 0 }));
    // Pairs of one key come from one shard, in its reading order (seq).
    pairs.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
    const quality = new QualityAccumulator(metric);
    for (const pair of pairs) quality.add(pair.prediction, pair.label);
    return quality;
  }
}

async function readText(ports: Pick<DriftObjectPorts, 'lines'>, key: string): Promise<string> {
  const lines: string[] = [];
  for await (const line of ports.lines(key)) lines.push(line);
  return lines.join('\n');
}
