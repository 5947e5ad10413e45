/**
 * The local Step Functions endpoint through an unmodified SFN SDK client: executions, the
 * service's idempotent StartExecution, task tokens, and the errors the SDK maps to its classes.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidToken,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskError, waitForTaskToken } from '../../local/stepfunctions/runner';
import { startLocalStepFunctions, type ExecutionRecord, type RunningStepFunctions } from '../../local/stepfunctions/service';
import { taskHandlersFor } from '../../local/stepfunctions/tasks';
import { APPROVAL_REJECTED_ERROR } from '../../lambdas/shared/approval';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:approvals';
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:double';
const DEFINITION = JSON.stringify({
  StartAt: 'Double',
  States: {
    Double: { Type: 'Task', Resource: '${DoubleArn}', ResultPath: '$.doubled', Next: 'Approve' },
    Approve: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: '${DoubleArn}', Payload: { 'token.$': '$$.Task.Token', 'n.$': '$.n' } },
      ResultPath: '$.approval',
      End: true,
    },
  },
});

/** DescribeExecution every 20 ms until the execution is no longer RUNNING (at most `polls` times). */
async function settledExecution(sfn: SFNClient, executionArn: string, polls: number) {
  for (let i = 0; i < polls; i += 1) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('execution did not settle');
}

describe('local Step Functions endpoint', () => {
  let running: RunningStepFunctions;
  let sfn: SFNClient;
  const tokens: string[] = [];
  const ended: ExecutionRecord[] = [];

  beforeAll(async () => {
    const invoked = (payload: unknown) => {
      const { n, token } = payload as { n: number; token?: string };
      if (token) tokens.push(token);
      return Promise.resolve(n * 2);
    };
    running = await startLocalStepFunctions({
      machines: [
        {
          arn: MACHINE,
          definition: DEFINITION,
          substitutions: { DoubleArn: FUNCTION },
          taskHandlers: {
            [FUNCTION]: invoked,
            'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken((parameters) => invoked((parameters as { Payload: unknown }).Payload)),
          },
        },
      ],
      onExecutionEnded: (execution) => {
        ended.push(execution);
        return Promise.resolve();
      },
    });
    sfn = new SFNClient({ endpoint: running.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    sfn.destroy();
    await running.close();
  });

  const settled = (executionArn: string) => settledExecution(sfn, executionArn, 100);

  it('runs an execution to its task token and completes it with SendTaskSuccess', async () => {
    const { executionArn, startDate } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-1', input: JSON.stringify({ n: 21 }) }));
    expect(executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:approvals:run-1');
    expect(startDate).toBeInstanceOf(Date);
    for (let i = 0; i < 100 && tokens.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    await sfn.send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: JSON.stringify({ decision: 'APPROVED' }) }));
    const described = await settled(executionArn!);
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: 'run-1' });
    expect(JSON.parse(described.output!)).toEqual({ n: 21, doubled: 42, approval: { decision: 'APPROVED' } });
    expect(ended.map((e) => e.name)).toContain('run-1');
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE }));
    expect(executions?.map((e) => e.name)).toContain('run-1');
  });

  it('fails the execution with the error and cause of SendTaskFailure; the token is then dead (TaskTimedOut)', async () => {
    const before = tokens.length;
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-2', input: JSON.stringify({ n: 1 }) }));
    for (let i = 0; i < 100 && tokens.length === before; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const token = tokens.at(-1)!;
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: APPROVAL_REJECTED_ERROR, cause: 'no' }));
    expect(await settled(executionArn!)).toMatchObject({ status: 'FAILED', error: APPROVAL_REJECTED_ERROR, cause: 'no' });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('treats a repeated StartExecution with the same name and input as the same execution, and refuses other input', async () => {
    const input = JSON.stringify({ n: 5 });
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-3', input }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-3', input }));
    expect(again.executionArn).toBe(first.executionArn);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'run-3', input: JSON.stringify({ n: 6 }) }))).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('answers unknown state machines and executions with the service\'s errors', async () => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `${MACHINE}-nope`, input: '{}' }))).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${MACHINE}:nope` }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
  });
});

const FLAKY = 'arn:aws:lambda:us-east-1:123456789012:function:flaky';
const RETRYING = 'arn:aws:states:us-east-1:123456789012:stateMachine:retrying';
const RETRYING_DEFINITION = JSON.stringify({
  StartAt: 'Choose',
  States: {
    Choose: { Type: 'Choice', Choices: [{ Variable: '$.fail', BooleanEquals: true, Next: 'Doomed' }], Default: 'Flaky' },
    Flaky: { Type: 'Task', Resource: FLAKY, Retry: [{ ErrorEquals: ['Flaky.Error'], IntervalSeconds: 1, MaxAttempts: 3 }], Next: 'Done' },
    Doomed: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter', Parameters: { Name: '/nope' }, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }], End: true },
    Failed: { Type: 'Fail', Error: 'Run.Failed', Cause: 'the parameter is missing' },
    Done: { Type: 'Pass', End: true },
  },
});

describe('local Step Functions GetExecutionHistory', () => {
  let running: RunningStepFunctions;
  let sfn: SFNClient;
  const tokens: string[] = [];
  let flakyCalls = 0;

  beforeAll(async () => {
    running = await startLocalStepFunctions({
      machines: [
        {
          arn: MACHINE,
          definition: DEFINITION,
          substitutions: { DoubleArn: FUNCTION },
          taskHandlers: {
            [FUNCTION]: (payload) => (payload as { n: number }).n * 2,
            'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken((parameters) => {
              tokens.push((parameters as { Payload: { token: string } }).Payload.token);
            }),
          },
        },
        {
          arn: RETRYING,
          definition: RETRYING_DEFINITION,
          substitutions: {},
          taskHandlers: {
            [FLAKY]: () => {
              flakyCalls += 1;
              if (flakyCalls <= 2) throw new TaskError('Flaky.Error', `attempt ${flakyCalls} failed`);
              return { ok: true };
            },
            'arn:aws:states:::aws-sdk:ssm:getParameter': () => {
              throw new TaskError('Ssm.ParameterNotFoundException', 'Parameter /nope not found');
            },
          },
        },
      ],
    });
    sfn = new SFNClient({ endpoint: running.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    sfn.destroy();
    await running.close();
  });

  const settled = (executionArn: string) => settledExecution(sfn, executionArn, 200);
  const all = async (executionArn: string, extra: { includeExecutionData?: boolean; maxResults?: number; reverseOrder?: boolean } = {}) => {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, ...extra }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken);
    return { events, pages };
  };

  it('shows a running execution up to its waiting task, in pages, without execution data when asked', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'history-1', input: JSON.stringify({ n: 4, secret: 'in-the-input' }) }));
    for (let i = 0; i < 100 && tokens.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const { events } = await all(executionArn!);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
    ]);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events.map((e) => e.previousEventId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events[0]!.timestamp).toBeInstanceOf(Date);
    expect(events[6]!.stateEnteredEventDetails).toMatchObject({ name: 'Approve' });
    expect(events[7]!.taskScheduledEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke.waitForTaskToken', region: 'us-east-1' });
    // TaskScheduled carries the task's effective parameters (after Parameters): here the task token.
    expect(JSON.parse(events[7]!.taskScheduledEventDetails!.parameters!)).toEqual({ FunctionName: FUNCTION, Payload: { token: tokens[0], n: 4 } });
    expect(JSON.stringify(events)).toContain('in-the-input');

    // includeExecutionData: false leaves out inputs and outputs.
    const bare = await all(executionArn!, { includeExecutionData: false });
    expect(bare.events.map((e) => e.type)).toEqual(events.map((e) => e.type));
    expect(bare.events[0]!.executionStartedEventDetails?.input).toBeUndefined();
    expect(bare.events[1]!.stateEnteredEventDetails).toEqual({ name: 'Double' });
    expect(JSON.stringify(bare.events.filter((e) => e.type !== 'TaskScheduled'))).not.toContain('in-the-input');

    // Pages of 4 give the same events; reverseOrder gives them newest first.
    const paged = await all(executionArn!, { maxResults: 4 });
    expect(paged.pages).toBe(3);
    expect(paged.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    const reversed = await all(executionArn!, { maxResults: 4, reverseOrder: true });
    expect(reversed.events.map((e) => e.id)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);

    await sfn.send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: '{}' }));
    await settled(executionArn!);
    expect((await all(executionArn!)).events.slice(-3).map((e) => e.type)).toEqual(['TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded']);
  });

  it('shows each retried attempt of a Lambda task before the one that succeeded', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: RETRYING, name: 'history-retry', input: JSON.stringify({ fail: false }) }));
    await settled(executionArn!);
    const { events } = await all(executionArn!, { includeExecutionData: false });
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[6]!.lambdaFunctionFailedEventDetails).toEqual({ error: 'Flaky.Error', cause: 'attempt 1 failed' });
  });

  it('shows a caught task failure, the Fail state and the execution\'s failure', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: RETRYING, name: 'history-fail', input: JSON.stringify({ fail: true }) }));
    await settled(executionArn!);
    const { events } = await all(executionArn!, { includeExecutionData: false });
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
    expect(events[6]!.taskFailedEventDetails).toEqual({ resourceType: 'aws-sdk:ssm', resource: 'getParameter', error: 'Ssm.ParameterNotFoundException', cause: 'Parameter /nope not found' });
    expect(events[9]!.executionFailedEventDetails).toEqual({ error: 'Run.Failed', cause: 'the parameter is missing' });
  });

  it('answers an unknown execution, a foreign page token and too large a page with the service\'s errors', async () => {
    await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:nope` }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: RETRYING, name: 'history-token', input: JSON.stringify({ fail: true }) }));
    await settled(executionArn!);
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2 }));
    expect(first.events).toHaveLength(2);
    await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2, reverseOrder: true, nextToken: first.nextToken }))).rejects.toBeInstanceOf(InvalidToken);
    await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1001 }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('taskHandlersFor', () => {
  it('refuses an ASL with a Task resource local mode cannot run, naming it', () => {
    const ports = { invokeFunction: () => Promise.resolve(), isFunction: () => false, sagemaker: {} as never, sns: {} as never, parameters: new Map() };
    expect(() => taskHandlersFor(JSON.stringify({ States: { A: { Type: 'Task', Resource: 'arn:aws:states:::glue:startJobRun.sync' } } }), ports)).toThrow(
      'local Step Functions cannot run Task resource arn:aws:states:::glue:startJobRun.sync',
    );
  });

  it("maps the Task states of a Distributed Map's children, not its ItemReader's and ResultWriter's resources", () => {
    const ports = { invokeFunction: () => Promise.resolve(), isFunction: (arn: string) => arn === 'arn:fn', sagemaker: {} as never, sns: {} as never, parameters: new Map() };
    const definition = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'b' } },
          ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:fn', End: true } } },
          ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b' } },
          End: true,
        },
      },
    };
    expect(Object.keys(taskHandlersFor(JSON.stringify(definition), ports))).toEqual(['arn:fn']);
  });

  it('answers ssm:getParameter from the template\'s parameters and fails unknown names as SSM does', async () => {
    const ports = { invokeFunction: () => Promise.resolve(), isFunction: () => false, sagemaker: {} as never, sns: {} as never, parameters: new Map([['/a/b', '{"x":1}']]) };
    const handlers = taskHandlersFor(JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter', End: true } } }), ports);
    const get = handlers['arn:aws:states:::aws-sdk:ssm:getParameter']!;
    expect(await get({ Name: '/a/b' }, { stateName: 's', taskToken: 't' })).toMatchObject({ Parameter: { Name: '/a/b', Value: '{"x":1}' } });
    expect(() => get({ Name: '/a/c' }, { stateName: 's', taskToken: 't' })).toThrow(expect.objectContaining({ name: 'Ssm.ParameterNotFoundException' }) as Error);
  });
});
