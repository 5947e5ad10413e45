/**
 * AWS-backed ports of the registry API: Step Functions task callbacks, the retraining FIFO
 * queue, the deployment starter and the ground-truth store.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { approvalOutput, rejectionFailure, type ApprovalOutput, type RejectionCause } from '../shared/approval';
import { retrainingRequestSchema } from '../shared/contracts';
import { Unavailable } from '../shared/errors';
import { artifactPrefixes } from '../shared/layout';
import {
  type ApprovalCallbacks,
  type DeploymentStarter,
  type GroundTruthStore,
  type RetrainingQueue,
  type RollbackRequest,
  TaskTokenGone,
} from './ports';

/** Errors that mean the waiting task is gone for good: it timed out or its execution ended. */
const DEAD_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

async function deliver(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (error instanceof Error && DEAD_TOKEN_ERRORS.has(error.name)) throw new TaskTokenGone(error.name);
    throw error;
  }
}

export class SfnApprovalCallbacks implements ApprovalCallbacks {
  constructor(private readonly client: SFNClient) {}

  /** `SendTaskSuccess` with exactly the pipeline's `approvalOutputSchema` output. */
  approve(taskToken: string, output: ApprovalOutput): Promise<void> {
    return deliver(() => this.client.send(new SendTaskSuccessCommand({ taskToken, output: approvalOutput(output) })));
  }

  /** `SendTaskFailure` with `APPROVAL_REJECTED_ERROR` and the JSON `rejectionCauseSchema` cause. */
  reject(taskToken: string, cause: RejectionCause): Promise<void> {
    const failure = rejectionFailure(cause);
    return deliver(() => this.client.send(new SendTaskFailureCommand({ taskToken, error: failure.error, cause: failure.cause })));
  }
}

export class SqsRetrainingQueue implements RetrainingQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string | undefined,
  ) {}

  async send(request: Parameters<RetrainingQueue['send']>[0]): Promise<void> {
    if (!this.queueUrl) throw new Unavailable('retraining is not wired into this deployment (no retraining queue)');
    const message = retrainingRequestSchema.parse(request);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: message.model,
        MessageDeduplicationId: message.runId,
      }),
    );
  }
}

/**
 * Starts the pipeline's deploy path: the deployment state machine, with the rollback request
 * as input (`{ kind: 'rollback', model, version, requestedBy, reason, requestedAt, deploymentId }`)
 * and the deployment id as execution name, so a repeated start is a no-op.
 */
export class SfnDeploymentStarter implements DeploymentStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string | undefined,
  ) {}

  async startRollback(request: RollbackRequest): Promise<{ deploymentId: string }> {
    if (!this.stateMachineArn) throw new Unavailable('rollback is not wired into this deployment (no deployment state machine)');
    await this.client.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        name: request.deploymentId,
        input: JSON.stringify({ kind: 'rollback', ...request }),
      }),
    );
    return { deploymentId: request.deploymentId };
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `ground-truth/<model>/<yyyy>/<mm>/<dd>/<hh>/<uuid>.jsonl` in the artifacts bucket. */
export function groundTruthKey(model: string, at: Date, id: string): string {
  return `${artifactPrefixes.groundTruth(model)}${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/${pad(at.getUTCHours())}/${id}.jsonl`;
}

export class S3GroundTruthStore implements GroundTruthStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly newId: () => string = randomUUID,
  ) {}

  async put(model: string, records: readonly { inferenceId: string; label: unknown }[], at: Date): Promise<{ key: string }> {
    const key = groundTruthKey(model, at, this.newId());
    const body = records.map((r) => JSON.stringify({ inferenceId: r.inferenceId, label: r.label })).join('\n') + '\n';
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/x-ndjson', IfNoneMatch: '*' }),
    );
    return { key };
  }
}
