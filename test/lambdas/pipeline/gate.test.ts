import { describe, expect, it } from 'vitest';
import { decideGate } from '../../../lambdas/pipeline/gate';
import type { GateSettings, Objective } from '../../../lambdas/pipeline/settings';

const auc: Objective = { metricName: 'validation:auc', direction: 'maximize' };
const rmse: Objective = { metricName: 'validation:rmse', direction: 'minimize' };
const gate = (minImprovement: number, thresholds: GateSettings['thresholds'] = {}): GateSettings => ({ minImprovement, thresholds });
const report = (candidate: Record<string, number>, champion?: Record<string, number>) => ({
  candidate: { metrics: candidate },
  champion: champion ? { metrics: champion } : null,
});

describe('decideGate', () => {
  it('passes a candidate that beats the champion by at least minImprovement (maximize)', () => {
    const decision = decideGate({ objective: auc, gate: gate(0.005), report: report({ 'validation:auc': 0.91 }, { 'validation:auc': 0.9 }), championVersion: 3 });
    expect(decision).toMatchObject({ passed: true, reasons: [], comparison: { candidate: 0.91, champion: 0.9, championVersion: 3, direction: 'maximize' } });
  });

  it('rejects a candidate that is better by less than minImprovement, recording both scores', () => {
    const decision = decideGate({ objective: auc, gate: gate(0.005), report: report({ 'validation:auc': 0.903 }, { 'validation:auc': 0.9 }), championVersion: 3 });
    expect(decision.passed).toBe(false);
    expect(decision.comparison).toMatchObject({ candidate: 0.903, champion: 0.9 });
    expect(decision.reasons[0]).toMatch(/does not beat the champion \(v3\)/);
  });

  it('is direction-aware: a lower error beats the champion when minimizing', () => {
    expect(decideGate({ objective: rmse, gate: gate(0.1), report: report({ 'validation:rmse': 1.2 }, { 'validation:rmse': 1.5 }), championVersion: 1 }).passed).toBe(true);
    expect(decideGate({ objective: rmse, gate: gate(0.1), report: report({ 'validation:rmse': 1.5 }, { 'validation:rmse': 1.2 }), championVersion: 1 }).passed).toBe(false);
  });

  it('judges a first candidate (no champion) on the absolute thresholds alone', () => {
    const thresholds = { 'validation:auc': { min: 0.7 }, 'validation:logloss': { max: 0.5 } };
    expect(decideGate({ objective: auc, gate: gate(0.005, thresholds), report: report({ 'validation:auc': 0.72, 'validation:logloss': 0.4 }) })).toMatchObject({
      passed: true,
      comparison: { candidate: 0.72 },
    });
    const failing = decideGate({ objective: auc, gate: gate(0.005, thresholds), report: report({ 'validation:auc': 0.65, 'validation:logloss': 0.6 }) });
    expect(failing.reasons).toEqual(['validation:auc 0.65 is below the minimum 0.7', 'validation:logloss 0.6 is above the maximum 0.5']);
    expect(failing.comparison).not.toHaveProperty('champion');
  });

  it('rejects a candidate that beats the champion but misses an absolute threshold', () => {
    const decision = decideGate({ objective: auc, gate: gate(0, { 'validation:auc': { min: 0.95 } }), report: report({ 'validation:auc': 0.93 }, { 'validation:auc': 0.9 }), championVersion: 2 });
    expect(decision.passed).toBe(false);
  });

  it('rejects a candidate missing a metric that has a threshold', () => {
    const decision = decideGate({ objective: auc, gate: gate(0, { 'validation:f1': { min: 0.5 } }), report: report({ 'validation:auc': 0.93 }) });
    expect(decision.reasons).toEqual(['the candidate has no validation:f1 score (threshold set)']);
  });

  it('fails (does not reject) when the report lacks the objective metric: the evaluator is broken', () => {
    expect(() => decideGate({ objective: auc, gate: gate(0), report: report({ accuracy: 0.9 }) })).toThrow(/no validation:auc score/);
  });
});
