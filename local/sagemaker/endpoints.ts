/**
 * Models, endpoint configs and endpoints: CreateModel, CreateEndpointConfig, CreateEndpoint,
 * UpdateEndpoint, DescribeEndpoint, DeleteEndpoint (plus Describe/Delete of models and
 * configs), and the runtime's InvokeEndpoint.
 *
 * Each production variant is one `serve` process of the model's image on a free loopback port,
 * with the model's `model.tar.gz` unpacked into its `/opt/ml/model`. An update is blue/green:
 * the new config's variants start next to the old ones, traffic shifts in the configured steps
 * (all at once, canary, linear), alarms named in AutoRollbackConfiguration are checked after
 * each step, then the old variants stop.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import * as z from 'zod';
import { CaptureWriter } from './capture';
import { arnOf, epochSeconds, sleep, type RunnerContext } from './context';
import { checkName, SageMakerFault, validationError } from './errors';
import { resolveImage } from './images';
import type { RunningProcess } from './processes';
import { getObject, parseS3Uri } from './s3';
import { readTarGz } from './tar';

const s3Uri = z.string().regex(/^s3:\/\//, 'must be an s3:// URI');
const container = z.looseObject({
  Image: z.string().min(1),
  ModelDataUrl: s3Uri.optional(),
  Environment: z.record(z.string(), z.string()).optional(),
});

export const createModelSchema = z.looseObject({
  ModelName: z.string(),
  ExecutionRoleArn: z.string().optional(),
  PrimaryContainer: container.optional(),
  Containers: z.array(container).max(1, 'the local runner supports single-container models').optional(),
  EnableNetworkIsolation: z.boolean().optional(),
});

export const createEndpointConfigSchema = z.looseObject({
  EndpointConfigName: z.string(),
  ProductionVariants: z
    .array(
      z.looseObject({
        VariantName: z.string().min(1),
        ModelName: z.string().min(1),
        InitialInstanceCount: z.number().int().min(1).optional(),
        InstanceType: z.string().optional(),
        InitialVariantWeight: z.number().min(0).optional(),
        ServerlessConfig: z
          .looseObject({ MemorySizeInMB: z.number().int(), MaxConcurrency: z.number().int(), ProvisionedConcurrency: z.number().int().optional() })
          .optional(),
      }),
    )
    .min(1)
    .max(10),
  DataCaptureConfig: z
    .looseObject({
      EnableCapture: z.boolean().optional(),
      InitialSamplingPercentage: z.number().int().min(0).max(100),
      DestinationS3Uri: s3Uri,
      KmsKeyId: z.string().optional(),
      CaptureOptions: z.array(z.strictObject({ CaptureMode: z.enum(['Input', 'Output', 'InputAndOutput']) })).min(1).max(2),
      CaptureContentTypeHeader: z
        .looseObject({ CsvContentTypes: z.array(z.string()).optional(), JsonContentTypes: z.array(z.string()).optional() })
        .optional(),
    })
    .optional(),
  KmsKeyId: z.string().optional(),
});

const trafficRouting = z.looseObject({
  Type: z.enum(['ALL_AT_ONCE', 'CANARY', 'LINEAR']),
  WaitIntervalInSeconds: z.number().int().min(0).max(3600),
  CanarySize: z.looseObject({ Type: z.enum(['INSTANCE_COUNT', 'CAPACITY_PERCENT']), Value: z.number().int().min(1) }).optional(),
  LinearStepSize: z.looseObject({ Type: z.enum(['INSTANCE_COUNT', 'CAPACITY_PERCENT']), Value: z.number().int().min(1) }).optional(),
});

export const deploymentConfigSchema = z.looseObject({
  BlueGreenUpdatePolicy: z
    .looseObject({
      TrafficRoutingConfiguration: trafficRouting,
      TerminationWaitInSeconds: z.number().int().min(0).max(3600).optional(),
      MaximumExecutionTimeoutInSeconds: z.number().int().min(600).max(28_800).optional(),
    })
    .optional(),
  AutoRollbackConfiguration: z.looseObject({ Alarms: z.array(z.looseObject({ AlarmName: z.string().min(1) })).max(10).optional() }).optional(),
});
type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;

export const createEndpointSchema = z.looseObject({
  EndpointName: z.string(),
  EndpointConfigName: z.string().min(1),
  DeploymentConfig: deploymentConfigSchema.optional(),
});
export const updateEndpointSchema = createEndpointSchema.extend({ RetainAllVariantProperties: z.boolean().optional() });

type ModelDefinition = z.infer<typeof createModelSchema> & { readonly arn: string; readonly creationTime: Date };
type EndpointConfig = z.infer<typeof createEndpointConfigSchema> & { readonly arn: string; readonly creationTime: Date };

/**
 * A serverless endpoint config: its variant has a ServerlessConfig in place of instances. Served
 * locally by one process that is stopped `serverlessIdleMs` after the last request and started
 * again by the next one (a cold start: the request waits for /ping).
 */
const isServerless = (config: z.infer<typeof createEndpointConfigSchema>) => config.ProductionVariants.some((v) => v.ServerlessConfig !== undefined);

interface Variant {
  readonly name: string;
  readonly weight: number;
  readonly instanceCount: number;
  readonly instanceType?: string;
  readonly image: string;
  port: number;
  /** The serving process; absent while a serverless variant is scaled to zero. */
  process?: RunningProcess;
  readonly logs: string[];
  /** Serverless variants only: scale to zero when idle. */
  readonly serverless?: ScaleToZero;
}

interface ScaleToZero {
  readonly model: ModelDefinition;
  readonly path: string;
  /** Requests being answered (the process is not stopped under them). */
  inFlight: number;
  /** Processes started after the first (cold starts). */
  coldStarts: number;
  /** Its fleet was stopped (deleted or replaced): no cold start may bring it back. */
  retired?: boolean;
  starting?: Promise<void>;
  idleTimer?: NodeJS.Timeout;
}

/** The variants of one endpoint config, running. */
interface Fleet {
  readonly config: EndpointConfig;
  readonly variants: Variant[];
  readonly capture?: CaptureWriter;
  readonly picks: Map<string, number>;
}

type EndpointStatus = 'Creating' | 'Updating' | 'RollingBack' | 'InService' | 'Failed' | 'Deleting';

class Endpoint {
  status: EndpointStatus = 'Creating';
  failureReason?: string;
  readonly creationTime = new Date();
  lastModifiedTime = new Date();
  /** The fleet of the endpoint's current config (absent until created). */
  live?: Fleet;
  /** Where invocations go; during a blue/green shift, two fleets with their traffic shares. */
  routing: { fleet: Fleet; share: number }[] = [];
  readonly routingPicks = new Map<string, number>();
  pending?: { config: EndpointConfig; startTime: Date };
  lastDeploymentConfig?: DeploymentConfig;
  work: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly arn: string,
  ) {}
}

/** Smooth weighted round robin: exact proportions, no randomness. */
function pickWeighted<T>(items: readonly { key: string; weight: number; item: T }[], state: Map<string, number>): T | undefined {
  const live = items.filter((i) => i.weight > 0);
  const total = live.reduce((sum, i) => sum + i.weight, 0);
  let best: { key: string; item: T } | undefined;
  let bestScore = -Infinity;
  for (const { key, weight, item } of live) {
    const score = (state.get(key) ?? 0) + weight;
    state.set(key, score);
    if (score > bestScore) {
      bestScore = score;
      best = { key, item };
    }
  }
  if (best) state.set(best.key, bestScore - total);
  return best?.item;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

async function waitForPing(port: number, process: RunningProcess, timeoutMs: number): Promise<void> {
  const state = { exited: false };
  void process.exited.then(() => (state.exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (state.exited) throw new Error('the serving process exited before passing the ping health check');
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`no 200 from /ping within ${timeoutMs} ms`);
}

/** The traffic share of the new fleet after each step of a blue/green shift. */
export function shiftSteps(routing: z.infer<typeof trafficRouting> | undefined, instanceCount: number): number[] {
  if (!routing || routing.Type === 'ALL_AT_ONCE') return [1];
  const size = routing.Type === 'CANARY' ? routing.CanarySize : routing.LinearStepSize;
  if (!size) throw validationError(`${routing.Type === 'CANARY' ? 'CanarySize' : 'LinearStepSize'} is required for ${routing.Type} traffic routing`);
  const share = size.Type === 'CAPACITY_PERCENT' ? size.Value / 100 : size.Value / Math.max(1, instanceCount);
  if (share >= 1) throw validationError(`the ${routing.Type} step must be smaller than the whole fleet`);
  if (routing.Type === 'CANARY') return [share, 1];
  const steps: number[] = [];
  for (let s = share; s < 1 - 1e-9; s += share) steps.push(Math.round(s * 1e6) / 1e6);
  return [...steps, 1];
}

export interface InvocationResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export class Endpoints {
  private readonly models = new Map<string, ModelDefinition>();
  private readonly configs = new Map<string, EndpointConfig>();
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(private readonly context: RunnerContext) {}

  // --- models and configs -------------------------------------------------------------------

  createModel(input: unknown): { ModelArn: string } {
    const request = parse(createModelSchema, input);
    checkName('modelName', request.ModelName);
    if (this.models.has(request.ModelName)) throw validationError(`Cannot create already existing model "${arnOf(this.context, 'model', request.ModelName)}".`);
    if (!request.PrimaryContainer && !request.Containers?.length) throw validationError('PrimaryContainer or Containers is required');
    const model = { ...request, arn: arnOf(this.context, 'model', request.ModelName), creationTime: new Date() };
    this.models.set(request.ModelName, model);
    return { ModelArn: model.arn };
  }

  describeModel(input: { ModelName?: unknown }) {
    const model = this.model(input.ModelName);
    const { arn, creationTime, ...request } = model;
    return { ...request, ModelArn: arn, CreationTime: epochSeconds(creationTime) };
  }

  deleteModel(input: { ModelName?: unknown }): Record<string, never> {
    this.models.delete(this.model(input.ModelName).ModelName);
    return {};
  }

  createEndpointConfig(input: unknown): { EndpointConfigArn: string } {
    const request = parse(createEndpointConfigSchema, input);
    checkName('endpointConfigName', request.EndpointConfigName);
    if (this.configs.has(request.EndpointConfigName)) {
      throw validationError(`Cannot create already existing endpoint configuration "${arnOf(this.context, 'endpoint-config', request.EndpointConfigName)}".`);
    }
    for (const variant of request.ProductionVariants) this.model(variant.ModelName);
    // Serverless Inference's feature exclusions (serverless-endpoints.html): no data capture. Wording ours.
    if (isServerless(request) && request.DataCaptureConfig !== undefined) {
      throw validationError(`DataCaptureConfig is not supported for serverless endpoint config ${request.EndpointConfigName}.`);
    }
    const config = { ...request, arn: arnOf(this.context, 'endpoint-config', request.EndpointConfigName), creationTime: new Date() };
    this.configs.set(request.EndpointConfigName, config);
    return { EndpointConfigArn: config.arn };
  }

  describeEndpointConfig(input: { EndpointConfigName?: unknown }) {
    const { arn, creationTime, ...request } = this.config(input.EndpointConfigName);
    return { ...request, EndpointConfigArn: arn, CreationTime: epochSeconds(creationTime) };
  }

  deleteEndpointConfig(input: { EndpointConfigName?: unknown }): Record<string, never> {
    this.configs.delete(this.config(input.EndpointConfigName).EndpointConfigName);
    return {};
  }

  // --- endpoints ----------------------------------------------------------------------------

  /**
   * SageMaker API reference, CreateEndpoint: the name must be unique in the account and Region;
   * SageMaker refuses an existing name in any status with ValidationException
   * `Cannot create already existing endpoint "<arn>".` (as quoted in aws/sagemaker-python-sdk#101
   * and hashicorp/terraform-provider-aws#40080).
   */
  createEndpoint(input: unknown): { EndpointArn: string } {
    const request = parse(createEndpointSchema, input);
    checkName('endpointName', request.EndpointName);
    if (this.endpoints.has(request.EndpointName)) throw validationError(`Cannot create already existing endpoint "${arnOf(this.context, 'endpoint', request.EndpointName)}".`);
    const config = this.config(request.EndpointConfigName);
    const endpoint = new Endpoint(request.EndpointName, arnOf(this.context, 'endpoint', request.EndpointName));
    this.endpoints.set(endpoint.name, endpoint);
    endpoint.pending = { config, startTime: new Date() };
    endpoint.work = (async () => {
      try {
        const fleet = await this.startFleet(endpoint, config);
        endpoint.live = fleet;
        endpoint.routing = [{ fleet, share: 1 }];
        endpoint.status = 'InService';
      } catch (error) {
        endpoint.status = 'Failed';
        endpoint.failureReason = reasonOf(error);
      } finally {
        endpoint.pending = undefined;
        endpoint.lastModifiedTime = new Date();
      }
    })();
    return { EndpointArn: endpoint.arn };
  }

  describeEndpoint(input: { EndpointName?: unknown }) {
    const endpoint = this.endpoint(input.EndpointName);
    const fleet = endpoint.live;
    const capture = fleet?.config.DataCaptureConfig;
    const liveVariants = (f: Fleet) =>
      f.variants.map((v) => ({
        VariantName: v.name,
        DeployedImages: [{ SpecifiedImage: v.image, ResolvedImage: v.image, ResolutionTime: epochSeconds(endpoint.lastModifiedTime) }],
        CurrentWeight: v.weight,
        DesiredWeight: v.weight,
        CurrentInstanceCount: v.instanceCount,
        DesiredInstanceCount: v.instanceCount,
      }));
    const desiredVariants = (c: EndpointConfig) =>
      c.ProductionVariants.map((v) => ({ VariantName: v.VariantName, DesiredWeight: v.InitialVariantWeight ?? 1, DesiredInstanceCount: v.InitialInstanceCount ?? 1 }));
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: fleet?.config.EndpointConfigName ?? endpoint.pending?.config.EndpointConfigName,
      ProductionVariants: fleet && liveVariants(fleet),
      DataCaptureConfig: capture && {
        EnableCapture: capture.EnableCapture ?? true,
        CaptureStatus: capture.EnableCapture === false ? 'Stopped' : 'Started',
        CurrentSamplingPercentage: capture.InitialSamplingPercentage,
        DestinationS3Uri: capture.DestinationS3Uri,
        KmsKeyId: capture.KmsKeyId,
      },
      EndpointStatus: endpoint.status,
      FailureReason: endpoint.failureReason,
      CreationTime: epochSeconds(endpoint.creationTime),
      LastModifiedTime: epochSeconds(endpoint.lastModifiedTime),
      LastDeploymentConfig: endpoint.lastDeploymentConfig,
      PendingDeploymentSummary: endpoint.pending && fleet && {
        EndpointConfigName: endpoint.pending.config.EndpointConfigName,
        ProductionVariants: desiredVariants(endpoint.pending.config),
        StartTime: epochSeconds(endpoint.pending.startTime),
      },
    };
  }

  /**
   * SageMaker API reference, UpdateEndpoint/DescribeEndpoint: the endpoint goes Updating on the
   * request and InService when done; one that is Creating, Updating, SystemUpdating ("cannot be
   * updated"), RollingBack or Failed is refused with ValidationException; an unknown name is
   * `Could not find endpoint "<arn>".` (botocore's EndpointDeleted waiter takes that ValidationException as "gone").
   */
  updateEndpoint(input: unknown): { EndpointArn: string } {
    const request = parse(updateEndpointSchema, input);
    const endpoint = this.endpoint(request.EndpointName);
    if (endpoint.status !== 'InService' || !endpoint.live) {
      throw validationError(`Cannot update in-progress endpoint "${endpoint.arn}".`);
    }
    const config = this.config(request.EndpointConfigName);
    const blue = endpoint.live;
    // "Update a serverless endpoint" (serverless-endpoints-update.html): a real-time endpoint cannot be updated to a serverless config. Wording ours.
    if (isServerless(config) && !isServerless(blue.config)) {
      throw validationError(`Updating a real-time endpoint "${endpoint.arn}" to a serverless endpoint config is not supported.`);
    }
    const steps = shiftSteps(
      request.DeploymentConfig?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration,
      config.ProductionVariants.reduce((sum, v) => sum + (v.InitialInstanceCount ?? 1), 0),
    );
    const hook = this.context.hooks.nextUpdate.get(endpoint.name);
    this.context.hooks.nextUpdate.delete(endpoint.name);
    endpoint.status = 'Updating';
    endpoint.failureReason = undefined;
    endpoint.pending = { config, startTime: new Date() };
    endpoint.lastModifiedTime = new Date();
    endpoint.lastDeploymentConfig = request.DeploymentConfig;
    endpoint.work = this.blueGreen(endpoint, blue, config, steps, request.DeploymentConfig, hook);
    return { EndpointArn: endpoint.arn };
  }

  deleteEndpoint(input: { EndpointName?: unknown }): Record<string, never> {
    const endpoint = this.endpoint(input.EndpointName);
    endpoint.status = 'Deleting';
    endpoint.lastModifiedTime = new Date();
    endpoint.work = endpoint.work.then(async () => {
      const fleets = new Set([...endpoint.routing.map((r) => r.fleet), ...(endpoint.live ? [endpoint.live] : [])]);
      endpoint.routing = [];
      await Promise.all([...fleets].map((fleet) => this.stopFleet(fleet)));
      this.endpoints.delete(endpoint.name);
    });
    return {};
  }

  /** Resolves once the endpoint's current create/update/delete work is over. */
  async settled(name: string): Promise<void> {
    await this.endpoints.get(name)?.work;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map((e) => e.work.catch(() => undefined)));
    await Promise.all(
      [...this.endpoints.values()].map(async (endpoint) => {
        const fleets = new Set([...endpoint.routing.map((r) => r.fleet), ...(endpoint.live ? [endpoint.live] : [])]);
        await Promise.all([...fleets].map((fleet) => this.stopFleet(fleet)));
      }),
    );
    this.endpoints.clear();
  }

  /** Ports of the serving processes of an endpoint (for tests and diagnostics). */
  processes(name: string): { variant: string; port: number; pid: number; config: string }[] {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) return [];
    const fleets = new Set([...endpoint.routing.map((r) => r.fleet), ...(endpoint.live ? [endpoint.live] : [])]);
    return [...fleets].flatMap((fleet) =>
      fleet.variants.flatMap((v) => (v.process ? [{ variant: v.name, port: v.port, pid: v.process.pid, config: fleet.config.EndpointConfigName }] : [])),
    );
  }

  // --- runtime ------------------------------------------------------------------------------

  async invoke(
    name: string,
    body: Buffer,
    headers: { contentType?: string; accept?: string; targetVariant?: string; inferenceId?: string },
  ): Promise<InvocationResult> {
    const endpoint = this.endpoints.get(name);
    if (!endpoint || endpoint.status === 'Deleting') {
      throw new SageMakerFault('ValidationError', `Endpoint ${name} of account ${this.context.accountId} not found.`);
    }
    let fleet: Fleet | undefined;
    let variant: Variant | undefined;
    if (headers.targetVariant) {
      fleet = endpoint.routing.find((r) => r.fleet.variants.some((v) => v.name === headers.targetVariant))?.fleet;
      variant = fleet?.variants.find((v) => v.name === headers.targetVariant);
      if (!variant) throw new SageMakerFault('ValidationError', `Variant ${headers.targetVariant} not found for endpoint ${name}.`);
    } else {
      fleet = pickWeighted(
        endpoint.routing.map((r) => ({ key: r.fleet.config.EndpointConfigName, weight: r.share, item: r.fleet })),
        endpoint.routingPicks,
      );
      variant = fleet && pickWeighted(fleet.variants.map((v) => ({ key: v.name, weight: v.weight, item: v })), fleet.picks);
    }
    if (!fleet || !variant) throw new SageMakerFault('ValidationError', `Endpoint ${name} is not in service (${endpoint.status}).`);
    const contentType = headers.contentType ?? 'application/octet-stream';
    const scaling = variant.serverless;
    if (scaling) {
      scaling.inFlight++;
      clearTimeout(scaling.idleTimer);
    }
    let response: Response;
    let output: Buffer;
    try {
      if (scaling) await this.coldStart(variant, scaling);
      response = await fetch(`http://127.0.0.1:${variant.port}/invocations`, {
        method: 'POST',
        headers: { 'content-type': contentType, ...(headers.accept && { accept: headers.accept }) },
        body,
        signal: AbortSignal.timeout(60_000),
      });
      output = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      throw new SageMakerFault('ModelError', `Received server error (0) from ${variant.name}: ${reasonOf(error)}`, 424);
    } finally {
      if (scaling) {
        scaling.inFlight--;
        this.stopWhenIdle(variant, scaling);
      }
    }
    if (!response.ok) {
      const kind = response.status < 500 ? 'client' : 'server';
      const original = output.toString('utf8').slice(0, 1024);
      throw new SageMakerFault(
        'ModelError',
        `Received ${kind} error (${response.status}) from primary with message "${original}". See the logs of variant ${variant.name}.`,
        424,
        { OriginalStatusCode: response.status, OriginalMessage: original },
      );
    }
    const outputContentType = response.headers.get('content-type') ?? 'application/octet-stream';
    fleet.capture?.record({
      variant: variant.name,
      inputContentType: contentType,
      input: body,
      outputContentType,
      output,
      inferenceId: headers.inferenceId,
      at: new Date(),
    });
    return {
      status: 200,
      headers: { 'content-type': outputContentType, 'x-amzn-invoked-production-variant': variant.name },
      body: output,
    };
  }

  /** Writes buffered capture records of every endpoint now. */
  async flushCapture(): Promise<void> {
    const fleets = [...this.endpoints.values()].flatMap((e) => e.routing.map((r) => r.fleet));
    await Promise.all(fleets.map((f) => (f.capture ? f.capture.flush() : Promise.resolve())));
  }

  // --- internals ----------------------------------------------------------------------------

  private model(name: unknown): ModelDefinition {
    const model = typeof name === 'string' ? this.models.get(name) : undefined;
    if (!model) throw validationError(`Could not find model "${arnOf(this.context, 'model', String(name))}".`);
    return model;
  }

  private config(name: unknown): EndpointConfig {
    const config = typeof name === 'string' ? this.configs.get(name) : undefined;
    if (!config) throw validationError(`Could not find endpoint configuration "${arnOf(this.context, 'endpoint-config', String(name))}".`);
    return config;
  }

  private endpoint(name: unknown): Endpoint {
    const endpoint = typeof name === 'string' ? this.endpoints.get(name) : undefined;
    if (!endpoint) throw validationError(`Could not find endpoint "${arnOf(this.context, 'endpoint', String(name))}".`);
    return endpoint;
  }

  private async startFleet(endpoint: Endpoint, config: EndpointConfig): Promise<Fleet> {
    const variants: Variant[] = [];
    try {
      for (const spec of config.ProductionVariants) {
        const model = this.model(spec.ModelName);
        const path = join('endpoints', endpoint.name, config.EndpointConfigName, spec.VariantName);
        const { containerSpec, port, process, logs } = await this.spawnServer(model, path);
        const variant: Variant = {
          name: spec.VariantName,
          weight: spec.InitialVariantWeight ?? 1,
          instanceCount: spec.InitialInstanceCount ?? 1,
          instanceType: spec.InstanceType,
          image: containerSpec.Image,
          port,
          process,
          logs,
          ...(spec.ServerlessConfig ? { serverless: { model, path, inFlight: 0, coldStarts: 0 } } : {}),
        };
        variants.push(variant);
        try {
          await waitForPing(port, process, this.context.settings.healthCheckTimeoutMs);
        } catch (error) {
          throw new Error(
            `The primary container for production variant ${spec.VariantName} did not pass the ping health check: ${reasonOf(error)}. Last output: ${logs.slice(-3).join(' | ') || 'none'}`,
          );
        }
        // The health check passed: a serverless variant idles down until its first request.
        if (variant.serverless) this.stopWhenIdle(variant, variant.serverless);
      }
    } catch (error) {
      await Promise.all(variants.map((v) => this.stopVariant(v)));
      throw error;
    }
    const capture = config.DataCaptureConfig;
    return {
      config,
      variants,
      picks: new Map(),
      capture:
        capture && capture.EnableCapture !== false
          ? new CaptureWriter(this.context.s3, endpoint.name, capture, this.context.settings.captureFlushMs, () => undefined)
          : undefined,
    };
  }

  /**
   * One `serve` process of `model` under `<workRoot>/<path>`: the model archive unpacked into
   * `model/`, a free loopback port. Endpoint variants and transform jobs both run their model so.
   */
  private async spawnServer(model: ModelDefinition, path: string, logs: string[] = []) {
    const containerSpec = model.PrimaryContainer ?? model.Containers?.[0];
    if (!containerSpec) throw new Error(`model ${model.ModelName} has no container`);
    const command = resolveImage(this.context.images, containerSpec.Image).serve;
    if (!command) throw new Error(`image ${containerSpec.Image} has no serve command in the local image registry`);
    const root = join(this.context.workRoot, ...path.split('/'));
    await rm(root, { recursive: true, force: true });
    await mkdir(join(root, 'model'), { recursive: true });
    if (containerSpec.ModelDataUrl) {
      const archive = await getObject(this.context.s3, parseS3Uri(containerSpec.ModelDataUrl));
      for (const [entry, content] of readTarGz(archive)) {
        const target = join(root, 'model', ...entry.split('/'));
        if (!target.startsWith(join(root, 'model'))) throw new Error(`model archive entry escapes the model directory: ${entry}`);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content);
      }
    }
    const port = await freePort();
    const process = this.context.supervisor.spawn(command, {
      cwd: root,
      env: { ...containerSpec.Environment, SM_ROOT: root, SAGEMAKER_BIND_TO_PORT: String(port), SAGEMAKER_BIND_TO_HOST: '127.0.0.1' },
      onLine: (line) => {
        logs.push(line);
        if (logs.length > 200) logs.shift();
      },
    });
    return { containerSpec, port, process, logs };
  }

  /** Whether CreateModel made `name` (transform jobs refuse a model that does not exist). */
  hasModel(name: string): boolean {
    return this.models.has(name);
  }

  /** Runs `modelName`'s serving process for a transform job under `<workRoot>/<path>`, once it answers /ping. */
  async startModelServer(modelName: string, path: string): Promise<{ readonly port: number; stop(): Promise<void> }> {
    const { port, process, logs } = await this.spawnServer(this.model(modelName), path);
    try {
      await waitForPing(port, process, this.context.settings.healthCheckTimeoutMs);
    } catch (error) {
      await process.stop(this.context.settings.stopGraceMs);
      throw new Error(`the model container did not pass the ping health check: ${reasonOf(error)}. Last output: ${logs.slice(-3).join(' | ') || 'none'}`);
    }
    return { port, stop: () => process.stop(this.context.settings.stopGraceMs) };
  }

  private async stopFleet(fleet: Fleet): Promise<void> {
    await Promise.all(
      fleet.variants.map((v) => {
        if (v.serverless) v.serverless.retired = true;
        return this.stopVariant(v);
      }),
    );
    await fleet.capture?.close();
  }

  private async stopVariant(variant: Variant): Promise<void> {
    if (variant.serverless) clearTimeout(variant.serverless.idleTimer);
    const running = variant.process;
    variant.process = undefined;
    await running?.stop(this.context.settings.stopGraceMs);
  }

  /** A serverless variant scaled to zero: start its process again and wait for /ping (concurrent requests share one start). */
  private async coldStart(variant: Variant, scaling: ScaleToZero): Promise<void> {
    if (variant.process) return;
    if (scaling.retired) throw new Error('the endpoint configuration is no longer served');
    scaling.starting ??= (async () => {
      const { port, process } = await this.spawnServer(scaling.model, scaling.path, variant.logs);
      try {
        await waitForPing(port, process, this.context.settings.healthCheckTimeoutMs);
      } catch (error) {
        await process.stop(this.context.settings.stopGraceMs);
        throw error;
      }
      if (scaling.retired) {
        await process.stop(this.context.settings.stopGraceMs);
        throw new Error('the endpoint configuration was replaced while the variant was starting');
      }
      variant.port = port;
      variant.process = process;
      scaling.coldStarts++;
    })().finally(() => {
      scaling.starting = undefined;
    });
    await scaling.starting;
  }

  private stopWhenIdle(variant: Variant, scaling: ScaleToZero): void {
    clearTimeout(scaling.idleTimer);
    if (scaling.inFlight > 0 || !variant.process) return;
    scaling.idleTimer = setTimeout(() => {
      if (scaling.inFlight === 0) void this.stopVariant(variant);
    }, this.context.settings.serverlessIdleMs);
    scaling.idleTimer.unref();
  }

  /** Cold starts of an endpoint's serverless variants since they were created (for tests and diagnostics). */
  coldStarts(name: string): number {
    const endpoint = this.endpoints.get(name);
    return (endpoint?.live?.variants ?? []).reduce((sum, v) => sum + (v.serverless?.coldStarts ?? 0), 0);
  }

  private async alarmsFiring(deployment: DeploymentConfig | undefined): Promise<string[]> {
    const names = (deployment?.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName);
    if (names.length === 0 || !this.context.cloudWatch) return [];
    const { MetricAlarms = [], CompositeAlarms = [] } = await this.context.cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: names }));
    return [...MetricAlarms, ...CompositeAlarms].filter((a) => a.StateValue === 'ALARM').map((a) => a.AlarmName ?? '');
  }

  private async blueGreen(
    endpoint: Endpoint,
    blue: Fleet,
    config: EndpointConfig,
    steps: readonly number[],
    deployment: DeploymentConfig | undefined,
    hook: { outcome: 'fail' | 'rollback'; reason?: string } | undefined,
  ): Promise<void> {
    const scale = this.context.settings.deploymentTimeScale;
    const policy = deployment?.BlueGreenUpdatePolicy;
    const finish = (status: EndpointStatus, failureReason?: string) => {
      endpoint.status = status;
      endpoint.failureReason = failureReason;
      endpoint.pending = undefined;
      endpoint.lastModifiedTime = new Date();
    };
    let green: Fleet;
    try {
      if (hook?.outcome === 'fail') throw new Error(hook.reason ?? 'the new endpoint configuration failed to deploy (local test hook)');
      green = await this.startFleet(endpoint, config);
    } catch (error) {
      // The old fleet never stopped serving: the endpoint stays on its current config.
      finish('InService', `Failed to update endpoint: ${reasonOf(error)}`);
      return;
    }
    const rollBack = async (reason: string | undefined) => {
      endpoint.status = 'RollingBack';
      endpoint.routing = [{ fleet: blue, share: 1 }];
      await this.stopFleet(green);
      finish('InService', reason);
    };
    try {
      for (const [index, share] of steps.entries()) {
        endpoint.routing = share >= 1 ? [{ fleet: green, share: 1 }] : [{ fleet: blue, share: 1 - share }, { fleet: green, share }];
        endpoint.routingPicks.clear();
        const last = index === steps.length - 1;
        const waitSeconds = last ? (policy?.TerminationWaitInSeconds ?? 0) : (policy?.TrafficRoutingConfiguration.WaitIntervalInSeconds ?? 0);
        if (waitSeconds * scale > 0) await sleep(waitSeconds * scale * 1000);
        if (hook?.outcome === 'rollback') return await rollBack(hook.reason);
        const firing = await this.alarmsFiring(deployment);
        if (firing.length > 0) return await rollBack(`Rolled back: alarm ${firing.join(', ')} in ALARM during the deployment`);
      }
      endpoint.live = green;
      finish('InService');
      await this.stopFleet(blue);
    } catch (error) {
      await rollBack(`Failed to update endpoint: ${reasonOf(error)}`);
    }
  }
}

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationError(z.prettifyError(parsed.error));
  return parsed.data;
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1024);
}

