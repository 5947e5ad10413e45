/**
 * Counts Step Functions state transitions per training pipeline run (Standard workflows are
 * billed per transition) and the Lambda invocations among them, executing the ASL offline on
 * each path against a moto server. Prints a Markdown table and writes
 * bench/results/pipeline-transitions.json (COST.md's per-cycle figures come from these counts).
 *
 *   npm run bench:pipeline
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMotoServer } from '../test/support/moto-server';
import { PipelineWorld, type ScenarioOptions } from '../test/support/pipeline';
import { createMetadataTable } from '../test/support/table';
import { table as markdown, writeResults } from './support';

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly States?: Record<string, AslState>;
  readonly Branches?: readonly { States: Record<string, AslState> }[];
  readonly ItemProcessor?: { States: Record<string, AslState> };
}

/** Names of the states that invoke a Lambda function, at any depth of the definition. */
function lambdaStates(states: Record<string, AslState>, into = new Set<string>()): Set<string> {
  for (const [name, state] of Object.entries(states)) {
    const resource = state.Resource ?? '';
    if (state.Type === 'Task' && (resource.startsWith('arn:aws:states:::lambda:') || resource.includes('FunctionArn'))) into.add(name);
    for (const nested of [state.States, ...(state.Branches ?? []).map((b) => b.States), state.ItemProcessor?.States]) {
      if (nested) lambdaStates(nested, into);
    }
  }
  return into;
}

const ASL = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'state-machines', 'training-pipeline.asl.json'), 'utf8')) as {
  States: Record<string, AslState>;
};
const LAMBDA_STATES = lambdaStates(ASL.States);

const GOOD = { 'validation:auc': 0.91 };
const SCENARIOS: [string, ScenarioOptions][] = [
  ['succeeded, first deployment (CreateEndpoint)', { evaluation: { candidate: GOOD } }],
  ['succeeded, blue/green update over a champion', { champion: { score: 0.85 }, evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } } }],
  [
    'succeeded after 3 throttled creates, a capacity failure and a fallback instance type',
    {
      evaluation: { candidate: GOOD },
      training: [...Array.from({ length: 4 }, () => ({ kind: 'rejected', code: 'ResourceLimitExceeded' }) as const), { kind: 'capacity-error' }, { kind: 'completed' }],
    },
  ],
  ['rejected by gate', { champion: { score: 0.9 }, evaluation: { candidate: { 'validation:auc': 0.902 }, champion: { 'validation:auc': 0.9 } } }],
  ['rejected by approver', { evaluation: { candidate: GOOD }, approver: { kind: 'rejects', reason: 'not now' } }],
  ['failed: dataset not validated', { evaluation: { candidate: GOOD }, datasetValidation: 'FAILED' }],
  ['failed: training job failed', { evaluation: { candidate: GOOD }, training: [{ kind: 'failed', reason: 'AlgorithmError' }] }],
  ['failed: approval expired', { evaluation: { candidate: GOOD }, approver: { kind: 'never-answers' } }],
  ['failed: silent rollback detected', { champion: { score: 0.85 }, evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } }, endpoint: { kind: 'rolls-back-silently' } }],
];

const moto = await startMotoServer();
try {
  const clientConfig = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
  } as const;
  const table = await createMetadataTable(clientConfig);
  const world = new PipelineWorld(table.tableName, clientConfig);
  await world.setUp();

  const rows = [];
  for (const [run, options] of SCENARIOS) {
    const { execution } = await world.execute(options);
    const retries = Object.values(execution.retries).reduce((a, b) => a + b, 0);
    const lambdaInvocations = execution.states.filter((state) => LAMBDA_STATES.has(state)).length;
    // Step Functions bills each state entered and each retry attempt as a transition.
    rows.push({ run, status: execution.status, states: execution.states.length, retries, transitions: execution.states.length + retries, lambdaInvocations });
    process.stderr.write(`${run}: ${execution.status}, ${execution.states.length} states entered, ${retries} retries\n`);
  }
  // Rollback: v1 deployed, v2 deployed over it, then back to v1 (the registry API's { kind: 'rollback' } input).
  {
    const first = await world.execute({ evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    await world.execute({ continues, evaluation: { candidate: { 'validation:auc': 0.95 }, champion: GOOD } });
    const liveConfig = (await world.version(continues.model, 2))?.endpointConfigName;
    const { execution } = await world.rollback({ ...continues, version: 1, reason: 'bench', liveConfig });
    const retries = Object.values(execution.retries).reduce((a, b) => a + b, 0);
    const run = 'rollback to a retired version (blue/green update)';
    const lambdaInvocations = execution.states.filter((state) => LAMBDA_STATES.has(state)).length;
    rows.push({ run, status: execution.status, states: execution.states.length, retries, transitions: execution.states.length + retries, lambdaInvocations });
    process.stderr.write(`${run}: ${execution.status}, ${execution.states.length} states entered, ${retries} retries\n`);
  }
  await table.drop();

  console.log(
    markdown(rows, [
      ['run', 'run'],
      ['status', 'execution'],
      ['states', 'states entered', 0],
      ['retries', 'retries', 0],
      ['transitions', 'transitions', 0],
      ['lambdaInvocations', 'Lambda invocations', 0],
    ]),
  );
  writeResults('pipeline-transitions', { scenarios: rows, endpointPollTransitions: 4 });
} finally {
  await moto.stop();
}
