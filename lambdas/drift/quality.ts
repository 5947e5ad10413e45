/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * The model's objective metric over a window, from predictions joined with ground-truth
 * labels. The metric is the config's `objective.metricName` without its channel prefix
 * (`validation:auc` → `auc`). Binary metrics read a prediction in [0, 1] as a score and
 * threshold it at 0.5; a label must be 0 or 1 for them.
 */
export const QUALITY_METRICS = ['auc', 'accuracy', 'error', 'f1', 'precision', 'recall', 'rmse', 'mse', 'mae'] as const;
export type QualityMetric = (typeof QUALITY_METRICS)[number];

/** The metric a configured objective name maps to, or undefined when Caretaker cannot compute it. */
export function qualityMetricFor(objectiveMetricName: string): QualityMetric | undefined {
  const name = (objectiveMetricName.split(':').pop() ?? '').toLowerCase();
  const aliases: Record<string, QualityMetric> = { acc: 'accuracy', 'binary-error': 'error', 'binary_error': 'error', f1_score: 'f1' };
  return (QUALITY_METRICS as readonly string[]).includes(name) ? (name as QualityMetric) : aliases[name];
}

export class QualityAccumulator {
  private readonly predictions: number[] = [];
  private readonly labels: number[] = [];

  constructor(readonly metric: QualityMetric) {}

  get count(): number {
    return this.labels.length;
  }

  add(prediction: number, label: number): void {
    if (!Number.isFinite(prediction) || !Number.isFinite(label)) return;
    this.predictions.push(prediction);
    this.labels.push(label);
  }

  /** The metric's value, or undefined when there are no (usable) pairs. */
  value(): number | undefined {
    const n = this.labels.length;
    if (n === 0) return undefined;
    const p = this.predictions;
    const y = this.labels;
    switch (this.metric) {
      case 'mse':
      case 'rmse': {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += (p[i]! - y[i]!) ** 2;
        return this.metric === 'mse' ? sum / n : Math.sqrt(sum / n);
      }
      case 'mae': {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += Math.abs(p[i]! - y[i]!);
        return sum / n;
      }
      case 'auc':
        return auc(p, y);
      default:
        return classification(this.metric, p, y);
    }
  }
}

function predictedClass(prediction: number, label: number): number {
  const binary = label === 0 || label === 1;
  return binary && prediction >= 0 && prediction <= 1 ? (prediction >= 0.5 ? 1 : 0) : Math.round(prediction);
}

function classification(metric: 'accuracy' | 'error' | 'f1' | 'precision' | 'recall', p: number[], y: number[]): number | undefined {
  let correct = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = predictedClass(p[i]!, y[i]!);
    if (predicted === y[i]) correct++;
    if (predicted === 1 && y[i] === 1) tp++;
    else if (predicted === 1) fp++;
    else if (y[i] === 1) fn++;
  }
  switch (metric) {
    case 'accuracy':
      return correct / y.length;
    case 'error':
      return 1 - correct / y.length;
    case 'precision':
      return tp + fp === 0 ? undefined : tp / (tp + fp);
    case 'recall':
      return tp + fn === 0 ? undefined : tp / (tp + fn);
    case 'f1':
      return 2 * tp + fp + fn === 0 ? undefined : (2 * tp) / (2 * tp + fp + fn);
  }
}

/** ROC AUC by the rank-sum (Mann–Whitney) formula with average ranks for ties. */
function auc(p: number[], y: number[]): number | undefined {
  const order = Array.from(p.keys()).sort((a, b) => p[a]! - p[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && p[order[j + 1]!] === p[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      const label = y[order[k]!];
      if (label !== 0 && label !== 1) return undefined;
      if (label === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
