/**
 * deployment.mode "serverless" through the training pipeline's real ASL, executed offline
 * (local/stepfunctions) with the real steps Lambda against moto and scripted SageMaker endpoints
 * (test/fixtures/sagemaker.ts) that refuse what SageMaker documents it refuses for serverless
 * endpoints: data capture in a serverless endpoint config (serverless-endpoints.html, feature
 * exclusions) and updating a real-time endpoint to a serverless config (serverless-endpoints-update.html).
 * Every SageMaker request is validated against botocore's SageMaker service model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentSchema } from '../../lib/config';
import { keys } from '../../lambdas/shared/contracts';
import { PipelineWorld } from '../support/pipeline';
import { recordedCallErrors } from '../support/botocore';
import { createMetadataTable } from '../support/table';

const GOOD = { 'validation:auc': 0.91, 'validation:logloss': 0.31 };
const BETTER = { 'validation:auc': 0.95, 'validation:logloss': 0.2 };
const SERVERLESS = deploymentSchema.parse({ mode: 'serverless', memorySizeInMB: 3072, maxConcurrency: 10, bakeSeconds: 300 });
const WARM = deploymentSchema.parse({ mode: 'serverless', memorySizeInMB: 3072, maxConcurrency: 10, provisionedConcurrency: 2, bakeSeconds: 300 });

describe('deploy path, deployment.mode serverless', () => {
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

  it('first deploy: a serverless endpoint config (ServerlessConfig, no instance fields, no volume key, no data capture), the endpoint created, the version LIVE with its baseline', async () => {
    const { execution, model, runId, sagemaker, alerts } = await world.execute({ deployment: SERVERLESS, evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toContain('CreateServerlessEndpointConfig');
    expect(execution.states).not.toContain('CreateEndpointConfig');
    expect(execution.states).not.toContain('CreateEndpointConfigOnInstanceStorage');

    const [config] = sagemaker.callsTo('createEndpointConfig');
    expect(Object.keys(config!).sort()).toEqual(['EndpointConfigName', 'ProductionVariants', 'Tags']);
    expect(config!.ProductionVariants).toEqual([
      { VariantName: 'AllTraffic', ModelName: expect.stringMatching(new RegExp(`^caretaker-${model}-v1-`)) as unknown, ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 10 } },
    ]);
    // Serverless endpoints do not support network isolation: the model goes without.
    expect(sagemaker.callsTo('createModel')[0]).toMatchObject({ EnableNetworkIsolation: false });
    expect(sagemaker.callsTo('createEndpoint')[0]).toMatchObject({ EndpointName: `caretaker-${model}`, EndpointConfigName: config!.EndpointConfigName });
    expect(world.endpoints.get(`caretaker-${model}`)).toMatchObject({ status: 'InService', serverless: true, config: config!.EndpointConfigName });

    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', endpointConfigName: config!.EndpointConfigName, baselineStatus: 'READY' });
    expect(await world.run(runId)).toMatchObject({ status: 'SUCCEEDED', version: 1 });
    expect(alerts).toEqual([]);
    expect(recordedCallErrors(sagemaker.calls)).toEqual([]);
  });

  it('update: blue/green all at once with the bake and the auto-rollback alarms, the live config checked, the champion RETIRED; then a rollback to it the same way', async () => {
    const first = await world.execute({ deployment: SERVERLESS, evaluation: { candidate: GOOD } });
    const { model, dataset } = first;
    // Provisioned concurrency added by a config change: a new serverless config, applied by UpdateEndpoint.
    const second = await world.execute({ continues: { model, dataset }, deployment: WARM, evaluation: { candidate: BETTER, champion: GOOD } });
    expect(second.execution.status).toBe('SUCCEEDED');
    expect(second.sagemaker.callsTo('createEndpoint')).toEqual([]);
    const [config] = second.sagemaker.callsTo('createEndpointConfig');
    expect(config!.ProductionVariants).toMatchObject([{ ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 10, ProvisionedConcurrency: 2 } }]);
    const [update] = second.sagemaker.callsTo('updateEndpoint');
    expect(update).toEqual({
      EndpointName: `caretaker-${model}`,
      EndpointConfigName: config!.EndpointConfigName,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }, TerminationWaitInSeconds: 300 },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: `caretaker-${model}-5xx` }, { AlarmName: `caretaker-${model}-latency` }] },
      },
    });
    expect(second.execution.states).toContain('VerifyLiveConfig');
    expect(await world.version(model, 2)).toMatchObject({ status: 'LIVE', endpointConfigName: config!.EndpointConfigName });
    expect(await world.version(model, 1)).toMatchObject({ status: 'RETIRED' });

    const rollback = await world.rollback({ model, dataset, version: 1, reason: 'v2 regressed' });
    expect(rollback.execution.status).toBe('SUCCEEDED');
    const [rollbackConfig] = rollback.sagemaker.callsTo('createEndpointConfig');
    expect(rollbackConfig!.ProductionVariants).toMatchObject([{ ModelName: expect.stringMatching(new RegExp(`^caretaker-${model}-v1-`)) as unknown, ServerlessConfig: { ProvisionedConcurrency: 2 } }]);
    expect(rollback.sagemaker.callsTo('updateEndpoint')[0]).toMatchObject({ DeploymentConfig: { BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE' } } } });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', endpointConfigName: rollbackConfig!.EndpointConfigName });
    expect(await world.version(model, 2)).toMatchObject({ status: 'RETIRED' });
    expect(await world.get(keys.model(model))).toMatchObject({ liveVersion: 1 });

    expect(recordedCallErrors([...first.sagemaker.calls, ...second.sagemaker.calls, ...rollback.sagemaker.calls])).toEqual([]);
  });

  it('RELIABILITY 11: a serverless update that fails, or rolls back silently, is DEPLOY_FAILED and the old version stays LIVE', async () => {
    const first = await world.execute({ deployment: SERVERLESS, evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    const failed = await world.execute({
      continues,
      evaluation: { candidate: BETTER, champion: GOOD },
      endpoint: { kind: 'fails', reason: 'The primary container for production variant AllTraffic did not pass the ping health check.' },
    });
    expect(failed.execution.status).toBe('FAILED');
    expect(await world.run(failed.runId)).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'DescribeEndpoint', error: 'Caretaker.EndpointFailed' } });
    expect(await world.version(first.model, 2)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(first.model, 1)).toMatchObject({ status: 'LIVE' });
    expect(failed.alerts).toHaveLength(1);

    // The failed endpoint is fixed by hand (as an operator would), then the next update rolls back silently.
    world.endpoints.set(`caretaker-${first.model}`, { status: 'InService', config: String((await world.version(first.model, 1))!.endpointConfigName), serverless: true });
    const silent = await world.execute({ continues, evaluation: { candidate: BETTER, champion: GOOD }, endpoint: { kind: 'rolls-back-silently' } });
    expect(silent.execution.status).toBe('FAILED');
    expect(silent.execution.error).toBe('Caretaker.SilentRollback');
    expect(await world.version(first.model, 3)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(first.model, 1)).toMatchObject({ status: 'LIVE' });
    expect(await world.get(keys.model(first.model))).toMatchObject({ liveVersion: 1 });
  });

  it('a real-time endpoint switched to serverless by a config change: SageMaker refuses the update, the run is DEPLOY_FAILED with its message, the real-time version stays LIVE', async () => {
    const realtime = await world.execute({ evaluation: { candidate: GOOD } });
    expect(realtime.execution.status).toBe('SUCCEEDED');
    const { model, dataset } = realtime;
    const liveConfig = world.endpoints.get(`caretaker-${model}`)!.config;

    const switched = await world.execute({ continues: { model, dataset }, deployment: SERVERLESS, evaluation: { candidate: BETTER, champion: GOOD } });
    expect(switched.execution.status).toBe('FAILED');
    const run = await world.run(switched.runId);
    expect(run).toMatchObject({ status: 'DEPLOY_FAILED', failure: { state: 'UpdateEndpoint', error: 'SageMaker.AmazonSageMakerException' } });
    expect(run?.failure?.cause).toContain('to a serverless endpoint config is not supported');
    expect(await world.version(model, 2)).toMatchObject({ status: 'DEPLOY_FAILED' });
    expect(await world.version(model, 1)).toMatchObject({ status: 'LIVE', endpointConfigName: liveConfig });
    expect(world.endpoints.get(`caretaker-${model}`)).toMatchObject({ status: 'InService', config: liveConfig, serverless: false });
    expect(switched.alerts).toHaveLength(1);
  });

  it('the realtime path is unchanged: instance fields, the stack key on the EBS volume, data capture, network isolation from training', async () => {
    const { execution, sagemaker } = await world.execute({ evaluation: { candidate: GOOD } });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.states).toContain('CreateEndpointConfig');
    expect(execution.states).not.toContain('CreateServerlessEndpointConfig');
    const [config] = sagemaker.callsTo('createEndpointConfig');
    expect(config).toMatchObject({
      KmsKeyId: expect.any(String) as unknown,
      ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }],
      DataCaptureConfig: { EnableCapture: true, InitialSamplingPercentage: 20 },
    });
    expect(sagemaker.callsTo('createModel')[0]).toMatchObject({ EnableNetworkIsolation: true });
  });

  it('the scripted SageMaker is not a rubber stamp: it refuses data capture in a serverless endpoint config', async () => {
    const { sagemaker } = await world.execute({ deployment: SERVERLESS, evaluation: { candidate: GOOD } });
    await expect(
      sagemaker.createEndpointConfig({
        EndpointConfigName: 'caretaker-x-v1-000000',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } }],
        DataCaptureConfig: { EnableCapture: true, InitialSamplingPercentage: 20, DestinationS3Uri: 's3://b/capture/', CaptureOptions: [{ CaptureMode: 'Input' }] },
      }),
    ).rejects.toMatchObject({ name: 'SageMaker.AmazonSageMakerException', message: expect.stringContaining('DataCaptureConfig is not supported for serverless') as unknown });
  });
});
