import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { groundTruthKey, SfnApprovalCallbacks, SfnDeploymentStarter, SqsRetrainingQueue } from '../../../lambdas/api/aws-ports';
import { APPROVAL_REJECTED_ERROR, approvalOutputSchema, parseRejectionCause } from '../../../lambdas/shared/approval';
import { TaskTokenGone } from '../../../lambdas/api/ports';
import { Unavailable } from '../../../lambdas/shared/errors';

const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);

const serviceError = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });

describe('AWS ports of the registry API', () => {
  beforeEach(() => {
    sfn.reset();
    sqs.reset();
  });

  const AT = '2026-11-22T10:00:00.000Z';

  it('approves with SendTaskSuccess output {decision, by, reason, at}, as approvalOutputSchema reads it', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await new SfnApprovalCallbacks(new SFNClient({})).approve('tok', { decision: 'APPROVED', by: 'arn:p', reason: 'ok', at: AT });
    const input = sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input;
    expect(input).toEqual({ taskToken: 'tok', output: JSON.stringify({ decision: 'APPROVED', by: 'arn:p', reason: 'ok', at: AT }) });
    expect(approvalOutputSchema.parse(JSON.parse(input.output!))).toEqual({ decision: 'APPROVED', by: 'arn:p', reason: 'ok', at: AT });
  });

  it('refuses to send an approval the pipeline would not accept (no time), sending nothing', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await expect(
      new SfnApprovalCallbacks(new SFNClient({})).approve('tok', { decision: 'APPROVED', by: 'arn:p', reason: 'ok' } as never),
    ).rejects.toThrow(/at/);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('rejects with SendTaskFailure error APPROVAL_REJECTED_ERROR and the JSON cause {by, reason, at} the pipeline records', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    const rejection = { by: 'arn:aws:sts::123456789012:assumed-role/Approver/alice', reason: 'worse recall', at: AT };
    await new SfnApprovalCallbacks(new SFNClient({})).reject('tok', rejection);
    const input = sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(input).toEqual({ taskToken: 'tok', error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify(rejection) });
    // The pipeline's reading of the same cause (FinishRun): who rejected, why and when.
    expect(parseRejectionCause(input.cause)).toEqual(rejection);
  });

  it('keeps a rejection cause within the 32,768 characters Step Functions accepts, still valid JSON', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await new SfnApprovalCallbacks(new SFNClient({})).reject('tok', { by: 'arn:p', reason: 'x'.repeat(40_000), at: AT });
    const { cause } = sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(cause!.length).toBeLessThanOrEqual(32_768);
    expect(parseRejectionCause(cause)).toMatchObject({ by: 'arn:p', at: AT });
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('turns %s into TaskTokenGone', async (name) => {
    sfn.on(SendTaskSuccessCommand).rejects(serviceError(name));
    await expect(new SfnApprovalCallbacks(new SFNClient({})).approve('tok', { decision: 'APPROVED', by: 'p', reason: 'r', at: AT })).rejects.toBeInstanceOf(TaskTokenGone);
  });

  it('passes a throttling error through, so the decision is undone and retried', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(serviceError('ThrottlingException'));
    await expect(new SfnApprovalCallbacks(new SFNClient({})).approve('tok', { decision: 'APPROVED', by: 'p', reason: 'r', at: AT })).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
  });

  it('sends retraining requests to the FIFO queue grouped by model, deduplicated by run id', async () => {
    sqs.on(SendMessageCommand).resolves({});
    const request = {
      runId: 'churn-api-abc',
      model: 'churn',
      trigger: { kind: 'api' as const, id: 'k', reason: 'r' },
      requestedBy: 'arn:p',
      requestedAt: '2026-11-22T10:00:00.000Z',
    };
    await new SqsRetrainingQueue(new SQSClient({}), 'https://sqs/q.fifo').send(request);
    expect(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input).toEqual({
      QueueUrl: 'https://sqs/q.fifo',
      MessageBody: JSON.stringify(request),
      MessageGroupId: 'churn',
      MessageDeduplicationId: 'churn-api-abc',
    });
  });

  it('says retrain and rollback are not wired (503) when the stack has no queue or deploy state machine', async () => {
    await expect(new SqsRetrainingQueue(new SQSClient({}), undefined).send({} as never)).rejects.toBeInstanceOf(Unavailable);
    await expect(new SfnDeploymentStarter(new SFNClient({}), undefined).startRollback({} as never)).rejects.toBeInstanceOf(Unavailable);
  });

  it('starts the deploy path with the deployment id as execution name', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x' });
    const request = { model: 'churn', version: 2, requestedBy: 'p', reason: 'r', requestedAt: 't', deploymentId: 'churn-rollback-1' };
    await new SfnDeploymentStarter(new SFNClient({}), 'arn:sm').startRollback(request);
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({
      stateMachineArn: 'arn:sm',
      name: 'churn-rollback-1',
      input: JSON.stringify({ kind: 'rollback', ...request }),
    });
  });

  it('keys ground truth by model and UTC hour', () => {
    expect(groundTruthKey('churn', new Date('2026-03-04T05:06:07Z'), 'u')).toBe('ground-truth/churn/2026/03/04/05/u.jsonl');
  });
});
