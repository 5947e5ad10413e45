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
}

export class CurrentWindow {
  /** Records offered. */
  rows = 0;
  private readonly accumulators: Accumulator[];
  private readonly names: string[];
  private readonly maxCategories: number;

  constructor(
    private readonly baseline: ReadonlyMap<string, FeatureBaselineView>,
    options: WindowOptions = {},
  ) {
    const random = new Random(options.seed ?? Date.now());
    const capacity = options.sampleCapacity ?? DEFAULT_CURRENT_SAMPLE;
    this.maxCategories = options.maxCategories ?? DEFAULT_MAX_CATEGORIES;
    this.names = [...baseline.keys()];
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

  /** One record from a headerless CSV row: field i is feature i. Extra trailing fields are ignored. */
  addCsvRow(scanner: CsvScanner): void {
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
