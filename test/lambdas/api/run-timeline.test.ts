/**
 * `GET /runs/{runId}/timeline`: the run record from moto's DynamoDB, its execution's history
 * from local Step Functions (local/stepfunctions/service.ts GetExecutionHistory) through the real
 * adapter (SfnExecutionHistory) and an unmodified SFN client. The ASL here uses the training
 * pipeline's state names and resource kinds (a Lambda ARN, a SageMaker .sync integration, the
 * approval's lambda:invoke.waitForTaskToken carrying $$.Task.Token), cut down to the path under test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfnExecutionHistory } from '../../../lambdas/api/aws-ports';
import { fromIamContext } from '../../../lambdas/api/principal';
import { type ApiHandler, createHandler } from '../../../lambdas/api/router';
import { runTimelineResponse, type RunTimeline } from '../../../lambdas/api/schemas';
import { MAX_CAUSE_LENGTH, PHASE_STARTS } from '../../../lambdas/api/timeline';
import { keys, type RunRecord } from '../../../lambdas/shared/contracts';
import { TaskError, waitForTaskToken } from '../../../local/stepfunctions/runner';
import { startLocalStepFunctions, type RunningStepFunctions } from '../../../local/stepfunctions/service';
import { uniqueName } from '../../support/aws';
import { apiEvent, bodyOf, createHarness, type Harness, MODELS, REQUESTER } from './harness';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:caretaker-training';
const STEPS = 'arn:aws:lambda:us-east-1:123456789012:function:caretaker-pipeline-steps';
const TRAIN = 'arn:aws:states:::sagemaker:createTrainingJob.sync';
const APPROVAL = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const SECRET_INPUT = 'secret-state-input-value';
const LONG_CAUSE = `ResourceLimitExceeded: ${'x'.repeat(5000)}`;

const DEFINITION = JSON.stringify({
  StartAt: 'RunKind',
  States: {
    RunKind: { Type: 'Choice', Choices: [{ Variable: '$.kind', StringEquals: 'rollback', Next: 'RunFailed' }], Default: 'StartRun' },
    StartRun: { Type: 'Task', Resource: '${Steps}', Parameters: { step: 'startRun', 'secret.$': '$.secret' }, ResultPath: '$.started', Next: 'TrainModel' },
    TrainModel: {
      Type: 'Task',
      Resource: TRAIN,
      Parameters: { 'mode.$': '$.mode' },
      ResultPath: '$.training',
      Retry: [{ ErrorEquals: ['SageMaker.AmazonSageMakerException'], IntervalSeconds: 1, MaxAttempts: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }],
      Next: 'HasChampion',
    },
    HasChampion: { Type: 'Choice', Choices: [{ Variable: '$.champion', IsPresent: true, Next: 'Evaluate' }], Default: 'Evaluate' },
    Evaluate: { Type: 'Task', Resource: '${Steps}', Parameters: { step: 'evaluate' }, ResultPath: '$.evaluation', Next: 'WaitForApproval' },
    WaitForApproval: {
      Type: 'Task',
      Resource: APPROVAL,
      Parameters: { FunctionName: '${Steps}', Payload: { 'taskToken.$': '$$.Task.Token', 'input.$': '$' } },
      ResultPath: '$.approval',
      Next: 'Deployed',
    },
    Deployed: { Type: 'Succeed' },
    RecordFailure: { Type: 'Task', Resource: '${Steps}', Parameters: { step: 'recordFailure' }, ResultPath: null, Next: 'RunFailed' },
    RunFailed: { Type: 'Fail', Error: 'States.TaskFailed', Cause: LONG_CAUSE },
  },
});

describe('GET /runs/{runId}/timeline', () => {
  let h: Harness;
  let running: RunningStepFunctions;
  let sfn: SFNClient;
  let handler: ApiHandler;
  const tokens: string[] = [];
  const trainingCalls = new Map<string, number>();

  beforeAll(async () => {
    h = await createHarness();
    running = await startLocalStepFunctions({
      machines: [
        {
          arn: MACHINE,
          definition: DEFINITION,
          substitutions: { Steps: STEPS },
          taskHandlers: {
            [STEPS]: () => ({ ok: true }),
            [TRAIN]: (parameters) => {
              const { mode } = parameters as { mode: string };
              const calls = (trainingCalls.get(mode) ?? 0) + 1;
              trainingCalls.set(mode, calls);
              // Step Functions' optimized SageMaker integration raises API errors as SageMaker.AmazonSageMakerException (ARCHITECTURE.md, facts checked).
              if (mode === 'flaky' && calls === 1) throw new TaskError('SageMaker.AmazonSageMakerException', 'ThrottlingException: Rate exceeded');
              if (mode === 'broken') throw new TaskError('States.TaskFailed', LONG_CAUSE);
              return { TrainingJobStatus: 'Completed' };
            },
            [APPROVAL]: waitForTaskToken((parameters) => {
              tokens.push((parameters as { Payload: { taskToken: string } }).Payload.taskToken);
            }),
          },
        },
      ],
    });
    sfn = new SFNClient({ endpoint: running.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    handler = createHandler({ principal: fromIamContext, models: MODELS, ports: { ...h.ports, executions: new SfnExecutionHistory(sfn) } });
  });
  afterAll(async () => {
    for (const token of tokens) await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })).catch(() => undefined);
    sfn.destroy();
    await running.close();
    await h.drop();
  });

  const putRun = async (run: Partial<RunRecord> & { runId: string }) => {
    const item: RunRecord = { model: 'churn', status: 'RUNNING', requestedBy: REQUESTER, trigger: { kind: 'api' } as RunRecord['trigger'], datasetVersion: '2026-11-01', startedAt: new Date().toISOString(), ...run };
    await h.client.send(new PutCommand({ TableName: h.tableName, Item: { ...keys.run(run.runId), ...item } }));
  };
  const start = async (name: string, input: Record<string, unknown>) => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name, input: JSON.stringify(input) }));
    return executionArn!;
  };
  const timeline = async (runId: string) => {
    const result = await handler(apiEvent('GET', `/runs/${runId}/timeline`));
    return { status: result.statusCode, text: result.body, body: bodyOf<RunTimeline & { error?: string; message?: string }>(result) };
  };
  const until = async <T,>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
    for (let i = 0; i < 200; i += 1) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('condition never held');
  };

  it('shows a run waiting for approval: phases, states with durations, the retried training attempt — and never the task token or a state input', async () => {
    const runId = uniqueName('run-waiting');
    const executionArn = await start(runId, { kind: 'training', mode: 'flaky', secret: SECRET_INPUT });
    await putRun({ runId, executionArn });
    const { status, text, body } = await until(() => timeline(runId), (t) => (t.body.states as RunTimeline['states'] | undefined)?.at(-1)?.state === 'WaitForApproval');
    expect(status).toBe(200);
    expect(runTimelineResponse.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({ runId, executionArn, status: 'RUNNING', executionStatus: 'RUNNING' });
    expect(body.stoppedAt).toBeUndefined();
    expect(body.states.map((s) => [s.state, s.type, s.phase, s.outcome, s.retries])).toEqual([
      ['RunKind', 'Choice', 'started', 'succeeded', 0],
      ['StartRun', 'Task', 'started', 'succeeded', 0],
      ['TrainModel', 'Task', 'training', 'succeeded', 1],
      ['HasChampion', 'Choice', 'evaluation', 'succeeded', 0],
      ['Evaluate', 'Task', 'evaluation', 'succeeded', 0],
      ['WaitForApproval', 'Task', 'waiting for approval', 'running', 0],
    ]);
    // The retried attempt's failure stays on the state that then succeeded.
    expect(body.states[2]).toMatchObject({ error: 'SageMaker.AmazonSageMakerException', cause: 'ThrottlingException: Rate exceeded' });
    for (const s of body.states.slice(0, -1)) expect(s.durationMs).toBe(Date.parse(s.exitedAt!) - Date.parse(s.enteredAt));
    expect(body.states.at(-1)!.exitedAt).toBeUndefined();
    expect(body.phases.map((p) => [p.phase, p.outcome])).toEqual([
      ['started', 'succeeded'],
      ['training', 'succeeded'],
      ['evaluation', 'succeeded'],
      ['waiting for approval', 'running'],
    ]);
    expect(body.phases[0]!.durationMs).toBe(Date.parse(body.states[1]!.exitedAt!) - Date.parse(body.states[0]!.enteredAt));

    // The execution's own history carries both (the approval task's parameters, the state inputs); the answer neither.
    const token = tokens.find((t) => t.includes(runId));
    expect(token).toBeDefined();
    expect(JSON.stringify(running.service.call('GetExecutionHistory', { executionArn }))).toContain(token!);
    expect(text).not.toContain(token!);
    expect(text).not.toContain(SECRET_INPUT);
    expect(text).not.toContain('local-token');

    await sfn.send(new SendTaskSuccessCommand({ taskToken: token!, output: JSON.stringify({ decision: 'APPROVED' }) }));
    const done = await until(() => timeline(runId), (t) => t.body.executionStatus === 'SUCCEEDED');
    expect(done.body.states.at(-1)).toMatchObject({ state: 'Deployed', type: 'Succeed', phase: 'waiting for approval', outcome: 'succeeded' });
    expect(done.body.durationMs).toBe(Date.parse(done.body.stoppedAt!) - Date.parse(done.body.startedAt));
    expect(done.text).not.toContain(token!);
  });

  it('shows a failed run: the caught training failure, the failure phase and the execution\'s cause, cut short', async () => {
    const runId = uniqueName('run-failed');
    const executionArn = await start(runId, { kind: 'training', mode: 'broken', secret: SECRET_INPUT });
    await putRun({ runId, executionArn, status: 'FAILED' });
    const { status, body, text } = await until(() => timeline(runId), (t) => t.body.executionStatus === 'FAILED');
    expect(status).toBe(200);
    expect(body.states.map((s) => [s.state, s.phase, s.outcome, s.retries])).toEqual([
      ['RunKind', 'started', 'succeeded', 0],
      ['StartRun', 'started', 'succeeded', 0],
      ['TrainModel', 'training', 'caught', 0],
      ['RecordFailure', 'failed', 'succeeded', 0],
      ['RunFailed', 'failed', 'failed', 0],
    ]);
    expect(body.states[2]!.error).toBe('States.TaskFailed');
    expect(body.failure).toMatchObject({ state: 'RunFailed', error: 'States.TaskFailed' });
    expect(body.failure!.cause).toHaveLength(MAX_CAUSE_LENGTH);
    expect(body.failure!.cause!.startsWith('ResourceLimitExceeded: xxx')).toBe(true);
    expect(body.failure!.cause!.endsWith('…')).toBe(true);
    expect(body.phases.map((p) => [p.phase, p.outcome])).toEqual([
      ['started', 'succeeded'],
      ['training', 'succeeded'],
      ['failed', 'failed'],
    ]);
    expect(body.stoppedAt).toBeDefined();
    expect(text).not.toContain(SECRET_INPUT);
  });

  it('answers 404 for an unknown run, a request that has no execution, and an execution Step Functions no longer has', async () => {
    expect((await timeline(uniqueName('run-none'))).status).toBe(404);
    const runId = uniqueName('run-gone');
    await putRun({ runId, executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${runId}` });
    const gone = await timeline(runId);
    expect(gone.status).toBe(404);
    expect(gone.body.message).toContain('no longer exists');
    const unstarted = uniqueName('run-nostart');
    await putRun({ runId: unstarted });
    expect((await timeline(unstarted)).status).toBe(404);
    expect((await timeline('bad id!')).status).toBe(400);
  });

  it('reads the history page by page (nextToken) and says when it stopped before the end', async () => {
    const runId = uniqueName('run-pages');
    const executionArn = await start(runId, { kind: 'training', mode: 'broken', secret: SECRET_INPUT });
    const whole = await until(() => new SfnExecutionHistory(sfn).read(executionArn), (h) => h?.events.at(-1)?.type === 'ExecutionFailed');
    const paged = await new SfnExecutionHistory(sfn, 100, 3).read(executionArn);
    expect(paged).toEqual(whole);
    expect(paged!.truncated).toBe(false);
    const cut = await new SfnExecutionHistory(sfn, 2, 3).read(executionArn);
    expect(cut!.truncated).toBe(true);
    expect(cut!.events).toEqual(whole!.events.slice(0, 6));
    // Only the timeline's fields are copied: no input, output or parameters.
    for (const event of whole!.events) expect(Object.keys(event).every((key) => ['id', 'type', 'timestamp', 'stateName', 'error', 'cause'].includes(key))).toBe(true);
  });

  it('names phases by states the training pipeline has', () => {
    const asl = JSON.parse(readFileSync(join(__dirname, '../../../state-machines/training-pipeline.asl.json'), 'utf8')) as { States: Record<string, unknown> };
    for (const state of Object.keys(PHASE_STARTS)) expect(Object.keys(asl.States)).toContain(state);
  });
});
