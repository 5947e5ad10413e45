/**
 * Runs an ASL file on one machine with `aws-local-stepfunctions`: `${…}` substitutions applied
 * as CloudFormation would, and every Task state's resource (a Lambda ARN, `sagemaker:*.sync`,
 * `sns:publish`, `aws-sdk:*`, `lambda:invoke.waitForTaskToken`) mapped to a local function.
 * Offline tests use it with recorded SageMaker responses; local mode reuses it behind a local
 * Step Functions endpoint, answering task tokens through `sendTaskSuccess`/`sendTaskFailure`.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { TaskError } from './task-error';
import { DISTRIBUTED_MAP_FIELDS, isDistributedMap, runDistributedMap, type DistributedMapState } from './distributed-map';

// aws-local-stepfunctions@3 calls Promise.withResolvers (Node 22+); Node 20 lacks it.
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export { TaskError } from './task-error';

/**
 * A Task's effective parameters (after `Parameters` is applied) → its raw result (before
 * `ResultSelector`). Throw a `TaskError` to fail the task with that error name.
 */
export type TaskHandler = (parameters: unknown, task: { readonly stateName: string; readonly taskToken: string }) => unknown;

export interface RunPipelineOptions {
  /** The ASL text with `${Placeholder}`s, as in `state-machines/*.asl.json`. */
  readonly definition: string;
  /** Values for every placeholder (as `definitionSubstitutions`). */
  readonly substitutions: Readonly<Record<string, string>>;
  /** Handlers by resource ARN (after substitution). Every Task resource needs one. */
  readonly taskHandlers: Readonly<Record<string, TaskHandler>>;
  readonly input: unknown;
  /** The execution name (`$$.Execution.Name`); default: a random UUID. */
  readonly executionName?: string;
  /** `$$.Execution.Id`; default: a local ARN built from the name. */
  readonly executionArn?: string;
  /** Run Wait states and Retry intervals without sleeping (tests, benchmarks). @default false */
  readonly skipWaits?: boolean;
  /** With `skipWaits`: Wait states take this many milliseconds instead of none (local mode polls real work). @default 0 */
  readonly waitMs?: number;
  /** S3 (moto) for Distributed Map states' ItemReader and ResultWriter (distributed-map.ts). @default - such a state fails, saying so */
  readonly s3?: S3Client;
  /**
   * Told of every event the interpreter logs (`execution.eventLogs` of aws-local-stepfunctions),
   * as it happens: local Step Functions builds GetExecutionHistory from them (service.ts).
   */
  readonly onEvent?: (event: RunnerEvent) => void;
  /** Told of each task attempt's effective parameters (after `Parameters`), in call order: GetExecutionHistory's TaskScheduled carries them. */
  readonly onTaskParameters?: (stateName: string, parameters: unknown) => void;
}

/**
 * One event of aws-local-stepfunctions' event log (its `EventLog` types: ExecutionStarted/
 * Succeeded/Failed, StateEntered/Exited/Failed/Retried/Caught), with the state's ASL type and
 * resource as the definition had them (a Distributed Map the runner turns into a Task is `Map`).
 */
export interface RunnerEvent {
  readonly type: 'ExecutionStarted' | 'ExecutionSucceeded' | 'ExecutionFailed' | 'StateEntered' | 'StateExited' | 'StateFailed' | 'StateRetried' | 'StateCaught';
  /** Epoch milliseconds, as the library stamps it when it dispatches the event. */
  readonly timestamp: number;
  readonly state?: { readonly name: string; readonly type: string; readonly resource?: string };
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

export interface LocalExecution {
  readonly executionArn: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Names of the states entered, in order (one entry per state transition). */
  readonly states: readonly string[];
  /** Retries Step Functions would have made, by state name. */
  readonly retries: Readonly<Record<string, number>>;
}

/** Replaces `${Name}` as CloudFormation's DefinitionSubstitutions does; an unknown name is an error. */
export function substitute(definition: string, substitutions: Readonly<Record<string, string>>): string {
  return definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}}`);
    return value;
  });
}

/** `${Name}` placeholders used by an ASL text. */
export function placeholdersOf(definition: string): Set<string> {
  return new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] ?? ''));
}

interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: unknown;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSecondsPath?: string;
}

/** Resolves a reference path such as `$.config.model.approval.timeoutSeconds`. */
function resolvePath(root: unknown, path: string): unknown {
  let node = root;
  for (const part of path.replace(/^\$\.?/, '').split('.').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The longest timer Node keeps (2^31 - 1 ms, ~24.8 days); longer limits are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const UNBOUNDED_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/**
 * aws-local-stepfunctions resolves `TimeoutSecondsPath` against the task's effective
 * parameters; Step Functions resolves it against the state input. So every Task is rewritten
 * to receive both (`__raw` = state input, `__params` = its Parameters), and the runner applies
 * `TimeoutSecondsPath` / `HeartbeatSecondsPath` itself, against the state input, like the service.
 */
function prepareTask(state: AslState) {
  const timeoutPath = state.TimeoutSecondsPath;
  const heartbeatPath = state.HeartbeatSecondsPath;
  delete state.TimeoutSecondsPath;
  delete state.HeartbeatSecondsPath;
  if (timeoutPath ?? heartbeatPath) state.TimeoutSeconds = UNBOUNDED_SECONDS;
  state.Parameters = { '__raw.$': '$', ...(state.Parameters === undefined ? { '__params.$': '$' } : { __params: state.Parameters }) };
  return (raw: unknown): { seconds: number; error: string } | undefined => {
    const timeout = timeoutPath ? Number(resolvePath(raw, timeoutPath)) : Number.POSITIVE_INFINITY;
    const heartbeat = heartbeatPath ? Number(resolvePath(raw, heartbeatPath)) : Number.POSITIVE_INFINITY;
    if (!Number.isFinite(Math.min(timeout, heartbeat))) return undefined;
    // Nobody sends heartbeats locally: whichever limit is shorter fires.
    return heartbeat < timeout ? { seconds: heartbeat, error: 'States.HeartbeatTimeout' } : { seconds: timeout, error: 'States.Timeout' };
  };
}

async function withTimeout<T>(work: Promise<T>, limit: { seconds: number; error: string } | undefined): Promise<T> {
  if (!limit) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TaskError(limit.error, `no answer within ${limit.seconds} s`)), Math.min(limit.seconds * 1000, MAX_TIMER_MS));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tokens handed out by waitForTaskToken tasks and still waiting for an answer. */
const pendingTokens = new Map<string, { resolve: (output: unknown) => void; reject: (error: Error) => void }>();

/** Completes a waiting task (as SendTaskSuccess). Returns false if the token is unknown or used. */
export function sendTaskSuccess(taskToken: string, output: unknown): boolean {
  const pending = pendingTokens.get(taskToken);
  if (!pending) return false;
  pendingTokens.delete(taskToken);
  pending.resolve(output);
  return true;
}

/** Fails a waiting task (as SendTaskFailure). Returns false if the token is unknown or used. */
export function sendTaskFailure(taskToken: string, error: string, cause: string): boolean {
  const pending = pendingTokens.get(taskToken);
  if (!pending) return false;
  pendingTokens.delete(taskToken);
  pending.reject(new TaskError(error, cause));
  return true;
}

/**
 * A waitForTaskToken resource handler: runs `start` (e.g. the Lambda that stores the token),
 * then waits until someone calls `sendTaskSuccess`/`sendTaskFailure` with the token.
 */
export function waitForTaskToken(start: TaskHandler): TaskHandler {
  return async (parameters, task) => {
    const answered = new Promise<unknown>((resolve, reject) => pendingTokens.set(task.taskToken, { resolve, reject }));
    try {
      await start(parameters, task);
    } catch (error) {
      pendingTokens.delete(task.taskToken);
      throw error;
    }
    return answered;
  };
}

export async function runPipelineLocally(options: RunPipelineOptions): Promise<LocalExecution> {
  const definition = JSON.parse(substitute(options.definition, options.substitutions)) as {
    States: Record<string, AslState>;
    TimeoutSeconds?: number;
  };
  // aws-local-stepfunctions times an execution (top-level TimeoutSeconds) and a task with one
  // setTimeout; Node fires a delay past 2^31-1 ms (24.8 days) at once, failing the execution with
  // ExecutionTimeoutError at its first state. The pipeline's execution bound can be longer (weeks
  // of approval plus training); no local run lasts 24 days, so cap the timers there.
  if (definition.TimeoutSeconds !== undefined) definition.TimeoutSeconds = Math.min(definition.TimeoutSeconds, UNBOUNDED_SECONDS);
  const executionName = options.executionName ?? randomUUID();
  const executionArn = options.executionArn ?? `arn:aws:states:local:000000000000:execution:training-pipeline:${executionName}`;
  // One callback task per execution in this ASL; a token per execution is enough.
  const taskToken = `local-token-${executionName}-${randomUUID()}`;

  const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  // Distributed Map states (top level) become Tasks run by distributed-map.ts: the library runs Map states inline only.
  const arnParts = /^arn:aws:states:([^:]+):([^:]+):execution:([^:]+):/.exec(executionArn);
  const declared = new Map(Object.entries(definition.States).map(([name, state]) => [name, { type: state.Type, resource: state.Resource }]));
  for (const [stateName, state] of Object.entries(definition.States)) {
    const fields = state as unknown as Record<string, unknown>;
    if (!isDistributedMap(fields)) continue;
    const map = { ...fields } as DistributedMapState;
    const task = Object.fromEntries(Object.entries(fields).filter(([field]) => !(DISTRIBUTED_MAP_FIELDS as readonly string[]).includes(field)));
    for (const field of Object.keys(fields)) if (!(field in task)) Reflect.deleteProperty(fields, field);
    state.Type = 'Task';
    state.Resource = `local:distributed-map:${stateName}`;
    if (options.skipWaits) retryIntervalOverrides[stateName] = 0;
    taskResourceLocalHandlers[stateName] = (input) =>
      runDistributedMap(map, input, {
        stateName,
        s3: options.s3,
        region: arnParts?.[1] ?? 'local',
        accountId: arnParts?.[2] ?? '000000000000',
        stateMachineName: arnParts?.[3] ?? 'local',
        context: { Execution: { Id: executionArn, Name: executionName, Input: options.input } },
        runChild: (child, input, name, arn) =>
          // A child execution has a history of its own (Map Run child executions): its events are not the parent's.
          runPipelineLocally({ ...options, onEvent: undefined, onTaskParameters: undefined, definition: JSON.stringify(child), substitutions: {}, input, executionName: name, executionArn: arn }),
      });
  }
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Resource?.startsWith('local:distributed-map:')) continue;
    if (options.skipWaits && state.Type === 'Wait') waitTimeOverrides[stateName] = options.waitMs ?? 0;
    if (state.Type !== 'Task' || !state.Resource) continue;
    if (options.skipWaits) retryIntervalOverrides[stateName] = 0;
    const handler = options.taskHandlers[state.Resource];
    if (!handler) throw new Error(`state ${stateName}: no local handler for resource ${state.Resource}`);
    if (state.TimeoutSeconds !== undefined) state.TimeoutSeconds = Math.min(state.TimeoutSeconds, UNBOUNDED_SECONDS);
    const limitFor = prepareTask(state);
    taskResourceLocalHandlers[stateName] = async (input) => {
      const { __raw: raw, __params: parameters } = input as { __raw: unknown; __params: unknown };
      options.onTaskParameters?.(stateName, parameters);
      return withTimeout(Promise.resolve(handler(parameters, { stateName, taskToken })), limitFor(raw));
    };
  }

  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never, waitTimeOverrides, retryIntervalOverrides },
    context: {
      Execution: { Id: executionArn, Name: executionName, Input: options.input as never, StartTime: new Date().toISOString() },
      Task: { Token: taskToken },
    },
  });

  const states: string[] = [];
  const retries: Record<string, number> = {};
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') states.push(event.state.name);
      if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
      if (options.onEvent) {
        const recorded = toRunnerEvent(event, declared);
        if (recorded) options.onEvent(recorded);
      }
    }
  })();

  try {
    const output: unknown = await execution.result;
    await collecting;
    return { executionArn, status: 'SUCCEEDED', output, states, retries };
  } catch (error) {
    await collecting.catch(() => undefined);
    // ExecutionError wraps what failed the execution: a Fail state's Error/Cause, or an uncaught task error.
    const failure = error instanceof Error && error.cause instanceof Error ? error.cause : (error as Error);
    return {
      executionArn,
      status: 'FAILED',
      error: failure.name,
      cause: failure.message,
      states,
      retries,
    };
  } finally {
    pendingTokens.delete(taskToken);
  }
}

/** The fields of aws-local-stepfunctions' `EventLog` events (main.d.ts) read here. */
interface LibraryEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly index?: number;
  readonly state?: { readonly name: string; readonly input?: unknown; readonly output?: unknown };
  readonly input?: unknown;
  readonly output?: unknown;
  readonly Error?: string;
  readonly Cause?: unknown;
}

const causeText = (cause: unknown): string => (typeof cause === 'string' ? cause : cause instanceof Error ? cause.message : cause === undefined ? '' : JSON.stringify(cause));

/** The library's event → a RunnerEvent; Map-iteration and Parallel-branch events (nested) are left out. */
function toRunnerEvent(event: LibraryEvent, declared: ReadonlyMap<string, { type: string; resource?: string | undefined }>): RunnerEvent | undefined {
  const { timestamp } = event;
  switch (event.type) {
    case 'ExecutionStarted':
      return { type: event.type, timestamp, input: event.input };
    case 'ExecutionSucceeded':
      return { type: event.type, timestamp, output: event.output };
    case 'ExecutionFailed':
      return { type: event.type, timestamp, error: event.Error ?? '', cause: causeText(event.Cause) };
    case 'StateEntered':
    case 'StateExited':
    case 'StateFailed':
    case 'StateRetried':
    case 'StateCaught': {
      // Nested events: a Map iteration's carry an index; a Parallel branch's states are not top-level
      // states of this definition (`declared`).
      if (event.index !== undefined || !event.state) return undefined;
      const asl = declared.get(event.state.name);
      if (!asl) return undefined;
      const state = { name: event.state.name, type: asl.type, ...(asl.resource !== undefined ? { resource: asl.resource } : {}) };
      return {
        type: event.type,
        timestamp,
        state,
        ...(event.type === 'StateEntered' ? { input: event.state.input } : {}),
        ...(event.type === 'StateExited' ? { output: event.state.output } : {}),
        ...(event.type === 'StateFailed' ? { error: event.Error ?? '', cause: causeText(event.Cause) } : {}),
      };
    }
    default:
      return undefined;
  }
}
