/** Binary classification metrics on predicted probabilities. */

/** Area under the ROC curve (Mann–Whitney, ties counted half). 0.5 when a class is missing. */
export function auc(labels: readonly number[], scores: readonly number[]): number {
  const pairs = scores.map((score, i) => ({ score, positive: labels[i] === 1 })).sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  let ranked = 0;
  let group = { score: Number.NaN, size: 0, positives: 0 };
  const closeGroup = () => {
    // Tied scores share the average of the ranks they span.
    rankSum += group.positives * (ranked + (group.size + 1) / 2);
    ranked += group.size;
  };
  for (const pair of pairs) {
    if (pair.score !== group.score) {
      closeGroup();
      group = { score: pair.score, size: 0, positives: 0 };
    }
    group.size += 1;
    if (pair.positive) {
      group.positives += 1;
      positives += 1;
    }
  }
  closeGroup();
  const negatives = pairs.length - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function accuracy(labels: readonly number[], scores: readonly number[], threshold = 0.5): number {
  if (labels.length === 0) return 0;
  const correct = labels.filter((y, i) => ((scores[i] ?? 0) >= threshold ? 1 : 0) === y).length;
  return correct / labels.length;
}

export function logLoss(labels: readonly number[], scores: readonly number[]): number {
  if (labels.length === 0) return 0;
  const eps = 1e-15;
  const total = labels.reduce((sum, y, i) => {
    const p = Math.min(1 - eps, Math.max(eps, scores[i] ?? 0.5));
    return sum - (y * Math.log(p) + (1 - y) * Math.log(1 - p));
  }, 0);
  return total / labels.length;
}

export interface Scores {
  readonly auc: number;
  readonly accuracy: number;
  readonly logloss: number;
}

export function score(labels: readonly number[], probabilities: readonly number[]): Scores {
  return {
    auc: auc(labels, probabilities),
    accuracy: accuracy(labels, probabilities),
    logloss: logLoss(labels, probabilities),
  };
}

/** `{ "validation:auc": …, … }` — the metric names the config's objective and gate use. */
export function prefixed(prefix: string, scores: Scores): Record<string, number> {
  return {
    [`${prefix}:auc`]: round(scores.auc),
    [`${prefix}:accuracy`]: round(scores.accuracy),
    [`${prefix}:logloss`]: round(scores.logloss),
  };
}

export const round = (value: number) => Math.round(value * 1e6) / 1e6;
