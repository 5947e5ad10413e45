import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  binCountsSorted,
  binOf,
  chiSquareHomogeneity,
  chiSquareSurvival,
  decileEdges,
  jsDistance,
  kolmogorovSurvival,
  ksPValue,
  ksStatisticSorted,
  logGamma,
  psi,
  quantileSorted,
} from '../../../lambdas/drift/stats';

const f64 = (...values: number[]) => Float64Array.from(values);

interface Distributions {
  chiSquareSurvival: { x: number; dof: number; sf: number }[];
  kolmogorovSurvival: { lambda: number; sf: number }[];
  quantiles: { values: number[]; deciles: number[] }[];
}
const distributions = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../fixtures/drift/distributions.json'), 'utf8'),
) as Distributions;

/** |actual − expected| ≤ rel·|expected| + abs */
function expectClose(actual: number, expected: number, rel = 1e-12, abs = 1e-300) {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + abs);
}

describe('quantiles and bins (hand-computed)', () => {
  it('interpolates linearly between order statistics like numpy', () => {
    expect(quantileSorted(f64(1, 2, 3, 4), 0.1)).toBeCloseTo(1.3, 15);
    expect(quantileSorted(f64(1, 2, 3, 4), 0.5)).toBe(2.5);
    expect(quantileSorted(f64(7), 0.9)).toBe(7);
  });

  it('removes duplicate decile edges of tied data', () => {
    const edges = decileEdges(f64(1, 1, 1, 1, 2));
    expect(edges).toHaveLength(3);
    expect(edges[0]).toBe(1);
    expect(edges[1]).toBeCloseTo(1.2, 12);
    expect(edges[2]).toBeCloseTo(1.6, 12);
  });

  it('puts a value equal to an edge in the bin that edge closes: (-inf, e1], (e1, e2], …', () => {
    const edges = f64(1, 1.2, 1.6);
    expect(binCountsSorted(f64(0, 1, 1, 1.1, 1.2, 1.5, 2, 3), edges)).toEqual(f64(3, 2, 1, 2));
    expect([0, 1, 1.05, 1.2, 1.6, 1.7].map((x) => binOf(edges, x))).toEqual([0, 0, 1, 1, 2, 3]);
  });

  it('matches numpy.quantile at the deciles on generated samples', () => {
    for (const { values, deciles } of distributions.quantiles) {
      const sorted = Float64Array.from(values);
      deciles.forEach((expected, i) => expect(quantileSorted(sorted, (i + 1) / 10)).toBe(expected));
    }
  });
});

describe('PSI and Jensen–Shannon distance (hand-computed)', () => {
  it('sums (a − e)·ln(a/e) over bins', () => {
    expectClose(psi([0.5, 0.5], [0.25, 0.75]), 0.25 * (Math.log(2) + Math.log(1.5)));
    expect(psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
  });

  it('floors empty bins at 1e-4 on both sides without renormalising', () => {
    expectClose(psi([1, 0], [0, 1]), 2 * (1 - 1e-4) * Math.log(1e4));
  });

  it('is 1 for disjoint distributions and 0 for equal ones (base 2)', () => {
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, 15);
    expect(jsDistance([0.25, 0.75], [0.25, 0.75])).toBe(0);
    // p = (1, 0), q = (1/2, 1/2): JSD = ½[ln(4/3) + ½ln(2/3) + ½ln 2] / ln 2
    const divergence = 0.5 * (Math.log(4 / 3) + 0.5 * Math.log(2 / 3) + 0.5 * Math.log(2));
    expectClose(jsDistance([1, 0], [0.5, 0.5]), Math.sqrt(divergence / Math.LN2));
  });
});

describe('two-sample KS (hand-computed)', () => {
  it('finds the largest CDF gap, counting ties on both sides at once', () => {
    expect(ksStatisticSorted(f64(1, 2, 3), f64(4, 5))).toBe(1);
    expect(ksStatisticSorted(f64(1, 1, 2), f64(1, 2, 2))).toBeCloseTo(1 / 3, 15);
    expect(ksStatisticSorted(f64(1, 2, 3), f64(1, 2, 3))).toBe(0);
  });

  it('applies the Stephens correction to λ before the Kolmogorov series', () => {
    const ne = (3 * 2) / 5;
    const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * 1;
    const series = 2 * (Math.exp(-2 * lambda ** 2) - Math.exp(-8 * lambda ** 2) + Math.exp(-18 * lambda ** 2));
    expectClose(ksPValue(1, 3, 2), series, 1e-12);
    expect(ksPValue(0, 100, 100)).toBe(1);
  });

  it("matches scipy's kstwobign.sf across both summation forms", () => {
    for (const { lambda, sf } of distributions.kolmogorovSurvival) expectClose(kolmogorovSurvival(lambda), sf, 1e-10, 1e-300);
  });
});

describe('chi-square (hand-computed)', () => {
  it('tests homogeneity of a 2×k table without continuity correction', () => {
    const result = chiSquareHomogeneity([10, 20], [20, 10]);
    expectClose(result.statistic, (4 * 25) / 15);
    expect(result.degreesOfFreedom).toBe(1);
    expect(result.pValue).toBeCloseTo(0.0098232, 6);
  });

  it('has dof = k − 1 and p = 1 for identical proportions', () => {
    const result = chiSquareHomogeneity([5, 10, 15], [10, 20, 30]);
    expect(result.statistic).toBeCloseTo(0, 12);
    expect(result.degreesOfFreedom).toBe(2);
    expect(result.pValue).toBeCloseTo(1, 12);
  });

  it('reports a single shared category as no evidence (dof 0, p = 1)', () => {
    expect(chiSquareHomogeneity([4], [9])).toEqual({ statistic: 0, pValue: 1, degreesOfFreedom: 0 });
  });

  it('refuses a category that is empty on both sides', () => {
    expect(() => chiSquareHomogeneity([1, 0], [1, 0])).toThrow(/empty on both sides/);
  });

  it('has the closed form e^(−x/2) with 2 degrees of freedom', () => {
    for (const x of [0.1, 1, 7.5, 40, 600]) expectClose(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-13);
  });

  it("matches scipy's chi2.sf from 1e-6 to far tails, 1 to 999 degrees of freedom", () => {
    for (const { x, dof, sf } of distributions.chiSquareSurvival) expectClose(chiSquareSurvival(x, dof), sf, 1e-10, 1e-300);
  });

  it('computes ln Γ to double precision', () => {
    expectClose(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14);
    expectClose(logGamma(10), Math.log(362880), 1e-14);
    expectClose(logGamma(171), 706.5730622457874, 1e-14);
  });
});
