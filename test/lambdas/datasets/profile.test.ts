import { describe, expect, it } from 'vitest';
import { binShares, checkProfile, DatasetProfiler, psi } from '../../../lambdas/datasets/profile';
import type { ColumnRule } from '../../../lambdas/datasets/catalog';

function profileOf(rows: string[][], columns: readonly ColumnRule[] = [{ name: 'x', type: 'number', nullable: false }]) {
  const profiler = new DatasetProfiler(columns);
  profiler.addHeader('f.csv', columns.map((c) => c.name), 1);
  rows.forEach((r, i) => profiler.addRow(r, () => ({ key: 'f.csv', line: i + 2 })));
  return profiler;
}

describe('distribution statistics', () => {
  it('gives PSI 0 for identical shares and grows with the shift', () => {
    expect(psi([0.5, 0.5], [0.5, 0.5])).toBe(0);
    expect(psi([0.5, 0.5], [0.6, 0.4])).toBeLessThan(psi([0.5, 0.5], [0.9, 0.1]));
  });

  it('bins values into (-∞, e0], (e0, e1], …, (e_last, ∞)', () => {
    expect(binShares([1, 2, 2, 3, 9], [2, 5])).toEqual([0.6, 0.2, 0.2]);
  });

  it('profiles deciles of a numeric column and finds no shift against the same data', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => [String(i % 100)]);
    const first = profileOf(rows);
    const profile = first.columns[0]!.profile(first.rows);
    expect(profile).toMatchObject({ type: 'number', min: 0, max: 99, nulls: 0, count: 1000 });
    expect(profile.bins?.edges).toHaveLength(9);
    const again = checkProfile(profileOf(rows), { maxPsi: 0.1 }, undefined, { datasetVersion: 'v000001', profile: { x: profile } });
    expect(again.reasons).toEqual([]);
    expect(again.shift?.psi.x).toBeLessThan(0.001);
  });

  it('keeps memory bounded: the sample stops growing at the reservoir size', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [String(i)]);
    const profiler = profileOf(rows);
    expect(profiler.columns[0]!.sample()).toHaveLength(4096);
    expect(profiler.columns[0]!.profile(profiler.rows).mean).toBeCloseTo(9999.5);
  });
});

describe('declared categories', () => {
  it('refuses a string column\'s values outside its declared categories, counting them and naming the first', () => {
    const columns: ColumnRule[] = [{ name: 'contract', type: 'string', nullable: false, categories: ['month-to-month', 'one-year'] }];
    const rows = [['one-year'], ['monthly'], ['month-to-month'], ['weekly']];
    const result = checkProfile(profileOf(rows, columns), {}, undefined, undefined);
    expect(result.reasons).toEqual(['column "contract": 2 values are not one of the declared categories (month-to-month, one-year) (first at f.csv line 3: "monthly")']);
    expect(checkProfile(profileOf([['one-year'], ['month-to-month']], columns), {}, undefined, undefined).reasons).toEqual([]);
  });
});
