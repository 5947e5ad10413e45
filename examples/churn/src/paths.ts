/**
 * The SageMaker container contract's directory layout, under a root that defaults to `/opt/ml`
 * and can be moved (`SM_ROOT`, or `--root`) so the same entry points run on a laptop.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function smRoot(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): string {
  const flag = argv.indexOf('--root');
  const value = flag >= 0 ? argv[flag + 1] : undefined;
  if (value) return value;
  return env.SM_ROOT ?? '/opt/ml';
}

export function trainingPaths(root: string) {
  return {
    hyperparameters: join(root, 'input', 'config', 'hyperparameters.json'),
    channel: (name: string) => join(root, 'input', 'data', name),
    model: join(root, 'model'),
    checkpoints: join(root, 'checkpoints'),
    output: join(root, 'output'),
    outputData: join(root, 'output', 'data'),
    failure: join(root, 'output', 'failure'),
  };
}

/** Where the training pipeline's evaluation job puts its inputs and takes its report (state-machines/training-pipeline.asl.json). */
export function processingPaths(root: string) {
  return {
    input: (name: string) => join(root, 'processing', name),
    output: join(root, 'processing', 'report'),
  };
}

/** Every regular file under `dir` (recursively, sorted), or [] when it does not exist. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((relative) => join(dir, relative))
    .filter((path) => statSync(path).isFile())
    .sort();
}

/** Concatenates the CSV files of a directory (all with the same header) into one text. */
export function readCsvDirectory(dir: string): string | undefined {
  const files = listFiles(dir).filter((path) => path.endsWith('.csv'));
  if (files.length === 0) return undefined;
  let header: string | undefined;
  const parts: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const newline = text.indexOf('\n');
    const first = (newline < 0 ? text : text.slice(0, newline)).trim();
    if (header === undefined) {
      header = first;
      parts.push(text.endsWith('\n') ? text : `${text}\n`);
    } else {
      if (first !== header) throw new Error(`${file} has a different header than the first file of ${dir}`);
      const body = newline < 0 ? '' : text.slice(newline + 1);
      parts.push(body.endsWith('\n') || body === '' ? body : `${body}\n`);
    }
  }
  return parts.join('');
}
