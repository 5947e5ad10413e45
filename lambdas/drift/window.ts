/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * The current side of a drift comparison, accumulated one record at a time in bounded memory:
 * per numeric feature, exact counts in the baseline's bins plus a uniform reservoir sample for
 * the KS test; per categorical feature, exact category counts (bounded by `maxCategories`,
 * beyond which new values are pooled as one overflow category).
 */
import { parseDecimal, parseDecimalText } from './numbers';
import {
  buildReport,
  compareCategorical,
  compareNumeric,
  type DriftReport,
  type FeatureBaselineView,
  type FeatureDrift,
} from './compare';
import { Invalid } from '../shared/errors';
import { decodeSample, encodeSample } from './baseline';
import { Random, Reservoir } from './sample';
import { binOf } from './stats';
import type { CsvScanner } from '../datasets/csv';

export const DEFAULT_CURRENT_SAMPLE = 50_000;
export const DEFAULT_MAX_CATEGORIES = 10_000;
/** Where values beyond `maxCategories` distinct ones are counted. */
export const OVERFLOW_CATEGORY = '\u0000other';

type Accumulator =
  | { readonly type: 'numeric'; readonly edges: Float64Array; readonly binCounts: Float64Array; readonly reservoir: Reservoir; missing: number }
  | { readonly type: 'categorical'; readonly counts: Map<string, number>; missing: number };

export interface WindowOptions {
  readonly sampleCapacity?: number;
  readonly maxCategories?: number;
  readonly seed?: number;
  /**
   * The columns of a headerless CSV record when they are not the features in order: a SageMaker
   * algorithm's encoding (`baseline.csvColumns`, from lambdas/datasets/algorithm-csv.ts), where a
   * categorical feature `f` is the one-hot group `f=<category>…`. @default - field i is feature i
   */
  readonly csvColumns?: readonly string[];
}

/** Where a feature is in a headerless CSV record: one field, or a one-hot group of fields (absent: always missing). */
type FieldLayout = { readonly field: number } | { readonly oneHot: readonly { readonly field: number; readonly category: string }[] } | undefined;

function csvLayout(names: readonly string[], columns: readonly string[]): FieldLayout[] {
  return names.map((name) => {
    const field = columns.indexOf(name);
    if (field >= 0) return { field };
    const prefix = `${name}=`;
    const oneHot = columns.flatMap((column, i) => (column.startsWith(prefix) ? [{ field: i, category: column.slice(prefix.length) }] : []));
    return oneHot.length > 0 ? { oneHot } : undefined;
  });
}

export const WINDOW_PARTIAL_FORMAT = 'caretaker.drift-window-partial/1';

/**
 * What one shard of a window contributes (one child of the Distributed Map, one capture
 * object): exact bin, category and missing counts, and per numeric feature a uniform sample
 * with the number of values it was drawn from. Partials merge into the same counts as a single
 * pass over all the shards' records; the merged KS sample is a uniform sample of the union.
 */
export interface WindowPartial {
  readonly format: typeof WINDOW_PARTIAL_FORMAT;
  readonly rows: number;
  readonly features: readonly (
    | { readonly name: string; readonly type: 'numeric'; readonly missing: number; readonly binCounts: readonly number[]; readonly values: number; readonly sample: string }
    | { readonly name: string; readonly type: 'categorical'; readonly missing: number; readonly counts: readonly (readonly [string, number])[] }
  )[];
}

export class CurrentWindow {
  /** Records offered. */
  rows = 0;
  private readonly accumulators: Accumulator[];
  private readonly names: string[];
  private readonly maxCategories: number;
  private readonly layout: FieldLayout[] | undefined;

  constructor(
    private readonly baseline: ReadonlyMap<string, FeatureBaselineView>,
    options: WindowOptions = {},
  ) {
    const random = new Random(options.seed ?? Date.now());
    const capacity = options.sampleCapacity ?? DEFAULT_CURRENT_SAMPLE;
    this.maxCategories = options.maxCategories ?? DEFAULT_MAX_CATEGORIES;
    this.names = [...baseline.keys()];
    this.layout = options.csvColumns ? csvLayout(this.names, options.csvColumns) : undefined;
    this.accumulators = [...baseline.values()].map((view): Accumulator =>
      view.type === 'numeric'
        ? {
            type: 'numeric',
            edges: view.edges,
            binCounts: new Float64Array(view.edges.length + 1),
            reservoir: new Reservoir(capacity, random),
            missing: 0,
          }
        : { type: 'categorical', counts: new Map(), missing: 0 },
    );
  }

  /** Feature names in payload order (the order headerless CSV payloads are read in). */
  get features(): readonly string[] {
    return this.names;
  }

  /** One record from a headerless CSV row: field i is feature i (or as `csvColumns` lays them out). Extra trailing fields are ignored. */
  addCsvRow(scanner: CsvScanner): void {
    if (this.layout) {
      this.addEncodedCsvRow(scanner, this.layout);
      return;
    }
    this.rows++;
    for (let f = 0; f < this.accumulators.length; f++) {
      const accumulator = this.accumulators[f]!;
      if (f >= scanner.fieldCount || scanner.isEmpty(f)) {
        accumulator.missing++;
        continue;
      }
      if (accumulator.type === 'numeric') this.addNumber(accumulator, parseDecimal(scanner.bytes, scanner.starts[f]!, scanner.ends[f]!));
      else this.addCategory(accumulator, scanner.text(f));
    }
  }

  /** A row in a SageMaker algorithm's encoding: a one-hot group is its category when exactly one of its fields is 1, else missing. */
  private addEncodedCsvRow(scanner: CsvScanner, layout: readonly FieldLayout[]): void {
    this.rows++;
    const present = (field: number) => field < scanner.fieldCount && !scanner.isEmpty(field);
    for (let f = 0; f < this.accumulators.length; f++) {
      const accumulator = this.accumulators[f]!;
      const where = layout[f];
      if (where !== undefined && 'field' in where && present(where.field)) {
        if (accumulator.type === 'numeric') this.addNumber(accumulator, parseDecimal(scanner.bytes, scanner.starts[where.field]!, scanner.ends[where.field]!));
        else this.addCategory(accumulator, scanner.text(where.field));
      } else if (where !== undefined && 'oneHot' in where && accumulator.type === 'categorical') {
        const hot = where.oneHot.filter(({ field }) => present(field) && parseDecimal(scanner.bytes, scanner.starts[field]!, scanner.ends[field]!) === 1);
        if (hot.length === 1) this.addCategory(accumulator, hot[0]!.category);
        else accumulator.missing++;
      } else {
        accumulator.missing++;
      }
    }
  }

  /** One record given as values by feature name (JSON payloads); absent, null and "" are missing. */
  addRecord(record: Readonly<Record<string, unknown>>): void {
    this.rows++;
    for (let f = 0; f < this.accumulators.length; f++) this.addValue(this.accumulators[f]!, record[this.names[f]!]);
  }

  /** One record given as values in feature order (JSON arrays). */
  addValues(values: readonly unknown[]): void {
    this.rows++;
    for (let f = 0; f < this.accumulators.length; f++) this.addValue(this.accumulators[f]!, values[f]);
  }

  /** This window's state as a mergeable partial (JSON-safe). */
  partial(): WindowPartial {
    return {
      format: WINDOW_PARTIAL_FORMAT,
      rows: this.rows,
      features: this.accumulators.map((a, f) =>
        a.type === 'numeric'
          ? { name: this.names[f]!, type: 'numeric' as const, missing: a.missing, binCounts: [...a.binCounts], values: a.reservoir.seen, sample: encodeSample(a.reservoir.values.subarray(0, Math.min(a.reservoir.seen, a.reservoir.capacity))) }
          : { name: this.names[f]!, type: 'categorical' as const, missing: a.missing, counts: [...a.counts] },
      ),
    };
  }

  /** Adds a partial of a disjoint shard of the same window (same baseline). */
  merge(partial: WindowPartial): void {
    if ((partial.format as string) !== WINDOW_PARTIAL_FORMAT) throw new Invalid(`not a drift window partial: format ${partial.format}`);
    const names = partial.features.map((f) => `${f.name}:${f.type}`).join(',');
    const ours = this.accumulators.map((a, f) => `${this.names[f]}:${a.type}`).join(',');
    if (names !== ours) throw new Invalid(`the partial has features ${names} but this window has ${ours}`);
    this.rows += partial.rows;
    partial.features.forEach((feature, f) => {
      const a = this.accumulators[f]!;
      a.missing += feature.missing;
      if (a.type === 'numeric' && feature.type === 'numeric') {
        if (feature.binCounts.length !== a.binCounts.length) throw new Invalid(`feature "${feature.name}": ${feature.binCounts.length} bins, the baseline has ${a.binCounts.length}`);
        feature.binCounts.forEach((c, i) => (a.binCounts[i]! += c));
        a.reservoir.absorb({ sample: decodeSample(feature.sample), population: feature.values });
      } else if (a.type === 'categorical' && feature.type === 'categorical') {
        for (const [category, n] of feature.counts) {
          const known = a.counts.get(category);
          if (known !== undefined) a.counts.set(category, known + n);
          else if (a.counts.size < this.maxCategories) a.counts.set(category, n);
          else a.counts.set(OVERFLOW_CATEGORY, (a.counts.get(OVERFLOW_CATEGORY) ?? 0) + n);
        }
      }
    });
  }

  report(psiThreshold: number): DriftReport {
    const features = new Map<string, FeatureDrift>();
    let baselineRows = 0;
    this.accumulators.forEach((accumulator, f) => {
      const name = this.names[f]!;
      const view = this.baseline.get(name)!;
      baselineRows = view.rows;
      if (accumulator.type === 'numeric' && view.type === 'numeric') {
        features.set(
          name,
          compareNumeric(
            view,
            { rows: this.rows, missing: accumulator.missing, binCounts: accumulator.binCounts, sample: accumulator.reservoir.sorted() },
            psiThreshold,
          ),
        );
      } else if (accumulator.type === 'categorical' && view.type === 'categorical') {
        features.set(name, compareCategorical(view, { rows: this.rows, missing: accumulator.missing, counts: accumulator.counts }, psiThreshold));
      }
    });
    return buildReport(baselineRows, this.rows, features);
  }

  private addValue(accumulator: Accumulator, value: unknown): void {
    if (value === undefined || value === null || value === '') {
      accumulator.missing++;
      return;
    }
    if (accumulator.type === 'numeric') {
      this.addNumber(accumulator, typeof value === 'number' ? value : typeof value === 'string' ? parseDecimalText(value) : Number.NaN);
    } else {
      this.addCategory(accumulator, typeof value === 'string' ? value : JSON.stringify(value));
    }
  }

  /** Values that are not finite numbers count as missing, as in the CLI. */
  private addNumber(accumulator: Accumulator & { type: 'numeric' }, value: number): void {
    if (!Number.isFinite(value)) {
      accumulator.missing++;
      return;
    }
    accumulator.binCounts[binOf(accumulator.edges, value)]!++;
    accumulator.reservoir.offer(value);
  }

  private addCategory(accumulator: Accumulator & { type: 'categorical' }, value: string): void {
    const counts = accumulator.counts;
    const known = counts.get(value);
    if (known !== undefined) counts.set(value, known + 1);
    else if (counts.size < this.maxCategories) counts.set(value, 1);
    else counts.set(OVERFLOW_CATEGORY, (counts.get(OVERFLOW_CATEGORY) ?? 0) + 1);
  }
}
