/**
 * Map and merge: a window analysed in shards (one partial per capture object, as the children of
 * a Distributed Map would) merges into the same counts as one pass over all the records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineViews, buildBaseline } from '../../../lambdas/drift/baseline';
import { CurrentWindow, type WindowPartial } from '../../../lambdas/drift/window';

const FIXTURES = join(import.meta.dirname, '../../fixtures/drift');
const baseline = buildBaseline({ name: 'baseline.csv', bytes: readFileSync(join(FIXTURES, 'stable/baseline.csv')) });
const header = readFileSync(join(FIXTURES, 'shifted/current.csv'), 'utf8').trimEnd().split('\n')[0]!.split(',');
const rows = readFileSync(join(FIXTURES, 'shifted/current.csv'), 'utf8').trimEnd().split('\n').slice(1);
const records = rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [header[i]!, v === '' ? null : v])));

function windowOf(part: readonly Record<string, unknown>[], sampleCapacity: number, seed: number): CurrentWindow {
  const window = new CurrentWindow(baselineViews(baseline), { sampleCapacity, seed });
  for (const record of part) window.addRecord(record);
  return window;
}

function shards<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => out[(i * 7) % n]!.push(item));
  return out;
}

describe('window partials', () => {
  for (const n of [1, 8, 64]) {
    it(`${n} shards merge to the single pass's counts exactly, and with complete samples to its KS`, () => {
      const single = windowOf(records, 10_000, 1);
      const merged = new CurrentWindow(baselineViews(baseline), { sampleCapacity: 10_000, seed: 2 });
      // Through JSON, as a child's result travels (ResultWriter / the reducer's input).
      for (const part of shards(records, n)) merged.merge(JSON.parse(JSON.stringify(windowOf(part, 10_000, 3).partial())) as WindowPartial);
      const a = single.partial();
      const b = merged.partial();
      expect(b.rows).toBe(a.rows);
      b.features.forEach((feature, f) => {
        const want = a.features[f]!;
        expect(feature.missing).toBe(want.missing);
        if (feature.type === 'numeric' && want.type === 'numeric') {
          expect(feature.binCounts).toEqual(want.binCounts);
          expect(feature.values).toBe(want.values);
        } else if (feature.type === 'categorical' && want.type === 'categorical') {
          expect(new Map(feature.counts)).toEqual(new Map(want.counts));
        }
      });
      // Samples hold every value here, so every statistic is the single pass's.
      expect(merged.report(0.2)).toEqual(single.report(0.2));
    });
  }

  it('with bounded samples, the merged KS sample has the capacity and comes from the union in proportion', () => {
    const parts = shards(records, 8);
    const merged = new CurrentWindow(baselineViews(baseline), { sampleCapacity: 200, seed: 5 });
    for (const part of parts) merged.merge(windowOf(part, 200, 9).partial());
    const income = merged.partial().features.find((f) => f.name === 'income')!;
    expect(income.type).toBe('numeric');
    if (income.type !== 'numeric') return;
    expect(Buffer.from(income.sample, 'base64').length / 8).toBe(200);
    expect(income.values).toBe(records.filter((r) => r.income !== null).length);
    const report = merged.report(0.2);
    expect(report.features.income!.type === 'numeric' && report.features.income!.distribution.ksSample.current).toBe(200);
  });

  it('refuses a partial of other features, naming them', () => {
    const window = new CurrentWindow(baselineViews(baseline));
    const partial = windowOf(records.slice(0, 5), 10, 1).partial();
    expect(() => window.merge({ ...partial, features: partial.features.slice(1) })).toThrow(/the partial has features age:numeric/);
  });
});
