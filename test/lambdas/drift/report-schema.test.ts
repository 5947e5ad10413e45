/**
 * report.json's zod schema (what the API reads) against report.ts's writer: every document the
 * analyzer's report builder makes parses to itself. A field the writer adds later passes
 * through; a wrong shape does not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareTables } from '../../../lambdas/drift/compare-tables';
import { REPORT_FORMAT, reportDocument, type DriftReportDocument } from '../../../lambdas/drift/report';
import { driftReportSchema } from '../../../lambdas/drift/report-schema';
import { parseTable } from '../../../lambdas/drift/table';

const FIXTURES = join(import.meta.dirname, '../../fixtures/drift');
const table = (name: string) => parseTable(name, readFileSync(join(FIXTURES, name)));

function documentOf(pair: string, minRecords?: number): DriftReportDocument {
  const ext = pair === 'small-jsonl' ? 'jsonl' : 'csv';
  const compared = compareTables(table(`${pair}/baseline.${ext}`), table(`${pair}/current.${ext}`), 0.2);
  return reportDocument(compared, {
    model: 'churn',
    window: { start: new Date('2026-12-03T10:00:00Z'), end: new Date('2026-12-03T10:15:00Z') },
    baseline: { version: 3, location: 'baselines/churn/3/baseline.json' },
    current: { location: 'capture/churn/', malformedRecords: 2 },
    psiThreshold: 0.2,
    ...(minRecords !== undefined ? { minRecords } : {}),
  });
}

describe('drift report schema', () => {
  it('accepts every document the report builder writes (drifted, stable, too few records), as JSON', () => {
    for (const doc of [documentOf('shifted'), documentOf('stable'), documentOf('small-jsonl'), documentOf('shifted', 1_000_000)]) {
      const json: unknown = JSON.parse(JSON.stringify(doc));
      expect(driftReportSchema.parse(json)).toEqual(json);
    }
    expect(driftReportSchema.shape.format.options).toEqual([REPORT_FORMAT]);
  });

  it('passes a field the writer adds later through unchanged', () => {
    const json = { ...(JSON.parse(JSON.stringify(documentOf('shifted'))) as object), locations: { html: 'reports/churn/x/report.html' } };
    expect(driftReportSchema.parse(json)).toEqual(json);
  });

  it('refuses another format, a feature of an unknown type, and a histogram that is not numbers', () => {
    const good = JSON.parse(JSON.stringify(documentOf('shifted'))) as { format: string; features: { type: string; distribution: Record<string, unknown> }[] };
    expect(driftReportSchema.safeParse({ ...good, format: 'caretaker.drift-report/2' }).success).toBe(false);
    expect(driftReportSchema.safeParse({ ...good, features: [{ ...good.features[0], type: 'text' }] }).success).toBe(false);
    const numeric = good.features.find((f) => f.type === 'numeric')!;
    expect(driftReportSchema.safeParse({ ...good, features: [{ ...numeric, distribution: { ...numeric.distribution, current: ['12'] } }] }).success).toBe(false);
  });
});
