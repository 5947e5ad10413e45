import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVERLESS_MEMORY_SIZES_MB, deploymentSchema } from '../../lib/config';
import { CostModel, runsPerMonth, total, type Hosting, type ModelFacts, type PriceBook, type StackFacts, type Traffic, type Usage } from '../../bench/cost-model';

const ROOT = join(import.meta.dirname, '..', '..');
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(ROOT, file), 'utf8'));

const price = (usd: number, unit = 'unit') => ({ usd, unit, source: 'test' });
const figure = (value: number) => ({ value, why: 'test' });

/** Round numbers, so every expectation below can be checked by hand. */
const BOOK: PriceBook = {
  region: 'us-east-1',
  currency: 'USD',
  recordedOn: '2026-11-22',
  note: 'test prices',
  billing: { 'sagemaker.minimumBilledSeconds': { value: 60, source: 'test' }, 'sagemaker.spotSavings': { value: 0.75, source: 'test' } },
  prices: {
    'sagemaker.training.ml.g5.xlarge': price(2, 'instance-hour'),
    'sagemaker.processing.ml.m5.xlarge': price(0.5, 'instance-hour'),
    'sagemaker.hosting.ml.g5.xlarge': price(3, 'instance-hour'),
    'sagemaker.storage': price(0.1),
    'stepfunctions.standard.transition': price(0.001),
    'lambda.arm64.gbSecond': price(0.01),
    'lambda.request': price(0.001),
    'xray.trace': price(0),
    'scheduler.invocation': price(0.001),
    'cloudwatch.metric': price(0.3),
    'cloudwatch.alarm': price(0.1),
    'cloudwatch.dashboard': price(3),
    'cloudwatch.logs.ingestion': price(0.5),
    'kms.key': price(1),
    'dynamodb.ondemand.read': price(0),
    's3.standard.storage': price(0),
    's3.request.get': price(0),
    's3.request.putOrList': price(0),
    'sqs.fifo.request': price(0),
    'sqs.standard.request': price(0),
    'sns.publish': price(0),
    'sagemaker.hosting.ml.m5.large': price(0.1, 'instance-hour'),
    'sagemaker.batch.ml.m5.large': price(0.2, 'instance-hour'),
    'sagemaker.serverless.2048.second': price(0.00004, 'second'),
    'sagemaker.serverless.provisioned.2048.second': price(0.00001, 'second'),
    'sagemaker.serverless.dataProcessed': price(0.02, 'GB'),
  },
};

const USAGE: Usage = {
  measured: {
    pipelineTransitionsSucceeded: { value: 40, source: 'test' },
    pipelineLambdaInvocationsSucceeded: { value: 10, source: 'test' },
    endpointPollTransitions: { value: 4, source: 'test' },
    registrationMiBPerSecond: { value: 1024, source: 'test' },
  },
  assumptions: {
    pipelineLambdaSeconds: figure(1),
    logBytesPerCycle: figure(2e9),
    datasetGiBPerCycle: figure(2),
    storedGiB: figure(0),
    driftAnalyzerSecondsPerRun: figure(2),
    driftAnalyzerSecondsAtRest: figure(1),
    captureObjectsPerWindow: figure(1),
    emfBytesPerFeature: figure(0),
    sqsPollersPerQueue: figure(0),
    monitorJobBilledMinutes: figure(6),
    monitorJobsPerMonth: figure(720),
    daysPerMonth: figure(30),
    batchStartupSeconds: figure(300),
    batchRecordsPerSecondPerInstance: figure(100),
  },
};

const STACK: StackFacts = {
  kmsKeys: 1,
  alarms: 9,
  dashboards: 1,
  polledQueues: { fifo: 1, standard: 0 },
  memoryMb: { pipelineSteps: 1024, driftAnalyzer: 2048, datasetRegister: 512 },
};

const MODEL: ModelFacts = {
  name: 'churn',
  training: { instanceType: 'ml.g5.xlarge', instanceCount: 1, managedSpot: true, maxRuntimeSeconds: 7200, volumeSizeGb: 73 },
  evaluation: { instanceType: 'ml.m5.xlarge', maxRuntimeSeconds: 1800 },
  deployment: { mode: 'realtime', instanceType: 'ml.g5.xlarge', instanceCount: 2, overlapSeconds: 1200 },
  drift: { scheduleMinutes: 15, numericFeatures: 3, categoricalFeatures: 1, qualityMetric: true, alarms: 4 },
};

const usdOf = (lines: readonly { item: string; usd: number }[], start: string) => lines.find((l) => l.item.startsWith(start))?.usd;

describe('cost model arithmetic', () => {
  const model = new CostModel(BOOK, USAGE);

  it('prices managed spot training at the on-demand rate less the spot saving, and the alternative at the full rate', () => {
    const { caretaker, alternative } = model.retrainingCycle(STACK, MODEL);
    expect(usdOf(caretaker, 'training, ml.g5.xlarge managed spot')).toBeCloseTo(2 * 2 * 0.25); // 2 h × $2 × (1 − 0.75)
    expect(usdOf(alternative, 'training, ml.g5.xlarge on-demand')).toBeCloseTo(2 * 2);
  });

  it('prices a cycle line by line: registration, volume, evaluation, transitions with the extra endpoint polls, steps, logs, overlap', () => {
    const { caretaker } = model.retrainingCycle(STACK, MODEL);
    expect(usdOf(caretaker, 'dataset registration (2 GiB CSV): compute')).toBeCloseTo(2 * 0.5 * 0.01); // 2 s at 0.5 GB
    expect(usdOf(caretaker, 'training volume')).toBeCloseTo(((73 * 2) / 730) * 0.1);
    expect(usdOf(caretaker, 'evaluation processing job')).toBeCloseTo(0.5 * 0.5);
    // 1 200 s of overlap: polls after 30+60+120+240+480+480 s = 6 polls, 4 beyond the benchmark's 2.
    expect(usdOf(caretaker, 'Step Functions')).toBeCloseTo((40 + 4 * 4) * 0.001);
    expect(usdOf(caretaker, 'pipeline steps: compute')).toBeCloseTo(10 * 1 * 1 * 0.01);
    expect(usdOf(caretaker, 'pipeline steps: requests')).toBeCloseTo(10 * 0.001);
    expect(usdOf(caretaker, 'CloudWatch Logs')).toBeCloseTo(2 * 0.5);
    expect(usdOf(caretaker, 'blue/green')).toBeCloseTo((1200 / 3600) * 2 * 3);
    expect(total(caretaker)).toBeCloseTo(caretaker.reduce((sum, l) => sum + l.quantity * l.unitUsd, 0));
  });

  it('counts drift runs from the schedule and metrics per feature kind', () => {
    expect(model.driftRuns(MODEL)).toBe(4 * 24 * 30);
    // 5 per model (with a quality metric) + 5 per numeric + 4 per categorical feature.
    expect(CostModel.driftMetrics(MODEL)).toBe(5 + 15 + 4);
    expect(CostModel.driftMetrics({ ...MODEL, drift: { ...MODEL.drift, qualityMetric: false } })).toBe(3 + 15 + 4);
    const { caretaker } = model.driftMonth(STACK, MODEL);
    expect(usdOf(caretaker, 'drift analyzer: compute')).toBeCloseTo(2880 * 2 * 2 * 0.01); // runs × 2 s × 2 GB
    expect(usdOf(caretaker, 'CloudWatch custom metrics')).toBeCloseTo(24 * 0.3);
    expect(usdOf(caretaker, 'CloudWatch alarms')).toBeCloseTo(4 * 0.1);
  });

  it('bills each monitoring job at least the minimum, even when a job is assumed shorter', () => {
    const quick = new CostModel(BOOK, { ...USAGE, assumptions: { ...USAGE.assumptions, monitorJobBilledMinutes: figure(0.25) } });
    expect(usdOf(quick.driftMonth(STACK, MODEL).alternative, 'monitoring jobs')).toBeCloseTo((720 * 1) / 60 * 0.5);
    expect(usdOf(model.driftMonth(STACK, MODEL).alternative, 'monitoring jobs')).toBeCloseTo((720 * 6) / 60 * 0.5);
    expect(model.monitorFloorUsd()).toBeCloseTo(12 * 0.5);
  });

  it('leaves zero-quantity lines out of the at-rest table and prices the rest', () => {
    const lines = model.atRest(STACK, [MODEL]);
    expect(lines.map((l) => l.item)).not.toContain('SQS long polls by Lambda event source mappings (FIFO queues)');
    expect(usdOf(lines, 'CloudWatch alarms')).toBeCloseTo(0.9);
    expect(usdOf(lines, 'drift analyzer finding no live version: compute')).toBeCloseTo(2880 * 1 * 2 * 0.01);
  });

  it('counts endpoint polls with the doubling backoff capped at 480 s', () => {
    expect(CostModel.endpointPolls(0)).toBe(1);
    expect(CostModel.endpointPolls(30)).toBe(1);
    expect(CostModel.endpointPolls(31)).toBe(2);
    expect(CostModel.endpointPolls(930)).toBe(5);
    expect(CostModel.endpointPolls(931)).toBe(6);
  });

  it('turns rate() schedules into runs a month and gives up on cron', () => {
    expect(runsPerMonth('rate(7 days)', 28)).toBe(4);
    expect(runsPerMonth('rate(12 hours)', 30)).toBe(60);
    expect(runsPerMonth('rate(1 minute)', 1)).toBe(1440);
    expect(runsPerMonth('cron(0 3 * * ? *)', 30)).toBeUndefined();
    expect(runsPerMonth(undefined, 30)).toBeUndefined();
  });

  it('names the missing key when a price or figure is absent', () => {
    const { 'sagemaker.processing.ml.m5.xlarge': _, ...prices } = BOOK.prices;
    expect(() => new CostModel({ ...BOOK, prices }, USAGE).driftMonth(STACK, MODEL)).toThrow('bench/prices.json has no price "sagemaker.processing.ml.m5.xlarge"');
    expect(() => model.figure('nope')).toThrow('bench/usage.json has no figure "nope"');
  });
});

describe('hosting per serving mode', () => {
  const model = new CostModel(BOOK, USAGE);
  const HOSTING: Hosting = {
    realtime: { instanceType: 'ml.m5.large', instanceCount: 2 },
    serverless: { memorySizeInMB: 2048, provisionedConcurrency: 0 },
    batch: { instanceType: 'ml.m5.large', instanceCount: 1, runsPerMonth: 30, scheduled: true },
  };
  // 1 000 requests a day of 400 KB in and 100 KB out, 0.5 s each: round numbers to check by hand.
  const TRAFFIC: Traffic = { requestsPerDay: 1000, requestKB: 400, responseKB: 100, inferenceSeconds: 0.5 };

  it('bills a realtime endpoint every hour of the month whatever the traffic', () => {
    expect(total(model.realtimeMonth(HOSTING.realtime))).toBeCloseTo(720 * 2 * 0.1); // 30 days × 24 h × 2 instances
    expect(model.idleMonth(HOSTING).realtime).toBeCloseTo(144);
  });

  it('bills serverless by request duration and data processed, nothing when idle', () => {
    const lines = model.serverlessMonth(HOSTING.serverless, TRAFFIC);
    expect(usdOf(lines, 'inference duration')).toBeCloseTo(30_000 * 0.5 * 0.00004); // requests × s × $/s
    expect(usdOf(lines, 'data processed')).toBeCloseTo(((30_000 * 500_000) / 1e9) * 0.02); // 15 GB
    expect(model.idleMonth(HOSTING).serverless).toBe(0);
  });

  it('bills provisioned concurrency for every second it is provisioned, even idle', () => {
    const warm = { ...HOSTING, serverless: { memorySizeInMB: 2048, provisionedConcurrency: 3 } };
    expect(model.idleMonth(warm).serverless).toBeCloseTo(30 * 86_400 * 3 * 0.00001);
  });

  it('bills batch runs for start-up and scoring, at least the billing minimum, and nothing idle when only new data starts it', () => {
    // 1 000 records a run at 100 records/s: 300 s start-up + 10 s.
    expect(model.batchRunSeconds(HOSTING.batch, 1000)).toBe(310);
    expect(total(model.batchMonth(HOSTING.batch, TRAFFIC))).toBeCloseTo(((30 * 310) / 3600) * 0.2);
    const quick = new CostModel(BOOK, { ...USAGE, assumptions: { ...USAGE.assumptions, batchStartupSeconds: figure(1) } });
    expect(quick.batchRunSeconds(HOSTING.batch, 0)).toBe(60);
    expect(model.idleMonth({ ...HOSTING, batch: { ...HOSTING.batch, scheduled: false } }).batch).toBe(0);
    expect(model.idleMonth(HOSTING).batch).toBeCloseTo(((30 * 300) / 3600) * 0.2);
  });

  it('finds the requests a day at which serverless costs what the instance costs', () => {
    const breakEven = model.breakEvenRequestsPerDay(HOSTING, TRAFFIC);
    // Per request: 0.5 s × $0.00004 + 500 KB × $0.02/GB = $0.00003; $144 / 30 days / $0.00003 = 160 000 a day.
    expect(breakEven).toBeCloseTo(160_000);
    const at = (requestsPerDay: number) => total(model.serverlessMonth(HOSTING.serverless, { ...TRAFFIC, requestsPerDay }));
    expect(at(breakEven)).toBeCloseTo(total(model.realtimeMonth(HOSTING.realtime)));
    expect(at(breakEven * 0.9)).toBeLessThan(144);
    // Provisioned concurrency is a fixed cost: it lowers the break-even.
    const warm = { ...HOSTING, serverless: { memorySizeInMB: 2048, provisionedConcurrency: 1 } };
    expect(model.breakEvenRequestsPerDay(warm, TRAFFIC)).toBeCloseTo((144 - 25.92) / 30 / 0.00003);
  });

  it('names the missing price of a memory size or instance type it has no price for', () => {
    expect(() => model.serverlessMonth({ memorySizeInMB: 3072, provisionedConcurrency: 0 }, TRAFFIC)).toThrow('bench/prices.json has no price "sagemaker.serverless.3072.second"');
    expect(() => model.realtimeMonth({ instanceType: 'ml.c5.large', instanceCount: 1 })).toThrow('bench/prices.json has no price "sagemaker.hosting.ml.c5.large"');
  });
});

describe('the recorded price book and usage figures', () => {
  const book = readJson('bench/prices.json') as PriceBook;
  const usage = readJson('bench/usage.json') as Usage;

  it('states region, date and a source for every price', () => {
    expect(book.region).toBe('us-east-1');
    expect(book.recordedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [key, entry] of Object.entries({ ...book.prices, ...book.billing })) expect(entry.source, key).toMatch(/\S{10,}/);
  });

  it('holds every price and figure the model uses', () => {
    const model = new CostModel(book, usage);
    expect(() => [model.atRest({ ...STACK, polledQueues: { fifo: 1, standard: 1 } }, [MODEL]), model.retrainingCycle(STACK, MODEL), model.driftMonth(STACK, MODEL), model.monitorFloorUsd()]).not.toThrow();
    const traffic: Traffic = { requestsPerDay: model.figure('requestsPerDay'), requestKB: model.figure('requestKB'), responseKB: model.figure('responseKB'), inferenceSeconds: model.figure('inferenceSeconds') };
    for (const memorySizeInMB of SERVERLESS_MEMORY_SIZES_MB) {
      expect(() => model.serverlessMonth({ memorySizeInMB, provisionedConcurrency: 1 }, traffic), `${memorySizeInMB} MB`).not.toThrow();
    }
    // The defaults a model gets for each mode are priced.
    const defaults = { realtime: deploymentSchema.parse({}), batch: deploymentSchema.parse({ mode: 'batch', schedule: 'rate(1 day)' }) };
    expect(defaults.realtime.mode === 'realtime' && model.price(`sagemaker.hosting.${defaults.realtime.instanceType}`)).toBeGreaterThan(0);
    expect(defaults.batch.mode === 'batch' && model.price(`sagemaker.batch.${defaults.batch.instanceType}`)).toBeGreaterThan(0);
  });
});
