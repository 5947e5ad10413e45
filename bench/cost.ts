/**
 * `npm run cost`: writes COST.md from bench/prices.json (list prices, one place), bench/usage.json
 * (measured figures and assumptions, each with its reason), caretaker.config.json (instance
 * types, runtimes, schedules, features) and the synthesized stack (alarms, keys, queues, memory).
 * Change a price or an assumption, rerun, and the document follows.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentSchema, rolloutSeconds, type ModelConfig } from '../lib/config';
import { qualityMetricFor } from '../lambdas/drift/quality';
import { qualityThreshold } from '../lib/constructs/drift-monitor';
import { exampleConfig, synthCaretaker } from '../test/support/stack';
import { CostModel, runsPerMonth, total, type Hosting, type Line, type ModelFacts, type PriceBook, type SideBySide, type StackFacts, type Traffic, type Usage } from './cost-model';

const ROOT = join(import.meta.dirname, '..');
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(ROOT, file), 'utf8'));

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

function stackFacts(resources: Record<string, CfnResource>): StackFacts {
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const memory = (prefix: string) => {
    const found = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith(prefix));
    if (!found) throw new Error(`no Lambda function ${prefix}* in the stack`);
    return Number(found[1].Properties?.MemorySize ?? 128);
  };
  const polled = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => {
    const arn = r.Properties?.EventSourceArn as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const source = arn?.['Fn::GetAtt'] ? resources[arn['Fn::GetAtt'][0]] : undefined;
    return source?.Type === 'AWS::SQS::Queue' ? (source.Properties?.FifoQueue === true ? 'fifo' : 'standard') : undefined;
  });
  return {
    kmsKeys: ofType('AWS::KMS::Key').length,
    alarms: ofType('AWS::CloudWatch::Alarm').length,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    polledQueues: { fifo: polled.filter((q) => q === 'fifo').length, standard: polled.filter((q) => q === 'standard').length },
    memoryMb: { pipelineSteps: memory('PipelineSteps'), driftAnalyzer: memory('DriftAnalyzer'), datasetRegister: memory('DatasetRegistryRegister') },
  };
}


function deploymentFacts(model: ModelConfig): ModelFacts['deployment'] {
  const { deployment } = model;
  if (deployment.mode === 'realtime') {
    return { mode: 'realtime', instanceType: deployment.instanceType, instanceCount: deployment.initialInstanceCount, overlapSeconds: rolloutSeconds(deployment) };
  }
  return { mode: deployment.mode, instanceCount: 0, overlapSeconds: rolloutSeconds(deployment) };
}

/** The model hosted each way: its own mode as configured, the other two at the config's defaults for that mode. */
function hostingOf(model: ModelConfig, daysPerMonth: number): Hosting {
  const configured = model.deployment;
  const as = <M extends ModelConfig['deployment']['mode']>(mode: M) =>
    (configured.mode === mode ? configured : deploymentSchema.parse({ mode, ...(mode === 'batch' ? { schedule: 'rate(1 day)' } : {}) })) as Extract<ModelConfig['deployment'], { mode: M }>;
  const realtime = as('realtime');
  const serverless = as('serverless');
  const batch = as('batch');
  return {
    realtime: { instanceType: realtime.instanceType, instanceCount: realtime.initialInstanceCount },
    serverless: { memorySizeInMB: serverless.memorySizeInMB, provisionedConcurrency: serverless.provisionedConcurrency ?? 0 },
    batch: {
      instanceType: batch.instanceType,
      instanceCount: batch.instanceCount,
      // A cron schedule or on-new-data runs are counted as one run a day.
      runsPerMonth: runsPerMonth(batch.schedule, daysPerMonth) ?? daysPerMonth,
      scheduled: batch.schedule !== undefined,
    },
  };
}

function describeHosting(model: ModelConfig, hosting: Hosting): Record<'realtime' | 'serverless' | 'batch', string> {
  const mark = (mode: string) => (model.deployment.mode === mode ? ' (as configured)' : ' (defaults)');
  return {
    realtime: `${hosting.realtime.instanceType} × ${hosting.realtime.instanceCount}${mark('realtime')}`,
    serverless: `${hosting.serverless.memorySizeInMB} MB, ${hosting.serverless.provisionedConcurrency > 0 ? `${hosting.serverless.provisionedConcurrency} provisioned` : 'no provisioned concurrency'}${mark('serverless')}`,
    batch: `${hosting.batch.instanceType} × ${hosting.batch.instanceCount}, ${hosting.batch.runsPerMonth.toFixed(0)} runs a month${mark('batch')}`,
  };
}

function modelFacts(model: ModelConfig): ModelFacts {
  const features = (model.dataset.columns ?? []).filter((c) => c.name !== model.dataset.targetColumn);
  const numeric = features.filter((c) => c.type === 'number' || c.type === 'integer').length;
  return {
    name: model.name,
    training: {
      instanceType: model.training.instanceTypes[0]!,
      instanceCount: model.training.instanceCount,
      managedSpot: model.training.managedSpot,
      maxRuntimeSeconds: model.training.maxRuntimeSeconds,
      volumeSizeGb: model.training.volumeSizeGb,
    },
    evaluation: { instanceType: model.evaluation.instanceType, maxRuntimeSeconds: model.evaluation.maxRuntimeSeconds },
    deployment: deploymentFacts(model),
    drift: {
      scheduleMinutes: model.drift.scheduleMinutes,
      numericFeatures: numeric,
      categoricalFeatures: features.length - numeric,
      qualityMetric: qualityMetricFor(model.objective.metricName) !== undefined,
      // As DriftMonitor creates them: drift, 5XX and latency always; quality with a threshold and a computable metric.
      alarms: 3 + (qualityThreshold(model) !== undefined && qualityMetricFor(model.objective.metricName) !== undefined ? 1 : 0),
    },
  };
}

const usd = (value: number) => (value === 0 ? '$0' : value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : value >= 0.01 ? `$${value.toFixed(3)}` : `$${value.toPrecision(2)}`);
const quantity = (value: number) => (Number.isInteger(value) ? value.toLocaleString('en') : value >= 100 ? Math.round(value).toLocaleString('en') : value.toPrecision(3));

function lineTable(lines: readonly Line[], heading = 'USD'): string[] {
  return [
    `| item | quantity | unit | unit price | ${heading} |`,
    '|---|---:|---|---:|---:|',
    ...lines.map((l) => `| ${l.item} | ${quantity(l.quantity)} | ${l.unit} | ${usd(l.unitUsd)} | ${usd(l.usd)} |`),
    `| **total** | | | | **${usd(total(lines))}** |`,
  ];
}

function sideBySide(title: string, pair: SideBySide, alternativeTitle: string): string[] {
  return [
    `**Caretaker** — ${usd(total(pair.caretaker))}`,
    '',
    ...lineTable(pair.caretaker),
    '',
    `**${alternativeTitle}** — ${usd(total(pair.alternative))}`,
    '',
    ...lineTable(pair.alternative),
    '',
    `${title}: Caretaker ${usd(total(pair.caretaker))} vs ${usd(total(pair.alternative))} (${(total(pair.alternative) / total(pair.caretaker)).toFixed(1)}× the Caretaker figure).`,
  ];
}

/** Warns when the pipeline benchmark's last run no longer matches the counts usage.json records. */
function checkAgainstLastRun(usage: Usage): void {
  const file = 'bench/results/pipeline-transitions.json';
  if (!existsSync(join(ROOT, file))) return;
  const { results } = readJson(file) as { results: { scenarios: { transitions: number; lambdaInvocations: number }[] } };
  const run = results.scenarios[0];
  const recorded = [usage.measured.pipelineTransitionsSucceeded?.value, usage.measured.pipelineLambdaInvocationsSucceeded?.value];
  if (run && (run.transitions !== recorded[0] || run.lambdaInvocations !== recorded[1])) {
    console.warn(`warning: ${file} has ${run.transitions} transitions / ${run.lambdaInvocations} Lambda invocations for a successful run; bench/usage.json records ${recorded.join(' / ')}`);
  }
}

function main(): void {
  const book = readJson('bench/prices.json') as PriceBook;
  const usage = readJson('bench/usage.json') as Usage;
  checkAgainstLastRun(usage);
  const config = exampleConfig();
  const { template } = synthCaretaker({ config });
  const stack = stackFacts(template.toJSON().Resources as Record<string, CfnResource>);
  const cost = new CostModel(book, usage);
  const days = cost.figure('daysPerMonth');

  const rest = cost.atRest(stack, config.models.map(modelFacts));
  const out: string[] = [
    '# Cost model',
    '',
    `Generated by \`npm run cost\` (bench/cost.ts) from **AWS list prices for ${book.region} as recorded on ${book.recordedOn}** in`,
    '`bench/prices.json`, usage figures and assumptions in `bench/usage.json`, the models in `caretaker.config.json` and the',
    'resources of the synthesized stack. Do not edit this file by hand: change a price or an assumption and rerun.',
    '',
    `> ${book.note}`,
    '',
    'Prices are in USD, before tax, with no free tier, no Savings Plans and no negotiated discounts. Where a figure is an',
    'upper bound (training and evaluation billed for their configured maximum runtime) it says so; real runs are usually',
    'shorter, which lowers both columns of a comparison alike.',
    '',
    '## At rest: the platform deployed, no endpoint, nothing training',
    '',
    `Per month (${days} days). Resource counts from the synthesized stack: ${stack.kmsKeys} KMS key, ${stack.alarms} alarms,`,
    `${stack.dashboards} dashboard(s), ${stack.polledQueues.fifo + stack.polledQueues.standard} queue(s) polled by Lambda.`,
    'DynamoDB (on-demand, a few MB), API Gateway (per request) and Step Functions (per transition) cost nothing idle.',
    '',
    ...lineTable(rest),
  ];

  const summary: string[] = [];
  for (const model of config.models) {
    const facts = modelFacts(model);
    const cycle = cost.retrainingCycle(stack, facts);
    const drift = cost.driftMonth(stack, facts);
    const cycles = runsPerMonth(model.retraining.schedule, days);
    out.push(
      '',
      `## Model \`${model.name}\``,
      '',
      `Training: ${facts.training.instanceType} × ${facts.training.instanceCount}, ${facts.training.managedSpot ? 'managed spot' : 'on-demand'}, maximum runtime`,
      `${facts.training.maxRuntimeSeconds / 3600} h; evaluation ${facts.evaluation.instanceType}, maximum ${facts.evaluation.maxRuntimeSeconds / 60} min; deployment`,
      `${facts.deployment.mode === 'realtime' ? `${facts.deployment.instanceType} × ${facts.deployment.instanceCount}` : facts.deployment.mode} with ${facts.deployment.overlapSeconds / 60} min of traffic shifting and bake; drift analysis every`,
      `${facts.drift.scheduleMinutes} min over ${facts.drift.numericFeatures} numeric and ${facts.drift.categoricalFeatures} categorical features.`,
      '',
      '### Per retraining cycle',
      '',
      'Step Functions transitions are the benchmark\'s successful run plus the endpoint polls a deployment of this length',
      `makes (${CostModel.endpointPolls(facts.deployment.overlapSeconds)} polls at 30 s doubling to 480 s, 4 transitions each). The alternative is the same`,
      'training job started by hand or by a script, on-demand, with the same evaluation and the same SageMaker blue/green',
      'deployment; it has no orchestration to pay for (and none of its checks).',
      '',
      ...sideBySide('Per cycle', cycle, 'On-demand training job, no pipeline'),
      '',
      '### Per month of drift monitoring',
      '',
      `Caretaker analyses every ${facts.drift.scheduleMinutes} minutes (${cost.driftRuns(facts).toLocaleString('en')} runs a month); the alternative is an hourly`,
      `SageMaker Model Monitor-style processing job (${cost.figure('monitorJobsPerMonth')} jobs a month) on ml.m5.xlarge. Both publish the same`,
      'per-feature metrics and would need the same alarms (also part of the at-rest figure, which prices all of the stack\'s alarms).',
      '',
      ...sideBySide('Per month of monitoring', drift, 'Hourly processing-job monitor'),
      '',
      `Even if every hourly job were billed only the ${cost.billing('sagemaker.minimumBilledSeconds')} s minimum, the monitor's compute alone would be`,
      `${usd(cost.monitorFloorUsd())} a month, against ${usd(total(drift.caretaker.filter((l) => !/^CloudWatch (custom metrics|alarms)/.test(l.item))))} for all of Caretaker's monitoring other than the metrics and alarms, at ${60 / facts.drift.scheduleMinutes}× the frequency.`,
    );
    if (cycles !== undefined) {
      // With a live endpoint the analyzer's idle runs are replaced by the monitoring month's runs,
      // and the monitoring alarms are in the monitoring figure: neither is counted twice.
      const monitoringAlarms = config.models.reduce((sum, m) => sum + cost.alarms(modelFacts(m)).usd, 0);
      const platform = total(rest.filter((line) => !line.item.startsWith('drift '))) - monitoringAlarms;
      const month = platform + total(drift.caretaker) + cycles * total(cycle.caretaker);
      const alternative = platform + total(drift.alternative) + cycles * total(cycle.alternative);
      summary.push(
        `| \`${model.name}\` | ${usd(total(cycle.caretaker))} vs ${usd(total(cycle.alternative))} | ${usd(total(drift.caretaker))} vs ${usd(total(drift.alternative))} | ${usd(month)} vs ${usd(alternative)} (${cycles.toFixed(1)} cycles) |`,
      );
      out.push(
        '',
        '### A month with the configured retraining schedule',
        '',
        `\`${model.retraining.schedule ?? ''}\` is ${cycles.toFixed(1)} cycles a month. At rest + monitoring + cycles, endpoint hosting excluded (see Hosting per serving mode):`,
        '',
        '| | Caretaker | alternative |',
        '|---|---:|---:|',
        `| platform at rest, without the idle analyzer runs and monitoring alarms (the same key, other alarms, dashboard and storage in both) | ${usd(platform)} | ${usd(platform)} |`,
        `| drift monitoring | ${usd(total(drift.caretaker))} | ${usd(total(drift.alternative))} |`,
        `| ${cycles.toFixed(1)} retraining cycles | ${usd(cycles * total(cycle.caretaker))} | ${usd(cycles * total(cycle.alternative))} |`,
        `| **month** | **${usd(month)}** | **${usd(alternative)}** |`,
      );
    }
  }

  const traffic: Traffic = {
    requestsPerDay: cost.figure('requestsPerDay'),
    requestKB: cost.figure('requestKB'),
    responseKB: cost.figure('responseKB'),
    inferenceSeconds: cost.figure('inferenceSeconds'),
  };
  out.push(
    '',
    '## Hosting per serving mode',
    '',
    `Stated traffic (bench/usage.json): **${traffic.requestsPerDay.toLocaleString('en')} requests a day**, ${traffic.requestKB} KB in and ${traffic.responseKB} KB out each,`,
    `${traffic.inferenceSeconds * 1000} ms billed per request; a batch model scores the same records in its runs (${cost.figure('batchRecordsPerSecondPerInstance')} records/s per instance`,
    `after ${cost.figure('batchStartupSeconds') / 60} min of start-up). Each model is priced in all three \`deployment.mode\`s: its own as configured, the other two`,
    'at the config\'s defaults for that mode. Data capture storage, the drift analyzer and the pipeline are priced above and do not depend on the mode.',
  );
  for (const model of config.models) {
    const hosting = hostingOf(model, days);
    const described = describeHosting(model, hosting);
    const months = {
      realtime: cost.realtimeMonth(hosting.realtime),
      serverless: cost.serverlessMonth(hosting.serverless, traffic),
      batch: cost.batchMonth(hosting.batch, traffic),
    };
    const idle = cost.idleMonth(hosting);
    const breakEven = cost.breakEvenRequestsPerDay(hosting, traffic);
    const levels = [100, 1_000, 10_000, 100_000, 1_000_000];
    out.push(
      '',
      `### \`${model.name}\``,
      '',
      '| mode | hosting | a month at the stated traffic | a month with no requests |',
      '|---|---|---:|---:|',
      ...(['realtime', 'serverless', 'batch'] as const).map((mode) => `| \`${mode}\` | ${described[mode]} | ${usd(total(months[mode]))} | ${usd(idle[mode])} |`),
      '',
      `**Break-even:** on-demand serverless (${hosting.serverless.memorySizeInMB} MB) costs what ${hosting.realtime.instanceType} × ${hosting.realtime.instanceCount} costs at`,
      `**${Math.round(breakEven).toLocaleString('en')} requests a day** (${(breakEven / 86_400).toFixed(1)} a second on average) at ${traffic.inferenceSeconds * 1000} ms each; below it serverless is cheaper, above it the`,
      'instance is (as long as one instance keeps up: size it by load test, not by this table). Both at other volumes:',
      '',
      '| requests a day | realtime | serverless |',
      '|---:|---:|---:|',
      ...levels.map((requestsPerDay) => `| ${requestsPerDay.toLocaleString('en')} | ${usd(total(cost.realtimeMonth(hosting.realtime)))} | ${usd(total(cost.serverlessMonth(hosting.serverless, { ...traffic, requestsPerDay })))} |`),
      '',
      ...(['realtime', 'serverless', 'batch'] as const).flatMap((mode) => [`\`${mode}\`:`, '', ...lineTable(months[mode]), '']),
    );
  }

  out.push(
    '',
    '## What is not in these figures',
    '',
    '- Endpoint hosting is priced per mode in "Hosting per serving mode" for the stated traffic, not in the per-cycle or',
    '  monthly totals above, which count only the blue/green overlap a realtime deployment adds.',
    '- Serverless requests served by provisioned concurrency are priced at the on-demand duration rate (SageMaker bills',
    '  them lower): with provisioned concurrency the serverless figure is an upper bound.',
    '- Data transfer (all traffic stays in-region), KMS requests (cents: S3 uses bucket keys), CloudWatch Logs storage',
    '  after ingestion, DynamoDB storage and point-in-time recovery (a few MB: cents), API Gateway requests from people',
    '  using the registry API.',
    '- Spot interruptions: a managed spot job that is interrupted resumes from its checkpoint and bills only the time it',
    '  runs, but waits longer (up to `maxWaitSeconds`).',
    '',
    '## Inputs',
    '',
    '| price | USD | unit | source |',
    '|---|---:|---|---|',
    ...Object.entries(book.prices).map(([key, p]) => `| \`${key}\` | ${p.usd} | ${p.unit} | ${p.source} |`),
    ...Object.entries(book.billing).map(([key, b]) => `| \`${key}\` | ${b.value} | | ${b.source} |`),
    '',
    '| figure | value | source or reason |',
    '|---|---:|---|',
    ...Object.entries(usage.measured).map(([key, m]) => `| \`${key}\` (measured) | ${m.value} | ${m.source} |`),
    ...Object.entries(usage.assumptions).map(([key, a]) => `| \`${key}\` (assumed) | ${a.value} | ${a.why} |`),
    '',
  );
  out.splice(
    out.indexOf('## At rest: the platform deployed, no endpoint, nothing training'),
    0,
    '## Summary',
    '',
    `At rest: **${usd(total(rest))} a month**. Per model, Caretaker vs the alternative (on-demand training, hourly processing-job`,
    `monitor); managed spot is assumed ${Math.round(cost.billing('sagemaker.spotSavings') * 100)} % below on-demand, and the cycle figures bill training and evaluation for their`,
    'configured maximum runtime:',
    '',
    '| model | per retraining cycle | per month of drift monitoring | a month on the retraining schedule |',
    '|---|---:|---:|---:|',
    ...summary,
    '',
  );
  writeFileSync(join(ROOT, 'COST.md'), out.join('\n'));
  console.log(`wrote COST.md: at rest ${usd(total(rest))}/month`);
}

main();
