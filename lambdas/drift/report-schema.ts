/**
 * `report.json` as a zod schema, for the readers of what the analyzer wrote (the registry API's
 * drift report route, and through it the console). The writer's type is `DriftReportDocument`
 * (report.ts); test/lambdas/drift/report-schema.test.ts holds the two together on the documents
 * the analyzer's report builder writes.
 * Objects are loose: a field the analyzer adds later passes through to the console unchanged.
 * Kept apart from report.ts so the API's bundle carries the schema and nothing of the analyzer.
 */
import * as z from '../shared/zod';

const num = z.number();
const str = z.string();
const strs = z.array(str);
/** Statistics the analyzer could not compute (no values on a side) are written as null. */
const stat = z.nullable(num);
const common = { name: str, psi: num, jsDistance: stat, drifted: z.boolean(), warnings: strs };

// What the console draws and shows is checked; the rest (missing rates, sample sizes, the
// small-sample flag) passes through unchecked, to keep the API's bundle small (< 200 KB).
const numeric = z.looseObject({
  ...common,
  type: z.enum(['numeric']),
  ks: z.looseObject({ statistic: stat, pValue: stat }),
  /** Inner edges e1 < … < ek; per bin (k+1) the baseline's proportion and the current count. */
  distribution: z.looseObject({ edges: z.array(num), baseline: z.array(num), current: z.array(num) }),
});

const categorical = z.looseObject({
  ...common,
  type: z.enum(['categorical']),
  chiSquare: z.looseObject({ statistic: stat, pValue: stat }),
  distribution: z.looseObject({ categories: z.array(z.looseObject({ name: str, baseline: num, current: num })) }),
});

/** report.json (report.ts `DriftReportDocument`). */
export const driftReportSchema = z.looseObject({
  /** report.ts's REPORT_FORMAT (spelled here so the API's bundle takes nothing from the analyzer; the test compares them). */
  format: z.enum(['caretaker.drift-report/1']),
  generatedAt: str,
  model: z.nullable(str),
  window: z.nullable(z.looseObject({ id: str, start: str, end: str })),
  baseline: z.looseObject({ version: z.nullable(num), location: str, rows: num }),
  current: z.looseObject({ location: str, records: num, malformedRecords: num }),
  psiThreshold: num,
  minRecords: num,
  status: z.enum(['drifted', 'no-drift', 'too-few-records']),
  driftScore: z.nullable(num),
  drifted: strs,
  warnings: strs,
  features: z.array(z.union([numeric, categorical])),
});
