/**
 * `caretaker drift --baseline <file> --current <file> [--psi-threshold 0.2] [--html report.html]
 * [--json report.json]`: the analyzer's statistics on two local files (CSV with a header row,
 * or JSON Lines), printed as JSON; `--html` / `--json` also write the same report the analyzer
 * writes per window (`lambdas/drift/report.ts`, rendered by `report-html.ts`).
 */
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { compareTables } from '../lambdas/drift/compare-tables';
import { DEFAULT_PSI_THRESHOLD, type DriftReport } from '../lambdas/drift/compare';
import { DEFAULT_MIN_RECORDS, reportDocument, type DriftReportDocument } from '../lambdas/drift/report';
import { renderReportHtml } from '../lambdas/drift/report-html';
import { DataFileError, formatOf, parseCsvSource, parseTable, type Table } from '../lambdas/drift/table';
import { assertUtf8, fileSource, readBytes, sampleSizeWarnings } from '../lib/files';

export function registerDriftCommands(program: Command): void {
  program
    .command('drift')
    .description('compare a current data file with a baseline: PSI, Jensen–Shannon, KS / chi-square per feature')
    .requiredOption('--baseline <file>', 'baseline data (.csv with a header row, or .jsonl)')
    .requiredOption('--current <file>', 'current data (.csv with a header row, or .jsonl)')
    .option('--psi-threshold <number>', 'a feature drifted when its PSI is above this', parseThreshold, DEFAULT_PSI_THRESHOLD)
    .option('--min-records <number>', 'fewer current rows than this are too few to judge drift', parseCount, DEFAULT_MIN_RECORDS)
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option('--json <file>', 'also write the full report (every statistic, bins and category counts) as JSON')
    .action((options: { baseline: string; current: string; psiThreshold: number; minRecords: number; html?: string; json?: string }) => {
      const report = driftBetweenFiles(options.baseline, options.current, options.psiThreshold, options.minRecords);
      for (const warning of report.warnings) console.error(`caretaker drift: warning: ${warning}`);
      if (options.html !== undefined || options.json !== undefined) {
        // Everything is computed before anything is written: a bad input file writes nothing.
        const document = fileReport(report, options);
        if (options.json !== undefined) writeOutput(options.json, `${JSON.stringify(document, null, 2)}\n`);
        if (options.html !== undefined) writeOutput(options.html, renderReportHtml(document));
      }
      console.log(JSON.stringify(report, null, 2));
    });
}

/** The report document of two local files (no model, no window). */
export function fileReport(
  report: DriftReport,
  options: { readonly baseline: string; readonly current: string; readonly psiThreshold: number; readonly minRecords?: number },
): DriftReportDocument {
  return reportDocument(report, {
    baseline: { location: options.baseline },
    current: { location: options.current },
    psiThreshold: options.psiThreshold,
    minRecords: options.minRecords,
  });
}

function writeOutput(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataFileError(file, `cannot be written (${code ?? String(error)})`);
  }
}

/**
 * The analyzer's report, plus `warnings` where a window has fewer than `minRecords` rows (PSI
 * over so few means little): then no feature is called drifted.
 */
export function driftBetweenFiles(
  baselineFile: string,
  currentFile: string,
  psiThreshold = DEFAULT_PSI_THRESHOLD,
  minRecords = DEFAULT_MIN_RECORDS,
): DriftReport & { warnings: string[] } {
  const report = compareTables(readTable(baselineFile), readTable(currentFile), psiThreshold);
  const warnings = sampleSizeWarnings({ [`baseline ${baselineFile}`]: report.baselineRows, [`current ${currentFile}`]: report.currentRows }, minRecords);
  if (warnings.length === 0) return { ...report, warnings };
  const features = Object.fromEntries(Object.entries(report.features).map(([name, feature]) => [name, { ...feature, drifted: false }]));
  return { ...report, features, drifted: [], warnings };
}

/**
 * A data file read as every command reads files (`lib/files.ts`: named when missing, UTF-8 with
 * line and byte). CSV is parsed as it is read, a window at a time; JSON Lines is read whole.
 */
export function readTable(file: string): Table {
  const format = formatOf(file);
  if (format === 'csv') return parseCsvSource(file, fileSource(file));
  const bytes = readBytes(file);
  assertUtf8(file, bytes);
  return parseTable(file, bytes, format);
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

function parseThreshold(value: string): number {
  const threshold = Number(value);
  if (!Number.isFinite(threshold) || threshold <= 0) throw new InvalidArgumentError('must be a positive number');
  return threshold;
}
