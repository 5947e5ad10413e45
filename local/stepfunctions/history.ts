/**
 * GetExecutionHistory for local Step Functions: the interpreter's event log (runner.ts
 * `RunnerEvent`, from aws-local-stepfunctions' `eventLogs`) as the service's `HistoryEvent`s.
 *
 * Sources: AWS Step Functions API Reference, "GetExecutionHistory" (ascending `timestamp` order
 * unless `reverseOrder`; `maxResults` default 100, at most 1000, 0 = the default; `nextToken` for
 * the next page with the other arguments unchanged, an unusable one is HTTP 400 `InvalidToken`;
 * `includeExecutionData` (default true) selects whether execution data — input or output of a
 * history event — is returned; an unknown execution is `ExecutionDoesNotExist`) and "HistoryEvent"
 * (`id` sequential from 1, `previousEventId`, `timestamp`, `type`, one `…EventDetails` member per
 * type); the member shapes are @aws-sdk/client-sfn's (`StateEnteredEventDetails.name`/`input`,
 * `TaskScheduledEventDetails.resourceType`/`resource`/`region`/`parameters` — `parameters` is a
 * required member there, so it is returned whatever includeExecutionData says —,
 * `TaskFailedEventDetails.error`/`cause`, `LambdaFunction…EventDetails`, `ExecutionFailedEventDetails`).
 *
 * What is modelled, from what the interpreter logs:
 * - ExecutionStarted / ExecutionSucceeded / ExecutionFailed (error, cause).
 * - `<Type>StateEntered` / `<Type>StateExited` for Task, Pass, Choice, Wait, Succeed, Map, Parallel;
 *   a Fail state has FailStateEntered only (the execution fails in it).
 * - A Task's attempts: an optimized or SDK integration (`arn:aws:states:::<service>:<action>`) is
 *   TaskScheduled, TaskStarted, then TaskSucceeded or TaskFailed (TaskTimedOut for States.Timeout /
 *   States.HeartbeatTimeout); a Lambda function ARN as Resource is LambdaFunctionScheduled /
 *   Started / Succeeded / Failed / TimedOut. Each retry (the interpreter's StateRetried) schedules
 *   the task again. The interpreter logs no start of an attempt, so Scheduled and Started carry the
 *   time the state was entered (first attempt) or retried.
 * Not modelled (the interpreter does not show them): TaskSubmitted for `.sync`/`.waitForTaskToken`,
 * Map iterations and Parallel branches, aborts and execution timeouts, `inputDetails.truncated`.
 * `previousEventId` is the event logged just before (this history is one linear sequence).
 */
import type { RunnerEvent } from './runner';

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  /** Epoch seconds, as JSON 1.0 carries timestamps. */
  readonly timestamp: number;
  readonly type: string;
  readonly [details: string]: unknown;
}

const STATE_EVENT_TYPES: Readonly<Record<string, string>> = { Task: 'TaskState', Pass: 'PassState', Choice: 'ChoiceState', Wait: 'WaitState', Succeed: 'SucceedState', Fail: 'FailState', Map: 'MapState', Parallel: 'ParallelState' };
const TIMEOUTS = new Set(['States.Timeout', 'States.HeartbeatTimeout']);

const json = (value: unknown) => JSON.stringify(value ?? null);

interface TaskResource {
  readonly lambda: boolean;
  readonly resourceType: string;
  readonly resource: string;
}

/** `arn:aws:states:::sagemaker:createTrainingJob.sync` → sagemaker / createTrainingJob.sync; `…:::aws-sdk:ssm:getParameter` → aws-sdk:ssm / getParameter; a Lambda ARN → a Lambda function task. */
function taskResource(resource: string): TaskResource {
  if (resource.startsWith('arn:aws:lambda:')) return { lambda: true, resourceType: 'lambda', resource };
  const integration = /^arn:aws:states:::(.+)$/.exec(resource)?.[1];
  if (!integration) return { lambda: false, resourceType: 'local', resource };
  const parts = integration.split(':');
  const action = parts.pop() ?? '';
  return { lambda: false, resourceType: parts.join(':'), resource: action };
}

/** The execution's history, oldest first, from the interpreter's events. */
export function historyOf(
  events: readonly RunnerEvent[],
  options: {
    readonly region: string;
    readonly includeExecutionData: boolean;
    /** Each attempt's effective parameters by state, in call order (runner.ts `onTaskParameters`): the k-th TaskScheduled of a state is its k-th call. */
    readonly parameters: ReadonlyMap<string, readonly unknown[]>;
  },
): HistoryEvent[] {
  const scheduledCount = new Map<string, number>();
  const history: HistoryEvent[] = [];
  const data = options.includeExecutionData;
  const push = (timestamp: number, type: string, details?: Record<string, unknown>) => {
    const id = history.length + 1;
    history.push({ id, previousEventId: id - 1, timestamp: timestamp / 1000, type, ...details });
  };
  const schedule = (event: RunnerEvent, stateName: string, task: TaskResource) => {
    const attempt = scheduledCount.get(stateName) ?? 0;
    scheduledCount.set(stateName, attempt + 1);
    const parameters = options.parameters.get(stateName)?.[attempt];
    if (task.lambda) {
      push(event.timestamp, 'LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: task.resource, ...(data ? { input: json(parameters) } : {}) } });
      push(event.timestamp, 'LambdaFunctionStarted');
      return;
    }
    const scheduled = { resourceType: task.resourceType, resource: task.resource, region: options.region, parameters: json(parameters) };
    push(event.timestamp, 'TaskScheduled', { taskScheduledEventDetails: scheduled });
    push(event.timestamp, 'TaskStarted', { taskStartedEventDetails: { resourceType: task.resourceType, resource: task.resource } });
  };
  for (const event of events) {
    const state = event.state;
    const prefix = state ? STATE_EVENT_TYPES[state.type] : undefined;
    const task = state?.type === 'Task' && state.resource !== undefined ? taskResource(state.resource) : undefined;
    switch (event.type) {
      case 'ExecutionStarted':
        push(event.timestamp, 'ExecutionStarted', { executionStartedEventDetails: data ? { input: json(event.input) } : {} });
        break;
      case 'ExecutionSucceeded':
        push(event.timestamp, 'ExecutionSucceeded', { executionSucceededEventDetails: data ? { output: json(event.output) } : {} });
        break;
      case 'ExecutionFailed':
        push(event.timestamp, 'ExecutionFailed', { executionFailedEventDetails: { error: event.error, cause: event.cause } });
        break;
      case 'StateEntered':
        if (!state || !prefix) break;
        push(event.timestamp, `${prefix}Entered`, { stateEnteredEventDetails: { name: state.name, ...(data ? { input: json(event.input) } : {}) } });
        if (task) schedule(event, state.name, task);
        break;
      case 'StateRetried':
        if (task && state) schedule(event, state.name, task);
        break;
      case 'StateFailed': {
        // A Fail state's or a Choice's failure is the execution's (ExecutionFailed follows); only a task attempt has its own event.
        if (!task) break;
        const timedOut = TIMEOUTS.has(event.error ?? '');
        const kind = task.lambda ? 'LambdaFunction' : 'Task';
        const type = `${kind}${timedOut ? 'TimedOut' : 'Failed'}`;
        const detailsKey = `${kind === 'Task' ? 'task' : 'lambdaFunction'}${timedOut ? 'TimedOut' : 'Failed'}EventDetails`;
        push(event.timestamp, type, { [detailsKey]: { ...(task.lambda ? {} : { resourceType: task.resourceType, resource: task.resource }), error: event.error, cause: event.cause } });
        break;
      }
      case 'StateExited':
        if (!state || !prefix || state.type === 'Fail') break;
        if (task) {
          // The interpreter logs StateExited after the last attempt succeeded, or after a Catch took the failure (TaskFailed is then already there).
          const last = history.at(-1)?.type ?? '';
          if (!/(Failed|TimedOut)$/.test(last)) {
            push(event.timestamp, task.lambda ? 'LambdaFunctionSucceeded' : 'TaskSucceeded', {
              [task.lambda ? 'lambdaFunctionSucceededEventDetails' : 'taskSucceededEventDetails']: {
                ...(task.lambda ? {} : { resourceType: task.resourceType, resource: task.resource }),
                ...(data ? { output: json(event.output) } : {}),
              },
            });
          }
        }
        push(event.timestamp, `${prefix}Exited`, { stateExitedEventDetails: { name: state.name, ...(data ? { output: json(event.output) } : {}) } });
        break;
      case 'StateCaught':
        break;
    }
  }
  return history;
}
