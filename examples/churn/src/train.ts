/**
 * `train` — the SageMaker training entry point for the churn model.
 *
 * Reads `<root>/input/config/hyperparameters.json` and the `train` (and optional `validation`)
 * channel, trains a logistic regression, and writes `<root>/model/model.json`. Resumes from
 * `<root>/checkpoints/checkpoint.json` when present (managed spot training restarts a job with
 * the same checkpoint directory), and checkpoints every `checkpoint_every` epochs and on SIGTERM.
 * Metrics are printed as `#metric <name>=<value>` lines for the job's MetricDefinitions, and
 * written to `<root>/output/data/metrics.json`. On error the reason goes to
 * `<root>/output/failure` and the process exits 1.
 *
 * Hyperparameters (all strings, as SageMaker passes them):
 * - `eta` learning rate (0.1), `num_round` epochs (200), `l2` penalty (0),
 * - `checkpoint_every` epochs between checkpoints (10), `target` label column (churned),
 * - `seed` for the validation split when no validation channel is given (17).
 * Others (e.g. `max_depth`, meant for tree models) are accepted and reported as unused.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCsv, type Table } from './csv';
import { prefixed, score } from './metrics';
import {
  deriveFeatures,
  encodeTable,
  featureWidth,
  gradientStep,
  MODEL_FORMAT,
  predict,
  type Dataset,
  type Feature,
  type ModelFile,
  type Parameters,
} from './model';
import { readCsvDirectory, smRoot, trainingPaths } from './paths';
import { mulberry32, shuffledIndices } from './prng';

const KNOWN = new Set(['eta', 'num_round', 'l2', 'checkpoint_every', 'target', 'seed']);

export interface TrainOptions {
  readonly root: string;
  readonly log?: (line: string) => void;
  /** Checked between epochs; when it returns true the job checkpoints and stops. */
  readonly shouldStop?: () => boolean;
}

export interface TrainResult {
  readonly status: 'completed' | 'interrupted';
  readonly epochs: number;
  readonly resumedFromEpoch: number;
  readonly metrics: Readonly<Record<string, number>>;
}

interface Checkpoint {
  readonly format: string;
  readonly epoch: number;
  readonly features: readonly Feature[];
  readonly weights: readonly number[];
  readonly bias: number;
}

function number(hyperparameters: Record<string, string>, name: string, fallback: number, check: (n: number) => boolean): number {
  const raw = hyperparameters[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || !check(value)) throw new Error(`hyperparameter ${name} has an invalid value "${raw}"`);
  return value;
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function splitTable(table: Table, seed: number): { train: Table; validation: Table } {
  const order = shuffledIndices(mulberry32(seed), table.rows.length);
  const cut = Math.floor(order.length * 0.8);
  const pickRows = (indices: number[]) => indices.flatMap((i) => table.rows.slice(i, i + 1));
  return {
    train: { header: table.header, rows: pickRows(order.slice(0, cut)) },
    validation: { header: table.header, rows: pickRows(order.slice(cut)) },
  };
}

/** Labels are checked on the whole channel first, so a bad row is named by its place in the file. */
function checkLabels(table: Table, target: string): void {
  const column = table.header.indexOf(target);
  if (column < 0) throw new Error(`target column "${target}" is not in the header`);
  table.rows.forEach((row, index) => {
    const label = row[column];
    if (label !== '0' && label !== '1') throw new Error(`row ${index + 1}: label "${target}" must be 0 or 1, got "${label ?? ''}"`);
  });
}

function sameFeatures(a: readonly Feature[], b: readonly Feature[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function train({ root, log = (line) => process.stdout.write(`${line}\n`), shouldStop = () => false }: TrainOptions): Promise<TrainResult> {
  const paths = trainingPaths(root);
  const hyperparameters = existsSync(paths.hyperparameters)
    ? (JSON.parse(readFileSync(paths.hyperparameters, 'utf8')) as Record<string, string>)
    : {};
  const eta = number(hyperparameters, 'eta', 0.1, (n) => n > 0);
  const epochs = number(hyperparameters, 'num_round', 200, (n) => Number.isInteger(n) && n >= 1);
  const l2 = number(hyperparameters, 'l2', 0, (n) => n >= 0);
  const checkpointEvery = number(hyperparameters, 'checkpoint_every', 10, (n) => Number.isInteger(n) && n >= 1);
  const seed = number(hyperparameters, 'seed', 17, Number.isInteger);
  const target = hyperparameters.target ?? 'churned';
  const unused = Object.keys(hyperparameters).filter((name) => !KNOWN.has(name));
  if (unused.length > 0) log(`hyperparameters not used by logistic regression: ${unused.join(', ')}`);

  const trainText = readCsvDirectory(paths.channel('train'));
  if (trainText === undefined) throw new Error(`no CSV files in the train channel (${paths.channel('train')})`);
  const validationText = readCsvDirectory(paths.channel('validation'));
  let trainTable = parseCsv(trainText);
  checkLabels(trainTable, target);
  let validationTable: Table;
  if (validationText === undefined) {
    ({ train: trainTable, validation: validationTable } = splitTable(trainTable, seed));
    log(`no validation channel: holding out ${validationTable.rows.length} of the training rows`);
  } else {
    validationTable = parseCsv(validationText);
  }
  if (trainTable.rows.length === 0) throw new Error('the train channel has too few rows to train on');

  const features = deriveFeatures(trainTable, target);
  const trainData: Dataset = encodeTable(trainTable, features, target);
  const validationData: Dataset = encodeTable(validationTable, features, target);

  const parameters: Parameters = { weights: new Float64Array(featureWidth(features)), bias: 0 };
  let epoch = 0;
  const checkpointFile = join(paths.checkpoints, 'checkpoint.json');
  if (existsSync(checkpointFile)) {
    const checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Checkpoint;
    if (checkpoint.format === MODEL_FORMAT && sameFeatures(checkpoint.features, features)) {
      parameters.weights.set(checkpoint.weights);
      parameters.bias = checkpoint.bias;
      epoch = Math.min(checkpoint.epoch, epochs);
      log(`resuming from checkpoint at epoch ${epoch}`);
    } else {
      log('ignoring a checkpoint written for different features');
    }
  }
  const resumedFromEpoch = epoch;
  const saveCheckpoint = () =>
    writeAtomically(
      checkpointFile,
      JSON.stringify({ format: MODEL_FORMAT, epoch, features, weights: [...parameters.weights], bias: parameters.bias } satisfies Checkpoint),
    );

  let lastYield = Date.now();
  while (epoch < epochs) {
    // Epochs are synchronous; yield to the event loop now and then so a SIGTERM (a stop, or a
    // spot interruption) is delivered between epochs rather than after the whole job.
    if (Date.now() - lastYield > 20) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
    if (shouldStop()) {
      saveCheckpoint();
      log(`interrupted: checkpoint saved at epoch ${epoch}`);
      return { status: 'interrupted', epochs: epoch, resumedFromEpoch, metrics: {} };
    }
    gradientStep(parameters, trainData, eta, l2);
    epoch += 1;
    if (epoch % checkpointEvery === 0 || epoch === epochs) saveCheckpoint();
    if (epoch % 50 === 0 || epoch === epochs) {
      const { logloss } = score(trainData.y, predict(parameters, trainData.x));
      log(`epoch ${epoch}/${epochs} train:logloss=${logloss.toFixed(6)}`);
    }
  }

  const metrics = {
    ...prefixed('train', score(trainData.y, predict(parameters, trainData.x))),
    ...prefixed('validation', score(validationData.y, predict(parameters, validationData.x))),
  };
  for (const [name, value] of Object.entries(metrics)) log(`#metric ${name}=${value}`);

  const model: ModelFile = {
    format: MODEL_FORMAT,
    target,
    features,
    weights: [...parameters.weights],
    bias: parameters.bias,
    epochs,
    hyperparameters,
    metrics,
    resumedFromEpoch,
  };
  writeAtomically(join(paths.model, 'model.json'), JSON.stringify(model, null, 2));
  writeAtomically(join(paths.outputData, 'metrics.json'), JSON.stringify(metrics, null, 2));
  return { status: 'completed', epochs, resumedFromEpoch, metrics };
}

/** Runs `train` as a process: failure file and exit code per the container contract. */
export async function main(): Promise<void> {
  const root = smRoot();
  let stopRequested = false;
  process.on('SIGTERM', () => {
    stopRequested = true;
  });
  try {
    const result = await train({ root, shouldStop: () => stopRequested });
    if (result.status === 'interrupted') process.exitCode = 143;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const { failure } = trainingPaths(root);
    mkdirSync(dirname(failure), { recursive: true });
    writeFileSync(failure, reason.slice(0, 1024));
    process.stderr.write(`training failed: ${reason}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
