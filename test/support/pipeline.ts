/**
 * One offline execution of the training pipeline ASL: the real steps Lambda against the moto
 * DynamoDB table and S3 bucket, scripted SageMaker, captured alerts and approval requests, and
 * an approver that answers the task token the way the approval API does.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { datasetCatalogFromConfig } from '../../lib/dataset-catalog';
import { registerDatasetVersion, type DatasetCatalog, type DatasetObject, type DatasetPorts } from '../../lambdas/datasets';
import type { RollbackRequest } from '../../lambdas/api/ports';
import { approvalOutput, rejectionFailure } from '../../lambdas/shared/approval';
import { createHandler, createPorts } from '../../lambdas/pipeline/handler';
import type { ModelSettings } from '../../lambdas/pipeline/settings';
import {
  keys,
  type ModelVersionRecord,
  type PipelineInput,
  type RunRecord,
} from '../../lambdas/shared/contracts';
import { createDocumentClient } from '../../lambdas/shared/dynamo';
import type { DeploymentConfig } from '../../lib/config';
import { renderModelSettings } from '../../lib/pipeline-settings';
import { sendTaskFailure, sendTaskSuccess, type LocalExecution } from '../../local/stepfunctions/runner';
import { LOCAL_SUBSTITUTIONS, runTrainingPipeline } from '../../local/stepfunctions/training-pipeline';
import { runBatchScoring } from '../../local/stepfunctions/batch-scoring';
import { createHandler as createAnalyzer } from '../../lambdas/drift/handler';
import { awsDriftPorts } from '../../lambdas/drift/store';
import { ScriptedSageMaker, type EndpointState, type ScriptedSageMakerOptions } from '../fixtures/sagemaker';
import { motoClientConfig, uniqueName } from './aws';
import { exampleConfig } from './stack';

export const MODEL = 'churn';
/** Role sessions, as API Gateway names callers (never role ARNs). */
export const APPROVER = 'arn:aws:sts::123456789012:assumed-role/ml-lead/alice';
export const REQUESTER = 'arn:aws:sts::123456789012:assumed-role/data-scientist/bob';

export type Approver =
  | { readonly kind: 'approves' }
  | { readonly kind: 'rejects'; readonly reason: string }
  /** Nobody answers; the task's TimeoutSecondsPath fires (set to 1 s for the test). */
  | { readonly kind: 'never-answers' };

/** Training data of the example churn model: `rows` rows, the first with a negative tenure when `invalid`. */
export function churnCsv(rows: number, options: { readonly offset?: number; readonly invalid?: boolean } = {}): string {
  const lines = ['tenure_months,monthly_charges,support_calls,contract,churned'];
  for (let i = 0; i < rows; i++) {
    const n = i + (options.offset ?? 0);
    const tenure = options.invalid && i === 0 ? -3 : n % 72;
    lines.push(`${tenure},${(20 + (n % 50)).toFixed(2)},${n % 5},${n % 3 === 0 ? 'month-to-month' : 'one-year'},${n % 2}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs after the dataset version is registered, before the execution starts. */
export type BeforeRun = (world: PipelineWorld, scenario: { readonly datasetObjects: readonly DatasetObject[] }) => Promise<void>;

export interface ScenarioOptions extends Omit<ScriptedSageMakerOptions, 's3' | 'endpoints'> {
  /** Fails these steps of the steps Lambda once each, with a non-retried error, before they run. */
  readonly failSteps?: readonly string[];
  readonly beforeRun?: BeforeRun;
  /** The run's `datasetVersion` as a person might type it (`1`, `v1`). @default - the registered id */
  readonly requestedDatasetVersion?: string;
  /** Train this model on this dataset again (a later run of an earlier scenario). @default - a new model and dataset */
  readonly continues?: { readonly model: string; readonly dataset: string };
  /** FAILED: the registered version breaks a column rule, so validation fails. @default 'PASSED' */
  readonly datasetValidation?: 'PASSED' | 'FAILED';
  readonly approver?: Approver;
  /** A version already LIVE before this run (v1), with its objective score. */
  readonly champion?: { readonly score: number };
  readonly settings?: (settings: ModelSettings) => ModelSettings;
  /**
   * The model's `deployment` as caretaker.config.json would give it (parsed with its defaults),
   * kept for this model's later runs and rollbacks. @default - the example's (realtime)
   */
  readonly deployment?: DeploymentConfig;
}

export class PipelineWorld {
  readonly dynamo: ReturnType<typeof createDocumentClient>;
  readonly s3: S3Client;
  readonly artifactsBucket = uniqueName('artifacts');
  readonly datasetsBucket = uniqueName('datasets');
  /** The account's SageMaker endpoints, by name: every execution of this world sees the same ones. */
  readonly endpoints = new Map<string, EndpointState>();
  /** Deployment config per model, where a scenario set one. */
  private readonly deployments = new Map<string, DeploymentConfig>();

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
    await this.s3.send(new CreateBucketCommand({ Bucket: this.datasetsBucket }));
    await this.s3.send(new PutBucketVersioningCommand({ Bucket: this.datasetsBucket, VersioningConfiguration: { Status: 'Enabled' } }));
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

  async putObject(key: string, body: string, bucket = this.datasetsBucket): Promise<string | undefined> {
    return (await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId;
  }

  async put(item: Record<string, unknown>): Promise<void> {
    await this.dynamo.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** Runs one execution; `model` is unique per scenario so scenarios never see each other's versions. */
  async execute(options: ScenarioOptions) {
    // A model and dataset of its own per scenario, registered by the datasets part from real S3 object versions.
    const model = options.continues?.model ?? uniqueName(MODEL);
    const dataset = options.continues?.dataset ?? uniqueName('churn');
    const runId = `${model}-api-${uniqueName('run').slice(4)}`;
    if (options.deployment) this.deployments.set(model, options.deployment);
    const { catalog, datasets } = this.datasetsOf(model, dataset);
    let settings = this.settingsOf(model, dataset);
    if (options.approver?.kind === 'never-answers') settings = { ...settings, approval: { timeoutSeconds: 1, heartbeatSeconds: 1 } };
    if (options.settings) settings = options.settings(settings);

    const invalid = options.datasetValidation === 'FAILED';
    const batch = uniqueName('batch');
    const objectKeys = [`datasets/${dataset}/${batch}/part-0000.csv`, `datasets/${dataset}/${batch}/part-0001.csv`];
    await this.putObject(objectKeys[0]!, churnCsv(40, { invalid }));
    await this.putObject(objectKeys[1]!, churnCsv(40, { offset: 40 }));
    const { record } = await registerDatasetVersion(datasets, { dataset, objects: objectKeys.map((key) => ({ key })), registeredBy: REQUESTER });
    const datasetVersion = record.datasetVersion;
    // What is registered is what trains: later writes to the same keys must not reach the job.
    for (const key of objectKeys) await this.putObject(key, churnCsv(3, { offset: 1000 }));
    await options.beforeRun?.(this, { datasetObjects: record.objects });

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
      this.endpoints.set(`caretaker-${model}`, { status: 'InService', config: liveConfig!, serverless: settings.deployment.mode === 'serverless' });
    }

    const input: PipelineInput = {
      runId,
      model,
      datasetVersion: options.requestedDatasetVersion ?? datasetVersion,
      requestedBy: REQUESTER,
      trigger: { kind: 'api', id: 'req-1', reason: 'new labelled data' },
    };
    const { execution, sagemaker, alerts, approvals } = await this.runExecution({ model, settings, catalog, options, liveConfig }, input);
    return { execution, model, runId, settings, sagemaker, alerts, approvals, dataset, datasetVersion, datasetObjects: record.objects, datasets, catalog, liveConfig };
  }

  /**
   * Starts the pipeline the way the registry API's rollback does (`SfnDeploymentStarter`:
   * `{ kind: 'rollback', ...RollbackRequest }`), against the endpoint serving `liveConfig`.
   */
  async rollback(scenario: {
    readonly model: string;
    readonly dataset: string;
    readonly version: number;
    readonly reason: string;
    readonly liveConfig?: string;
    readonly endpoint?: ScenarioOptions['endpoint'];
  }) {
    const { model, dataset, version, reason } = scenario;
    const request: RollbackRequest = {
      model,
      version,
      reason,
      requestedBy: APPROVER,
      requestedAt: new Date().toISOString(),
      deploymentId: `${model}-rollback-${uniqueName('r').slice(2)}`,
    };
    const { catalog } = this.datasetsOf(model, dataset);
    const result = await this.runExecution(
      { model, settings: this.settingsOf(model, dataset), catalog, options: { evaluation: { candidate: {} }, endpoint: scenario.endpoint }, liveConfig: scenario.liveConfig },
      { kind: 'rollback', ...request },
    );
    return { ...result, runId: request.deploymentId, request };
  }

  /** This model's `deployment` from now on, without running anything (as a config change before the first run). */
  useDeployment(model: string, deployment: DeploymentConfig): void {
    this.deployments.set(model, deployment);
  }

  /**
   * One batch scoring run (`state-machines/batch-scoring.asl.json`) of `model`, started as its
   * schedule starts it: the real steps Lambda and drift analyzer (against moto), scripted Batch Transform.
   */
  async score(scenario: {
    readonly model: string;
    readonly dataset: string;
    readonly transform?: ScenarioOptions['transform'];
    readonly score?: ScenarioOptions['score'];
    readonly drift?: { readonly psiThreshold: number; readonly minRecords: number };
  }) {
    const { model, dataset } = scenario;
    const sagemaker = new ScriptedSageMaker({ evaluation: { candidate: {} }, transform: scenario.transform, score: scenario.score, s3: this.s3, endpoints: this.endpoints });
    const alerts: { Subject?: string; Message: unknown }[] = [];
    const analyses: unknown[] = [];
    const metrics: Record<string, unknown>[] = [];
    const { catalog } = this.datasetsOf(model, dataset);
    const steps = createHandler(
      createPorts({ tableName: this.tableName, approvalsTopicArn: 'unused', artifactsBucket: this.artifactsBucket, datasetsBucket: this.datasetsBucket, catalog, dynamo: this.dynamo, s3: this.s3 }),
    );
    const analyzer = createAnalyzer({
      bucket: this.artifactsBucket,
      ports: awsDriftPorts({
        s3: this.s3,
        documents: this.dynamo,
        bucket: this.artifactsBucket,
        tableName: this.tableName,
        emit: (document) => metrics.push(JSON.parse(document) as Record<string, unknown>),
        log: () => undefined,
      }),
    });
    const execution = await runBatchScoring(
      {
        steps,
        analyzer: async (payload) => {
          const result = await analyzer(payload);
          analyses.push(result);
          return result;
        },
        settings: { [model]: this.settingsOf(model, dataset) },
        createTransformJob: (request) => sagemaker.createTransformJob(request),
        publishAlert: (request) => {
          alerts.push(request);
          return Promise.resolve();
        },
      },
      { model, trigger: 'schedule', drift: scenario.drift ?? { psiThreshold: 0.2, minRecords: 10 } },
    );
    return { execution, sagemaker, alerts, analyses, metrics };
  }

  private datasetsOf(model: string, dataset: string): { catalog: DatasetCatalog; datasets: DatasetPorts } {
    const catalog = datasetCatalogFromConfig({ models: [this.configOf(model, dataset)] });
    return { catalog, datasets: { s3: this.s3, db: this.dynamo, tableName: this.tableName, bucket: this.datasetsBucket, catalog } };
  }

  private configOf(model: string, dataset: string) {
    const base = exampleConfig().models[0]!;
    return { ...base, name: model, dataset: { ...base.dataset, name: dataset, minRows: 10 }, deployment: this.deployments.get(model) ?? base.deployment };
  }

  private settingsOf(model: string, dataset: string): ModelSettings {
    return renderModelSettings(this.configOf(model, dataset), {
      resourcePrefix: 'caretaker',
      endpointName: `caretaker-${model}`,
      rollbackAlarmNames: [`caretaker-${model}-5xx`, `caretaker-${model}-latency`],
      volumeKmsKeyArn: LOCAL_SUBSTITUTIONS.KmsKeyArn,
      artifactsBucket: this.artifactsBucket,
      // Where `cdk deploy` would have put the example's evaluation script (a file asset).
      evaluationCode: { s3Uri: 's3://cdk-assets/0123abcd.py', fileName: '0123abcd.py' },
    });
  }

  /** One execution with the real steps Lambda, scripted SageMaker, captured alerts and an approver. */
  private async runExecution(
    scenario: { readonly model: string; readonly settings: ModelSettings; readonly catalog: DatasetCatalog; readonly options: ScenarioOptions; readonly liveConfig?: string },
    input: Parameters<typeof runTrainingPipeline>[1],
  ) {
    const { model, settings, catalog, options, liveConfig } = scenario;
    const endpointName = `caretaker-${model}`;
    if (liveConfig && !this.endpoints.has(endpointName)) this.endpoints.set(endpointName, { status: 'InService', config: liveConfig });
    const sagemaker = new ScriptedSageMaker({ ...options, s3: this.s3, endpoints: this.endpoints });
    const alerts: { Subject?: string; Message: unknown }[] = [];
    const approvals: { subject: string; body: string }[] = [];
    const ports = {
      ...createPorts({
        tableName: this.tableName,
        approvalsTopicArn: 'unused',
        artifactsBucket: this.artifactsBucket,
        datasetsBucket: this.datasetsBucket,
        catalog,
        dynamo: this.dynamo,
        s3: this.s3,
      }),
      publishApproval: (message: { subject: string; body: string }) => {
        approvals.push(message);
        return Promise.resolve();
      },
    };
    const handler = createHandler(ports);
    const failing = new Set(options.failSteps ?? []);
    const steps = (payload: unknown) => {
      const step = String((payload as { step?: unknown }).step);
      if (failing.delete(step)) return Promise.reject(new Error(`${step}: injected failure`));
      return handler(payload);
    };
    const approver = options.approver ?? { kind: 'approves' };
    const pendingDecisions: Promise<void>[] = [];

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
            // The API's callbacks send exactly lambdas/shared/approval.ts's contract.
            if (approver.kind === 'approves') sendTaskSuccess(taskToken, JSON.parse(approvalOutput({ decision: 'APPROVED', by: APPROVER, reason: 'looks good', at })));
            else {
              const failure = rejectionFailure({ by: APPROVER, reason: approver.reason, at });
              sendTaskFailure(taskToken, failure.error, failure.cause);
            }
          };
          pendingDecisions.push(decide());
        },
      },
      input,
    );
    await Promise.all(pendingDecisions);
    return { execution, sagemaker, alerts, approvals, ports };
  }
}
