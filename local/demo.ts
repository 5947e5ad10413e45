/**
 * `caretaker demo`: the whole loop on the local stack, step by step, through the same doors a
 * team uses — the registry API over HTTP (callers named by `X-Caretaker-Principal`), the
 * dataset register function, SageMaker runtime for traffic — and the stack's own wiring for
 * everything in between (retraining queue → starter → pipeline; drift alarm → rule → intake).
 * Each step waits for its record in the registry and fails the demo if it does not appear.
 */
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { customersToCsv, FEATURE_COLUMNS, generateCustomers, type Batch, type Customer } from '../examples/churn/src/data';
import { keys, runIdFor, type ModelVersionRecord, type RunRecord } from '../lambdas/shared/contracts';
import { createDocumentClient } from '../lambdas/shared/dynamo';
import { parsePrincipal } from '../lambdas/api/principal';
import { auditObjectOf } from '../lambdas/audit/copy';
import { tableAuditSource } from '../lambdas/audit/table-source';
import { readBaseline } from '../lambdas/drift/store';
import { ENV } from '../lambdas/shared/env';
import { artifactPrefixes } from '../lambdas/shared/layout';
import { DRIFT_DIMENSIONS, DRIFT_METRICS, METRICS_NAMESPACE } from '../lambdas/shared/metrics';
import { deploymentSchema, type CaretakerConfig, type ModelConfig } from '../lib/config';
import { algorithmEncodingOf } from '../lib/pipeline-settings';
import { isBuiltInImage } from '../lib/sagemaker-images';
import { encodeRequest } from '../lambdas/datasets/algorithm-csv';
import type { AlarmTransition } from './alarms';
import { APPROVER, REQUESTER } from './principals';
import { CaptureWriter } from './sagemaker/capture';
import { scheduledEvent } from './schedules';
import { ACCOUNT_ID, REGION, type LocalStack } from './stack';

/** Role sessions, as API Gateway names callers (X-Caretaker-Principal carries the same shape). */
export { APPROVER, REQUESTER };

/** How the demo serves its model: the config's own real-time endpoint, or the same model serverless. */
export type DemoServing = 'realtime' | 'serverless' | 'batch';

/** The demo's batch schedule: nightly, as a team's would be (local mode starts each run itself, as Scheduler would at that time). */
const DEMO_BATCH_SCHEDULE = 'cron(0 2 * * ? *)';

/**
 * Local mode's config overrides: the same stack, with waits a demo can sit through. `serving:
 * "serverless"` deploys every model as a serverless endpoint (the config's defaults for memory
 * and concurrency, its bake time and latency alarm kept); `"batch"` as a nightly Batch Transform.
 */
export function localConfig(config: CaretakerConfig, options: { readonly serving?: DemoServing; readonly xgboost?: 'stand-in' | 'unavailable' } = {}): CaretakerConfig {
  return {
    ...config,
    models: config.models.map((model) => ({
      ...model,
      ...(options.xgboost === 'unavailable' && isBuiltInImage(model.trainingImageUri) ? withoutXgboost(model) : {}),
      // A retraining run right after the first one is the point of the demo; the cooldown would suppress it.
      retraining: { ...model.retraining, cooldownHours: 0 },
      ...(options.serving === 'serverless' && model.deployment.mode !== 'serverless'
        ? { deployment: deploymentSchema.parse({ mode: 'serverless', bakeSeconds: model.deployment.bakeSeconds, latencyAlarmMs: model.deployment.latencyAlarmMs }) }
        : {}),
      ...(options.serving === 'batch' && model.deployment.mode !== 'batch' ? { deployment: deploymentSchema.parse({ mode: 'batch', schedule: DEMO_BATCH_SCHEDULE }) } : {}),
    })),
  };
}

/** The example's Node model (examples/churn), a local image that needs nothing but Node. */
export const NODE_EXAMPLE_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/caretaker-churn:1.0.0';

/**
 * A model of SageMaker's XGBoost image, for a machine whose python3 has no xgboost (the local
 * stand-in runs the real library): the example's Node logistic regression instead, trained and
 * evaluated by its own image (`train`, `evaluate`), with the same data, gate and deployment.
 * Local mode says so when it does this (cli/local.ts); nothing pretends to be XGBoost.
 */
function withoutXgboost(model: ModelConfig): Partial<ModelConfig> {
  const { eta, num_round } = model.training.hyperparameters;
  return {
    trainingImageUri: NODE_EXAMPLE_IMAGE,
    inferenceImageUri: undefined,
    training: { ...model.training, hyperparameters: { ...(eta ? { eta } : {}), ...(num_round ? { num_round } : {}) } },
    evaluation: { instanceType: model.evaluation.instanceType, maxRuntimeSeconds: model.evaluation.maxRuntimeSeconds },
  };
}

/** One customer as the model's endpoint and Batch Transform take it: a SageMaker algorithm's encoding, else the features in declared order. */
export function requestRowOf(model: ModelConfig): (customer: Customer) => string {
  const encoding = algorithmEncodingOf(model);
  return encoding ? (customer) => encodeRequest(encoding, (name) => customer[name as keyof Customer]) : (customer) => FEATURE_COLUMNS.map((column) => customer[column]).join(',');
}

export interface DemoStep {
  readonly name: string;
  readonly detail: string;
  readonly ms: number;
}

export interface DemoResult {
  readonly model: string;
  readonly steps: readonly DemoStep[];
  readonly datasetVersions: readonly string[];
  /**
   * `metric` is the version's on its run's holdout; `champion` is the live version of that time
   * scored on the same holdout (what the gate compared), so a row's two figures compare.
   */
  readonly runs: readonly { runId: string; trigger: string; version?: number; status: string; metric?: number; champion?: { version?: number; metric: number } }[];
  readonly driftScores: readonly { phase: string; score: number }[];
  readonly liveVersion: number;
  /**
   * The write-once copy at the end: `events` audit events in the table, `inBucket` of them found
   * in the Object Lock bucket after the reconciler ran, `copiedLate` of those copied by it (not
   * the stream copier).
   */
  readonly audit: { readonly events: number; readonly inBucket: number; readonly copiedLate: number };
}

export class DemoFailure extends Error {}

interface Deps {
  readonly stack: LocalStack;
  readonly config: CaretakerConfig;
  readonly print?: (line: string) => void;
  /** Longest wait for any one step. @default 120 s */
  readonly stepTimeoutMs?: number;
}

export async function runDemo({ stack, config, print = () => undefined, stepTimeoutMs = 120_000 }: Deps): Promise<DemoResult> {
  const model = config.models[0];
  if (!model) throw new DemoFailure('the config declares no model');
  const documents = createDocumentClient(stack.clientConfig);
  const s3 = new S3Client(stack.clientConfig);
  const steps: DemoStep[] = [];
  const driftScores: { phase: string; score: number }[] = [];
  const datasetVersions: string[] = [];
  const started = Date.now();
  let last = started;

  const step = (name: string, detail: string) => {
    const now = Date.now();
    steps.push({ name, detail, ms: now - last });
    last = now;
    print(`✓ ${name.padEnd(36)} ${detail} (${((now - started) / 1000).toFixed(1)} s)`);
  };

  const api = async (method: string, path: string, principal: string, body?: unknown) => {
    const response = await fetch(new URL(path, stack.apiUrl), {
      method,
      headers: { 'x-caretaker-principal': principal, ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `demo-${Date.now()}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + stepTimeoutMs;
    for (;;) {
      const found = await probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new DemoFailure(`timed out after ${stepTimeoutMs / 1000} s waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const get = async <T>(key: { pk: string; sk: string }) => {
    const { Item } = await documents.send(new GetCommand({ TableName: stack.names.table, Key: key, ConsistentRead: true }));
    return Item as T | undefined;
  };
  const runsOfModel = async () => {
    const { Items } = await documents.send(
      new QueryCommand({ TableName: stack.names.table, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': keys.runsOfModel(model.name, '').gsi1pk } }),
    );
    return (Items ?? []) as (RunRecord & Record<string, unknown>)[];
  };
  const version = (v: number) => get<ModelVersionRecord & { readonly endpointName?: string }>(keys.version(model.name, v));
  /** Waits for version `v` to reach `status` and be `ready`; fails the demo if it ends otherwise. */
  const waitForVersion = (v: number, status: string, what = `version ${v} to be ${status}`, ready: (record: ModelVersionRecord) => boolean = () => true) =>
    waitFor(what, async () => {
      const record = await version(v);
      if (record && record.status === status && ready(record)) return record;
      if (record && ['REJECTED', 'DEPLOY_FAILED', 'EXPIRED'].includes(record.status)) throw new DemoFailure(`version ${v} ended ${record.status}`);
      return undefined;
    });
  // A version is PENDING_APPROVAL from RegisterVersion on, but only approvable once the pipeline's
  // WaitForApproval task has stored its token (before that the API answers 409 "retry shortly").
  const waitForApprovalRequest = (v: number) =>
    waitForVersion(v, 'PENDING_APPROVAL', `the pipeline to ask for a decision on version ${v}`, (record) => record.taskToken !== undefined);
  const waitForRunWithVersion = (runId: string) =>
    waitFor(`run ${runId} to register a version`, async () => {
      const run = await get<RunRecord & Record<string, unknown>>(keys.run(runId));
      if (run && ['FAILED', 'REJECTED_BY_GATE', 'DEPLOY_FAILED', 'EXPIRED'].includes(run.status)) {
        throw new DemoFailure(`run ${runId} ended ${run.status}: ${JSON.stringify(run.failure ?? run.reason ?? '')}`);
      }
      return run?.version === undefined ? undefined : run;
    });

  const registerDataset = async (label: string, batches: readonly { batch: Batch; rows: number; seed: number }[]) => {
    const objects = [];
    for (const [index, { batch, rows, seed }] of batches.entries()) {
      const key = `datasets/${model.dataset.name}/${label}/part-${String(index).padStart(4, '0')}.csv`;
      await s3.send(new PutObjectCommand({ Bucket: stack.names.datasetsBucket, Key: key, Body: customersToCsv(generateCustomers({ rows, seed, batch })), ContentType: 'text/csv' }));
      objects.push({ key });
    }
    const register = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('datasets/register.handler.ts'));
    if (!register) throw new DemoFailure('the stack has no dataset register function');
    const result = (await stack.functions.invoke(register.logicalId, { dataset: model.dataset.name, objects, registeredBy: REQUESTER })) as {
      record: { datasetVersion: string; validation: { status: string; reasons?: string[] } };
    };
    if (result.record.validation.status !== 'PASSED') throw new DemoFailure(`dataset ${label} did not validate: ${JSON.stringify(result.record.validation)}`);
    datasetVersions.push(result.record.datasetVersion);
    return result.record.datasetVersion;
  };

  const approve = async (v: number, requester: string) => {
    // A run the drift alarm or a schedule asked for (`caretaker:alarm`) has no person behind it:
    // nobody can approve their own request, so there is no self-approval to show refused.
    if (parsePrincipal(requester) === undefined) {
      step(`v${v} requested by ${requester}`, 'no person requested it: any approver may decide');
    } else {
      const self = await api('POST', `models/${model.name}/versions/${v}/approve`, requester, { reason: 'I trained it, ship it' });
      if (self.status !== 403) throw new DemoFailure(`self-approval answered ${self.status}, not 403: ${JSON.stringify(self.body)}`);
      step(`self-approval of v${v} refused`, `403 ${String(self.body.message)}`);
    }
    const approved = await api('POST', `models/${model.name}/versions/${v}/approve`, APPROVER, { reason: 'metrics and gate look right' });
    if (approved.status !== 200) throw new DemoFailure(`approval answered ${approved.status}: ${JSON.stringify(approved.body)}`);
    step(`v${v} approved`, `by ${APPROVER}`);
  };

  // SageMaker has no data capture for serverless endpoints: the calling application writes its
  // request records to the model's capture prefix in the capture format (README, Serving modes).
  // Here the demo is that application, with the write DriftMonitor.grantCaptureWrite allows.
  const serverless = model.deployment.mode === 'serverless';
  const batchMode = model.deployment.mode === 'batch';
  /** What SageMaker says serves the endpoint (DescribeEndpoint → DescribeEndpointConfig), as a step's detail. */
  const sagemaker = new SageMakerClient({ ...stack.clientConfig, endpoint: stack.endpoints.sagemaker });
  const servedBy = async (endpointName: string) => {
    if (model.deployment.mode === 'batch') {
      const live = await api('GET', `models/${model.name}`, APPROVER);
      const record = live.body.live as { modelName?: string } | undefined;
      return `no endpoint: SageMaker model ${record?.modelName ?? '?'}, scored by Batch Transform at ${model.deployment.schedule ?? '?'}`;
    }
    const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
    const variant = config.ProductionVariants?.[0];
    const serving = variant?.ServerlessConfig
      ? `serverless, ${variant.ServerlessConfig.MemorySizeInMB} MB, up to ${variant.ServerlessConfig.MaxConcurrency} concurrent`
      : `${variant?.InitialInstanceCount ?? '?'} × ${variant?.InstanceType ?? '?'}`;
    return `endpoint ${endpointName} ${endpoint.EndpointStatus} on ${endpoint.EndpointConfigName} (${serving})`;
  };
  const requestRow = requestRowOf(model);
  const sendTraffic = async (batch: Batch, rows: number, seed: number) => {
    const customers = generateCustomers({ rows, seed, batch });
    const endpointName = (await version(1))?.endpointName ?? `caretaker-${model.name}`;
    const captureFailures: unknown[] = [];
    const appCapture = serverless
      ? new CaptureWriter(
          s3,
          endpointName,
          { InitialSamplingPercentage: 100, DestinationS3Uri: `s3://${stack.names.artifactsBucket}/capture/${model.name}`, CaptureOptions: [{ CaptureMode: 'InputAndOutput' }] },
          3_600_000,
          (error) => captureFailures.push(error),
        )
      : undefined;
    for (let i = 0; i < customers.length; i += 8) {
      await Promise.all(
        customers.slice(i, i + 8).map(async (customer) => {
          const row = `${requestRow(customer)}\n`;
          // SageMaker runtime's InvokeEndpoint route (the local runner does not check SigV4).
          const response = await fetch(`${stack.endpoints.sagemaker}/endpoints/${encodeURIComponent(endpointName)}/invocations`, {
            method: 'POST',
            headers: { 'content-type': 'text/csv' },
            body: row,
          });
          const output = Buffer.from(await response.arrayBuffer());
          if (!response.ok) throw new DemoFailure(`InvokeEndpoint answered ${response.status}: ${output.toString('utf8')}`);
          appCapture?.record({
            variant: response.headers.get('x-amzn-invoked-production-variant') ?? 'AllTraffic',
            inputContentType: 'text/csv',
            input: Buffer.from(row),
            outputContentType: response.headers.get('content-type') ?? 'text/csv',
            output,
            at: new Date(),
          });
        }),
      );
    }
    if (appCapture) {
      await appCapture.close();
      if (captureFailures.length > 0) throw new DemoFailure(`writing the caller's capture records failed: ${String(captureFailures[0])}`);
    } else await stack.sagemaker.runner.endpoints.flushCapture();
    step(
      `${batch} traffic sent`,
      serverless
        ? `${rows} requests to the serverless endpoint, each recorded by the caller under capture/${model.name}/`
        : `${rows} requests to the live endpoint, captured at ${model.deployment.dataCapturePercent} %`,
    );
  };

  /**
   * The pipeline's BuildDriftBaseline, the state after RecordDeployment, writes the deployed
   * version's drift baseline (the analyzer needs it): the version is LIVE a moment before it exists.
   */
  const expectDriftBaseline = async (v: number) => {
    const baseline = await waitFor(`the pipeline's drift baseline for v${v}`, () => readBaseline(s3, stack.names.artifactsBucket, model.name, v));
    step(`v${v} drift baseline recorded`, `${baseline.rows} rows, ${Object.keys(baseline.features).length} features`);
  };

  /**
   * A batch model's scoring run: the input prefix holds `rows` new records (the label left out, as
   * a producer drops them), and the run starts as the nightly schedule would start it (its
   * target's input from the template). The run's AnalyzeDrift reads the job's input as the drift
   * window; its report (through the API) gives the DriftScore the local alarm evaluates.
   */
  const sfn = new SFNClient({ ...stack.clientConfig, endpoint: stack.endpoints.stepFunctions });
  const putBatchInput = async (batch: Batch, rows: number, seed: number) => {
    const inputPrefix = (model.deployment.mode === 'batch' ? model.deployment.inputPrefix : undefined) ?? artifactPrefixes.batchInput(model.name);
    const old = await s3.send(new ListObjectsV2Command({ Bucket: stack.names.artifactsBucket, Prefix: inputPrefix }));
    for (const object of old.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: stack.names.artifactsBucket, Key: object.Key }));
    const customers = generateCustomers({ rows, seed, batch });
    const body = customers.map(requestRow).join('\n') + '\n';
    await s3.send(new PutObjectCommand({ Bucket: stack.names.artifactsBucket, Key: `${inputPrefix}${batch}-${seed}.csv`, Body: body, ContentType: 'text/csv' }));
    return `${inputPrefix}${batch}-${seed}.csv`;
  };
  const scoreBatch = async (batch: Batch, rows: number, seed: number, phase: string): Promise<{ score: number; transitions: AlarmTransition[] }> => {
    await putBatchInput(batch, rows, seed);
    const schedule = stack.schedulerTargets.find((t) => (JSON.parse(t.input) as { model?: string }).model === model.name);
    if (!schedule) throw new DemoFailure(`the stack has no scoring schedule for ${model.name}`);
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: schedule.stateMachineArn, input: schedule.input }));
    const run = await waitFor(`scoring run ${executionArn ?? '?'}`, async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
    if (run.status !== 'SUCCEEDED') throw new DemoFailure(`scoring run ${executionArn ?? '?'} ended ${run.status ?? '?'}: ${run.cause ?? run.error ?? ''}`);
    const output = JSON.parse(run.output ?? '{}') as { latest?: { output?: string; version?: number } };
    const reports = await api('GET', `models/${model.name}/drift/reports`, APPROVER);
    const newest = (reports.body.items as string[] | undefined)?.[0];
    const report = newest === undefined ? undefined : await api('GET', `models/${model.name}/drift/reports/${newest}`, APPROVER);
    const score = (report?.body.report as { driftScore?: number | null } | undefined)?.driftScore;
    if (typeof score !== 'number') throw new DemoFailure(`scoring run ${phase}: no drift score in the window's report (${JSON.stringify(report?.body ?? reports.body).slice(0, 300)})`);
    driftScores.push({ phase, score });
    const transitions = await stack.alarms.record(METRICS_NAMESPACE, DRIFT_METRICS.driftScore, { [DRIFT_DIMENSIONS.model]: model.name }, score);
    step(`batch scoring (${phase})`, `${rows} rows scored by v${output.latest?.version ?? '?'} into ${output.latest?.output ?? '?'}; DriftScore ${score.toFixed(3)} → alarm ${stack.alarms.state(`${alarmPrefix()}${model.name}-drift`)}`);
    return { score, transitions };
  };

  const analyzer = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('drift/analyzer.handler.ts'));
  if (!analyzer) throw new DemoFailure('the stack has no drift analyzer');
  const analyze = async (phase: string, windowMinutes: number): Promise<{ score: number; transitions: AlarmTransition[] }> => {
    const result = (await stack.functions.invoke(analyzer.logicalId, {
      model: model.name,
      windowEnd: new Date(Date.now() + 1000).toISOString(),
      windowMinutes,
      psiThreshold: model.drift.psiThreshold,
      objectiveMetric: model.objective.metricName,
    })) as { status: string; driftScore?: number; reason?: string };
    if (result.status !== 'analyzed' || result.driftScore === undefined) throw new DemoFailure(`drift analysis ${phase}: ${result.status} ${result.reason ?? 'no drift score'}`);
    const score = result.driftScore;
    driftScores.push({ phase, score });
    const transitions = await stack.alarms.record(METRICS_NAMESPACE, DRIFT_METRICS.driftScore, { [DRIFT_DIMENSIONS.model]: model.name }, score);
    step(`drift analysis (${phase})`, `DriftScore ${score.toFixed(3)} → alarm ${stack.alarms.state(`${alarmPrefix()}${model.name}-drift`)}`);
    return { score, transitions };
  };
  const alarmPrefix = () => {
    const intake = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('retraining/intake.handler.ts'));
    return intake?.environment[ENV.alarmNamePrefix] ?? '';
  };

  // 1. Data in.
  const v1Data = await registerDataset('v1', [{ batch: 'baseline', rows: 4000, seed: 7 }]);
  step('dataset v1 registered', `${model.dataset.name} ${v1Data}, validation PASSED`);

  // A batch model's first deployment scores its input prefix: the producer's records are there first.
  if (batchMode) step('batch input in place', `s3://${stack.names.artifactsBucket}/${await putBatchInput('baseline', 600, 11)}, records without the label`);

  // 2. A run, requested through the API → retraining queue → starter → pipeline.
  const requested = await api('POST', `models/${model.name}/retrain`, REQUESTER, { reason: 'first model on the seeded data', datasetVersion: v1Data });
  if (requested.status !== 202) throw new DemoFailure(`retrain answered ${requested.status}: ${JSON.stringify(requested.body)}`);
  const firstRunId = String(requested.body.runId);
  step('run requested', `runId ${firstRunId}`);
  const firstRun = await waitForRunWithVersion(firstRunId);
  const v1 = await waitForApprovalRequest(Number(firstRun.version));
  step('trained, evaluated, gated', `job ${v1.trainingJobName}, ${model.objective.metricName} ${JSON.stringify(v1.metrics[model.objective.metricName])}`);
  step(`v${v1.version} pending approval`, `requested by ${v1.requestedBy}`);
  await approve(v1.version, v1.requestedBy);
  await waitForVersion(v1.version, 'LIVE');
  step(`v${v1.version} deployed`, await servedBy((await version(v1.version))?.endpointName ?? `caretaker-${model.name}`));
  await expectDriftBaseline(v1.version);

  // 3. Traffic (a batch model: scoring runs), then drift.
  if (batchMode) {
    await scoreBatch('baseline', 600, 11, 'baseline input');
  } else {
    await sendTraffic('baseline', 600, 11);
    await analyze('baseline traffic', 1);
    await sendTraffic('drifted', 1200, 13);
  }
  // New labelled data lands (including the drifted population): the retraining run, which the
  // starter points at the newest validated dataset version, trains on it.
  const v2Data = await registerDataset('v2', [
    { batch: 'baseline', rows: 2000, seed: 17 },
    { batch: 'drifted', rows: 2000, seed: 19 },
  ]);
  step('dataset v2 registered', `${model.dataset.name} ${v2Data}, validation PASSED`);
  // The alarm needs `evaluationPeriods` breaching periods; locally, one analysis is one period.
  let alarmed: AlarmTransition | undefined;
  for (let period = 1; period <= model.drift.evaluationPeriods + 1 && !alarmed; period += 1) {
    const analysis = batchMode ? await scoreBatch('drifted', 1200, 13 + period, `drifted input, run ${period}`) : await analyze(`drifted, period ${period}`, 1);
    alarmed = analysis.transitions.find((t) => t.to === 'ALARM');
  }
  if (!alarmed) throw new DemoFailure('the drift alarm did not go to ALARM');
  step('drift alarm in ALARM', `${alarmed.alarmName}: ${alarmed.reason}`);

  // 4. The alarm's event went through the rule → intake → FIFO queue → starter; a redelivery is suppressed.
  const intake = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('retraining/intake.handler.ts'));
  const starter = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('retraining/starter.handler.ts'));
  if (!intake || !starter) throw new DemoFailure('the stack has no retraining intake or starter');
  const delivered = () => stack.consumers.invocations.get(intake.logicalId) ?? 0;
  const startsBefore = stack.consumers.invocations.get(starter.logicalId) ?? 0;
  await waitFor('the alarm event to reach the intake function', () => Promise.resolve(delivered() >= 1 ? true : undefined));
  // EventBridge delivers at least once: the same state change again, as a redelivery would.
  await stack.alarms.redeliver(alarmed);
  await waitFor('the duplicate alarm event to reach the intake function', () => Promise.resolve(delivered() >= 2 ? true : undefined));
  const alarmRunId = runIdFor(model.name, 'alarm', `${alarmed.alarmName}|${alarmed.timestamp}`);
  const secondRun = await waitForRunWithVersion(alarmRunId);
  await stack.consumers.drained();
  const alarmRuns = (await runsOfModel()).filter((run) => run.trigger.kind === 'alarm');
  if (alarmRuns.length !== 1) throw new DemoFailure(`expected exactly one retraining run from the alarm, found ${alarmRuns.length}`);
  const starts = (stack.consumers.invocations.get(starter.logicalId) ?? 0) - startsBefore;
  step('exactly one retraining run', `runId ${alarmRunId}; the alarm event arrived twice, the queue's deduplication and the starter let one run through (${starts} starter batch${starts === 1 ? '' : 'es'})`);
  if (secondRun.datasetVersion !== v2Data) throw new DemoFailure(`the retraining run trained on ${secondRun.datasetVersion}, not dataset ${v2Data}`);
  const v2 = await waitForApprovalRequest(Number(secondRun.version));
  step(`v${v2.version} pending approval`, `trained on ${v2.datasetVersion}, ${model.objective.metricName} ${JSON.stringify(v2.metrics[model.objective.metricName])}`);
  await approve(v2.version, v2.requestedBy);
  await waitForVersion(v2.version, 'LIVE');
  const live = await api('GET', `models/${model.name}`, APPROVER);
  const liveVersion = Number((live.body.live as { version?: number } | undefined)?.version);
  if (liveVersion !== v2.version) throw new DemoFailure(`the live version is ${liveVersion}, not ${v2.version}`);
  step(`v${v2.version} deployed and live`, `the API reports live version ${liveVersion}; ${await servedBy((await version(v2.version))?.endpointName ?? `caretaker-${model.name}`)}`);
  await expectDriftBaseline(v2.version);
  if (batchMode) await scoreBatch('drifted', 1200, 23, `v${v2.version}'s first run`);

  // The demo ends quiet: its executions over and the model's retraining lease freed (the releaser,
  // on each execution's end event), so a run asked for next, from the console say, is not
  // suppressed as in-progress behind the demo's own.
  await waitFor('the pipeline executions to end', () => Promise.resolve(stack.stepFunctions.service.running().length === 0 ? true : undefined));
  await waitFor(`the releaser to free ${model.name}'s retraining lease`, async () => ((await get<{ holder?: string }>(keys.lease(model.name)))?.holder === undefined ? true : undefined));

  // The audit trail's write-once copy: the stream copier has read the table's stream to its end,
  // the reconciler (hourly, so run once now, as its schedule would) copies anything it missed, and
  // every AUDIT# event of the table must then be an object in the Object Lock bucket.
  await stack.streams.drained();
  const reconciler = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('audit/reconcile.handler.ts'));
  const auditBucket = reconciler?.environment[ENV.auditBucket];
  if (!reconciler || !auditBucket) throw new DemoFailure('the stack has no audit reconciler with an audit bucket');
  const reconcileRule = stack.schedules.schedules.find((s) => s.functionLogicalId === reconciler.logicalId);
  if (!reconcileRule) throw new DemoFailure('local mode does not run the audit reconciler on its schedule');
  const reconciled = (await stack.functions.invoke(reconciler.logicalId, scheduledEvent(reconcileRule.ruleArn, ACCOUNT_ID, REGION))) as { checked: number; copied: number; late: number };
  const auditKeys: string[] = [];
  // Every audit event since the epoch, read as the reconciler reads them (its table source).
  for await (const page of tableAuditSource(documents, stack.names.table).since(new Date(0).toISOString())) {
    for (const item of page) {
      const object = auditObjectOf(item);
      if (!object) throw new DemoFailure(`audit item ${String(item.pk)} ${String(item.sk)} is not an audit event the copier can copy`);
      auditKeys.push(object.key);
    }
  }
  const objects = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: auditBucket, Prefix: 'audit/', ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) objects.add(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const missing = auditKeys.filter((key) => !objects.has(key));
  if (auditKeys.length === 0) throw new DemoFailure('the table holds no audit events');
  if (missing.length > 0) throw new DemoFailure(`${missing.length} of ${auditKeys.length} audit events are not in the audit bucket after the reconciler ran: ${missing.slice(0, 3).join(', ')}`);
  const audit = { events: auditKeys.length, inBucket: auditKeys.length - missing.length, copiedLate: reconciled.copied };
  step('audit trail locked', `${audit.events} events, all ${audit.inBucket} in the Object Lock bucket (${audit.copiedLate} copied late by the reconciler)`);

  const runs = await Promise.all(
    [firstRunId, alarmRunId].map(async (runId) => {
      const run = await get<RunRecord & Record<string, unknown>>(keys.run(runId));
      const v = run?.version === undefined ? undefined : await version(run.version);
      const comparison = v?.comparison;
      const champion = comparison?.champion === undefined ? undefined : { version: comparison.championVersion, metric: comparison.champion };
      return { runId, trigger: run?.trigger.kind ?? '?', version: run?.version, status: run?.status ?? '?', metric: comparison?.candidate ?? v?.metrics[model.objective.metricName], ...(champion ? { champion } : {}) };
    }),
  );
  s3.destroy();
  return { model: model.name, steps, datasetVersions, runs, driftScores, liveVersion, audit };
}

/** The summary table printed at the end of the demo. */
export function summaryTable(result: DemoResult): string {
  const champion = (r: DemoResult['runs'][number]) => (r.champion ? `${r.champion.version === undefined ? '' : `v${r.champion.version} `}${r.champion.metric.toFixed(4)}` : '- (none)');
  const lines = [
    '',
    `Summary (${result.model})`,
    '',
    'run                                         trigger  version  status     metric  champion on the same holdout',
    ...result.runs.map((r) => `${r.runId.padEnd(44)}${r.trigger.padEnd(9)}${String(r.version ?? '-').padEnd(9)}${r.status.padEnd(11)}${(r.metric?.toFixed(4) ?? '-').padEnd(8)}${champion(r)}`),
    'Each row compares a version with the champion of its time on that run\'s holdout; rows use different holdouts.',
  ];
  lines.push('', `datasets: ${result.datasetVersions.join(', ')}`, `drift scores: ${result.driftScores.map((d) => `${d.phase} ${d.score.toFixed(3)}`).join('; ')}`, `live version: ${result.liveVersion}`, `audit events: ${result.audit.events}, all in the Object Lock bucket (${result.audit.copiedLate} copied late by the reconciler)`, '', 'step                                  seconds');
  for (const step of result.steps) lines.push(`${step.name.padEnd(38)}${(step.ms / 1000).toFixed(1)}`);
  lines.push(`${'total'.padEnd(38)}${(result.steps.reduce((sum, s) => sum + s.ms, 0) / 1000).toFixed(1)}`);
  return lines.join('\n');
}
