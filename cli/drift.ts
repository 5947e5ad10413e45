/**
 * `caretaker drift --baseline <file> --current <file> [--psi-threshold 0.2]`: the analyzer's
 * statistics on two local files (CSV with a header row, or JSON Lines), printed as JSON.
 */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { compareTables } from '../lambdas/drift/compare-tables';
import { DEFAULT_PSI_THRESHOLD, type DriftReport } from '../lambdas/drift/compare';
import { DataFileError, formatOf, parseTable, type Table } from '../lambdas/drift/table';

export function registerDriftCommands(program: Command): void {
  program
    .command('drift')
    .description('compare a current data file with a baseline: PSI, Jensen–Shannon, KS / chi-square per feature')
    .requiredOption('--baseline <file>', 'baseline data (.csv with a header row, or .jsonl)')
    .requiredOption('--current <file>', 'current data (.csv with a header row, or .jsonl)')
    .option('--psi-threshold <number>', 'a feature drifted when its PSI is above this', parseThreshold, DEFAULT_PSI_THRESHOLD)
    .action((options: { baseline: string; current: string; psiThreshold: number }) => {
      const report = driftBetweenFiles(options.baseline, options.current, options.psiThreshold);
      console.log(JSON.stringify(report, null, 2));
    });
}

export function driftBetweenFiles(baselineFile: string, currentFile: string, psiThreshold = DEFAULT_PSI_THRESHOLD): DriftReport {
  return compareTables(readTable(baselineFile), readTable(currentFile), psiThreshold);
}

export function readTable(file: string): Table {
  const format = formatOf(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataFileError(file, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`);
  }
  return parseTable(file, bytes, format);
}

function parseThreshold(value: string): number {
  const threshold = Number(value);
  if (!Number.isFinite(threshold) || threshold <= 0) throw new InvalidArgumentError('must be a positive number');
  return threshold;
}
