/**
 * buildTimeline over histories shaped as the service writes them (AWS Step Functions API
 * Reference, HistoryEvent types) for cases local Step Functions does not produce: an execution
 * that timed out or was aborted, a task attempt that timed out, a truncated history.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionHistoryEvent } from '../../../lambdas/api/ports';
import { buildTimeline } from '../../../lambdas/api/timeline';
import type { RunRecord } from '../../../lambdas/shared/contracts';

const RUN = {
  runId: 'churn-1',
  model: 'churn',
  status: 'RUNNING',
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:caretaker-training:churn-1',
  requestedBy: 'arn:aws:sts::123456789012:assumed-role/data-scientist/bob',
  trigger: { kind: 'api', reason: 'r' },
  datasetVersion: 'v1',
  startedAt: '2026-12-01T10:00:00.000Z',
} as unknown as RunRecord & { executionArn: string };

function history(steps: readonly (readonly [type: string, second: number, extra?: Partial<ExecutionHistoryEvent>])[]): ExecutionHistoryEvent[] {
  return steps.map(([type, second, extra], i) => ({ id: i + 1, type, timestamp: new Date(Date.UTC(2026, 11, 1, 10, 0, second)), ...extra }));
}

describe('buildTimeline', () => {
  it('ends the open state as failed when the execution times out, with States.Timeout', () => {
    const t = buildTimeline(RUN, {
      truncated: false,
      events: history([
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, { stateName: 'WaitForApproval' }],
        ['TaskScheduled', 1],
        ['TaskStarted', 1],
        ['ExecutionTimedOut', 50],
      ]),
    });
    expect(t.executionStatus).toBe('TIMED_OUT');
    expect(t.failure).toEqual({ state: 'WaitForApproval', error: 'States.Timeout' });
    expect(t.states).toEqual([
      { state: 'WaitForApproval', type: 'Task', phase: 'waiting for approval', enteredAt: '2026-12-01T10:00:01.000Z', exitedAt: '2026-12-01T10:00:50.000Z', durationMs: 49_000, outcome: 'failed', retries: 0, error: 'States.Timeout' },
    ]);
    expect(t.phases).toEqual([{ phase: 'waiting for approval', enteredAt: '2026-12-01T10:00:01.000Z', exitedAt: '2026-12-01T10:00:50.000Z', durationMs: 49_000, outcome: 'failed' }]);
    expect(t.durationMs).toBe(50_000);
  });

  it('counts every attempt after the first as a retry, a timed-out Lambda attempt included, and keeps the last attempt\'s error', () => {
    const t = buildTimeline(RUN, {
      truncated: true,
      events: history([
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, { stateName: 'StartRun' }],
        ['LambdaFunctionScheduled', 1],
        ['LambdaFunctionStarted', 1],
        ['LambdaFunctionTimedOut', 4, { error: 'States.Timeout' }],
        ['LambdaFunctionScheduled', 6],
        ['LambdaFunctionStarted', 6],
        ['LambdaFunctionFailed', 7, { error: 'Lambda.ServiceException', cause: 'boom' }],
        ['LambdaFunctionScheduled', 9],
        ['LambdaFunctionStarted', 9],
        ['LambdaFunctionSucceeded', 10],
        ['TaskStateExited', 10, { stateName: 'StartRun' }],
        ['TaskStateEntered', 10, { stateName: 'TrainModel' }],
      ]),
    });
    expect(t.truncated).toBe(true);
    expect(t.executionStatus).toBe('RUNNING');
    expect(t.states.map((s) => [s.state, s.outcome, s.retries, s.error])).toEqual([
      ['StartRun', 'succeeded', 2, 'Lambda.ServiceException'],
      ['TrainModel', 'running', 0, undefined],
    ]);
    expect(t.phases.map((p) => [p.phase, p.outcome, p.durationMs])).toEqual([
      ['started', 'succeeded', 9_000],
      ['training', 'running', undefined],
    ]);
  });

  it('reports an aborted execution and one that failed after its states all exited', () => {
    const aborted = buildTimeline(RUN, { truncated: false, events: history([['ExecutionStarted', 0], ['PassStateEntered', 1, { stateName: 'Begin' }], ['ExecutionAborted', 2]]) });
    expect(aborted.failure).toEqual({ state: 'Begin', error: 'Aborted' });
    const failed = buildTimeline(RUN, {
      truncated: false,
      events: history([
        ['ExecutionStarted', 0],
        ['FailStateEntered', 1, { stateName: 'RunFailed' }],
        ['ExecutionFailed', 1, { error: 'Caretaker.TrainingFailed', cause: 'y'.repeat(3000) }],
      ]),
    });
    expect(failed.states[0]).toMatchObject({ state: 'RunFailed', type: 'Fail', phase: 'failed', outcome: 'failed', error: 'Caretaker.TrainingFailed' });
    expect(failed.states[0]!.cause).toHaveLength(1000);
    expect(failed.failure!.cause).toHaveLength(1000);
  });
});
