/**
 * The drift report of one comparison: what `report.json` holds, for one analysis window of the
 * analyzer (`reports/<model>/<window>/report.json` in the artifacts bucket) or for two local
 * files (`caretaker drift --json`). `report-html.ts` renders the same document as a
 * self-contained page; both are built from this one object, so they cannot disagree.
 *
 * A window with fewer than `minRecords` records is reported as `too-few-records`: its
 * statistics are shown, but no feature counts as drifted and the analyzer publishes no
 * DriftScore for it, so the alarm does not count it. Under no drift, n·PSI over k bins is
 * roughly χ²(k−1), so PSI's noise floor is about (k−1)/n: 0.09 for 10 bins at 100 records,
 * half the default threshold of 0.2, and it only shrinks with more records.
 */
import type { DriftReport, FeatureDrift } from './compare';
import { driftReportKeys } from '../shared/layout';
import { OVERFLOW_CATEGORY } from './window';

export const REPORT_FORMAT = 'caretaker.drift-report/1';
/** Fewest records in a window for its drift to count. */
export const DEFAULT_MIN_RECORDS = 100;
/** Below this expected count per cell, Pearson's χ² approximation is rough (Cochran's rule). */
const CHI_SQUARE_MIN_EXPECTED = 5;

export type ReportStatus = 'drifted' | 'no-drift' | 'too-few-records';

export type FeatureEntry = FeatureDrift & {
  readonly name: string;
  /** Fewer non-missing current values than `minRecords`. */
  readonly smallSample: boolean;
  readonly warnings: readonly string[];
};

export interface DriftReportDocument {
  readonly format: typeof REPORT_FORMAT;
  readonly generatedAt: string;
  /** The model, for the analyzer's reports; null for two local files. */
  readonly model: string | null;
  /** The analysis window [start, end), for the analyzer's reports. */
  readonly window: { readonly id: string; readonly start: string; readonly end: string } | null;
  readonly baseline: { readonly version: number | null; readonly location: string; readonly rows: number };
  readonly current: { readonly location: string; readonly records: number; readonly malformedRecords: number };
  /** A feature drifted when its PSI is above this (the drift alarm's threshold). */
  readonly psiThreshold: number;
  readonly minRecords: number;
  readonly status: ReportStatus;
  /** Largest feature PSI (what the analyzer publishes as DriftScore); null when too few records. */
  readonly driftScore: number | null;
  /** Drifted features, largest PSI first. */
  readonly drifted: readonly string[];
  readonly warnings: readonly string[];
  /** Drifted features first, then the rest; each by PSI, largest first. */
  readonly features: readonly FeatureEntry[];
}

export interface ReportContext {
  readonly model?: string;
  readonly window?: { readonly start: Date; readonly end: Date };
  readonly baseline: { readonly version?: number; readonly location: string };
  readonly current: { readonly location: string; readonly malformedRecords?: number };
  readonly psiThreshold: number;
  /** @default DEFAULT_MIN_RECORDS */
  readonly minRecords?: number;
  /** @default now */
  readonly generatedAt?: Date;
}


export function reportDocument(report: DriftReport, context: ReportContext): DriftReportDocument {
  const minRecords = context.minRecords ?? DEFAULT_MIN_RECORDS;
  const tooFew = report.currentRows < minRecords;
  const malformed = context.current.malformedRecords ?? 0;
  const entries = Object.entries(report.features).map(([name, drift]) => featureEntry(name, drift, minRecords, tooFew));
  const rank = (f: FeatureEntry) => (f.drifted ? 1 : 0);
  entries.sort((a, b) => rank(b) - rank(a) || b.psi - a.psi || a.name.localeCompare(b.name));
  const drifted = entries.filter((f) => f.drifted).map((f) => f.name);
  const warnings: string[] = [];
  if (tooFew) {
    warnings.push(
      `Only ${report.currentRows} record${report.currentRows === 1 ? '' : 's'} in the current data, fewer than ${minRecords}: too few to judge drift. ` +
        'The statistics are shown, but no feature counts as drifted and no drift score is published for this window.',
    );
  }
  if (malformed > 0) warnings.push(`${malformed} capture line${malformed === 1 ? ' was' : 's were'} not a readable record and ${malformed === 1 ? 'is' : 'are'} left out.`);
  const scores = entries.map((f) => f.psi).filter((x) => Number.isFinite(x));
  return {
    format: REPORT_FORMAT,
    generatedAt: (context.generatedAt ?? new Date()).toISOString(),
    model: context.model ?? null,
    window: context.window
      ? { id: driftReportKeys.windowId(context.window.end), start: context.window.start.toISOString(), end: context.window.end.toISOString() }
      : null,
    baseline: { version: context.baseline.version ?? null, location: context.baseline.location, rows: report.baselineRows },
    current: { location: context.current.location, records: report.currentRows, malformedRecords: malformed },
    psiThreshold: context.psiThreshold,
    minRecords,
    status: tooFew ? 'too-few-records' : drifted.length > 0 ? 'drifted' : 'no-drift',
    driftScore: tooFew || scores.length === 0 ? null : Math.max(...scores),
    drifted,
    warnings,
    features: entries,
  };
}

function featureEntry(name: string, drift: FeatureDrift, minRecords: number, tooFew: boolean): FeatureEntry {
  const warnings: string[] = [];
  let values: number;
  if (drift.type === 'numeric') {
    const d = drift.distribution;
    values = d.values.current;
    if (d.ksSample.current < d.values.current) warnings.push(`KS compares a uniform sample of ${d.ksSample.current} of the ${d.values.current} current values.`);
    if (d.ksSample.baseline < d.values.baseline) warnings.push(`KS compares a uniform sample of ${d.ksSample.baseline} of the ${d.values.baseline} baseline values.`);
    if (d.values.baseline === 0) warnings.push('The baseline has no values for this feature.');
  } else {
    const categories = drift.distribution.categories;
    values = categories.reduce((sum, c) => sum + c.current, 0);
    const base = categories.reduce((sum, c) => sum + c.baseline, 0);
    const total = base + values;
    if (total > 0 && base > 0 && values > 0) {
      const thin = categories.filter((c) => Math.min((base * (c.baseline + c.current)) / total, (values * (c.baseline + c.current)) / total) < CHI_SQUARE_MIN_EXPECTED).length;
      if (thin > 0) warnings.push(`${thin} of ${categories.length} categories have an expected count below ${CHI_SQUARE_MIN_EXPECTED}: the χ² p-value is a rough approximation.`);
    }
    if (categories.some((c) => c.name === OVERFLOW_CATEGORY)) warnings.push('More distinct values than the analyzer keeps: the rest are pooled as one "other" category.');
  }
  const smallSample = values < minRecords;
  if (smallSample) warnings.push(`Only ${values} non-missing current value${values === 1 ? '' : 's'} (fewer than ${minRecords}).`);
  return { name, ...drift, drifted: tooFew ? false : drift.drifted, smallSample, warnings };
}
