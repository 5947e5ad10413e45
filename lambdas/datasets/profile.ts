/**
 * Column profiles of a dataset version, built while its CSV streams past, in bounded memory:
 * counts, empty values, type and range violations (with the first place each occurs), min/max/
 * mean, a reservoir sample of numeric values (deciles and population stability index) and
 * category frequencies (capped). Then the checks: schema, row bounds, null rates, ranges and
 * the distribution shift against the previous passed version.
 */
import type { ColumnRule, ColumnType, DatasetRules } from './catalog';

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN = /^(true|false)$/i;

/** Numeric values kept per column for quantiles; exact below this many rows. */
export const RESERVOIR_SIZE = 4096;
/** Distinct categories counted per column; beyond that, new values count as "other". */
export const MAX_TRACKED_CATEGORIES = 1000;
/** Categories kept on the record (most frequent first). */
export const STORED_CATEGORIES = 20;
export const OTHER_CATEGORY = '__other__';
const PSI_FLOOR = 1e-4;

export interface Location {
  readonly key: string;
  readonly line: number;
  readonly value?: string;
}

/** What a version record keeps per column (small: it lives in a DynamoDB item). */
export interface ColumnProfile {
  readonly type: ColumnType;
  readonly count: number;
  readonly nulls: number;
  readonly nullRate: number;
  readonly min?: number;
  readonly max?: number;
  readonly mean?: number;
  /** Decile bins of numeric columns: `edges` (ascending cut points), `proportions` (one more than edges). */
  readonly bins?: { readonly edges: readonly number[]; readonly proportions: readonly number[] };
  /** Share of rows per category (top ones, plus `__other__`), for string and boolean columns. */
  readonly categories?: Readonly<Record<string, number>>;
}

interface Violation {
  count: number;
  first?: Location;
}

/** Small deterministic PRNG, so the same bytes always give the same sample. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class ColumnAccumulator {
  count = 0;
  nulls = 0;
  firstNull?: Location;
  readonly typeViolations: Violation = { count: 0 };
  readonly rangeViolations: Violation = { count: 0 };
  /** Values of a string column outside its declared `categories`. */
  readonly categoryViolations: Violation = { count: 0 };
  min = Infinity;
  max = -Infinity;
  private sum = 0;
  private numeric = 0;
  private readonly reservoir: number[] = [];
  private readonly random = mulberry32(0x5eed);
  readonly categories = new Map<string, number>();
  private overflow = 0;
  /** Inference: which types every non-empty value so far fits. */
  private fits = { integer: true, number: true, boolean: true };

  // Copied out of the rule: `add` runs once per cell and should touch nothing else.
  private readonly declaredType: ColumnType | undefined;
  private readonly lowest: number;
  private readonly highest: number;
  private readonly declaredCategories: ReadonlySet<string> | undefined;

  constructor(
    readonly name: string,
    readonly rule: ColumnRule | undefined,
  ) {
    this.declaredType = rule?.type;
    this.lowest = rule?.min ?? -Infinity;
    this.highest = rule?.max ?? Infinity;
    this.declaredCategories = rule?.type === 'string' && rule.categories ? new Set(rule.categories) : undefined;
  }

  /** One value as the CSV dialect reads it (`csv.ts`: blanks at either end already trimmed); '' is missing. */
  add(raw: string, where: () => Location): void {
    const value = raw;
    if (value === '') {
      this.nulls++;
      this.firstNull ??= where();
      return;
    }
    this.count++;
    const type = this.declaredType;
    if (type === undefined) {
      this.infer(value);
      return;
    }
    if (type === 'integer' || type === 'number') {
      if (!(type === 'integer' ? INTEGER : NUMBER).test(value)) {
        this.violate(this.typeViolations, where, raw);
        return;
      }
      const n = Number(value);
      if (n < this.lowest || n > this.highest) this.violate(this.rangeViolations, where, raw);
      this.addNumber(n);
    } else if (type === 'boolean') {
      if (!BOOLEAN.test(value)) {
        this.violate(this.typeViolations, where, raw);
        return;
      }
      this.addCategory(value.toLowerCase());
    } else {
      if (this.declaredCategories && !this.declaredCategories.has(value)) this.violate(this.categoryViolations, where, raw);
      this.addCategory(value);
    }
  }

  private infer(value: string): void {
    if (this.fits.integer && !INTEGER.test(value)) this.fits.integer = false;
    if (this.fits.number && !NUMBER.test(value)) this.fits.number = false;
    if (this.fits.boolean && !BOOLEAN.test(value)) this.fits.boolean = false;
    // Keep both views until the type is known; numbers are cheap, categories are capped.
    if (this.fits.number) this.addNumber(Number(value));
    this.addCategory(this.fits.boolean ? value.toLowerCase() : value);
  }

  /** The declared type, or the narrowest type every value fits (integer ⊂ number; boolean; else string). */
  get type(): ColumnType {
    if (this.rule) return this.rule.type;
    if (this.count === 0) return 'string';
    if (this.fits.integer) return 'integer';
    if (this.fits.number) return 'number';
    if (this.fits.boolean) return 'boolean';
    return 'string';
  }

  private violate(violation: Violation, where: () => Location, raw: string): void {
    violation.count++;
    violation.first ??= { ...where(), value: raw.length > 40 ? `${raw.slice(0, 37)}...` : raw };
  }

  private addNumber(n: number): void {
    if (n < this.min) this.min = n;
    if (n > this.max) this.max = n;
    this.sum += n;
    this.numeric++;
    // Algorithm R: every value has the same chance to be in the sample.
    if (this.reservoir.length < RESERVOIR_SIZE) this.reservoir.push(n);
    else {
      const j = Math.floor(this.random() * this.numeric);
      if (j < RESERVOIR_SIZE) this.reservoir[j] = n;
    }
  }

  private addCategory(value: string): void {
    const seen = this.categories.get(value);
    if (seen !== undefined) this.categories.set(value, seen + 1);
    else if (this.categories.size < MAX_TRACKED_CATEGORIES) this.categories.set(value, 1);
    else this.overflow++;
  }

  /** The sorted numeric sample (a copy). */
  sample(): number[] {
    return [...this.reservoir].sort((a, b) => a - b);
  }

  /** Share of non-empty values per category key of `reference`, the rest as `__other__`. */
  categoryShares(referenceKeys: readonly string[]): Record<string, number> {
    const total = this.count || 1;
    const shares: Record<string, number> = {};
    let listed = 0;
    for (const key of referenceKeys) {
      if (key === OTHER_CATEGORY) continue;
      const n = this.categories.get(key) ?? 0;
      shares[key] = n / total;
      listed += n;
    }
    shares[OTHER_CATEGORY] = (total - listed) / total;
    return shares;
  }

  profile(rows: number): ColumnProfile {
    const type = this.type;
    const base = { type, count: this.count, nulls: this.nulls, nullRate: rows === 0 ? 0 : this.nulls / rows };
    if ((type === 'integer' || type === 'number') && this.numeric > 0) {
      const sample = this.sample();
      const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => quantile(sample, d / 10)))];
      return {
        ...base,
        min: this.min,
        max: this.max,
        mean: this.sum / this.numeric,
        bins: { edges, proportions: binShares(sample, edges) },
      };
    }
    if (type === 'string' || type === 'boolean') {
      const top = [...this.categories.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, STORED_CATEGORIES);
      return { ...base, categories: this.categoryShares(top.map(([k]) => k)) };
    }
    return base;
  }
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const a = sorted[lower] ?? 0;
  const b = sorted[upper] ?? a;
  return a + (b - a) * (position - lower);
}

/** Shares of `sorted` values in the bins (-∞, e0], (e0, e1], …, (e_last, ∞). */
export function binShares(sorted: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let bin = 0;
  for (const value of sorted) {
    while (bin < edges.length && value > (edges[bin] ?? Infinity)) bin++;
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const total = sorted.length || 1;
  return counts.map((c) => c / total);
}

/** Population stability index of `actual` against `expected` shares (same bins, same order). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  let sum = 0;
  expected.forEach((e, i) => {
    const ee = Math.max(e, PSI_FLOOR);
    const aa = Math.max(actual[i] ?? 0, PSI_FLOOR);
    sum += (aa - ee) * Math.log(aa / ee);
  });
  return sum;
}

/** The profile of one dataset version, before checks: its header, row count and accumulators. */
export class DatasetProfiler {
  header?: readonly string[];
  headerSource?: Location;
  rows = 0;
  readonly columns: ColumnAccumulator[] = [];
  readonly headerProblems: string[] = [];

  constructor(private readonly declared: readonly ColumnRule[] | undefined) {}

  /** The first record of each file is its header; every file must have the same one. */
  addHeader(key: string, fields: readonly string[], line: number): void {
    const names = [...fields];
    if (this.header === undefined) {
      this.header = names;
      this.headerSource = { key, line };
      const rules = new Map((this.declared ?? []).map((c) => [c.name, c]));
      for (const name of names) this.columns.push(new ColumnAccumulator(name, rules.get(name)));
      const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
      if (duplicates.length > 0) this.headerProblems.push(`${key} line ${line}: duplicate column names ${quoteList(duplicates)}`);
      return;
    }
    if (names.join('\u0000') !== this.header.join('\u0000')) {
      this.headerProblems.push(
        `${key} line ${line}: header ${quoteList(names)} differs from ${this.headerSource?.key ?? ''}'s ${quoteList(this.header)}`,
      );
    }
  }

  addRow(fields: readonly string[], where: () => Location): void {
    this.rows++;
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) columns[i]?.add(fields[i] ?? '', where);
  }
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function at(location: Location | undefined): string {
  if (!location) return '';
  return ` (first at ${location.key} line ${location.line}${location.value !== undefined ? `: "${location.value}"` : ''})`;
}

export interface ShiftReport {
  /** The dataset version compared against. */
  readonly comparedWith: string;
  /** Population stability index per column present in both versions. */
  readonly psi: Readonly<Record<string, number>>;
}

/**
 * Checks a finished profile against the dataset's rules and, when there is one, the previous
 * passed version. Every reason names the column and, where a value is at fault, the first
 * file and line it occurs on.
 */
export function checkProfile(
  profiler: DatasetProfiler,
  rules: Pick<DatasetRules, 'minRows' | 'maxRows' | 'maxPsi'>,
  declared: readonly ColumnRule[] | undefined,
  previous: { readonly datasetVersion: string; readonly profile: Readonly<Record<string, ColumnProfile>> } | undefined,
): { reasons: string[]; shift?: ShiftReport } {
  const reasons = [...profiler.headerProblems];
  const header = profiler.header ?? [];
  if (declared) {
    const missing = declared.filter((c) => !header.includes(c.name)).map((c) => c.name);
    const unexpected = header.filter((name) => !declared.some((c) => c.name === name));
    if (missing.length > 0) reasons.push(`missing column${missing.length > 1 ? 's' : ''} ${quoteList(missing)}`);
    if (unexpected.length > 0) reasons.push(`unexpected column${unexpected.length > 1 ? 's' : ''} ${quoteList(unexpected)}`);
  }
  const { rows } = profiler;
  if (rules.minRows !== undefined && rows < rules.minRows) reasons.push(`${rows} rows, fewer than minRows ${rules.minRows}`);
  if (rules.maxRows !== undefined && rows > rules.maxRows) reasons.push(`${rows} rows, more than maxRows ${rules.maxRows}`);

  for (const column of profiler.columns) {
    const rule = column.rule;
    if (!rule) continue;
    const name = `column "${column.name}"`;
    if (column.typeViolations.count > 0) {
      reasons.push(`${name}: ${column.typeViolations.count} values are not ${rule.type}${at(column.typeViolations.first)}`);
    }
    if (column.rangeViolations.count > 0) {
      const bounds = [rule.min !== undefined ? `≥ ${rule.min}` : '', rule.max !== undefined ? `≤ ${rule.max}` : ''].filter(Boolean).join(' and ');
      reasons.push(`${name}: ${column.rangeViolations.count} values are not ${bounds}${at(column.rangeViolations.first)}`);
    }
    if (column.categoryViolations.count > 0) {
      reasons.push(`${name}: ${column.categoryViolations.count} values are not one of the declared categories (${rule.categories?.join(', ')})${at(column.categoryViolations.first)}`);
    }
    const allowed = rule.maxNullRate ?? (rule.nullable ? 1 : 0);
    const rate = rows === 0 ? 0 : column.nulls / rows;
    if (column.nulls > 0 && rate > allowed) {
      reasons.push(
        allowed === 0
          ? `${name}: ${column.nulls} empty values in a column that is not nullable${at(column.firstNull)}`
          : `${name}: null rate ${rate.toFixed(4)} exceeds maxNullRate ${allowed}${at(column.firstNull)}`,
      );
    }
  }

  if (!previous) return { reasons };
  const shift: Record<string, number> = {};
  for (const column of profiler.columns) {
    const before = previous.profile[column.name];
    if (!before) continue;
    if (before.bins && (column.type === 'integer' || column.type === 'number')) {
      shift[column.name] = round(psi(before.bins.proportions, binShares(column.sample(), before.bins.edges)));
    } else if (before.categories && (column.type === 'string' || column.type === 'boolean')) {
      const keys = Object.keys(before.categories);
      const now = column.categoryShares(keys);
      shift[column.name] = round(psi(keys.map((k) => before.categories?.[k] ?? 0), keys.map((k) => now[k] ?? 0)));
    }
  }
  if (rules.maxPsi !== undefined) {
    for (const [column, value] of Object.entries(shift)) {
      if (value > rules.maxPsi) {
        reasons.push(`column "${column}": distribution shifted from ${previous.datasetVersion} (PSI ${value} > maxPsi ${rules.maxPsi})`);
      }
    }
  }
  return { reasons, shift: { comparedWith: previous.datasetVersion, psi: shift } };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
