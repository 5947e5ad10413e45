import { describe, expect, it } from 'vitest';
import { runPipelineLocally, sendTaskFailure, sendTaskSuccess, substitute, TaskError, waitForTaskToken } from '../../local/stepfunctions/runner';
import { APPROVAL_REJECTED_ERROR } from '../../lambdas/shared/approval';

const callback = JSON.stringify({
  StartAt: 'Ask',
  States: {
    Ask: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: '${Fn}', Payload: { 'token.$': '$$.Task.Token' } },
      TimeoutSecondsPath: '$.limits.seconds',
      ResultPath: '$.answer',
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'TimedOut' }],
      End: true,
    },
    TimedOut: { Type: 'Fail', Error: 'TimedOut', Cause: 'nobody answered' },
  },
});

describe('local Step Functions runner', () => {
  it('substitutes placeholders as CloudFormation does and refuses an unknown one', () => {
    expect(substitute('{"a":"${X}"}', { X: 'arn:1' })).toBe('{"a":"arn:1"}');
    expect(() => substitute('{"a":"${Y}"}', { X: 'arn:1' })).toThrow('no substitution for ${Y}');
  });

  it('completes a task-token task when the token is answered', async () => {
    const execution = await runPipelineLocally({
      definition: callback,
      substitutions: { Fn: 'arn:aws:lambda:us-east-1:1:function:f' },
      input: { limits: { seconds: 30 } },
      taskHandlers: {
        'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken((params) => {
          const { token } = (params as { Payload: { token: string } }).Payload;
          setTimeout(() => sendTaskSuccess(token, { ok: true }), 5);
        }),
      },
    });
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: { answer: { ok: true } }, states: ['Ask'] });
  });

  it('fails a task-token task with the error SendTaskFailure names', async () => {
    const execution = await runPipelineLocally({
      definition: callback,
      substitutions: { Fn: 'f' },
      input: { limits: { seconds: 30 } },
      taskHandlers: {
        'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken((params) => {
          const { token } = (params as { Payload: { token: string } }).Payload;
          setTimeout(() => sendTaskFailure(token, APPROVAL_REJECTED_ERROR, 'no'), 5);
        }),
      },
    });
    expect(execution).toMatchObject({ status: 'FAILED', error: APPROVAL_REJECTED_ERROR, cause: 'no' });
  });

  it('runs an execution whose top-level TimeoutSeconds is past what one Node timer holds (the pipeline\'s bound can be weeks)', async () => {
    const definition = JSON.stringify({ ...(JSON.parse(callback) as object), TimeoutSeconds: 60 * 24 * 3600 });
    const execution = await runPipelineLocally({
      definition,
      substitutions: { Fn: 'f' },
      input: { limits: { seconds: 30 } },
      taskHandlers: {
        'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken((params) => {
          const { token } = (params as { Payload: { token: string } }).Payload;
          setTimeout(() => sendTaskSuccess(token, { ok: true }), 20);
        }),
      },
    });
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: { answer: { ok: true } } });
  });

  it('still ends an execution at a short top-level TimeoutSeconds', async () => {
    const definition = JSON.stringify({ ...(JSON.parse(callback) as object), TimeoutSeconds: 1 });
    const execution = await runPipelineLocally({
      definition,
      substitutions: { Fn: 'f' },
      input: { limits: { seconds: 30 } },
      taskHandlers: { 'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken(() => undefined) },
    });
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ExecutionTimeoutError' });
  });

  it('applies TimeoutSecondsPath against the state input, as Step Functions does', async () => {
    const execution = await runPipelineLocally({
      definition: callback,
      substitutions: { Fn: 'f' },
      input: { limits: { seconds: 1 } },
      taskHandlers: { 'arn:aws:states:::lambda:invoke.waitForTaskToken': waitForTaskToken(() => undefined) },
    });
    expect(execution).toMatchObject({ status: 'FAILED', error: 'TimedOut', states: ['Ask', 'TimedOut'] });
  });

  it('refuses to run a definition with a Task resource it has no handler for', async () => {
    await expect(runPipelineLocally({ definition: callback, substitutions: { Fn: 'f' }, input: {}, taskHandlers: {} })).rejects.toThrow(
      'no local handler for resource arn:aws:states:::lambda:invoke.waitForTaskToken',
    );
  });

  it('reports a TaskError by its name, as Step Functions reports a task failure', () => {
    expect(new TaskError('SageMaker.ResourceLimitExceededException', 'quota')).toMatchObject({ name: 'SageMaker.ResourceLimitExceededException', message: 'quota' });
  });
});
