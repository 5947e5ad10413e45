/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Drift between two whole tables, exactly: every value takes part (the KS "sample" is all of
 * them). This is what `caretaker drift --baseline a.csv --current b.csv` computes.
 */
import { inferType, numericView } from './baseline';
import { buildReport, compareCategorical, compareNumeric, type DriftReport, type FeatureDrift } from './compare';
import { compactSortFloat64 } from './sort';
import { binCountsSorted } from './stats';
import { DataFileError, type CategoricalColumn, type Table } from './table';

export function compareTables(baseline: Table, current: Table, psiThreshold: number): DriftReport {
  for (const column of baseline.columns) {
    if (!current.columns.includes(column)) {
      throw new DataFileError(current.file, `has no column "${column}", which ${baseline.file} has`, 1, `"${column}"`);
    }
  }
  for (const column of current.columns) {
    if (!baseline.columns.includes(column)) {
      throw new DataFileError(baseline.file, `has no column "${column}", which ${current.file} has`, 1, `"${column}"`);
    }
  }
  const categoricalNames = baseline.columns.filter((column) => inferType(baseline, column) === 'categorical');
  const baselineCategories = baseline.categorical(categoricalNames);
  const currentCategories = current.categorical(categoricalNames);

  const features = new Map<string, FeatureDrift>();
  // One pair of sort buffers for every numeric column: compareNumeric keeps none of the sorted values.
  const baseBuffer = new Float64Array(baseline.rows);
  const currentBuffer = new Float64Array(current.rows);
  for (const column of baseline.columns) {
    const baseCodes = baselineCategories.get(column);
    if (baseCodes) {
      features.set(
        column,
        compareCategorical(
          { type: 'categorical', ...categoryCounts(baseCodes), rows: baseline.rows },
          { ...categoryCounts(currentCategories.get(column)!), rows: current.rows },
          psiThreshold,
        ),
      );
      continue;
    }
    const baseSorted = compactSortFloat64(baseline.numeric(column).values, baseBuffer);
    const view = numericView(baseline.rows, baseline.rows - baseSorted.length, baseSorted);
    // In a numeric feature, current values that are not numbers count as missing.
    const currentSorted = compactSortFloat64(current.numeric(column).values, currentBuffer);
    features.set(
      column,
      compareNumeric(
        view,
        {
          rows: current.rows,
          missing: current.rows - currentSorted.length,
          binCounts: binCountsSorted(currentSorted, view.edges),
          sample: currentSorted,
        },
        psiThreshold,
      ),
    );
  }
  return buildReport(baseline.rows, current.rows, features);
}

function categoryCounts(column: CategoricalColumn): { missing: number; counts: Map<string, number> } {
  const counts = new Float64Array(column.categories.length);
  let missing = 0;
  for (const code of column.codes) {
    if (code < 0) missing++;
    else counts[code]!++;
  }
  return { missing, counts: new Map(column.categories.map((category, i) => [category, counts[i]!])) };
}
