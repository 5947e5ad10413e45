import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BATCH_SCORING_DEFINITION } from '../../lib/constructs/batch-scoring';
import { STEPS_FUNCTION_TIMEOUT } from '../../lib/constructs/training-pipeline';

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Next?: string;
}

describe('state-machines/batch-scoring.asl.json', () => {
  const asl = JSON.parse(readFileSync(BATCH_SCORING_DEFINITION, 'utf8')) as { StartAt: string; States: Record<string, State> };
  const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');

  it('gives every Task a timeout, a retry and a catch-all that leads to a state that exists', () => {
    expect(tasks.length).toBeGreaterThanOrEqual(5);
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll, name).toBeDefined();
      expect(asl.States[catchAll!.Next], name).toBeDefined();
    }
  });

  it('outlasts the functions it invokes (RELIABILITY 26): steps 15 min, the analyzer 5 min', () => {
    for (const [name, state] of tasks) {
      if (state.Resource === '${StepsFunctionArn}') expect(state.TimeoutSeconds, name).toBeGreaterThan(STEPS_FUNCTION_TIMEOUT.toSeconds());
      if (state.Resource === '${DriftAnalyzerArn}') expect(state.TimeoutSeconds, name).toBeGreaterThan(300);
    }
  });

  it('moves latest.json only on the success path: no Catch leads to RecordScoring', () => {
    for (const [, state] of tasks) for (const c of state.Catch ?? []) expect(c.Next).not.toBe('RecordScoring');
    expect(asl.States.ScoreBatch!.Next).toBe('RecordScoring');
  });
});
