/**
 * A run's timeline from its execution history: each state entered, in order, with its
 * duration, retries and outcome, grouped into the run's phases.
 *
 * Read from the HistoryEvent types (AWS Step Functions API Reference, HistoryEvent):
 * `<Type>StateEntered` / `<Type>StateExited` open and close a state (FailStateEntered has no
 * exit); every TaskScheduled / LambdaFunctionScheduled / ActivityScheduled is one attempt of the
 * open state, so attempts after the first are retries; a failure event (TaskFailed, …TimedOut,
 * …StartFailed) is the attempt's error; Execution{Failed,TimedOut,Aborted} ends the state still
 * open as failed. The training pipeline runs one state at a time (no Parallel, no inline Map),
 * so task events belong to the state entered last.
 */
import type { RunRecord } from '../shared/contracts';
import type { ExecutionHistoryEvent } from './ports';
import { RUN_PHASES, type RunTimeline } from './schemas';

/** Longest cause a timeline carries (a SageMaker Describe output as a Cause can run to kilobytes). */
export const MAX_CAUSE_LENGTH = 1000;

type Phase = (typeof RUN_PHASES)[number];
type TimelineState = RunTimeline['states'][number];

/**
 * The states of `state-machines/training-pipeline.asl.json` where a phase begins; every other
 * state is in the phase of the last of these entered before it (a test checks these names are the
 * ASL's). StartRun…ChooseInstanceType are `started`, the training retry loop is `training`, the
 * gate and RegisterVersion `evaluation`, the rejection and expiry paths `waiting for approval`,
 * StartDeployment through the DescribeEndpoint polling `deploying`.
 */
export const PHASE_STARTS: Readonly<Record<string, Phase>> = {
  RunKind: 'started',
  TrainModel: 'training',
  HasChampion: 'evaluation',
  WaitForApproval: 'waiting for approval',
  StartDeployment: 'deploying',
  RecordDeployment: 'live',
  RecordBatchDeployment: 'live',
  RollbackRefused: 'failed',
  DescribeEndpointAfterFailure: 'failed',
  RecordDeployFailure: 'failed',
  RecordFailure: 'failed',
  PublishFailureAlert: 'failed',
  RunFailed: 'failed',
};

const ENDS: Readonly<Record<string, RunTimeline['executionStatus']>> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};
const ATTEMPT = /^(Task|LambdaFunction|Activity)Scheduled$/;
const ATTEMPT_FAILED = /^(Task|LambdaFunction|Activity)(Failed|TimedOut|StartFailed|SubmitFailed|ScheduleFailed)$/;
const ENTERED = /^([A-Za-z]+)StateEntered$/;
const EXITED = /^([A-Za-z]+)StateExited$/;

export function truncateCause(cause: string | undefined): string | undefined {
  if (cause === undefined || cause.length <= MAX_CAUSE_LENGTH) return cause;
  return `${cause.slice(0, MAX_CAUSE_LENGTH - 1)}…`;
}

interface Open {
  state: string;
  type: string;
  phase: Phase;
  entered: Date;
  exited?: Date;
  attempts: number;
  /** The last attempt failed (no later attempt scheduled). */
  lastAttemptFailed: boolean;
  outcome: TimelineState['outcome'];
  error?: string;
  cause?: string;
}

const ms = (from: Date, to: Date) => Math.max(0, to.getTime() - from.getTime());

export function buildTimeline(
  run: RunRecord & { readonly executionArn: string },
  history: { readonly events: readonly ExecutionHistoryEvent[]; readonly truncated: boolean },
): RunTimeline {
  const states: Open[] = [];
  let phase: Phase = 'started';
  let started: Date | undefined;
  let stopped: Date | undefined;
  let executionStatus: RunTimeline['executionStatus'] = 'RUNNING';
  let failure: RunTimeline['failure'];
  for (const event of history.events) {
    const current = states.at(-1);
    const open = current && current.exited === undefined ? current : undefined;
    const entered = ENTERED.exec(event.type);
    const exited = EXITED.exec(event.type);
    if (event.type === 'ExecutionStarted') {
      started = event.timestamp;
    } else if (entered && event.stateName !== undefined) {
      phase = PHASE_STARTS[event.stateName] ?? phase;
      states.push({ state: event.stateName, type: entered[1] ?? 'Unknown', phase, entered: event.timestamp, attempts: 0, lastAttemptFailed: false, outcome: 'running' });
    } else if (exited && open) {
      open.exited = event.timestamp;
      open.outcome = open.lastAttemptFailed ? 'caught' : 'succeeded';
    } else if (ATTEMPT.test(event.type) && open) {
      open.attempts += 1;
      open.lastAttemptFailed = false;
    } else if (ATTEMPT_FAILED.test(event.type) && open) {
      open.lastAttemptFailed = true;
      if (event.error !== undefined) open.error = event.error;
      if (event.cause !== undefined) open.cause = event.cause;
    } else if (ENDS[event.type]) {
      executionStatus = ENDS[event.type] ?? executionStatus;
      stopped = event.timestamp;
      if (executionStatus !== 'SUCCEEDED') {
        const error = event.error ?? (executionStatus === 'TIMED_OUT' ? 'States.Timeout' : executionStatus === 'ABORTED' ? 'Aborted' : 'States.Failed');
        failure = { ...(open ? { state: open.state } : {}), error, ...(event.cause !== undefined ? { cause: truncateCause(event.cause) } : {}) };
        if (open) {
          open.exited = event.timestamp;
          open.outcome = 'failed';
          open.error = error;
          if (event.cause !== undefined) open.cause = event.cause;
        }
      }
    }
  }
  const timelineStates: TimelineState[] = states.map((s) => ({
    state: s.state,
    type: s.type,
    phase: s.phase,
    enteredAt: s.entered.toISOString(),
    ...(s.exited ? { exitedAt: s.exited.toISOString(), durationMs: ms(s.entered, s.exited) } : {}),
    outcome: s.outcome,
    retries: Math.max(0, s.attempts - 1),
    ...(s.error !== undefined ? { error: s.error } : {}),
    ...(s.cause !== undefined ? { cause: truncateCause(s.cause) } : {}),
  }));
  // Consecutive states of one phase are that phase: from the first one's entry to the last one's exit.
  const groups: Open[][] = [];
  for (const s of states) {
    const group = groups.at(-1);
    if (group?.[0]?.phase === s.phase) group.push(s);
    else groups.push([s]);
  }
  const phases: RunTimeline['phases'] = groups.map((group) => {
    const first = group[0] as Open;
    const last = group.at(-1) as Open;
    const outcome = group.some((s) => s.outcome === 'failed') ? 'failed' : last.outcome === 'running' ? 'running' : 'succeeded';
    return {
      phase: first.phase,
      enteredAt: first.entered.toISOString(),
      ...(last.exited ? { exitedAt: last.exited.toISOString(), durationMs: ms(first.entered, last.exited) } : {}),
      outcome,
    };
  });
  const startedAt = started ?? new Date(run.startedAt);
  return {
    runId: run.runId,
    executionArn: run.executionArn,
    status: run.status,
    executionStatus,
    startedAt: startedAt.toISOString(),
    ...(stopped ? { stoppedAt: stopped.toISOString(), durationMs: ms(startedAt, stopped) } : {}),
    phases,
    states: timelineStates,
    ...(failure ? { failure } : {}),
    ...(history.truncated ? { truncated: true } : {}),
  };
}
