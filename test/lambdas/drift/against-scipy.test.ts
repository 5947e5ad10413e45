/**
 * The analyzer's statistics against numpy/scipy on generated data sets (test/fixtures/drift,
 * made by generate.py, which also wrote the expected values).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareTables } from '../../../lambdas/drift/compare-tables';
import type { FeatureDrift } from '../../../lambdas/drift/compare';
import { buildBaseline, baselineViews } from '../../../lambdas/drift/baseline';
import type { NumericBaselineView } from '../../../lambdas/drift/compare';
import { parseTable } from '../../../lambdas/drift/table';

const FIXTURES = join(import.meta.dirname, '../../fixtures/drift');

interface ExpectedNumeric {
  type: 'numeric';
  edges: number[];
  baselineProportions: number[];
  currentProportions: number[];
  psi: number;
  jsDistance: number;
  ks: { statistic: number; pValue: number };
  missingRate: { baseline: number; current: number };
}
interface ExpectedCategorical {
  type: 'categorical';
  psi: number;
  jsDistance: number;
  chiSquare: { statistic: number; pValue: number; degreesOfFreedom: number };
  missingRate: { baseline: number; current: number };
}
interface Expected {
  files: { baseline: string; current: string };
  baselineRows: number;
  currentRows: number;
  features: Record<string, ExpectedNumeric | ExpectedCategorical>;
}

function close(actual: number | null, expected: number, rel: number) {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-300);
}

describe.each(['stable', 'shifted', 'small-jsonl'])('data set "%s" against numpy/scipy', (name) => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as Expected;
  const read = (file: string) => parseTable(file, readFileSync(join(FIXTURES, name, file)));
  const baseline = read(expected.files.baseline);
  const current = read(expected.files.current);
  const report = compareTables(baseline, current, 0.2);

  it('counts rows and types each feature as numpy/python would', () => {
    expect(report.baselineRows).toBe(expected.baselineRows);
    expect(report.currentRows).toBe(expected.currentRows);
    expect(Object.fromEntries(Object.entries(report.features).map(([k, v]) => [k, v.type]))).toEqual(
      Object.fromEntries(Object.entries(expected.features).map(([k, v]) => [k, v.type])),
    );
  });

  it.each(Object.keys(expected.features))('matches PSI, JS distance, the test and missing rates for "%s"', (feature) => {
    const want = expected.features[feature]!;
    const got: FeatureDrift = report.features[feature]!;
    close(got.psi, want.psi, 1e-12);
    close(got.jsDistance, want.jsDistance, 1e-12);
    expect(got.missingRate).toEqual(want.missingRate);
    expect(got.drifted).toBe(want.psi > 0.2);
    if (got.type === 'numeric' && want.type === 'numeric') {
      close(got.ks.statistic, want.ks.statistic, 1e-14);
      close(got.ks.pValue, want.ks.pValue, 1e-9);
    } else if (got.type === 'categorical' && want.type === 'categorical') {
      close(got.chiSquare.statistic, want.chiSquare.statistic, 1e-12);
      close(got.chiSquare.pValue, want.chiSquare.pValue, 1e-9);
      expect(got.chiSquare.degreesOfFreedom).toBe(want.chiSquare.degreesOfFreedom);
    } else {
      expect.unreachable(`type ${got.type} vs ${want.type}`);
    }
  });

  it('stores the deciles and proportions numpy computes in the baseline', () => {
    const views = baselineViews(buildBaseline({ name: expected.files.baseline, bytes: readFileSync(join(FIXTURES, name, expected.files.baseline)) }));
    for (const [feature, want] of Object.entries(expected.features)) {
      if (want.type !== 'numeric') continue;
      const view = views.get(feature) as NumericBaselineView;
      expect([...view.edges]).toEqual(want.edges);
      [...view.proportions].forEach((p, i) => close(p, want.baselineProportions[i]!, 1e-15));
    }
  });
});
