/**
 * Counts Step Functions state transitions per training pipeline run (Standard workflows are
 * billed per transition), executing the ASL offline on each path against a moto server, and
 * writes them to BENCHMARKS.md under "Pipeline state transitions".
 *
 *   npm run bench:pipeline
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMotoServer } from '../test/support/moto-server';
import { PipelineWorld, type ScenarioOptions } from '../test/support/pipeline';
import { createMetadataTable } from '../test/support/table';

const GOOD = { 'validation:auc': 0.91 };
const SCENARIOS: [string, ScenarioOptions][] = [
  ['succeeded, first deployment (CreateEndpoint)', { evaluation: { candidate: GOOD } }],
  ['succeeded, blue/green update over a champion', { champion: { score: 0.85 }, evaluation: { candidate: GOOD, champion: { 'validation:auc': 0.85 } } }],
  [
    'succeeded after 3 throttled creates, a capacity failure and a fallback instance type',
    {
      evaluation: { candidate: GOOD },
      training: [...Array.from({ length: 4 }, () => ({ kind: 'rejected', error: 'SageMaker.ResourceLimitExceededException' }) as const), { kind: 'capacity-error' }, { kind: 'completed' }],
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

  const rows: string[] = [];
  for (const [name, options] of SCENARIOS) {
    const { execution } = await world.execute(options);
    const retries = Object.values(execution.retries).reduce((a, b) => a + b, 0);
    // Step Functions bills each state entered and each retry attempt as a transition.
    rows.push(`| ${name} | ${execution.status} | ${execution.states.length} | ${retries} | ${execution.states.length + retries} |`);
    console.log(`${name}: ${execution.status}, ${execution.states.length} states entered, ${retries} retries`);
  }
  // Rollback: v1 deployed, v2 deployed over it, then back to v1 (the registry API's { kind: 'rollback' } input).
  {
    const first = await world.execute({ evaluation: { candidate: GOOD } });
    const continues = { model: first.model, dataset: first.dataset };
    await world.execute({ continues, evaluation: { candidate: { 'validation:auc': 0.95 }, champion: GOOD } });
    const liveConfig = (await world.version(continues.model, 2))?.endpointConfigName;
    const { execution } = await world.rollback({ ...continues, version: 1, reason: 'bench', liveConfig });
    const retries = Object.values(execution.retries).reduce((a, b) => a + b, 0);
    const name = 'rollback to a retired version (blue/green update)';
    rows.push(`| ${name} | ${execution.status} | ${execution.states.length} | ${retries} | ${execution.states.length + retries} |`);
    console.log(`${name}: ${execution.status}, ${execution.states.length} states entered, ${retries} retries`);
  }
  await table.drop();

  const section = [
    '## Pipeline state transitions',
    '',
    'Step Functions Standard bills per state transition. Counted by `npm run bench:pipeline`, which executes',
    '`state-machines/training-pipeline.asl.json` offline (aws-local-stepfunctions, real steps Lambda, moto DynamoDB/S3,',
    'scripted SageMaker; the endpoint reports two in-progress polls before its outcome).',
    '',
    '| run | execution | states entered | retries | transitions |',
    '|---|---|---:|---:|---:|',
    ...rows,
    '',
    'Each further endpoint poll adds 4 transitions (backoff Pass, Wait, DescribeEndpoint, status Choice); the waits grow',
    '30 s → 60 s → 120 s → 240 s → 480 s, so a 20-minute canary deployment costs about 6 polls (≈ 24 transitions).',
    '',
  ].join('\n');
  const file = join(import.meta.dirname, '..', 'BENCHMARKS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const pattern = /## Pipeline state transitions\n[\s\S]*?(?=\n## |$)/;
  const next = pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
  console.log(`wrote ${file}`);
} finally {
  await moto.stop();
}
