/**
 * The arithmetic behind COST.md: plain functions from a price book (bench/prices.json), usage
 * figures (bench/usage.json), facts read off the synthesized stack and one model's config, to
 * cost lines. No I/O here; bench/cost.ts reads the inputs and writes the document.
 */

export interface PriceBook {
  readonly region: string;
  readonly currency: string;
  readonly recordedOn: string;
  readonly note: string;
  readonly billing: Readonly<Record<string, { readonly value: number; readonly source: string }>>;
  readonly prices: Readonly<Record<string, { readonly usd: number; readonly unit: string; readonly source: string }>>;
}

export interface Usage {
  readonly measured: Readonly<Record<string, { readonly value: number; readonly source: string }>>;
  readonly assumptions: Readonly<Record<string, { readonly value: number; readonly why: string }>>;
}

/** What the synthesized stack holds that bills whether or not anything happens. */
export interface StackFacts {
  readonly kmsKeys: number;
  readonly alarms: number;
  readonly dashboards: number;
  /** SQS queues a Lambda event source mapping long-polls. */
  readonly polledQueues: { readonly fifo: number; readonly standard: number };
  /** Memory (MB) of the functions the model prices. */
  readonly memoryMb: { readonly pipelineSteps: number; readonly driftAnalyzer: number; readonly datasetRegister: number };
}

/** One model's settings, from caretaker.config.json. */
export interface ModelFacts {
  readonly name: string;
  readonly training: {
    readonly instanceType: string;
    readonly instanceCount: number;
    readonly managedSpot: boolean;
    readonly maxRuntimeSeconds: number;
    readonly volumeSizeGb: number;
  };
  readonly evaluation: { readonly instanceType: string; readonly maxRuntimeSeconds: number };
  /** The blue/green overlap of an endpoint update; only a realtime fleet bills for it (serverless bills per request, batch has no endpoint). */
  readonly deployment: { readonly mode: 'realtime' | 'serverless' | 'batch'; readonly instanceType?: string; readonly instanceCount: number; readonly overlapSeconds: number };
  readonly drift: {
    readonly scheduleMinutes: number;
    readonly numericFeatures: number;
    readonly categoricalFeatures: number;
    readonly qualityMetric: boolean;
    /** The model's monitoring alarms (drift, model quality when it has a threshold, endpoint 5XX and latency). */
    readonly alarms: number;
  };
}

export interface Line {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitUsd: number;
  readonly usd: number;
}

export interface SideBySide {
  readonly caretaker: readonly Line[];
  readonly alternative: readonly Line[];
}

const HOURS_PER_MONTH = 730;
const GB = 1e9;

export class CostModel {
  constructor(
    private readonly book: PriceBook,
    private readonly usage: Usage,
  ) {}

  price(key: string): number {
    const entry = this.book.prices[key];
    if (!entry) throw new Error(`bench/prices.json has no price "${key}"`);
    return entry.usd;
  }

  billing(key: string): number {
    const entry = this.book.billing[key];
    if (!entry) throw new Error(`bench/prices.json has no billing rule "${key}"`);
    return entry.value;
  }

  figure(key: string): number {
    const entry = this.usage.measured[key] ?? this.usage.assumptions[key];
    if (!entry) throw new Error(`bench/usage.json has no figure "${key}"`);
    return entry.value;
  }

  /** A cost line: `quantity` units at the price `key` (optionally scaled, e.g. by a spot saving). */
  line(item: string, quantity: number, key: string, scale = 1): Line {
    const unitUsd = this.price(key) * scale;
    return { item, quantity, unit: this.book.prices[key]!.unit, unitUsd, usd: quantity * unitUsd };
  }

  private lambda(item: string, invocations: number, seconds: number, memoryMb: number): Line[] {
    return [
      this.line(`${item}: compute`, invocations * seconds * (memoryMb / 1024), 'lambda.arm64.gbSecond'),
      this.line(`${item}: requests`, invocations, 'lambda.request'),
      this.line(`${item}: X-Ray traces`, invocations, 'xray.trace'),
    ];
  }

  /** Drift-analyzer runs per month at the model's schedule. */
  driftRuns(model: ModelFacts): number {
    return (60 / model.drift.scheduleMinutes) * 24 * this.figure('daysPerMonth');
  }

  /** The platform deployed, no endpoint, nothing trained: what a month costs. */
  atRest(stack: StackFacts, models: readonly ModelFacts[]): Line[] {
    const runs = models.reduce((sum, model) => sum + this.driftRuns(model), 0);
    const pollsPerQueue = this.figure('sqsPollersPerQueue') * (86_400 / 20) * this.figure('daysPerMonth');
    const lines = [
      this.line('KMS key (the stack key)', stack.kmsKeys, 'kms.key'),
      this.line('CloudWatch alarms', stack.alarms, 'cloudwatch.alarm'),
      this.line('CloudWatch dashboard', stack.dashboards, 'cloudwatch.dashboard'),
      this.line('S3 Standard storage (datasets, artifacts, capture)', this.figure('storedGiB') * 1.073741824, 's3.standard.storage'),
      this.line('SQS long polls by Lambda event source mappings (FIFO queues)', stack.polledQueues.fifo * pollsPerQueue, 'sqs.fifo.request'),
      this.line('SQS long polls by Lambda event source mappings (standard queues)', stack.polledQueues.standard * pollsPerQueue, 'sqs.standard.request'),
      this.line('drift schedules firing (no live version)', runs, 'scheduler.invocation'),
      ...this.lambda('drift analyzer finding no live version', runs, this.figure('driftAnalyzerSecondsAtRest'), stack.memoryMb.driftAnalyzer),
    ];
    return lines.filter((line) => line.quantity > 0);
  }

  /** Endpoint polls the pipeline makes while a deployment shifts traffic and bakes (30 s doubling to 480 s). */
  static endpointPolls(overlapSeconds: number): number {
    let waited = 0;
    let delay = 30;
    let polls = 0;
    while (waited < overlapSeconds) {
      waited += delay;
      delay = Math.min(delay * 2, 480);
      polls += 1;
    }
    return Math.max(polls, 1);
  }

  /** One retraining cycle: register data, train, evaluate, orchestrate, deploy blue/green. */
  retrainingCycle(stack: StackFacts, model: ModelFacts): SideBySide {
    const { training, evaluation, deployment } = model;
    const trainingHours = (training.maxRuntimeSeconds / 3600) * training.instanceCount;
    const trainingKey = `sagemaker.training.${training.instanceType}`;
    const spotScale = training.managedSpot ? 1 - this.billing('sagemaker.spotSavings') : 1;
    const volume = this.line(
      `training volume (${training.volumeSizeGb} GB for the run)`,
      (training.volumeSizeGb * trainingHours) / HOURS_PER_MONTH,
      'sagemaker.storage',
    );
    const evaluationLine = this.line(
      `evaluation processing job, ${evaluation.instanceType} (configured maximum runtime)`,
      evaluation.maxRuntimeSeconds / 3600,
      `sagemaker.processing.${evaluation.instanceType}`,
    );
    const overlap =
      deployment.mode === 'realtime' && deployment.instanceType !== undefined
        ? [
            this.line(
              `blue/green: both fleets during traffic shifting and bake (${deployment.instanceType} × ${deployment.instanceCount})`,
              (deployment.overlapSeconds / 3600) * deployment.instanceCount,
              `sagemaker.hosting.${deployment.instanceType}`,
            ),
          ]
        : [];
    // The benchmark's successful run includes two endpoint polls; a real deployment polls for its whole overlap.
    const extraPolls = Math.max(0, CostModel.endpointPolls(deployment.overlapSeconds) - 2);
    const transitions = this.figure('pipelineTransitionsSucceeded') + extraPolls * this.figure('endpointPollTransitions');
    const registrationSeconds = (this.figure('datasetGiBPerCycle') * 1024) / this.figure('registrationMiBPerSecond');
    const caretaker = [
      ...this.lambda(`dataset registration (${this.figure('datasetGiBPerCycle')} GiB CSV)`, 1, registrationSeconds, stack.memoryMb.datasetRegister),
      this.line(
        `training, ${training.instanceType}${training.managedSpot ? ' managed spot' : ''} (configured maximum runtime)`,
        trainingHours,
        trainingKey,
        spotScale,
      ),
      volume,
      evaluationLine,
      this.line('Step Functions state transitions (successful run)', transitions, 'stepfunctions.standard.transition'),
      ...this.lambda('pipeline steps', this.figure('pipelineLambdaInvocationsSucceeded'), this.figure('pipelineLambdaSeconds'), stack.memoryMb.pipelineSteps),
      this.line('approval and outcome notifications', 2, 'sns.publish'),
      this.line('CloudWatch Logs ingested', this.figure('logBytesPerCycle') / GB, 'cloudwatch.logs.ingestion'),
      ...overlap,
    ];
    const alternative = [
      this.line(`training, ${training.instanceType} on-demand (same runtime)`, trainingHours, trainingKey),
      volume,
      evaluationLine,
      ...overlap,
    ];
    return { caretaker, alternative };
  }

  /** Custom metrics the analyzer publishes for a model (see DRIFT_METRICS in lambdas/drift/analyze.ts). */
  static driftMetrics(model: ModelFacts): number {
    const perModel = 3 + (model.drift.qualityMetric ? 2 : 0); // CapturedRecords, DriftScore, DriftedFeatures (+ ModelQuality, LabeledRecords)
    return perModel + 5 * model.drift.numericFeatures + 4 * model.drift.categoricalFeatures; // PSI, JS, MissingRate + KS pair | chi-square p
  }

  /** A month of drift monitoring for one model, next to an hourly Model Monitor-style processing job. */
  driftMonth(stack: StackFacts, model: ModelFacts): SideBySide {
    const runs = this.driftRuns(model);
    const features = model.drift.numericFeatures + model.drift.categoricalFeatures;
    const metrics = CostModel.driftMetrics(model);
    const objectsPerWindow = this.figure('captureObjectsPerWindow');
    const jobs = this.figure('monitorJobsPerMonth');
    const billedMinutes = Math.max(this.figure('monitorJobBilledMinutes'), this.billing('sagemaker.minimumBilledSeconds') / 60);
    const caretaker = [
      this.line(`schedules fired (every ${model.drift.scheduleMinutes} min)`, runs, 'scheduler.invocation'),
      ...this.lambda('drift analyzer', runs, this.figure('driftAnalyzerSecondsPerRun'), stack.memoryMb.driftAnalyzer),
      this.line('S3 GETs of captured traffic and the baseline', runs * (objectsPerWindow + 1), 's3.request.get'),
      this.line('S3 LISTs of the capture prefix', runs, 's3.request.putOrList'),
      this.line('DynamoDB read of the live version', runs, 'dynamodb.ondemand.read'),
      this.line('CloudWatch Logs ingested (EMF metric lines)', (runs * (features + 1) * this.figure('emfBytesPerFeature')) / GB, 'cloudwatch.logs.ingestion'),
      this.line(`CloudWatch custom metrics (${features} features)`, metrics, 'cloudwatch.metric'),
      this.alarms(model),
    ];
    const alternative = [
      this.line(`monitoring jobs, ml.m5.xlarge, ${billedMinutes} min billed each`, (jobs * billedMinutes) / 60, 'sagemaker.processing.ml.m5.xlarge'),
      this.line('S3 GETs of captured traffic (hourly windows)', jobs * (objectsPerWindow * 4 + 1), 's3.request.get'),
      this.line('S3 PUTs of job reports (statistics, violations)', jobs * 2, 's3.request.putOrList'),
      this.line(`CloudWatch custom metrics (same per-feature metrics)`, metrics, 'cloudwatch.metric'),
      this.alarms(model),
    ];
    return { caretaker, alternative };
  }

  /** The model's monitoring alarms; they also bill at rest, where the stack's whole alarm count is priced. */
  alarms(model: ModelFacts): Line {
    return this.line('CloudWatch alarms (drift, model quality, endpoint 5XX and latency)', model.drift.alarms, 'cloudwatch.alarm');
  }

  /** The alternative's floor: every hourly job billed only the minimum. */
  monitorFloorUsd(): number {
    const hours = (this.figure('monitorJobsPerMonth') * this.billing('sagemaker.minimumBilledSeconds')) / 3600;
    return hours * this.price('sagemaker.processing.ml.m5.xlarge');
  }

  /** Seconds in the month the hosting figures bill: `daysPerMonth` × 24 h. */
  private monthSeconds(): number {
    return this.figure('daysPerMonth') * 86_400;
  }

  /** A realtime endpoint: its instances bill every second of the month, busy or idle. */
  realtimeMonth(hosting: RealtimeHosting): Line[] {
    return [
      this.line(
        `endpoint instances, ${hosting.instanceType} × ${hosting.instanceCount}, all month`,
        (this.monthSeconds() / 3600) * hosting.instanceCount,
        `sagemaker.hosting.${hosting.instanceType}`,
      ),
    ];
  }

  /**
   * A serverless endpoint for `traffic`: inference duration at the memory size's per-second
   * price, data processed in and out, and provisioned concurrency for every second it is
   * provisioned. Requests served by provisioned workers are priced at the on-demand duration
   * rate here (SageMaker bills them at a lower provisioned-inference rate): an upper bound.
   */
  serverlessMonth(hosting: ServerlessHosting, traffic: Traffic): Line[] {
    const requests = traffic.requestsPerDay * this.figure('daysPerMonth');
    const mb = hosting.memorySizeInMB;
    const lines = [
      this.line(`inference duration, ${mb} MB, ${traffic.inferenceSeconds * 1000} ms × ${quantityText(requests)} requests`, requests * traffic.inferenceSeconds, `sagemaker.serverless.${mb}.second`),
      this.line('data processed in and out', (requests * (traffic.requestKB + traffic.responseKB) * 1000) / GB, 'sagemaker.serverless.dataProcessed'),
    ];
    if (hosting.provisionedConcurrency > 0) {
      lines.push(
        this.line(
          `provisioned concurrency, ${hosting.provisionedConcurrency} × ${mb} MB, all month`,
          this.monthSeconds() * hosting.provisionedConcurrency,
          `sagemaker.serverless.provisioned.${mb}.second`,
        ),
      );
    }
    return lines;
  }

  /** Batch Transform: each run bills its instances from start to end (start-up included), nothing between runs. */
  batchMonth(hosting: BatchHosting, traffic: Traffic): Line[] {
    const recordsPerRun = (traffic.requestsPerDay * this.figure('daysPerMonth')) / hosting.runsPerMonth;
    const seconds = this.batchRunSeconds(hosting, recordsPerRun);
    return [
      this.line(
        `transform jobs, ${hosting.instanceType} × ${hosting.instanceCount}, ${hosting.runsPerMonth.toFixed(0)} runs of ${quantityText(recordsPerRun)} records (${(seconds / 60).toFixed(1)} min billed each)`,
        ((hosting.runsPerMonth * seconds) / 3600) * hosting.instanceCount,
        `sagemaker.batch.${hosting.instanceType}`,
      ),
    ];
  }

  /** One transform run: start-up, then the records spread over the instances, at least the billing minimum. */
  batchRunSeconds(hosting: BatchHosting, records: number): number {
    const scoring = records / (this.figure('batchRecordsPerSecondPerInstance') * hosting.instanceCount);
    return Math.max(this.billing('sagemaker.minimumBilledSeconds'), this.figure('batchStartupSeconds') + scoring);
  }

  /** What each mode bills in a month with no requests at all. */
  idleMonth(hosting: Hosting): { readonly realtime: number; readonly serverless: number; readonly batch: number } {
    const none: Traffic = { requestsPerDay: 0, requestKB: 0, responseKB: 0, inferenceSeconds: 0 };
    return {
      realtime: total(this.realtimeMonth(hosting.realtime)),
      serverless: total(this.serverlessMonth(hosting.serverless, none)),
      // A scheduled job with nothing to score still starts (and is billed); onNewData-only models do not run.
      batch: hosting.batch.scheduled ? total(this.batchMonth(hosting.batch, none)) : 0,
    };
  }

  /**
   * Requests a day at which on-demand serverless costs what the realtime endpoint costs; above
   * it, the instance is cheaper (if one instance can serve the load). Provisioned concurrency,
   * a fixed monthly cost, moves the break-even down by its own share.
   */
  breakEvenRequestsPerDay(hosting: Hosting, traffic: Traffic): number {
    const fixed = total(this.realtimeMonth(hosting.realtime)) - total(this.serverlessMonth(hosting.serverless, { ...traffic, requestsPerDay: 0 }));
    const perRequest = total(this.serverlessMonth(hosting.serverless, { ...traffic, requestsPerDay: 1 })) - total(this.serverlessMonth(hosting.serverless, { ...traffic, requestsPerDay: 0 }));
    return Math.max(0, fixed / perRequest);
  }
}

/** Stated traffic for the hosting figures (bench/usage.json). */
export interface Traffic {
  readonly requestsPerDay: number;
  readonly requestKB: number;
  readonly responseKB: number;
  /** Billed duration of one request (serverless bills by the millisecond). */
  readonly inferenceSeconds: number;
}

export interface RealtimeHosting {
  readonly instanceType: string;
  readonly instanceCount: number;
}
export interface ServerlessHosting {
  readonly memorySizeInMB: number;
  readonly provisionedConcurrency: number;
}
export interface BatchHosting {
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly runsPerMonth: number;
  /** Whether the job runs on a schedule (and so runs, and bills, with nothing new to score). */
  readonly scheduled: boolean;
}
/** One model hosted each way: its configured mode as configured, the others at their defaults. */
export interface Hosting {
  readonly realtime: RealtimeHosting;
  readonly serverless: ServerlessHosting;
  readonly batch: BatchHosting;
}

function quantityText(value: number): string {
  return Math.round(value).toLocaleString('en');
}

export function total(lines: readonly Line[]): number {
  return lines.reduce((sum, line) => sum + line.usd, 0);
}

/** Runs per month of an EventBridge `rate(N unit)` expression; undefined for cron or none. */
export function runsPerMonth(schedule: string | undefined, daysPerMonth: number): number | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule ?? '');
  if (!match) return undefined;
  const minutes = Number(match[1]) * (match[2]!.startsWith('minute') ? 1 : match[2]!.startsWith('hour') ? 60 : 1440);
  return (daysPerMonth * 1440) / minutes;
}
