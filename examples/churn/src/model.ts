/**
 * Logistic regression with standardized numeric features and one-hot categorical features,
 * trained by full-batch gradient descent. Small, exact and dependency free; the point is a
 * real model whose quality moves when the data drifts, not a clever one.
 */
import type { Table } from './csv';

export const MODEL_FORMAT = 'caretaker-logreg/1';

export type Feature =
  | { readonly name: string; readonly kind: 'numeric'; readonly mean: number; readonly std: number }
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

export interface ModelFile {
  readonly format: typeof MODEL_FORMAT;
  readonly target: string;
  readonly features: readonly Feature[];
  readonly weights: readonly number[];
  readonly bias: number;
  readonly epochs: number;
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  /** Epoch the run resumed from (a checkpoint), or 0 for a fresh start. */
  readonly resumedFromEpoch: number;
}

export interface Dataset {
  readonly x: readonly Float64Array[];
  readonly y: readonly number[];
}

const isNumber = (value: string) => value !== '' && Number.isFinite(Number(value));

/** Derives the feature encoding from training data: numeric columns are standardized, others one-hot. */
export function deriveFeatures(table: Table, target: string): Feature[] {
  return table.header
    .map((name, column) => ({ name, column }))
    .filter(({ name }) => name !== target)
    .map(({ name, column }): Feature => {
      const values = table.rows.map((row) => row[column] ?? '');
      if (values.every(isNumber)) {
        const numbers = values.map(Number);
        const mean = numbers.reduce((a, b) => a + b, 0) / Math.max(1, numbers.length);
        const variance = numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, numbers.length);
        return { name, kind: 'numeric', mean, std: Math.sqrt(variance) || 1 };
      }
      return { name, kind: 'categorical', categories: [...new Set(values)].sort() };
    });
}

export function featureWidth(features: readonly Feature[]): number {
  return features.reduce((width, f) => width + (f.kind === 'numeric' ? 1 : f.categories.length), 0);
}

/** Encodes one record (values by feature name) into the model's input vector. */
export function encode(features: readonly Feature[], value: (name: string) => string | undefined): Float64Array {
  const x = new Float64Array(featureWidth(features));
  let offset = 0;
  for (const feature of features) {
    const raw = value(feature.name);
    if (raw === undefined) throw new Error(`missing value for feature "${feature.name}"`);
    if (feature.kind === 'numeric') {
      if (!isNumber(raw)) throw new Error(`feature "${feature.name}" must be a number, got "${raw}"`);
      x[offset] = (Number(raw) - feature.mean) / feature.std;
      offset += 1;
    } else {
      const index = feature.categories.indexOf(raw);
      // An unseen category encodes as all zeros: the model falls back to the bias for it.
      if (index >= 0) x[offset + index] = 1;
      offset += feature.categories.length;
    }
  }
  return x;
}

/** Encodes a table that has a header naming the features (and the target, when `withLabels`). */
export function encodeTable(table: Table, features: readonly Feature[], target: string): Dataset {
  const columnOf = new Map(table.header.map((name, i) => [name, i]));
  const targetColumn = columnOf.get(target);
  if (targetColumn === undefined) throw new Error(`target column "${target}" is not in the header`);
  const x = table.rows.map((row, line) => {
    try {
      return encode(features, (name) => {
        const column = columnOf.get(name);
        return column === undefined ? undefined : row[column];
      });
    } catch (error) {
      throw new Error(`row ${line + 1}: ${(error as Error).message}`);
    }
  });
  const y = table.rows.map((row, line) => {
    const label = row[targetColumn];
    if (label !== '0' && label !== '1') throw new Error(`row ${line + 1}: label "${target}" must be 0 or 1, got "${label}"`);
    return Number(label);
  });
  return { x, y };
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export interface Parameters {
  weights: Float64Array;
  bias: number;
}

export function predictOne(parameters: { readonly weights: ArrayLike<number>; readonly bias: number }, x: Float64Array): number {
  let z = parameters.bias;
  x.forEach((value, j) => {
    z += (parameters.weights[j] ?? 0) * value;
  });
  return sigmoid(z);
}

export function predict(parameters: { readonly weights: ArrayLike<number>; readonly bias: number }, x: readonly Float64Array[]): number[] {
  return x.map((row) => predictOne(parameters, row));
}

/** One full-batch gradient step on the mean log loss plus L2 penalty (bias not penalized). */
export function gradientStep(parameters: Parameters, data: Dataset, learningRate: number, l2: number): void {
  const gradient = new Float64Array(parameters.weights.length);
  let biasGradient = 0;
  data.x.forEach((x, i) => {
    const error = predictOne(parameters, x) - (data.y[i] ?? 0);
    biasGradient += error;
    x.forEach((value, j) => {
      gradient[j] = (gradient[j] ?? 0) + error * value;
    });
  });
  const n = Math.max(1, data.x.length);
  parameters.weights = parameters.weights.map((w, j) => w - learningRate * ((gradient[j] ?? 0) / n + l2 * w));
  parameters.bias -= learningRate * (biasGradient / n);
}

/** Scores raw records (values by feature name) with a saved model. */
export function scoreRecords(model: ModelFile, records: readonly ((name: string) => string | undefined)[]): number[] {
  return records.map((value) => predictOne(model, encode(model.features, value)));
}

export function parseModelFile(text: string): ModelFile {
  const model = JSON.parse(text) as Partial<ModelFile>;
  if (model.format !== MODEL_FORMAT || !Array.isArray(model.features) || !Array.isArray(model.weights)) {
    throw new Error(`not a ${MODEL_FORMAT} model file`);
  }
  if (model.weights.length !== featureWidth(model.features)) throw new Error('model weights do not match its features');
  return model as ModelFile;
}
