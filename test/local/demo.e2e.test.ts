/**
 * The demo's whole loop on local mode, end to end: the synthesized stack on the test run's moto
 * server, the real handlers in-process, the pipeline ASL on local Step Functions, the churn
 * example trained and served by the local SageMaker runner. Asserts each step's record in the
 * registry table, not only that the demo returned.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, type ModelVersionRecord, type RunRecord } from '../../lambdas/shared/contracts';
import { createDocumentClient, queryPages } from '../../lambdas/shared/dynamo';
import { ENV } from '../../lambdas/shared/env';
import { APPROVER, localConfig, REQUESTER, runDemo, type DemoResult } from '../../local/demo';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { motoClientConfig, uniqueName } from '../support/aws';
import { exampleConfig } from '../support/stack';

describe('caretaker demo, end to end on local mode', () => {
  const config = localConfig(exampleConfig());
  let stack: LocalStack;
  let result: DemoResult;
  let documents: ReturnType<typeof createDocumentClient>;

  beforeAll(async () => {
    stack = await startLocalStack({ config, motoEndpoint: motoClientConfig().endpoint, prefix: uniqueName('demo') });
    documents = createDocumentClient(stack.clientConfig);
    result = await runDemo({ stack, config });
  }, 240_000);
  afterAll(async () => {
    await stack.close();
  });

  const get = async <T>(key: { pk: string; sk: string }) => {
    const { Items } = await documents.send(
      new QueryCommand({ TableName: stack.names.table, KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': key.pk, ':sk': key.sk }, ConsistentRead: true }),
    );
    return Items?.[0] as T | undefined;
  };
  const model = () => result.model;

  it('registers dataset v1 and v2, both validated', async () => {
    expect(result.datasetVersions).toHaveLength(2);
    for (const datasetVersion of result.datasetVersions) {
      expect(await get(keys.datasetVersion('churn', datasetVersion))).toMatchObject({ dataset: 'churn', datasetVersion, validation: { status: 'PASSED' } });
    }
  });

  it('runs the requested training to a version approved by someone else than the requester, deployed, then retired by v2', async () => {
    const [first] = result.runs;
    const run = await get<RunRecord>(keys.run(first!.runId));
    expect(run).toMatchObject({ status: 'SUCCEEDED', version: 1, requestedBy: REQUESTER, trigger: { kind: 'api' }, datasetVersion: result.datasetVersions[0] });
    const v1 = await get<ModelVersionRecord>(keys.version(model(), 1));
    expect(v1).toMatchObject({ status: 'RETIRED', requestedBy: REQUESTER, decision: { decision: 'APPROVED', by: APPROVER }, datasetVersion: result.datasetVersions[0] });
    expect(v1?.metrics['validation:auc']).toBeGreaterThan(0.7);
    expect(v1?.trainingJobName).toMatch(/^caretaker-churn-/);
    expect(v1).not.toHaveProperty('taskToken');
  });

  it('shows the self-approval refused and the approvals by the approver', () => {
    const names = result.steps.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['self-approval of v1 refused', 'v1 approved', 'v2 approved']));
    // v2 was asked for by the drift alarm: no person requested it, so no self-approval is staged.
    expect(names).toContain('v2 requested by caretaker:alarm');
    expect(names).not.toContain('self-approval of v2 refused');
    expect(result.steps.find((s) => s.name === 'self-approval of v1 refused')?.detail).toBe('403 the principal who requested the run may not decide on its version');
  });

  it('turns drifted traffic into exactly one alarm-triggered run, trained on dataset v2, approved and live', async () => {
    expect(result.driftScores[0]!.score).toBeLessThan(config.models[0]!.drift.psiThreshold);
    expect(result.driftScores.at(-1)!.score).toBeGreaterThan(config.models[0]!.drift.psiThreshold);
    const { Items = [] } = await documents.send(
      new QueryCommand({ TableName: stack.names.table, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': keys.runsOfModel(model(), '').gsi1pk } }),
    );
    const runs = Items as RunRecord[];
    expect(runs.map((r) => r.trigger.kind).sort()).toEqual(['alarm', 'api']);
    const alarmRun = runs.find((r) => r.trigger.kind === 'alarm')!;
    expect(alarmRun).toMatchObject({ status: 'SUCCEEDED', version: 2, datasetVersion: result.datasetVersions[1] });
    expect(alarmRun.trigger.id).toMatch(/^Caretaker-Caretaker-churn-drift\|/);

    expect(await get(keys.version(model(), 2))).toMatchObject({ status: 'LIVE', runId: alarmRun.runId, decision: { decision: 'APPROVED', by: APPROVER } });
    expect(await get(keys.model(model()))).toMatchObject({ liveVersion: 2, versionCounter: 2 });
    expect(result.liveVersion).toBe(2);
    // The summary's v2 row carries v1 scored on v2's holdout, as the gate compared them.
    const v2 = await get(keys.version(model(), 2));
    expect(result.runs[1]?.champion).toEqual({ version: 1, metric: (v2 as { comparison: { champion: number } }).comparison.champion });
    const { Items: deployments = [] } = await documents.send(
      new QueryCommand({ TableName: stack.names.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)', ExpressionAttributeValues: { ':pk': `MODEL#${model()}`, ':sk': 'DEPLOYMENT#' } }),
    );
    expect(deployments.map((d) => (d as { version: number }).version).sort()).toEqual([1, 2]);
  });

  it('serves v2 on the endpoint after the blue/green update', async () => {
    const described = await stack.sagemaker.runner.call('DescribeEndpoint', { EndpointName: 'caretaker-churn' });
    const v2 = await get<ModelVersionRecord>(keys.version(model(), 2));
    expect(described).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: v2?.endpointConfigName });
  });

  it('ends with every AUDIT# event of the table in the Object Lock bucket, as the demo reports', async () => {
    const events: { model: string; at: string; eventId: string }[] = [];
    for await (const page of queryPages(documents, {
      TableName: stack.names.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :audit',
      ExpressionAttributeValues: { ':audit': keys.auditIndex.gsi1pk },
    })) {
      for (const item of page) {
        expect(String(item.pk)).toMatch(/^AUDIT#/);
        events.push(item as unknown as { model: string; at: string; eventId: string });
      }
    }
    // Approvals, self-approval refusals, the retrain request, runs and deployments are audited.
    expect(events.length).toBeGreaterThan(4);
    const reconciler = [...stack.functions.byLogicalId.values()].find((fn) => fn.entry.endsWith('audit/reconcile.handler.ts'));
    const bucket = reconciler?.environment[ENV.auditBucket];
    expect(bucket).toBeTruthy();
    const s3 = new S3Client(stack.clientConfig);
    const objects = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) objects.add(object.Key ?? '');
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    s3.destroy();
    // lambdas/audit/store.ts's layout: audit/<model>/<yyyy>/<mm>/<dd>/<at>_<eventId>.json
    const expected = events.map((e) => `audit/${e.model}/${e.at.slice(0, 4)}/${e.at.slice(5, 7)}/${e.at.slice(8, 10)}/${e.at}_${e.eventId}.json`);
    expect(expected.filter((key) => !objects.has(key))).toEqual([]);
    expect(result.audit).toMatchObject({ events: events.length, inBucket: events.length });
    expect(result.audit.copiedLate).toBeGreaterThanOrEqual(0);
    expect(result.steps.find((s) => s.name === 'audit trail locked')?.detail).toBe(
      `${events.length} events, all ${events.length} in the Object Lock bucket (${result.audit.copiedLate} copied late by the reconciler)`,
    );
  });
});
