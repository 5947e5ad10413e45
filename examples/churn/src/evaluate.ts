/**
 * `evaluate` — the SageMaker Processing entry point that scores the candidate model and (when
 * there is one) the production champion on the same holdout.
 *
 * Inputs (the pipeline's Processing job `LocalPath`s; each may be overridden with a flag):
 * - `<root>/processing/holdout/`    holdout CSV files with a header (`--test`)
 * - `<root>/processing/candidate/`  `model.tar.gz` or `model.json` (`--candidate`)
 * - `<root>/processing/champion/`   the same, optional (`--champion`)
 * Output: `<root>/processing/report/evaluation.json` (`--output`), with AUC, accuracy and log
 * loss under the metric names the gate uses (`validation:auc`, …).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readTarGz } from './archive';
import { parseCsv } from './csv';
import { prefixed, score } from './metrics';
import { parseModelFile, scoreRecords, type ModelFile } from './model';
import { listFiles, processingPaths, readCsvDirectory } from './paths';

export interface EvaluationReport {
  readonly holdoutRows: number;
  readonly positives: number;
  readonly candidate: { readonly metrics: Readonly<Record<string, number>> };
  /** Null when there was no champion to compare with. */
  readonly champion: { readonly metrics: Readonly<Record<string, number>> } | null;
}

/** Loads a model from a directory holding `model.json` or `model.tar.gz`; undefined when empty or missing. */
export function loadModelFrom(dir: string): ModelFile | undefined {
  const files = listFiles(dir);
  const json = files.find((path) => path.endsWith('model.json'));
  if (json) return parseModelFile(readFileSync(json, 'utf8'));
  const archive = files.find((path) => path.endsWith('.tar.gz'));
  if (!archive) return undefined;
  const model = readTarGz(readFileSync(archive)).get('model.json');
  if (!model) throw new Error(`${archive} has no model.json`);
  return parseModelFile(model.toString('utf8'));
}

export interface EvaluateOptions {
  readonly test: string;
  readonly candidate: string;
  readonly champion?: string;
  readonly output: string;
}

export function evaluate(options: EvaluateOptions): EvaluationReport {
  const candidate = loadModelFrom(options.candidate);
  if (!candidate) throw new Error(`no candidate model in ${options.candidate}`);
  const champion = options.champion && existsSync(options.champion) ? loadModelFrom(options.champion) : undefined;
  const text = readCsvDirectory(options.test);
  if (text === undefined) throw new Error(`no holdout CSV files in ${options.test}`);
  const table = parseCsv(text);
  const columnOf = new Map(table.header.map((name, i) => [name, i]));
  const targetColumn = columnOf.get(candidate.target);
  if (targetColumn === undefined) throw new Error(`holdout has no "${candidate.target}" column`);
  const records = table.rows.map((row) => (name: string) => {
    const column = columnOf.get(name);
    return column === undefined ? undefined : row[column];
  });
  const labels = table.rows.map((row) => Number(row[targetColumn]));
  const metricsOf = (model: ModelFile) => prefixed('validation', score(labels, scoreRecords(model, records)));
  const report: EvaluationReport = {
    holdoutRows: labels.length,
    positives: labels.filter((y) => y === 1).length,
    candidate: { metrics: metricsOf(candidate) },
    champion: champion ? { metrics: metricsOf(champion) } : null,
  };
  mkdirSync(options.output, { recursive: true });
  writeFileSync(join(options.output, 'evaluation.json'), JSON.stringify(report, null, 2));
  return report;
}

export function main(argv = process.argv.slice(2), env = process.env): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      root: { type: 'string' },
      test: { type: 'string' },
      candidate: { type: 'string' },
      champion: { type: 'string' },
      output: { type: 'string' },
    },
  });
  const paths = processingPaths(values.root ?? env.SM_ROOT ?? '/opt/ml');
  try {
    const report = evaluate({
      test: values.test ?? paths.input('holdout'),
      candidate: values.candidate ?? paths.input('candidate'),
      champion: values.champion ?? paths.input('champion'),
      output: values.output ?? paths.output,
    });
    for (const [role, entry] of [['candidate', report.candidate], ['champion', report.champion]] as const) {
      for (const [name, value] of Object.entries(entry?.metrics ?? {})) process.stdout.write(`#metric ${role}:${name}=${value}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`evaluation failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
