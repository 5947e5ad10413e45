/**
 * The champion/challenger gate: a pure function of the evaluation report and the model's gate
 * settings. The candidate passes only if it meets every absolute threshold and, when there is a
 * champion, beats it on the objective metric by at least `minImprovement` in the objective's
 * direction. Without a champion, the thresholds alone decide.
 */
import type { MetricComparison } from '../shared/contracts';
import { Invalid } from '../shared/errors';
import type { EvaluationReport, GateSettings, Objective } from './settings';

/** Scores that differ by less than this are equal (floating-point noise from the evaluator). */
const EPSILON = 1e-9;

export interface GateInput {
  readonly objective: Objective;
  readonly gate: GateSettings;
  readonly report: EvaluationReport;
  /** The LIVE version the candidate is compared with, if any. */
  readonly championVersion?: number;
}

export interface GateDecision {
  readonly passed: boolean;
  /** Why it failed, one line per unmet condition; empty when it passed. */
  readonly reasons: readonly string[];
  readonly comparison: MetricComparison;
  readonly metrics: Readonly<Record<string, number>>;
}

export function decideGate({ objective, gate, report, championVersion }: GateInput): GateDecision {
  const metrics = report.candidate.metrics;
  const reasons: string[] = [];
  const candidate = metrics[objective.metricName];
  // A report without the objective is a broken evaluator, not a worse model: fail the run.
  if (candidate === undefined) throw new Invalid(`the evaluation report has no ${objective.metricName} score for the candidate`);

  for (const [metric, { min, max }] of Object.entries(gate.thresholds)) {
    const score = metrics[metric];
    if (score === undefined) reasons.push(`the candidate has no ${metric} score (threshold set)`);
    else if (min !== undefined && score < min - EPSILON) reasons.push(`${metric} ${score} is below the minimum ${min}`);
    else if (max !== undefined && score > max + EPSILON) reasons.push(`${metric} ${score} is above the maximum ${max}`);
  }

  const championScore = championVersion !== undefined ? report.champion?.metrics[objective.metricName] : undefined;
  if (championScore !== undefined) {
    const improvement = objective.direction === 'maximize' ? candidate - championScore : championScore - candidate;
    if (improvement < gate.minImprovement - EPSILON) {
      reasons.push(
        `${objective.metricName} ${candidate} does not beat the champion (v${championVersion}) ${championScore} ` +
          `by ${gate.minImprovement} (${objective.direction})`,
      );
    }
  }

  return {
    passed: reasons.length === 0,
    reasons,
    metrics,
    comparison: {
      metricName: objective.metricName,
      direction: objective.direction,
      candidate,
      ...(championScore !== undefined ? { champion: championScore, championVersion } : {}),
    },
  };
}
