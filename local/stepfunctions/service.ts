/**
 * A local Step Functions endpoint (`AWS_ENDPOINT_URL_SFN`): the JSON 1.0 `AWSStepFunctions.*`
 * protocol an unmodified `@aws-sdk/client-sfn` speaks, executing state machines with
 * `runPipelineLocally`. Supported: StartExecution (idempotent by name and input, as the
 * service), DescribeExecution, ListExecutions, GetExecutionHistory (history.ts),
 * SendTaskSuccess/Failure/Heartbeat. When an
 * execution ends, the "Step Functions Execution Status Change" event goes on the bus, where the
 * stack's rules route it. Requests are not authenticated: bind to loopback.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { historyOf } from './history';
import { runPipelineLocally, sendTaskFailure, sendTaskSuccess, type LocalExecution, type RunnerEvent, type TaskHandler } from './runner';

export interface LocalStateMachine {
  readonly arn: string;
  /** The ASL text with `${…}` placeholders. */
  readonly definition: string;
  readonly substitutions: Readonly<Record<string, string>>;
  readonly taskHandlers: Readonly<Record<string, TaskHandler>>;
  /** S3 for Distributed Map states' ItemReader and ResultWriter. @default - such a state fails, saying so */
  readonly s3?: S3Client;
}

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  stopDate?: Date;
  result?: LocalExecution;
  /** What the interpreter logged so far (GetExecutionHistory reads it while the execution runs). */
  readonly events: RunnerEvent[];
  /** Each task attempt's effective parameters, by state, in call order. */
  readonly taskParameters: Map<string, unknown[]>;
  /** Settles when the execution ends. */
  readonly done: Promise<LocalExecution>;
}

export interface StepFunctionsOptions {
  readonly machines: readonly LocalStateMachine[];
  /** Told when an execution ends (local mode puts the status-change event on the bus). */
  readonly onExecutionEnded?: (execution: ExecutionRecord) => Promise<void>;
  /** Shorten Wait states (to `waitMs`) and retry intervals (to none). @default true */
  readonly skipWaits?: boolean;
  /** With `skipWaits`, how long each Wait state takes. @default 250 */
  readonly waitMs?: number;
  readonly log?: (line: string) => void;
}

class Fault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class LocalStepFunctions {
  readonly executions = new Map<string, ExecutionRecord>();
  private readonly machines: Map<string, LocalStateMachine>;

  constructor(private readonly options: StepFunctionsOptions) {
    this.machines = new Map(options.machines.map((machine) => [machine.arn, machine]));
  }

  /** Executions still running, for a clean shutdown. */
  running(): ExecutionRecord[] {
    return [...this.executions.values()].filter((execution) => execution.status === 'RUNNING');
  }

  call(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'StartExecution':
        return this.start(input);
      case 'DescribeExecution': {
        const execution = this.executions.get(String(input.executionArn));
        if (!execution) throw new Fault('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(input.executionArn)}'`);
        return describe(execution);
      }
      case 'GetExecutionHistory':
        return this.history(input);
      case 'ListExecutions': {
        const items = [...this.executions.values()]
          .filter((e) => e.stateMachineArn === input.stateMachineArn && (input.statusFilter === undefined || e.status === input.statusFilter))
          .reverse()
          .map((e) => ({ executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status, startDate: seconds(e.startDate), stopDate: e.stopDate && seconds(e.stopDate) }));
        return { executions: items };
      }
      case 'SendTaskSuccess': {
        let output: unknown;
        try {
          output = JSON.parse(String(input.output));
        } catch {
          throw new Fault('InvalidOutput', 'output is not valid JSON');
        }
        if (!sendTaskSuccess(String(input.taskToken), output)) throw new Fault('TaskTimedOut', 'Task Timed Out: the task token is unknown or was already used');
        return {};
      }
      case 'SendTaskFailure':
        if (!sendTaskFailure(String(input.taskToken), text(input.error), text(input.cause))) {
          throw new Fault('TaskTimedOut', 'Task Timed Out: the task token is unknown or was already used');
        }
        return {};
      case 'SendTaskHeartbeat':
        // Local tasks have no heartbeat clock running (see runner.ts): nothing to extend.
        return {};
      default:
        throw new Fault('UnknownOperationException', `${operation} is not supported by local Step Functions`);
    }
  }

  /**
   * GetExecutionHistory (AWS Step Functions API Reference): events oldest first, or newest first
   * with `reverseOrder`; pages of `maxResults` (default 100, 0 = default, at most 1000) with an
   * opaque `nextToken` that only continues the same request (else `InvalidToken`).
   */
  private history(input: Record<string, unknown>) {
    const executionArn = String(input.executionArn);
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Fault('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    const requested = input.maxResults === undefined ? 0 : Number(input.maxResults);
    if (!Number.isInteger(requested) || requested < 0 || requested > 1000) {
      throw new Fault('ValidationException', `1 validation error detected: Value '${String(input.maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
    }
    const limit = requested === 0 ? 100 : requested;
    const reverse = input.reverseOrder === true;
    const region = /^arn:aws:states:([^:]+):/.exec(executionArn)?.[1] ?? 'local';
    const events = historyOf(execution.events, { region, includeExecutionData: input.includeExecutionData !== false, parameters: execution.taskParameters });
    if (reverse) events.reverse();
    const start = input.nextToken === undefined ? 0 : offsetOf(text(input.nextToken), executionArn, reverse);
    const page = events.slice(start, start + limit);
    const next = start + page.length;
    return { events: page, ...(next < events.length ? { nextToken: tokenFor(executionArn, reverse, next) } : {}) };
  }

  private start(input: Record<string, unknown>) {
    const stateMachineArn = String(input.stateMachineArn);
    const machine = this.machines.get(stateMachineArn);
    if (!machine) throw new Fault('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const name = typeof input.name === 'string' ? input.name : crypto.randomUUID();
    const text = typeof input.input === 'string' ? input.input : '{}';
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // The service: same name and input → the existing execution; other input → an error.
      if (existing.input !== text) throw new Fault('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      return { executionArn, startDate: seconds(existing.startDate) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Fault('InvalidExecutionInput', 'input is not valid JSON');
    }
    const startDate = new Date();
    const events: RunnerEvent[] = [];
    const taskParameters = new Map<string, unknown[]>();
    const done = runPipelineLocally({
      definition: machine.definition,
      substitutions: machine.substitutions,
      taskHandlers: machine.taskHandlers,
      input: parsed,
      executionName: name,
      executionArn,
      skipWaits: this.options.skipWaits ?? true,
      waitMs: this.options.waitMs ?? 250,
      s3: machine.s3,
      onEvent: (event) => events.push(event),
      onTaskParameters: (stateName, parameters) => taskParameters.set(stateName, [...(taskParameters.get(stateName) ?? []), parameters]),
    });
    const record: ExecutionRecord = { executionArn, stateMachineArn, name, input: text, startDate, status: 'RUNNING', events, taskParameters, done };
    this.executions.set(executionArn, record);
    this.options.log?.(`execution ${name} started`);
    void done.then(async (result) => {
      record.status = result.status;
      record.stopDate = new Date();
      record.result = result;
      this.options.log?.(`execution ${name} ${result.status}${result.error ? ` in ${result.states.at(-1) ?? '?'} (${result.error}: ${result.cause ?? ''})` : ''}`);
      await this.options.onExecutionEnded?.(record);
    }).catch((error: unknown) => this.options.log?.(`execution ${name}: ${String(error)}`));
    return { executionArn, startDate: seconds(startDate) };
  }
}

/** A page token: where the next page starts in this execution's history, in this order. */
function tokenFor(executionArn: string, reverse: boolean, offset: number): string {
  return Buffer.from(JSON.stringify({ executionArn, reverse, offset })).toString('base64url');
}

function offsetOf(token: string, executionArn: string, reverse: boolean): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { executionArn?: unknown; reverse?: unknown; offset?: unknown };
    if (parsed.executionArn === executionArn && parsed.reverse === reverse && Number.isInteger(parsed.offset)) return parsed.offset as number;
  } catch {
    // falls through to InvalidToken
  }
  throw new Fault('InvalidToken', 'Invalid Token: the nextToken does not continue this request');
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** The SDK reads timestamps in JSON 1.0 as epoch seconds. */
const seconds = (date: Date) => date.getTime() / 1000;

function describe(execution: ExecutionRecord) {
  const { result } = execution;
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: seconds(execution.startDate),
    ...(execution.stopDate ? { stopDate: seconds(execution.stopDate) } : {}),
    input: execution.input,
    ...(result?.output !== undefined ? { output: JSON.stringify(result.output) } : {}),
    ...(result?.error !== undefined ? { error: result.error, cause: result.cause } : {}),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new Fault('ValidationException', 'request body exceeds 1 MiB', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export interface RunningStepFunctions {
  readonly service: LocalStepFunctions;
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_SFN`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startLocalStepFunctions(options: StepFunctionsOptions & { readonly port?: number }): Promise<RunningStepFunctions> {
  const service = new LocalStepFunctions(options);
  const server = createServer((request, response) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      try {
        if (request.method !== 'POST' || !target.startsWith('AWSStepFunctions.')) throw new Fault('UnknownOperationException', `not a Step Functions call: ${target}`);
        const raw = await readBody(request);
        const input = (raw === '' ? {} : JSON.parse(raw)) as Record<string, unknown>;
        send(response, 200, service.call(target.slice('AWSStepFunctions.'.length), input));
      } catch (error) {
        if (error instanceof Fault) return send(response, error.status, { __type: error.type, message: error.message });
        if (error instanceof SyntaxError) return send(response, 400, { __type: 'SerializationException', message: 'request body is not valid JSON' });
        options.log?.(`${target} failed: ${String(error)}`);
        send(response, 500, { __type: 'InternalFailure', message: 'internal error in local Step Functions' });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    service,
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
