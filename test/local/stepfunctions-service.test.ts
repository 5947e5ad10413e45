/**
 * The local Step Functions endpoint through an unmodified SFN SDK client: executions, the
 * service's idempotent StartExecution, task tokens, and the errors the SDK maps to its classes.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTaskToken } from '../../local/stepfunctions/runner';
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

  const settled = async (executionArn: string) => {
    for (let i = 0; i < 100; i += 1) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status !== 'RUNNING') return described;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('execution did not settle');
  };

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
