/**
 * Local mode: the whole stack on one machine. Starts (or reuses) a moto server, creates the
 * data-plane resources from the synthesized template, loads every CaretakerFunction handler
 * in-process with its resolved environment, and stands in for the managed services the code
 * calls: the local SageMaker runner, a local Step Functions endpoint running the pipeline ASL,
 * the queue → function event source mappings and rule → function deliveries, the registry API
 * over HTTP, and CloudWatch alarm evaluation of the drift alarm.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { fromLocalHeader } from '../lambdas/api/principal';
import type { ApiHandler } from '../lambdas/api/router';
import { createApiHandlerFromEnv } from '../lambdas/api/wiring';
import type { CaretakerConfig } from '../lib/config';
import { LocalAlarms } from './alarms';
import { consoleSite, type ConsoleSite, readOnlyRoleRefusal } from './console';
import { extractEmfFromStdout } from './emf';
import { startQueueConsumers, type QueueConsumers } from './consumers';
import { startStreamConsumers, streamMappings, type StreamConsumers } from './streams';
import { LocalFunctions } from './functions';
import { scheduledFunctions, startSchedules, type RunningSchedules } from './schedules';
import { startMotoServer, type MotoServer } from './moto';
import { provisionFromTemplate, type ProvisionResult } from './provision';
import { startLocalSageMaker, type RunningLocalSageMaker } from './sagemaker/server';
import { startLocalStepFunctions, type ExecutionRecord, type RunningStepFunctions } from './stepfunctions/service';
import { TRAINING_PIPELINE_ASL } from './stepfunctions/training-pipeline';
import { substitute } from './stepfunctions/runner';
import { taskHandlersFor } from './stepfunctions/tasks';
import { publishFileAssets, resolveIntrinsics, synthesizeStack, type CfnTemplate } from './template';

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '123456789012';
/**
 * Stream consumers local mode runs (handler modules under lambdas/): the events publisher, and the
 * audit copier into the write-once bucket (moto models Object Lock and If-None-Match).
 */
export const LOCAL_STREAM_CONSUMERS: readonly string[] = ['events/publisher.handler.ts', 'audit/handler.ts'];

export interface LocalStackOptions {
  readonly config: CaretakerConfig;
  /** Port of the registry API. @default 0 (a free one) */
  readonly apiPort?: number;
  /** Reuse this moto server instead of starting one. @default process.env.AWS_ENDPOINT_URL */
  readonly motoEndpoint?: string;
  /** Prefix of every physical name. @default `caretaker-<random>` */
  readonly prefix?: string;
  readonly log?: (line: string) => void;
  /** Serve the built console at the API's origin (`consoleUrl`). @default false */
  readonly console?: boolean;
}

export interface LocalStack {
  readonly apiUrl: string;
  /** The console's URL when `console` was asked for. */
  readonly consoleUrl?: string;
  readonly endpoints: { readonly moto: string; readonly sagemaker: string; readonly stepFunctions: string };
  readonly template: CfnTemplate;
  readonly provisioned: ProvisionResult;
  readonly functions: LocalFunctions;
  readonly sagemaker: RunningLocalSageMaker;
  readonly stepFunctions: RunningStepFunctions;
  readonly alarms: LocalAlarms;
  readonly consumers: QueueConsumers;
  /** Table stream → the consumers in `LOCAL_STREAM_CONSUMERS` (the registry events publisher, the audit copier). */
  readonly streams: StreamConsumers;
  /** Scheduled rules → the functions in `LOCAL_SCHEDULED_FUNCTIONS` (the API's delivery sweep), at the template's rates. */
  readonly schedules: RunningSchedules;
  /**
   * EventBridge Scheduler schedules that start a Step Functions execution (batch scoring), with
   * what Scheduler would send at their time. Local mode keeps no Scheduler clock: a caller
   * starts the target itself, with `input`, as the schedule would.
   */
  readonly schedulerTargets: readonly { readonly logicalId: string; readonly expression: string; readonly stateMachineArn: string; readonly input: string }[];
  /** Physical names of the resources the demo and tests use. */
  readonly names: { readonly table: string; readonly datasetsBucket: string; readonly artifactsBucket: string; readonly stateMachineArn: string };
  /** Client settings for the moto server. */
  readonly clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string }; forcePathStyle: boolean };
  close(): Promise<void>;
}

let startedInThisProcess = false;

const ENVIRONMENT_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_SFN',
  'AWS_ENDPOINT_URL_SAGEMAKER',
  'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_METRICS_DISABLED',
];

const ofType = (template: CfnTemplate, type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

function onlyOne(template: CfnTemplate, type: string, what: string): string {
  const found = ofType(template, type).filter(([id]) => id.startsWith(what));
  if (found.length !== 1 || !found[0]) throw new Error(`local mode expects exactly one ${type} named ${what}*, found ${found.length}`);
  return found[0][0];
}

/** Starts local mode. On failure, everything started so far is stopped again. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // Handler modules build their clients once per process, as in Lambda; a second stack in the
  // same process would find them pointing at the first one's services.
  if (startedInThisProcess) throw new Error('local mode starts once per process (handler modules keep the clients they built); start another process');
  startedInThisProcess = true;
  const log = options.log ?? (() => undefined);
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
  };
  // Local mode points this process's SDK clients at its services; close() puts the environment back.
  const savedEnvironment = new Map(ENVIRONMENT_KEYS.map((key) => [key, process.env[key]]));
  cleanups.push(() => {
    for (const [key, value] of savedEnvironment) {
      if (value === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = value;
    }
    return Promise.resolve();
  });
  try {
    let moto: MotoServer | undefined;
    const motoEndpoint = options.motoEndpoint ?? process.env.AWS_ENDPOINT_URL;
    if (motoEndpoint) log(`using moto at ${motoEndpoint}`);
    else {
      moto = await startMotoServer();
      const started = moto;
      cleanups.push(() => started.stop());
      log(`moto started at ${moto.endpoint}`);
    }
    const endpoint = motoEndpoint ?? moto?.endpoint ?? '';
    // Every SDK client in this process (handlers included) talks to the local services.
    process.env.AWS_ENDPOINT_URL = endpoint;
    process.env.AWS_REGION = REGION;
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    const clientConfig = { endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, forcePathStyle: true };

    const { template, fileAssets } = synthesizeStack(options.config);
    const prefix = options.prefix ?? `caretaker-${randomUUID().slice(0, 6)}`;
    const provisioned = await provisionFromTemplate(template, { endpoint, region: REGION, accountId: ACCOUNT_ID, prefix });
    log(`provisioned ${provisioned.resources.size} resources from the template (${provisioned.skipped.length} run locally or not needed)`);

    // Roles, keys and alarms are not created; references to them resolve to stable local names and ARNs.
    const resources = new Map(provisioned.resources);
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resources.has(logicalId)) continue;
      if (resource.Type === 'AWS::IAM::Role') {
        const arn = `arn:aws:iam::${ACCOUNT_ID}:role/${prefix}-${logicalId}`.slice(0, 120);
        resources.set(logicalId, { type: resource.Type, ref: `${prefix}-${logicalId}`, attributes: { Arn: arn } });
      }
      if (resource.Type === 'AWS::CloudWatch::Alarm') {
        const name = typeof resource.Properties?.AlarmName === 'string' ? resource.Properties.AlarmName : `${prefix}-${logicalId}`;
        resources.set(logicalId, { type: resource.Type, ref: name, attributes: { Arn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${name}` } });
      }
      if (resource.Type === 'AWS::CloudFront::Distribution') {
        // No CDN locally: `local up` serves the console from the API's own origin, so its requests
        // are same-origin and the API's CORS origin (CONSOLE_ORIGIN, from this name) is never consulted.
        resources.set(logicalId, { type: resource.Type, ref: logicalId, attributes: { DomainName: 'localhost' } });
      }
      if (resource.Type === 'AWS::KMS::Key') {
        const arn = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${logicalId}`;
        resources.set(logicalId, { type: resource.Type, ref: logicalId, attributes: { Arn: arn } });
      }
    }
    const resolve = (value: unknown) => resolveIntrinsics(value, { region: REGION, accountId: ACCOUNT_ID, resources, mappings: template.Mappings });
    const arnOf = (logicalId: string) => {
      const resource = resources.get(logicalId);
      return { arn: resource?.attributes.Arn ?? '', name: resource?.ref ?? logicalId };
    };

    const s3 = new S3Client(clientConfig);
    const published = await publishFileAssets(s3, fileAssets, { accountId: ACCOUNT_ID, region: REGION });
    log(`published ${published} file asset${published === 1 ? '' : 's'} to the bootstrap bucket, as cdk deploy does`);
    const cloudWatch = new CloudWatchClient(clientConfig);
    // The handlers' EMF lines become CloudWatch metrics, as CloudWatch Logs extracts them in AWS.
    const emf = extractEmfFromStdout(cloudWatch, log);
    cleanups.push(() => emf.stop());
    const sagemaker = await startLocalSageMaker({ s3, cloudWatch, region: REGION, accountId: ACCOUNT_ID, log: (line) => log(`sagemaker: ${line}`) });
    cleanups.push(() => sagemaker.close());
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = sagemaker.endpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = sagemaker.endpoint;

    const functions = new LocalFunctions(template, resolve, arnOf);
    await functions.load();

    const parameters = new Map(
      ofType(template, 'AWS::SSM::Parameter').map(([, r]) => [String(resolve(r.Properties?.Name)), String(resolve(r.Properties?.Value))] as const),
    );
    const events = new EventBridgeClient(clientConfig);
    const taskPorts = {
      invokeFunction: (reference: string, payload: unknown) => functions.invoke(reference, payload),
      isFunction: (arn: string) => functions.find(arn) !== undefined,
      sagemaker: new SageMakerClient({ ...clientConfig, endpoint: sagemaker.endpoint }),
      sns: new SNSClient(clientConfig),
      parameters,
    };
    const machines = ofType(template, 'AWS::StepFunctions::StateMachine').map(([logicalId, r]) => {
      const p = r.Properties ?? {};
      // The stack ships the pipeline definition as an asset file (DefinitionS3Location): that file.
      const definition = p.DefinitionString === undefined ? readFileSync(TRAINING_PIPELINE_ASL, 'utf8') : String(resolve(p.DefinitionString));
      const substitutions = resolve(p.DefinitionSubstitutions ?? {}) as Record<string, string>;
      return { arn: arnOf(logicalId).arn, definition, substitutions, taskHandlers: taskHandlersFor(substitute(definition, substitutions), taskPorts), s3 };
    });
    const onExecutionEnded = async (execution: ExecutionRecord) => {
      await events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'aws.states',
              DetailType: 'Step Functions Execution Status Change',
              Resources: [execution.executionArn],
              Detail: JSON.stringify({
                executionArn: execution.executionArn,
                stateMachineArn: execution.stateMachineArn,
                name: execution.name,
                status: execution.status,
                startDate: execution.startDate.getTime(),
                stopDate: execution.stopDate?.getTime() ?? null,
                input: execution.input,
              }),
            },
          ],
        }),
      );
    };
    const stepFunctions = await startLocalStepFunctions({ machines, onExecutionEnded, log: (line) => log(`states: ${line}`) });
    cleanups.push(() => stepFunctions.close());
    process.env.AWS_ENDPOINT_URL_SFN = stepFunctions.endpoint;

    const consumers: QueueConsumers = startQueueConsumers({ template, resolve, provisioned, functions, sqs: new SQSClient(clientConfig), accountId: ACCOUNT_ID, log });
    cleanups.push(() => consumers.stop());
    // The table stream's consumers that run locally (events publisher, audit copier), as Lambda polls them.
    const streams = startStreamConsumers({
      mappings: streamMappings(template, resolve, functions).filter((m) => LOCAL_STREAM_CONSUMERS.some((entry) => m.entry.endsWith(entry))),
      functions,
      streams: new DynamoDBStreamsClient(clientConfig),
      region: REGION,
      log,
    });
    cleanups.push(() => streams.stop());
    // Scheduled rules (moto never fires them): the delivery sweep at the rate its construct set.
    const schedules = startSchedules({
      schedules: scheduledFunctions(template, functions, (id) => `arn:aws:events:${REGION}:${ACCOUNT_ID}:rule/${prefix}-${id}`),
      functions,
      accountId: ACCOUNT_ID,
      region: REGION,
      log,
    });
    cleanups.push(() => schedules.stop());

    const alarms = new LocalAlarms({ template, resolve, events, accountId: ACCOUNT_ID, region: REGION, cloudWatch });
    await alarms.mirror();

    const apiId = onlyOne(template, 'AWS::Lambda::Function', 'RegistryApiHandler');
    const apiEnvironment = functions.byLogicalId.get(apiId)?.environment ?? {};
    const api = await serveApi(apiHandler(apiEnvironment), options.apiPort ?? 0, 'v1', {
      site: options.console ? consoleSite({ stage: 'v1' }) : undefined,
      authorize: (event) => readOnlyRoleRefusal(event, `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:local/v1`),
    });
    cleanups.push(api.close);

    const machineArns = new Set(machines.map((m) => m.arn));
    const schedulerTargets = ofType(template, 'AWS::Scheduler::Schedule').flatMap(([logicalId, r]) => {
      const p = r.Properties ?? {};
      const target = (p.Target ?? {}) as { Arn?: unknown; Input?: unknown };
      const arn = String(resolve(target.Arn));
      return machineArns.has(arn) ? [{ logicalId, expression: String(p.ScheduleExpression), stateMachineArn: arn, input: String(resolve(target.Input ?? '{}')) }] : [];
    });
    const tableId = onlyOne(template, 'AWS::DynamoDB::Table', 'Metadata');
    const names = {
      table: arnOf(tableId).name,
      datasetsBucket: arnOf(onlyOne(template, 'AWS::S3::Bucket', 'DatasetsStore')).name,
      artifactsBucket: arnOf(onlyOne(template, 'AWS::S3::Bucket', 'ArtifactsBucket')).name,
      stateMachineArn: machines[0]?.arn ?? '',
    };
    return {
      apiUrl: api.url,
      consoleUrl: options.console ? api.url.replace(/v1\/$/, '') : undefined,
      schedulerTargets,
      endpoints: { moto: endpoint, sagemaker: sagemaker.endpoint, stepFunctions: stepFunctions.endpoint },
      template,
      provisioned,
      functions,
      sagemaker,
      stepFunctions,
      alarms,
      consumers,
      streams,
      schedules,
      names,
      clientConfig,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The registry API's router with the deployed function's ports, the caller taken from `X-Caretaker-Principal`. */
function apiHandler(environment: Readonly<Record<string, string>>): ApiHandler {
  // DynamoDB applies each request atomically; moto's threaded server does not when requests
  // arrive on parallel connections (two conditional approvals could both pass). One connection
  // gives local mode DynamoDB's per-request atomicity; concurrent requests still interleave.
  const dynamo = { requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) } };
  return createApiHandlerFromEnv(environment, fromLocalHeader, dynamo).handler;
}

const MAX_API_BODY = 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    // The router answers 413 for large bodies; stop reading well past that point.
    if (size > MAX_API_BODY) break;
    chunks.push(chunk as Buffer);
  }
  return chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
}

/**
 * API Gateway's proxy integration, locally: `http://127.0.0.1:<port>/v1/…` → the handler, after
 * `authorize` (API Gateway's authorization, where local mode models it). Other paths go to
 * `site` (the console) when there is one.
 */
export async function serveApi(
  handler: ApiHandler,
  port = 0,
  stage = 'v1',
  options: { readonly site?: ConsoleSite; readonly authorize?: (event: APIGatewayProxyEvent) => APIGatewayProxyResult | undefined } = {},
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        if (!url.pathname.startsWith(`/${stage}/`) && url.pathname !== `/${stage}`) {
          if (options.site?.serve(request, response, url)) return;
          response.writeHead(404, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: 'NotFound', message: `the API is under /${stage}/` }));
          return;
        }
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
        const event = {
          httpMethod: request.method ?? 'GET',
          path: url.pathname.slice(stage.length + 1) || '/',
          body: await readBody(request),
          isBase64Encoded: false,
          headers,
          queryStringParameters: url.searchParams.size ? Object.fromEntries(url.searchParams) : null,
          requestContext: { identity: { userArn: null } },
        } as unknown as APIGatewayProxyEvent;
        const result = options.authorize?.(event) ?? (await handler(event));
        response.writeHead(result.statusCode, result.headers as Record<string, string>);
        response.end(result.body);
      } catch {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'Internal', message: 'internal error' }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/${stage}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

