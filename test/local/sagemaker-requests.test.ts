/**
 * Every SageMaker request the pipeline sends, as the ASL resolves it in offline executions
 * (first deploy, blue/green update over a champion, a rollback, an EBS-backed endpoint config),
 * validated against botocore's SageMaker service model with `ParamValidator` — a source no one
 * here wrote. A field SageMaker does not know, a wrong type or a missing required member fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineWorld } from '../support/pipeline';
import { operationOf, validateSageMakerRequests } from '../support/botocore';
import { createMetadataTable } from '../support/table';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };
const BETTER = { 'validation:auc': 0.95, 'validation:logloss': 0.2 };

describe('SageMaker requests of the pipeline, against botocore\'s service model', () => {
  let table: Awaited<ReturnType<typeof createMetadataTable>>;
  let world: PipelineWorld;
  beforeAll(async () => {
    table = await createMetadataTable();
    world = new PipelineWorld(table.tableName);
    await world.setUp();
  });
  afterAll(async () => {
    await table.drop();
  });

  it('validates every request of a first deploy, an update, a rollback and an EBS-backed endpoint', async () => {
    const first = await world.execute({ evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    const second = await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD } });
    const rollback = await world.rollback({ ...continues, version: 1, reason: 'v2 regressed' });
    const ebs = await world.execute({
      evaluation: { candidate: GOOD },
      settings: (s) => ({ ...s, deployment: { ...s.deployment, instanceType: 'ml.m5.large', encryptStorageVolume: true } }),
    });
    for (const run of [first, second, rollback, ebs]) expect(run.execution.status).toBe('SUCCEEDED');

    const requests = [first, second, rollback, ebs].flatMap((run) => run.sagemaker.calls.map((c) => ({ operation: operationOf(c.api), params: c.request })));
    const operations = new Set(requests.map((r) => r.operation));
    expect([...operations].sort()).toEqual(['CreateEndpoint', 'CreateEndpointConfig', 'CreateModel', 'CreateProcessingJob', 'CreateTrainingJob', 'DescribeEndpoint', 'UpdateEndpoint']);
    const { botocore, results } = validateSageMakerRequests(requests);
    expect(botocore).toMatch(/^\d+\.\d+\.\d+$/);
    expect(results.filter((r) => r.errors !== '')).toEqual([]);
    expect(results).toHaveLength(requests.length);
  });

  it('the validator is not a rubber stamp: it refuses an unknown field and a missing required one', () => {
    const { results } = validateSageMakerRequests([
      { operation: 'CreateEndpoint', params: { EndpointName: 'e', EndpointConfigName: 'c', Nope: 1 } },
      { operation: 'UpdateEndpoint', params: { EndpointName: 'e' } },
    ]);
    expect(results[0]!.errors).toContain('Unknown parameter in input: "Nope"');
    expect(results[1]!.errors).toContain('Missing required parameter in input: "EndpointConfigName"');
  });
});
