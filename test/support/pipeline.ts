/**
 * One offline execution of the training pipeline ASL: the real steps Lambda against the moto
 * DynamoDB table and S3 bucket, scripted SageMaker, captured alerts and approval requests, and
 * an approver that answers the task token the way the approval API does.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { APPROVAL_REJECTED_ERROR } from '../../lambdas/pipeline/callbacks';
import { createHandler, createPorts } from '../../lambdas/pipeline/handler';
import type { ModelSettings } from '../../lambdas/pipeline/settings';
import {
  keys,
  type DatasetVersionRecordCore,
  type ModelVersionRecord,
  type PipelineInput,
  type RunRecord,
} from '../../lambdas/shared/contracts';
import { createDocumentClient } from '../../lambdas/shared/dynamo';
import { renderModelSettings } from '../../lib/pipeline-settings';
import { sendTaskFailure, sendTaskSuccess, type LocalExecution } from '../../local/stepfunctions/runner';
import { LOCAL_SUBSTITUTIONS, runTrainingPipeline } from '../../local/stepfunctions/training-pipeline';
import { ScriptedSageMaker, type ScriptedSageMakerOptions } from '../fixtures/sagemaker';
import { motoClientConfig, uniqueName } from './aws';
import { exampleConfig } from './stack';

export const MODEL = 'churn';
export const APPROVER = 'arn:aws:iam::123456789012:role/ml-lead';
export const REQUESTER = 'arn:aws:iam::123456789012:role/data-scientist';

export type Approver =
  | { readonly kind: 'approves' }
  | { readonly kind: 'rejects'; readonly reason: string }
  /** Nobody answers; the task's TimeoutSecondsPath fires (set to 1 s for the test). */
  | { readonly kind: 'never-answers' };

export interface ScenarioOptions extends Omit<ScriptedSageMakerOptions, 's3'> {
  readonly datasetValidation?: DatasetVersionRecordCore['validation']['status'];
  readonly approver?: Approver;
  /** A version already LIVE before this run (v1), with its objective score. */
  readonly champion?: { readonly score: number };
  readonly settings?: (settings: ModelSettings) => ModelSettings;
}

export class PipelineWorld {
  readonly dynamo: ReturnType<typeof createDocumentClient>;
  readonly s3: S3Client;
  readonly artifactsBucket = uniqueName('artifacts');
  readonly datasetsBucket = uniqueName('datasets');

  /** `clientConfig` defaults to the test run's moto server; benchmarks pass their own. */
  constructor(
    readonly tableName: string,
    clientConfig: ReturnType<typeof motoClientConfig> = motoClientConfig(),
  ) {
    this.dynamo = createDocumentClient(clientConfig);
    this.s3 = new S3Client(clientConfig);
  }

  async setUp(): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: this.artifactsBucket }));
  }

  async get<T>(key: { pk: string; sk: string }): Promise<T | undefined> {
    const { Item } = await this.dynamo.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return Item as T | undefined;
  }

  run(runId: string) {
    return this.get<RunRecord & Record<string, unknown>>(keys.run(runId));
  }

  version(model: string, version: number) {
    return this.get<ModelVersionRecord & Record<string, unknown>>(keys.version(model, version));
  }

  async itemsUnder(pk: string, skPrefix: string): Promise<Record<string, unknown>[]> {
    const { Items } = await this.dynamo.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': pk, ':sk': skPrefix },
      }),
    );
    return Items ?? [];
  }

  async put(item: Record<string, unknown>): Promise<void> {
    await this.dynamo.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** Runs one execution; `model` is unique per scenario so scenarios never see each other's versions. */
  async execute(options: ScenarioOptions) {
    const model = uniqueName(MODEL);
    const runId = `${model}-api-${uniqueName('run').slice(4)}`;
    const datasetVersion = '2026-11-22T09-00-00Z';
    const config = exampleConfig().models[0]!;
    let settings = renderModelSettings(
      { ...config, name: model },
      { resourcePrefix: 'caretaker', endpointName: `caretaker-${model}`, rollbackAlarmNames: [`caretaker-${model}-5xx`, `caretaker-${model}-latency`], volumeKmsKeyArn: LOCAL_SUBSTITUTIONS.KmsKeyArn },
    );
    if (options.approver?.kind === 'never-answers') settings = { ...settings, approval: { timeoutSeconds: 1, heartbeatSeconds: 1 } };
    if (options.settings) settings = options.settings(settings);

    await this.put({
      ...keys.datasetVersion(config.dataset.name, datasetVersion),
      dataset: config.dataset.name,
      datasetVersion,
      validation: { status: options.datasetValidation ?? 'PASSED', ...(options.datasetValidation === 'FAILED' ? { reasons: ['tenure_months: 3% nulls > 0%'] } : {}) },
      objects: [
        { bucket: this.datasetsBucket, key: `datasets/churn/${datasetVersion}/part-0000.csv`, versionId: 'v-0', sha256: 'a'.repeat(64) },
        { bucket: this.datasetsBucket, key: `datasets/churn/${datasetVersion}/part-0001.csv`, versionId: 'v-1', sha256: 'b'.repeat(64) },
      ],
      createdAt: '2026-11-22T09:00:00.000Z',
    });

    const liveConfig = options.champion ? `caretaker-${model}-v1-000000` : undefined;
    if (options.champion) {
      const at = '2026-11-01T00:00:00.000Z';
      await this.put({
        ...keys.version(model, 1),
        ...keys.versionByStatus(model, 'LIVE', 1),
        model,
        version: 1,
        status: 'LIVE',
        runId: 'earlier-run',
        modelArtifactUri: `s3://${this.artifactsBucket}/models/${model}/earlier-run/job/output/model.tar.gz`,
        endpointConfigName: liveConfig,
        metrics: { 'validation:auc': options.champion.score },
        createdAt: at,
        updatedAt: at,
        deployedAt: at,
      });
      await this.put({ ...keys.model(model), model, versionCounter: 1, liveVersion: 1 });
    }

    const sagemaker = new ScriptedSageMaker({ ...options, s3: this.s3, liveEndpointConfigName: liveConfig });
    const alerts: { Subject?: string; Message: unknown }[] = [];
    const approvals: { subject: string; body: string }[] = [];
    const ports = {
      ...createPorts({ tableName: this.tableName, approvalsTopicArn: 'unused', artifactsBucket: this.artifactsBucket, dynamo: this.dynamo, s3: this.s3 }),
      publishApproval: (message: { subject: string; body: string }) => {
        approvals.push(message);
        return Promise.resolve();
      },
    };
    const steps = createHandler(ports);
    const approver = options.approver ?? { kind: 'approves' };
    const pendingDecisions: Promise<void>[] = [];

    const input: PipelineInput = {
      runId,
      model,
      datasetVersion,
      requestedBy: REQUESTER,
      trigger: { kind: 'api', id: 'req-1', reason: 'new labelled data' },
    };
    const execution: LocalExecution = await runTrainingPipeline(
      {
        steps,
        settings: { [model]: settings },
        sagemaker,
        publishAlert: (request) => {
          alerts.push(request);
          return Promise.resolve();
        },
        // What the approval API does: move the version conditionally, then answer the token.
        onApprovalRequested: (taskToken, payload) => {
          if (approver.kind === 'never-answers') return;
          const version = Number(payload.version);
          const at = new Date().toISOString();
          const decide = async () => {
            const to = approver.kind === 'approves' ? 'APPROVED' : 'REJECTED';
            const decision = { decision: to, by: APPROVER, reason: approver.kind === 'rejects' ? approver.reason : 'looks good', at };
            const moved = await ports.store.transitionVersion(model, version, ['PENDING_APPROVAL'], to, { at, set: { decision }, remove: ['taskToken'] });
            if (!moved) throw new Error('the approval API lost the race in a test that has no race');
            if (approver.kind === 'approves') sendTaskSuccess(taskToken, { decision: 'APPROVED', by: APPROVER, reason: 'looks good', at });
            else sendTaskFailure(taskToken, APPROVAL_REJECTED_ERROR, JSON.stringify({ by: APPROVER, reason: approver.reason, at }));
          };
          pendingDecisions.push(decide());
        },
      },
      input,
    );
    await Promise.all(pendingDecisions);
    return { execution, model, runId, settings, sagemaker, alerts, approvals, datasetVersion, liveConfig };
  }
}
