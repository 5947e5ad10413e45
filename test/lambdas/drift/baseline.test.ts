import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  baselineViews,
  buildBaseline,
  decodeSample,
  featureTypesOf,
  encodeSample,
  mergeBaselines,
  parseBaseline,
  type Baseline,
} from '../../../lambdas/drift/baseline';
import type { NumericBaselineView } from '../../../lambdas/drift/compare';
import { mergeSamples, Random, Reservoir } from '../../../lambdas/drift/sample';
import { compactSortFloat64, sortDecimals, sortFloat64 } from '../../../lambdas/drift/sort';
import { decileEdges } from '../../../lambdas/drift/stats';

const csv = (text: string) => ({ name: 'part.csv', bytes: Buffer.from(text) });

function numericRows(values: readonly number[], category = (i: number) => (i % 3 === 0 ? 'a' : 'b')): string {
  return ['x,c,label', ...values.map((v, i) => `${Number.isNaN(v) ? '' : v},${category(i)},${i % 2}`)].join('\n');
}

describe('buildBaseline', () => {
  it('summarizes features in column order, leaving out excluded columns', () => {
    const baseline = buildBaseline(csv(numericRows([1, 2, 3, Number.NaN, 5])), { exclude: ['label'] });
    expect(baseline.features.map((f) => [f.name, f.type])).toEqual([
      ['x', 'numeric'],
      ['c', 'categorical'],
    ]);
    expect(baseline.rows).toBe(5);
    expect(baseline.features[0]).toMatchObject({ rows: 5, missing: 1 });
    expect(baseline.features[1]).toMatchObject({ categories: [['a', 2], ['b', 3]], missing: 0 });
  });

  it('uses the declared types, and names the line of a value that breaks a numeric declaration', () => {
    const declared = buildBaseline(csv(numericRows([1, 2])), { types: { x: 'categorical' } });
    expect(declared.features[0]).toMatchObject({ name: 'x', type: 'categorical' });
    expect(() => buildBaseline(csv('x\n1\nabc\n'), { types: { x: 'numeric' } })).toThrow(/part\.csv: line 3, column "x": "abc" is not a number/);
  });

  it('takes feature types from declared dataset columns', () => {
    const types = featureTypesOf([
      { name: 'x', type: 'integer' },
      { name: 'c', type: 'string' },
      { name: 'label', type: 'boolean' },
    ]);
    expect(types).toEqual({ x: 'numeric', c: 'categorical', label: 'categorical' });
    expect(buildBaseline(csv(numericRows([1, 2])), { types }).features.map((f) => f.type)).toEqual(['numeric', 'categorical', 'categorical']);
  });

  it('keeps at most sampleCapacity values, but exact edges and proportions from all of them', () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000);
    const baseline = buildBaseline(csv(numericRows(values)), { sampleCapacity: 100 });
    const view = baselineViews(baseline).get('x') as NumericBaselineView;
    expect(view.sample).toHaveLength(100);
    expect([...view.sample]).toEqual([...view.sample].sort((a, b) => a - b));
    expect([...view.edges]).toEqual([...decileEdges(sortFloat64(Float64Array.from(values)))]);
    expect([...view.proportions]).toEqual(Array.from({ length: 10 }, () => 0.1));
  });

  it('round-trips through JSON and rejects documents that are not baselines', () => {
    const baseline = buildBaseline(csv(numericRows([0.1, -2.5e-7, 3e12])));
    expect(parseBaseline(JSON.stringify(baseline), 'b.json')).toEqual(baseline);
    expect(() => parseBaseline('{"format":"other"}', 's3://b/k')).toThrow(/s3:\/\/b\/k is not a drift baseline/);
    expect(() => parseBaseline('nope', 'b.json')).toThrow(/not valid JSON/);
  });

  it('encodes samples losslessly, -0 and extremes included', () => {
    const sample = Float64Array.from([-Number.MAX_VALUE, -0, 0, Number.MIN_VALUE, 1 / 3]);
    expect(decodeSample(encodeSample(sample))).toEqual(sample);
  });
});

describe('mergeBaselines', () => {
  const values = Array.from({ length: 3000 }, (_, i) => Math.sin(i) * 100);
  const part = (from: number, to: number, capacity = 50_000) =>
    buildBaseline(csv(numericRows(values.slice(from, to), (i) => ((i + from) % 3 === 0 ? 'a' : 'b'))), { sampleCapacity: capacity });

  it('is exact when the parts together fit the sample capacity', () => {
    const whole = buildBaseline(csv(numericRows(values)));
    const merged = mergeBaselines([part(0, 1000), part(1000, 1700), part(1700, 3000)]);
    const views = baselineViews(merged);
    const wholeViews = baselineViews(whole);
    expect(merged.rows).toBe(3000);
    for (const name of ['x', 'c', 'label']) expect(views.get(name)).toEqual(wholeViews.get(name));
  });

  it('adds category counts, rows and missing values exactly', () => {
    const merged = mergeBaselines([part(0, 10), part(10, 25)]);
    expect(merged.features.find((f) => f.name === 'c')).toMatchObject({ rows: 25, missing: 0, categories: [['a', 9], ['b', 16]] });
  });

  it('keeps a uniform sample of the union when it does not fit: each part contributes in proportion', () => {
    // Part A holds 0…999, part B 1000…3999: a uniform sample of 400 has about 100 from A.
    const a = buildBaseline(csv(numericRows(Array.from({ length: 1000 }, (_, i) => i))), { sampleCapacity: 400 });
    const b = buildBaseline(csv(numericRows(Array.from({ length: 3000 }, (_, i) => 1000 + i))), { sampleCapacity: 400 });
    const fromA: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const view = baselineViews(mergeBaselines([a, b], { seed })).get('x') as NumericBaselineView;
      expect(view.sample).toHaveLength(400);
      fromA.push(view.sample.filter((v) => v < 1000).length);
    }
    const mean = fromA.reduce((s, n) => s + n, 0) / fromA.length;
    // Hypergeometric: mean 100, sd ≈ 7.5; the mean of 40 draws is within ±4 with overwhelming probability.
    expect(mean).toBeGreaterThan(96);
    expect(mean).toBeLessThan(104);
  });

  it('refuses parts with different features or types', () => {
    const other: Baseline = { ...part(0, 10), features: part(0, 10).features.slice(0, 1) };
    expect(() => mergeBaselines([part(0, 10), other])).toThrow(/baseline part 1 has features/);
    expect(() => mergeBaselines([])).toThrow(/at least one/);
  });
});

describe('Reservoir and mergeSamples', () => {
  it('keeps everything below capacity and a uniform sample above it', () => {
    const reservoir = new Reservoir(10, new Random(7));
    for (let i = 0; i < 5; i++) reservoir.offer(i);
    expect([...reservoir.sorted()]).toEqual([0, 1, 2, 3, 4]);
    const hits = new Float64Array(100);
    for (let seed = 0; seed < 2000; seed++) {
      const r = new Reservoir(10, new Random(seed));
      for (let i = 0; i < 100; i++) r.offer(i);
      for (const v of r.sorted()) hits[v]!++;
    }
    // Each value is kept with probability 1/10: 200 of 2000 runs, sd ≈ 13.4.
    for (const h of hits) expect(Math.abs(h - 200)).toBeLessThan(70);
  });

  it('merges complete samples into the complete union', () => {
    const merged = mergeSamples({ sample: Float64Array.from([3, 1]), population: 2 }, { sample: Float64Array.from([2]), population: 1 }, 10, new Random(1));
    expect([...merged]).toEqual([1, 2, 3]);
  });

  it('refuses a part whose sample is smaller than it should be', () => {
    expect(() => mergeSamples({ sample: new Float64Array(1), population: 5 }, { sample: new Float64Array(0), population: 0 }, 3, new Random(1))).toThrow(/smaller than/);
  });
});

describe('sortFloat64', () => {
  it('orders like TypedArray.prototype.sort for any finite values, -0 before +0', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 4096, maxLength: 6000 }), (values) => {
        const expected = Float64Array.from(values).sort();
        const actual = sortFloat64(Float64Array.from(values));
        expect(Object.is(actual[0], expected[0])).toBe(true);
        expect(actual).toEqual(expected);
      }),
      { numRuns: 20 },
    );
  });
});

describe('compactSortFloat64 (the drift path: NaN dropped, decimals sorted as integers)', () => {
  const reference = (values: Float64Array) => values.filter((v) => !Number.isNaN(v)).sort();
  const same = (actual: Float64Array, expected: Float64Array) => {
    expect(actual.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) expect([i, actual[i]]).toEqual([i, expected[i]]);
  };
  const withNaN = (values: number[]) => Float64Array.from(values.map((v, i) => (i % 97 === 5 ? Number.NaN : v)));

  it('equals filtering NaN and sorting, for any doubles (including -0, infinities, subnormals)', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { minLength: 0, maxLength: 6000 }), (values) => {
        const input = Float64Array.from(values);
        const copy = input.slice();
        same(compactSortFloat64(input), reference(input));
        same(input, copy); // the input is left as it was
      }),
      { numRuns: 30 },
    );
  });

  it('equals filtering NaN and sorting for fixed-point decimals of 0–9 digits, parsed as CSV text is', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }), { minLength: 4096, maxLength: 6000 }),
        fc.integer({ min: 0, max: 9 }),
        (integers, digits) => {
          // What parseDecimal returns for "m / 10^d" written out: the correctly rounded quotient.
          const input = withNaN(integers.map((m) => Number((m / 10 ** digits).toFixed(digits))));
          same(compactSortFloat64(input), reference(input));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('falls back to the double sort when one value is not such a decimal, wherever it is', () => {
    const decimals = Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 10007) / 100);
    for (const odd of [Math.PI, 1e12, -0, 1e-12, 2 ** 31 / 10]) {
      for (const at of [0, 2500, 4999]) {
        const input = withNaN(decimals.map((v, i) => (i === at ? odd : v)));
        same(compactSortFloat64(input), reference(input));
      }
    }
    // Scales that grow along the column: 1, 0.5, 0.25, …
    const growing = Float64Array.from({ length: 5000 }, (_, i) => (i % 10) / 2 ** (i % 8));
    same(compactSortFloat64(growing), reference(growing));
  });

  it('sorts "-0.000" (-0) among decimals as an integer too, -0 before +0', () => {
    const values = Array.from({ length: 6000 }, (_, i) => (i % 13 === 0 ? -0 : i % 17 === 0 ? 0 : (((i * 7919) % 10007) - 5000) / 1000));
    const input = withNaN(values);
    const sorted = sortDecimals(input);
    expect(sorted).toBeDefined();
    same(sorted!, reference(input));
    same(compactSortFloat64(input), reference(input));
  });

  it('sorts into a reused buffer what it sorts into a new array, on every path (small, decimals, doubles)', () => {
    const buffer = new Float64Array(8000).fill(Number.NaN);
    const decimals = withNaN(Array.from({ length: 6000 }, (_, i) => ((i * 7919) % 10007) / 1000));
    const doubles = withNaN(Array.from({ length: 7000 }, (_, i) => Math.sin(i) * 1e300));
    const small = withNaN(Array.from({ length: 300 }, (_, i) => -i / 3));
    for (const input of [decimals, doubles, small, decimals]) {
      const sorted = compactSortFloat64(input, buffer);
      expect(sorted.buffer).toBe(buffer.buffer);
      same(sorted, reference(input));
    }
    expect(() => compactSortFloat64(decimals, new Float64Array(10))).toThrow(RangeError);
  });
});
