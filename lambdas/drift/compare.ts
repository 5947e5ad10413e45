/**
 * Per-feature drift of a current distribution against a baseline, and the report the CLI
 * prints and the analyzer publishes. Both sides arrive already summarized (bin counts over the
 * baseline's edges, a sorted sample, category counts), so the same code serves the exact CLI
 * path (the "sample" is every value) and the streaming analyzer (bounded samples).
 */
import {
  chiSquareHomogeneity,
  jsDistance,
  ksTest,
  proportions as toProportions,
  psi as populationStabilityIndex,
} from './stats';

export const DEFAULT_PSI_THRESHOLD = 0.2;

export interface NumericBaselineView {
  readonly type: 'numeric';
  readonly rows: number;
  readonly missing: number;
  /** Inner bin edges e1 < … < ek. */
  readonly edges: Float64Array;
  /** Baseline proportion in each of the k+1 bins. */
  readonly proportions: Float64Array;
  /** Sorted values the KS test compares with (all of them, or a uniform sample). */
  readonly sample: Float64Array;
}

export interface CategoricalBaselineView {
  readonly type: 'categorical';
  readonly rows: number;
  readonly missing: number;
  readonly counts: ReadonlyMap<string, number>;
}

export type FeatureBaselineView = NumericBaselineView | CategoricalBaselineView;

export interface NumericCurrent {
  readonly rows: number;
  readonly missing: number;
  /** Counts in the baseline's k+1 bins. */
  readonly binCounts: Float64Array;
  /** Sorted values (all of them, or a uniform sample). */
  readonly sample: Float64Array;
}

export interface CategoricalCurrent {
  readonly rows: number;
  readonly missing: number;
  readonly counts: ReadonlyMap<string, number>;
}

export interface MissingRate {
  readonly baseline: number;
  readonly current: number;
}

export interface NumericDrift {
  readonly type: 'numeric';
  readonly psi: number;
  readonly jsDistance: number | null;
  readonly ks: { readonly statistic: number | null; readonly pValue: number | null };
  readonly missingRate: MissingRate;
  readonly drifted: boolean;
  /** What the statistics were computed from: the bins and the KS sample sizes. */
  readonly distribution: NumericDistribution;
}

export interface NumericDistribution {
  /** Inner bin edges e1 < … < ek (bins (-inf, e1], …, (ek, +inf)). */
  readonly edges: readonly number[];
  /** Baseline proportion per bin. */
  readonly baseline: readonly number[];
  /** Current count per bin (exact). */
  readonly current: readonly number[];
  /** Non-missing values on each side, and the sizes of the samples the KS test compared. */
  readonly values: { readonly baseline: number; readonly current: number };
  readonly ksSample: { readonly baseline: number; readonly current: number };
}

export interface CategoricalDistribution {
  /** Every category seen on either side: its baseline and current counts (exact). */
  readonly categories: readonly { readonly name: string; readonly baseline: number; readonly current: number }[];
}

export interface CategoricalDrift {
  readonly type: 'categorical';
  readonly psi: number;
  readonly jsDistance: number | null;
  readonly chiSquare: { readonly statistic: number | null; readonly pValue: number | null; readonly degreesOfFreedom: number };
  readonly missingRate: MissingRate;
  readonly drifted: boolean;
  readonly distribution: CategoricalDistribution;
}

export type FeatureDrift = NumericDrift | CategoricalDrift;

export interface DriftReport {
  readonly baselineRows: number;
  readonly currentRows: number;
  readonly features: Readonly<Record<string, FeatureDrift>>;
  /** Names of the features whose PSI exceeds the threshold. */
  readonly drifted: readonly string[];
}

export function compareNumeric(baseline: NumericBaselineView, current: NumericCurrent, psiThreshold: number): NumericDrift {
  const actual = toProportions(current.binCounts);
  const psi = populationStabilityIndex(baseline.proportions, actual);
  const ks = ksTest(baseline.sample, current.sample);
  return {
    type: 'numeric',
    psi,
    jsDistance: finiteOrNull(jsDistance(baseline.proportions, actual)),
    ks: { statistic: finiteOrNull(ks.statistic), pValue: finiteOrNull(ks.pValue) },
    missingRate: missingRate(baseline, current),
    drifted: psi > psiThreshold,
    distribution: {
      edges: [...baseline.edges],
      baseline: [...baseline.proportions],
      current: [...current.binCounts],
      values: { baseline: baseline.rows - baseline.missing, current: current.rows - current.missing },
      ksSample: { baseline: baseline.sample.length, current: current.sample.length },
    },
  };
}

export function compareCategorical(
  baseline: CategoricalBaselineView,
  current: CategoricalCurrent,
  psiThreshold: number,
): CategoricalDrift {
  // The union of categories: the baseline's, then those only the current side has.
  const categories = [...baseline.counts.keys()];
  for (const category of current.counts.keys()) if (!baseline.counts.has(category)) categories.push(category);
  const present = categories.filter((c) => (baseline.counts.get(c) ?? 0) + (current.counts.get(c) ?? 0) > 0);
  const expectedCounts = Float64Array.from(present, (c) => baseline.counts.get(c) ?? 0);
  const actualCounts = Float64Array.from(present, (c) => current.counts.get(c) ?? 0);
  const expected = toProportions(expectedCounts);
  const actual = toProportions(actualCounts);
  const psi = populationStabilityIndex(expected, actual);
  const chi = chiSquareHomogeneity(expectedCounts, actualCounts);
  return {
    type: 'categorical',
    psi,
    jsDistance: finiteOrNull(jsDistance(expected, actual)),
    chiSquare: {
      statistic: finiteOrNull(chi.statistic),
      pValue: finiteOrNull(chi.pValue),
      degreesOfFreedom: chi.degreesOfFreedom,
    },
    missingRate: missingRate(baseline, current),
    drifted: psi > psiThreshold,
    distribution: { categories: present.map((name, i) => ({ name, baseline: expectedCounts[i] ?? 0, current: actualCounts[i] ?? 0 })) },
  };
}

export function buildReport(
  baselineRows: number,
  currentRows: number,
  features: ReadonlyMap<string, FeatureDrift>,
): DriftReport {
  const out: Record<string, FeatureDrift> = {};
  const drifted: string[] = [];
  for (const [name, drift] of features) {
    Object.defineProperty(out, name, { value: drift, enumerable: true, writable: false, configurable: false });
    if (drift.drifted) drifted.push(name);
  }
  return { baselineRows, currentRows, features: out, drifted };
}

function missingRate(baseline: { rows: number; missing: number }, current: { rows: number; missing: number }): MissingRate {
  return {
    baseline: baseline.rows === 0 ? 0 : baseline.missing / baseline.rows,
    current: current.rows === 0 ? 0 : current.missing / current.rows,
  };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
