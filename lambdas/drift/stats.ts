/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * The drift statistics, defined exactly as issue 6 states them so any result can be checked
 * against numpy/scipy. Pure functions over typed arrays: no allocation per value.
 *
 * - deciles: `numpy.quantile(x, [0.1 … 0.9])` (default "linear" method), duplicates removed;
 *   bins are (-inf, e1], (e1, e2], …, (ek, +inf).
 * - PSI: Σ (a − e) · ln(a / e) over proportions each floored at 1e-4, no renormalisation.
 * - Jensen–Shannon distance, base 2, over the raw proportions (scipy's `jensenshannon`).
 * - Two-sample KS: D = sup |F1 − F2| (scipy's `ks_2samp` statistic); p-value from the asymptotic
 *   Kolmogorov distribution with Stephens' correction of λ.
 * - Pearson chi-square homogeneity test on a 2×k table, no continuity correction.
 */

export const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
export const PSI_FLOOR = 1e-4;

/** `numpy.quantile(sorted, q)` with the default linear method, on already sorted values. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  const virtual = (n - 1) * q;
  if (virtual >= n - 1) return sorted[n - 1]!;
  if (virtual < 0) return sorted[0]!;
  const previous = Math.floor(virtual);
  const gamma = virtual - previous;
  const a = sorted[previous]!;
  const b = sorted[previous + 1]!;
  const diff = b - a;
  // numpy's _lerp: interpolate from the nearer end so that the result is monotonic in gamma.
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** Deciles of sorted values with duplicates removed: the inner bin edges e1 < … < ek. */
export function decileEdges(sorted: Float64Array): Float64Array {
  const edges: number[] = [];
  for (const q of DECILES) {
    const edge = quantileSorted(sorted, q);
    if (edges.length === 0 || edge !== edges[edges.length - 1]) edges.push(edge);
  }
  return Float64Array.from(edges);
}

/** Number of values ≤ x in sorted values (index of the first value > x). */
export function upperBound(sorted: Float64Array, x: number, from = 0): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin of one value: 0 for (-inf, e1], i for (e_i, e_{i+1}], k for (ek, +inf). */
export function binOf(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of sorted values in the k+1 bins the edges define, by binary search (O(k log n)). */
export function binCountsSorted(sorted: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let previous = 0;
  for (let i = 0; i < edges.length; i++) {
    const upTo = upperBound(sorted, edges[i]!, previous);
    counts[i] = upTo - previous;
    previous = upTo;
  }
  counts[edges.length] = sorted.length - previous;
  return counts;
}

/** Proportions of counts (all zero when there are none). */
export function proportions(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const out = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) out[i] = counts[i]! / total;
  return out;
}

/** Population stability index of current proportions `actual` against `expected`, each floored at 1e-4. */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  assertSameLength(expected, actual);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, PSI_FLOOR);
    const a = Math.max(actual[i]!, PSI_FLOOR);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Jensen–Shannon distance in base 2 (scipy.spatial.distance.jensenshannon(p, q, base=2)):
 * sqrt of the JS divergence. Both vectors are normalized by their sums as scipy does, so
 * proportions go in unchanged. NaN when either side is all zeros.
 */
export function jsDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  assertSameLength(p, q);
  let sumP = 0;
  let sumQ = 0;
  for (let i = 0; i < p.length; i++) {
    sumP += p[i]!;
    sumQ += q[i]!;
  }
  if (!(sumP > 0) || !(sumQ > 0)) return Number.NaN;
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sumP;
    const qi = q[i]! / sumQ;
    const m = (pi + qi) / 2;
    if (pi > 0) divergence += pi * Math.log(pi / m);
    if (qi > 0) divergence += qi * Math.log(qi / m);
  }
  // Rounding can push a divergence of identical distributions a hair below zero.
  return Math.sqrt(Math.max(divergence / 2 / Math.LN2, 0));
}

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
}

/** sup |F1 − F2| over two sorted samples, ties handled as scipy's ks_2samp (searchsorted 'right'). */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = a[i]! <= b[j]! ? a[i]! : b[j]!;
    while (i < n && a[i]! <= x) i++;
    while (j < m && b[j]! <= x) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  // Once one side is exhausted its CDF is 1; the other only grows towards 1, so the gap shrinks.
  return d;
}

/**
 * Kolmogorov's limiting survival function Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}, clamped to
 * [0, 1]. For small λ the alternating series converges slowly, so there the equivalent Jacobi
 * theta form 1 − (√(2π)/λ) Σ_{j≥1} e^{−(2j−1)²π²/(8λ²)} is summed instead.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1) {
    const k = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let j = 1; j <= 50; j++) {
      const odd = 2 * j - 1;
      const term = Math.exp(-odd * odd * k);
      sum += term;
      if (term < 1e-300 || term < sum * 1e-17) break;
    }
    return clamp01(1 - (Math.sqrt(2 * Math.PI) / lambda) * sum);
  }
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < 1e-300 || term < Math.abs(sum) * 1e-17) break;
  }
  return clamp01(2 * sum);
}

/** Asymptotic p-value of D for samples of sizes n and m, with Stephens' correction of λ. */
export function ksPValue(statistic: number, n: number, m: number): number {
  if (Number.isNaN(statistic) || n === 0 || m === 0) return Number.NaN;
  const ne = (n * m) / (n + m);
  const root = Math.sqrt(ne);
  return kolmogorovSurvival((root + 0.12 + 0.11 / root) * statistic);
}

export function ksTest(a: Float64Array, b: Float64Array): KsResult {
  const statistic = ksStatisticSorted(a, b);
  return { statistic, pValue: ksPValue(statistic, a.length, b.length) };
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly degreesOfFreedom: number;
}

/**
 * Pearson's chi-square test of homogeneity on the 2×k table whose rows are `a` and `b` (counts
 * per category, same category order), without continuity correction, as
 * `scipy.stats.chi2_contingency([a, b], correction=False)`. Categories empty on both sides
 * must be left out by the caller (they have no expected count).
 */
export function chiSquareHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>): ChiSquareResult {
  assertSameLength(a, b);
  const k = a.length;
  let rowA = 0;
  let rowB = 0;
  for (let j = 0; j < k; j++) {
    rowA += a[j]!;
    rowB += b[j]!;
  }
  const total = rowA + rowB;
  if (rowA === 0 || rowB === 0) return { statistic: Number.NaN, pValue: Number.NaN, degreesOfFreedom: k - 1 };
  let statistic = 0;
  for (let j = 0; j < k; j++) {
    const column = a[j]! + b[j]!;
    if (column === 0) throw new RangeError(`category ${j} is empty on both sides`);
    const expectedA = (rowA * column) / total;
    const expectedB = (rowB * column) / total;
    statistic += (a[j]! - expectedA) ** 2 / expectedA + (b[j]! - expectedB) ** 2 / expectedB;
  }
  const degreesOfFreedom = k - 1;
  if (degreesOfFreedom === 0) return { statistic: 0, pValue: 1, degreesOfFreedom };
  return { statistic, pValue: chiSquareSurvival(statistic, degreesOfFreedom), degreesOfFreedom };
}

/** P(X > x) for X ~ χ²(dof): the regularized upper incomplete gamma Q(dof/2, x/2). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (!(dof > 0)) throw new RangeError(`degrees of freedom must be positive, got ${dof}`);
  if (x <= 0) return 1;
  return regularizedGammaQ(dof / 2, x / 2);
}

/**
 * Q(a, x) = Γ(a, x) / Γ(a). Series for P below x < a + 1 (where Q is not tiny, so 1 − P keeps
 * its precision), Lentz's continued fraction for Q above it (accurate even for tiny Q).
 * Numerical Recipes §6.2, to double precision.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`a must be positive, got ${a}`);
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return clamp01(1 - sum * Math.exp(logPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return clamp01(Math.exp(logPrefix) * h);
}

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let series = LANCZOS[0];
  for (let i = 1; i < LANCZOS_G + 2; i++) series += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(series);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
}
