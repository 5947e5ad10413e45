/**
 * Registry events end to end, offline: the pipeline (ASL on aws-local-stepfunctions, the real
 * steps Lambda) and the retraining starter write the moto table; its stream (DynamoDB Streams
 * API on moto) is read from TRIM_HORIZON and fed to the events publisher as Lambda delivers it;
 * the publisher puts the events on moto's default bus, where a rule on `source: caretaker`
 * routes them to an SQS queue. Each scenario's exact event sequence is read off that queue.
 * Every delivered event is validated against the registry's JSON Schema by python's
 * `jsonschema` (Draft4Validator), an implementation nobody here wrote.
 */
import { spawnSync } from 'node:child_process';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_TYPES, EVENT_SOURCE, eventJsonSchema, type DeliveredEvent } from '../../../lambdas/events/catalog';
import { createHandler } from '../../../lambdas/events/handler';
import { readWholeStream } from '../../../local/streams';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { APPROVER, PipelineWorld, REQUESTER } from '../../support/pipeline';
import { createMetadataTable } from '../../support/table';
import { alarmStateChange } from '../retraining/events';
import { ALARM_PREFIX, createStarter, defaultPolicy } from '../retraining/harness';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };
const BETTER = { 'validation:auc': 0.95, 'validation:logloss': 0.2 };

describe('registry events from the table stream, on an EventBridge bus (moto)', { timeout: 120_000 }, () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  const events = new EventBridgeClient(motoClientConfig());
  const sqs = new SQSClient(motoClientConfig());
  const streams = new DynamoDBStreamsClient(motoClientConfig());
  const bus = uniqueName('caretaker-bus');
  let queueUrl: string;
  const publish = createHandler({ putEvents: (input) => events.send(new PutEventsCommand(input)), busName: bus, consoleUrl: 'https://console.example.com/' });
  const delivered: DeliveredEvent[] = [];
  let streamRecords: DynamoDBRecord[] = [];

  /** Feeds every stream record not yet published through the handler, 100 a batch as the mapping does. */
  let publishedUpTo = 0;
  async function drainStream(): Promise<void> {
    streamRecords = await readWholeStream(streams, table.streamArn!);
    for (let i = publishedUpTo; i < streamRecords.length; i += 100) {
      const result = await publish({ Records: streamRecords.slice(i, Math.min(i + 100, streamRecords.length)) });
      expect(result.batchItemFailures).toEqual([]);
    }
    publishedUpTo = streamRecords.length;
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (Messages.length === 0) break;
      delivered.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as DeliveredEvent));
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
  }
  const of = (key: { model?: string; dataset?: string }) =>
    delivered.filter((e) => (key.model !== undefined && (e.detail as { model?: string }).model === key.model) || (key.dataset !== undefined && (e.detail as { dataset?: string }).dataset === key.dataset));
  const types = (list: readonly DeliveredEvent[]) => list.map((e) => e['detail-type']);

  beforeAll(async () => {
    table = await createMetadataTable(motoClientConfig(), { stream: true });
    world = new PipelineWorld(table.tableName);
    await world.setUp();
    await events.send(new CreateEventBusCommand({ Name: bus }));
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('caretaker-events') }))).QueueUrl!;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await events.send(new PutRuleCommand({ Name: 'all-caretaker-events', EventBusName: bus, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
    await events.send(new PutTargetsCommand({ Rule: 'all-caretaker-events', EventBusName: bus, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }));
  });
  afterAll(async () => {
    await table.drop();
  });

  it('success: dataset registered, run started, version registered, approval requested, approved, deployed', async () => {
    const { model, dataset, runId, datasetVersion } = await world.execute({ evaluation: { candidate: GOOD } });
    await drainStream();
    const seen = of({ model, dataset });
    expect(types(seen)).toEqual(['DatasetVersionRegistered', 'RunStarted', 'VersionRegistered', 'ApprovalRequested', 'VersionApproved', 'DeploymentStarted', 'DeploymentSucceeded']);
    expect(new Set(seen.map((e) => e.source as string))).toEqual(new Set(['caretaker']));
    const [registered, started, version, approval, approved, , live] = seen;
    expect(registered!.detail).toMatchObject({ dataset, datasetVersion, registeredBy: REQUESTER, validation: { status: 'PASSED', reasons: [] }, objects: 2, rowCount: 80 });
    expect(started!.detail).toMatchObject({ model, runId, kind: 'training', requestedBy: REQUESTER, trigger: { kind: 'api' } });
    expect(version!.detail).toMatchObject({ model, version: 1, runId, metrics: GOOD, comparison: { candidate: 0.91 } });
    expect(approval!.detail).toMatchObject({
      model,
      version: 1,
      approveCommand: `npx caretaker approve ${model} 1 --reason '…'`,
      consoleUrl: `https://console.example.com/#/models/${model}/versions/1`,
      scoreSummary: 'validation:auc 0.91 (no champion)',
      expiresAt: expect.stringMatching(/^\d{4}-/) as unknown,
    });
    expect(approved!.detail).toMatchObject({ model, version: 1, decision: { by: APPROVER } });
    expect(live!.detail).toMatchObject({ model, version: 1, rollback: false, deploymentRunId: runId, endpointName: `caretaker-${model}`, endpointConfigName: expect.stringMatching(/^caretaker-/) as unknown });
  });

  it('gate rejection: the run ends rejected by the gate with both scores; nothing registered', async () => {
    const { model, dataset } = await world.execute({ champion: { score: 0.9 }, evaluation: { candidate: { 'validation:auc': 0.903 }, champion: { 'validation:auc': 0.9 } } });
    await drainStream();
    const seen = of({ model, dataset });
    expect(types(seen)).toEqual(['DatasetVersionRegistered', 'RunStarted', 'RunRejectedByGate']);
    expect(seen[2]!.detail).toMatchObject({ model, comparison: { candidate: 0.903, champion: 0.9 }, reason: expect.stringContaining('does not beat the champion') as unknown });
  });

  it('training failure: the run fails with SageMaker\'s reason; nothing registered', async () => {
    const { model, runId } = await world.execute({
      evaluation: { candidate: GOOD },
      training: [{ kind: 'failed', reason: 'AlgorithmError: ExecuteUserScriptError: ValueError: could not convert string to float' }],
    });
    await drainStream();
    const seen = of({ model });
    expect(types(seen)).toEqual(['RunStarted', 'RunFailed']);
    expect(seen[1]!.detail).toMatchObject({ runId, failure: { state: 'TrainModel', error: 'States.TaskFailed', cause: expect.stringContaining('AlgorithmError') as unknown } });
  });

  it('human rejection: the version is rejected with the approver\'s reason; nothing deployed', async () => {
    const { model } = await world.execute({ evaluation: { candidate: GOOD }, approver: { kind: 'rejects', reason: 'holdout is from before the price change' } });
    await drainStream();
    const seen = of({ model });
    expect(types(seen)).toEqual(['RunStarted', 'VersionRegistered', 'ApprovalRequested', 'VersionRejected']);
    expect(seen[3]!.detail).toMatchObject({ decision: { by: APPROVER, reason: 'holdout is from before the price change' } });
  });

  it('expiry: nobody answers and the version expires', async () => {
    const { model } = await world.execute({ evaluation: { candidate: GOOD }, approver: { kind: 'never-answers' } });
    await drainStream();
    expect(types(of({ model }))).toEqual(['RunStarted', 'VersionRegistered', 'ApprovalRequested', 'VersionExpired']);
  });

  it('deploy failure: the endpoint update fails and the deployment is reported failed', async () => {
    const { model, runId } = await world.execute({
      champion: { score: 0.85 },
      evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } },
      endpoint: { kind: 'fails', reason: 'The primary container for production variant AllTraffic did not pass the ping health check.' },
    });
    await drainStream();
    const seen = of({ model });
    expect(types(seen)).toEqual(['RunStarted', 'VersionRegistered', 'ApprovalRequested', 'VersionApproved', 'DeploymentStarted', 'DeploymentFailed']);
    expect(seen.at(-1)!.detail).toMatchObject({ version: 2, status: 'DEPLOY_FAILED', deploymentRunId: runId, rollback: false });
  });

  it('rollback: a RETIRED version is redeployed and reported rolled back', async () => {
    const first = await world.execute({ evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD } });
    const liveConfig = (await world.version(continues.model, 2))?.endpointConfigName;
    await drainStream();
    const before = of({ model: continues.model }).length;
    const { runId } = await world.rollback({ ...continues, version: 1, reason: 'v2 regressed on weekends', liveConfig });
    await drainStream();
    const seen = of({ model: continues.model }).slice(before);
    // StartRollback moves the version to DEPLOYING before it records the run: the events keep the table's order.
    expect(types(seen)).toEqual(['DeploymentStarted', 'RunStarted', 'DeploymentSucceeded', 'RolledBack']);
    expect(seen[0]!.detail).toMatchObject({ version: 1, fromStatus: 'RETIRED', rollback: true, deploymentRunId: runId });
    expect(seen[1]!.detail).toMatchObject({ runId, kind: 'rollback', requestedBy: APPROVER });
    expect(seen[3]!.detail).toMatchObject({ version: 1, rollback: true, deploymentRunId: runId });
  });

  it('failed rollback: the deployment is reported failed, as a rollback, with the target\'s status after it', async () => {
    const first = await world.execute({ evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD } });
    const liveConfig = (await world.version(continues.model, 2))?.endpointConfigName;
    await drainStream();
    const before = of({ model: continues.model }).length;
    const { runId } = await world.rollback({ ...continues, version: 1, reason: 'try', liveConfig, endpoint: { kind: 'fails', reason: 'ping health check failed' } });
    await drainStream();
    const seen = of({ model: continues.model }).slice(before);
    const status = (await world.version(continues.model, 1))?.status;
    expect(types(seen)).toEqual(['DeploymentStarted', 'RunStarted', 'DeploymentFailed']);
    expect(seen[2]!.detail).toMatchObject({ version: 1, rollback: true, deploymentRunId: runId, status });
  });

  it('drift → retraining, then a second drift alarm while that run is in flight is suppressed', async () => {
    const model = uniqueName('churn');
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: `${model}-data` }) });
    await starter.seedDataset(`${model}-data`, [{ version: 'v000001', status: 'PASSED' }]);
    const alarmName = `${ALARM_PREFIX}${model}-drift`;
    await starter.deliver(alarmStateChange(alarmName), model);
    starter.advanceHours(1);
    await starter.deliver(alarmStateChange(alarmName, { stateTimestamp: '2026-11-22T11:00:00.000+0000' }), model);
    // The same alarm state change delivered again: one request, so no new event.
    await starter.deliver(alarmStateChange(alarmName, { stateTimestamp: '2026-11-22T11:00:00.000+0000' }), model);
    await drainStream();
    const seen = of({ model });
    expect(types(seen)).toEqual(['DriftDetected', 'RunStarted', 'DriftDetected', 'RunSuppressed']);
    expect(seen[0]!.detail).toMatchObject({ alarmName, outcome: 'STARTED' });
    // The alarm's report: the analyzer's window reports of this model, as of the alarm's state change.
    expect(seen[2]!.detail).toMatchObject({
      report: { latest: `reports/${model}/latest.json`, windows: `reports/${model}/`, alarmAt: '2026-11-22T11:00:00.000+0000' },
    });
    expect(seen[1]!.detail).toMatchObject({ kind: 'training', trigger: { kind: 'alarm' }, requestedBy: 'caretaker:alarm', datasetVersion: 'v000001' });
    expect(seen[2]!.detail).toMatchObject({ alarmName, outcome: 'SUPPRESSED' });
    expect(seen[3]!.detail).toMatchObject({ runId: (seen[2]!.detail as { runId: string }).runId, reason: expect.any(String) as unknown });
    expect((seen[0]!.detail as { runId: string }).runId).toBe((seen[1]!.detail as { runId: string }).runId);
  });

  it('a model quality alarm is reported as ModelQualityDegraded before the run it starts', async () => {
    const model = uniqueName('churn');
    const starter = createStarter(table.tableName, { [model]: defaultPolicy({ dataset: `${model}-data` }) });
    await starter.seedDataset(`${model}-data`, [{ version: 'v000001', status: 'PASSED' }]);
    await starter.deliver(alarmStateChange(`${ALARM_PREFIX}${model}-quality`), model);
    await drainStream();
    expect(types(of({ model }))).toEqual(['ModelQualityDegraded', 'RunStarted']);
  });

  it('publishes each change once, and replaying the whole stream yields the same ids, no new ones', async () => {
    const ids = delivered.map((e) => e.detail.eventId);
    expect(ids.length).toBeGreaterThan(30);
    expect(new Set(ids).size).toBe(ids.length);
    const countBefore = delivered.length;
    publishedUpTo = 0; // the mapping re-reads the stream from TRIM_HORIZON (a replay)
    await drainStream();
    const replayed = delivered.slice(countBefore).map((e) => e.detail.eventId);
    expect(replayed).toEqual(ids);
    // EventBridge's envelope id is per delivery: it is not the id to deduplicate on.
    expect(delivered[countBefore]!.id).not.toBe(delivered[0]!.id);
    // Re-publishing every event of the file through moto takes ~20 s alone, minutes under full-suite load.
  }, 300_000);

  it('every delivered event validates against its registered JSON Schema (python jsonschema, Draft 4)', () => {
    expect(new Set(delivered.map((e) => e['detail-type']))).toEqual(new Set(DETAIL_TYPES));
    const schemas = Object.fromEntries(DETAIL_TYPES.map((t) => [t, eventJsonSchema(t)]));
    // A broken event must fail: prove the validator bites before trusting its silence.
    const broken = { ...delivered[0]!, detail: { ...delivered[0]!.detail, eventId: 42 } };
    const script = [
      'import json, sys',
      'from jsonschema import Draft4Validator',
      'data = json.load(sys.stdin)',
      'bad = []',
      'for i, event in enumerate(data["events"]):',
      '    schema = data["schemas"][event["detail-type"]]',
      '    Draft4Validator.check_schema(schema)',
      '    errors = [e.message for e in Draft4Validator(schema).iter_errors(event)]',
      '    if errors: bad.append([i, event["detail-type"], errors[:3]])',
      'print(json.dumps(bad))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script], { input: JSON.stringify({ schemas, events: [...delivered, broken] }), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const bad = JSON.parse(run.stdout) as [number, string, string[]][];
    expect(bad).toEqual([[delivered.length, broken['detail-type'], [expect.stringContaining('42') as unknown]]]);
  });
});
