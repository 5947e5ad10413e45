/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Drift baselines: what the analyzer compares live traffic with, one per deployed model
 * version, stored at `baselines/<model>/<version>/baseline.json` in the artifacts bucket.
 *
 * Per feature a baseline holds its type, row and missing counts, and then
 * - numeric: the decile bin edges, the proportion of values in each bin, and a uniform random
 *   sample (at most `sampleCapacity` values, sorted) for the KS test;
 * - categorical: the count of every category.
 *
 * Baselines are mergeable, so a large dataset can be summarized in parts (one per S3 object,
 * in parallel) and combined with `mergeBaselines`:
 * - rows, missing and category counts add up exactly;
 * - the KS samples merge into a uniform random sample of the union (see `sample.ts`);
 * - edges and proportions of the merged baseline are the deciles and bin proportions of the
 *   merged sample. They are exact whenever the union has at most `sampleCapacity` non-empty
 *   values (then the sample *is* the data); beyond that they are estimates from a uniform
 *   sample of `sampleCapacity` values (standard error of a bin proportion ≈ √(0.1·0.9/n),
 *   about 0.0013 at the default 50 000). A baseline summarized in one part is always exact in
 *   its edges and proportions, whatever its size.
 */
import * as z from '../shared/zod';
import { Invalid } from '../shared/errors';
import type { CategoricalBaselineView, FeatureBaselineView, NumericBaselineView } from './compare';
import { mergeSamples, Random } from './sample';
import { compactSortFloat64 } from './sort';
import { binCountsSorted, decileEdges, proportions } from './stats';
import { DataFileError, parseTable, type Table, type TableFormat } from './table';

export const BASELINE_FORMAT = 'caretaker.drift-baseline/1';
export const BASELINE_FILE = 'baseline.json';
export const DEFAULT_SAMPLE_CAPACITY = 50_000;
const DEFAULT_SEED = 20261122;

export type FeatureType = 'numeric' | 'categorical';

const count = z.int().check(z.minimum(0));
const name = z.string().check(z.minLength(1));

const numericFeatureSchema = z.strictObject({
  name,
  type: z.literal('numeric'),
  rows: count,
  missing: count,
  edges: z.array(z.number()),
  proportions: z.array(z.number().check(z.minimum(0), z.maximum(1))),
  /** Sorted sample as base64 of little-endian float64s. */
  sample: z.base64(),
});

const categoricalFeatureSchema = z.strictObject({
  name,
  type: z.literal('categorical'),
  rows: count,
  missing: count,
  /** [category, count] pairs (an array, so no category name can collide with an object key). */
  categories: z.array(z.tuple([z.string(), count])),
});

export const baselineSchema = z
  .strictObject({
    format: z.literal(BASELINE_FORMAT),
    rows: count,
    sampleCapacity: z.int().check(z.positive()),
    /** Feature columns in payload order: headerless CSV capture payloads are read by position. */
    features: z.array(z.discriminatedUnion('type', [numericFeatureSchema, categoricalFeatureSchema])).check(z.minLength(1)),
    /**
     * The model's headerless CSV columns when they are not `features` in order: a SageMaker
     * algorithm's encoding (`contract=one-year` for a one-hot column; lambdas/datasets/algorithm-csv.ts).
     */
    csvColumns: z.optional(z.array(name).check(z.minLength(1))),
  })
  .check(
    z.superRefine((baseline, ctx) => {
      baseline.features.forEach((feature, i) => {
        if (feature.type === 'numeric' && feature.proportions.length !== feature.edges.length + 1) {
          ctx.addIssue({ code: 'custom', path: ['features', i, 'proportions'], message: 'must have one more entry than edges' });
        }
      });
    }),
  );

export type Baseline = z.infer<typeof baselineSchema>;
export type FeatureBaseline = Baseline['features'][number];

export interface BaselineOptions {
  /** Columns left out, such as the label. @default - none */
  readonly exclude?: readonly string[];
  /**
   * Feature types decided up front (e.g. from the config's declared dataset columns), so that
   * parts summarized separately agree. @default - numeric iff every non-empty value parses as a finite number
   */
  readonly types?: Readonly<Record<string, FeatureType>>;
  /** Most values kept per numeric feature for the KS test. @default 50 000 */
  readonly sampleCapacity?: number;
  /** Seed of the sampling, so a baseline is reproducible. @default fixed */
  readonly seed?: number;
}

/**
 * Feature types from declared dataset columns (the config's `dataset.columns`): number and
 * integer columns are numeric, string and boolean ones categorical. Pass the result as
 * `BaselineOptions.types` so parts summarized separately agree.
 */
export function featureTypesOf(columns: readonly { readonly name: string; readonly type: string }[]): Record<string, FeatureType> {
  const types: Record<string, FeatureType> = {};
  for (const column of columns) {
    Object.defineProperty(types, column.name, {
      value: column.type === 'number' || column.type === 'integer' ? 'numeric' : 'categorical',
      enumerable: true,
    });
  }
  return types;
}

/**
 * Summarizes one part of a model's training data (a CSV file with a header row or a JSON
 * Lines file) into a baseline. Call it per data object and `mergeBaselines` the parts.
 * This is what the pipeline's record-deployment step calls before `writeBaseline`.
 */
export function buildBaseline(
  source: { readonly name: string; readonly bytes: Uint8Array; readonly format?: TableFormat },
  options: BaselineOptions = {},
): Baseline {
  return summarizeTable(parseTable(source.name, source.bytes, source.format), options);
}

export function summarizeTable(table: Table, options: BaselineOptions = {}): Baseline {
  const capacity = options.sampleCapacity ?? DEFAULT_SAMPLE_CAPACITY;
  const random = new Random(options.seed ?? DEFAULT_SEED);
  const exclude = new Set(options.exclude ?? []);
  const names = table.columns.filter((c) => !exclude.has(c));
  if (names.length === 0) throw new DataFileError(table.file, 'has no feature columns left once excluded columns are removed');
  const types = new Map(names.map((name) => [name, options.types?.[name] ?? inferType(table, name)]));
  const categorical = table.categorical(names.filter((name) => types.get(name) === 'categorical'));

  const features = names.map((name): FeatureBaseline => {
    const codes = categorical.get(name);
    if (codes) {
      const counts = new Float64Array(codes.categories.length);
      let missing = 0;
      for (const code of codes.codes) {
        if (code < 0) missing++;
        else counts[code]!++;
      }
      return {
        name,
        type: 'categorical',
        rows: table.rows,
        missing,
        categories: codes.categories.map((category, i) => [category, counts[i]!] as [string, number]),
      };
    }
    const column = table.numeric(name);
    if (column.firstNonNumber) {
      throw new DataFileError(table.file, `"${column.firstNonNumber.text}" is not a number but the feature is declared numeric`, column.firstNonNumber.line, `"${name}"`);
    }
    const sorted = compactSorted(column.values);
    const view = numericView(table.rows, table.rows - sorted.length, sorted);
    return encodeNumeric(name, view, subsample(sorted, capacity, random));
  });
  return { format: BASELINE_FORMAT, rows: table.rows, sampleCapacity: capacity, features };
}

/** Numeric iff every non-empty value parses as a finite number. */
export function inferType(table: Table, column: string): FeatureType {
  return table.numeric(column).firstNonNumber === undefined ? 'numeric' : 'categorical';
}

/** The non-NaN values, sorted ascending, in a new array. */
export function compactSorted(values: Float64Array): Float64Array {
  return compactSortFloat64(values);
}

/** The baseline side of a numeric feature from all of its sorted values: exact edges and proportions. */
export function numericView(rows: number, missing: number, sorted: Float64Array): NumericBaselineView {
  const edges = sorted.length === 0 ? new Float64Array(0) : decileEdges(sorted);
  return { type: 'numeric', rows, missing, edges, proportions: proportions(binCountsSorted(sorted, edges)), sample: sorted };
}

/**
 * Combines baselines of disjoint parts of one dataset into the baseline of the whole.
 * The parts must have the same features, in the same order, with the same types.
 */
export function mergeBaselines(parts: readonly Baseline[], options: { readonly seed?: number } = {}): Baseline {
  const [first, ...rest] = parts;
  if (!first) throw new Invalid('mergeBaselines needs at least one baseline');
  const random = new Random(options.seed ?? DEFAULT_SEED);
  return rest.reduce((merged, part, index) => mergeTwo(merged, part, index + 1, random), first);
}

function mergeTwo(a: Baseline, b: Baseline, partIndex: number, random: Random): Baseline {
  const names = (baseline: Baseline) => baseline.features.map((f) => `${f.name}:${f.type}`).join(',');
  if (names(a) !== names(b)) {
    throw new Invalid(`baseline part ${partIndex} has features ${names(b)} but the parts before it have ${names(a)}`);
  }
  const capacity = Math.min(a.sampleCapacity, b.sampleCapacity);
  const features = a.features.map((fa, i): FeatureBaseline => {
    const fb = b.features[i]!;
    if (fa.type === 'categorical' && fb.type === 'categorical') {
      const counts = new Map(fa.categories);
      for (const [category, n] of fb.categories) counts.set(category, (counts.get(category) ?? 0) + n);
      return { ...fa, rows: fa.rows + fb.rows, missing: fa.missing + fb.missing, categories: [...counts] };
    }
    if (fa.type === 'numeric' && fb.type === 'numeric') {
      const sample = mergeSamples(
        { sample: decodeSample(fa.sample), population: fa.rows - fa.missing },
        { sample: decodeSample(fb.sample), population: fb.rows - fb.missing },
        capacity,
        random,
      );
      const rows = fa.rows + fb.rows;
      const missing = fa.missing + fb.missing;
      return encodeNumeric(fa.name, numericView(rows, missing, sample), sample);
    }
    throw new Invalid(`feature "${fa.name}" has different types in the parts`);
  });
  return { format: BASELINE_FORMAT, rows: a.rows + b.rows, sampleCapacity: capacity, features };
}

/** In-memory views of a stored baseline's features, for comparisons. */
export function baselineViews(baseline: Baseline): Map<string, FeatureBaselineView> {
  return new Map(
    baseline.features.map((feature): [string, FeatureBaselineView] => {
      if (feature.type === 'categorical') {
        const view: CategoricalBaselineView = {
          type: 'categorical',
          rows: feature.rows,
          missing: feature.missing,
          counts: new Map(feature.categories),
        };
        return [feature.name, view];
      }
      const view: NumericBaselineView = {
        type: 'numeric',
        rows: feature.rows,
        missing: feature.missing,
        edges: Float64Array.from(feature.edges),
        proportions: Float64Array.from(feature.proportions),
        sample: decodeSample(feature.sample),
      };
      return [feature.name, view];
    }),
  );
}

export function parseBaseline(text: string, source: string): Baseline {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Invalid(`${source} is not valid JSON`);
  }
  const result = baselineSchema.safeParse(json);
  if (!result.success) {
    throw new Invalid(`${source} is not a drift baseline`, result.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

function encodeNumeric(name: string, view: NumericBaselineView, sample: Float64Array): FeatureBaseline {
  return {
    name,
    type: 'numeric',
    rows: view.rows,
    missing: view.missing,
    edges: [...view.edges],
    proportions: [...view.proportions],
    sample: encodeSample(sample),
  };
}

/** A uniform random subset of at most `capacity` sorted values, still sorted. */
function subsample(sorted: Float64Array, capacity: number, random: Random): Float64Array {
  if (sorted.length <= capacity) return sorted;
  const indexes = new Uint32Array(sorted.length);
  for (let i = 0; i < indexes.length; i++) indexes[i] = i;
  for (let i = 0; i < capacity; i++) {
    const j = i + random.below(indexes.length - i);
    const swap = indexes[i]!;
    indexes[i] = indexes[j]!;
    indexes[j] = swap;
  }
  const chosen = indexes.subarray(0, capacity).sort();
  return Float64Array.from(chosen, (i) => sorted[i]!);
}

export function encodeSample(sample: Float64Array): string {
  const bytes = Buffer.alloc(sample.length * 8);
  for (let i = 0; i < sample.length; i++) bytes.writeDoubleLE(sample[i]!, i * 8);
  return bytes.toString('base64');
}

export function decodeSample(base64: string): Float64Array {
  const bytes = Buffer.from(base64, 'base64');
  const out = new Float64Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}
