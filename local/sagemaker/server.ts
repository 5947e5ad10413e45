/**
 * The runner over HTTP, speaking what the AWS SDK speaks, so unmodified clients work with
 * `AWS_ENDPOINT_URL_SAGEMAKER` / `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` pointed at it:
 *
 * - `POST /` with `X-Amz-Target: SageMaker.<Operation>` and an `application/x-amz-json-1.1`
 *   body: the control plane (JSON 1.1; errors as `{"__type","message"}`);
 * - `POST /endpoints/<name>/invocations`: the runtime's InvokeEndpoint (REST-JSON; errors
 *   with `x-amzn-ErrorType`);
 * - `POST /_local/hooks`: test hooks, `{"failNextUpdate": "<endpoint>"}`,
 *   `{"rollBackNextUpdate": "<endpoint>"}`, `{"exhaustCapacity": "<instance type>"}`,
 *   `{"restoreCapacity": "<instance type>"}`, `{"interruptSpot": "<training job>"}`,
 *   `{"flushCapture": true}`.
 *
 * Requests are not authenticated (SigV4 signatures are accepted unchecked): bind to loopback.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SageMakerFault } from './errors';
import { LocalSageMaker, type LocalSageMakerOptions } from './runner';

const MAX_CONTROL_BODY = 1024 * 1024;
const MAX_INVOCATION_BODY = 6 * 1024 * 1024;

class TooLarge extends Error {}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new TooLarge(`request body exceeds ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createLocalSageMakerServer(runner: LocalSageMaker, log: (line: string) => void = () => undefined): Server {
  const control = async (request: IncomingMessage, response: ServerResponse) => {
    const target = header(request, 'x-amz-target') ?? '';
    const operation = target.startsWith('SageMaker.') ? target.slice('SageMaker.'.length) : '';
    try {
      if (!operation) throw new SageMakerFault('UnknownOperationException', `missing or foreign X-Amz-Target "${target}"`);
      const raw = (await readBody(request, MAX_CONTROL_BODY)).toString('utf8');
      let input: unknown;
      try {
        input = raw === '' ? {} : JSON.parse(raw);
      } catch {
        throw new SageMakerFault('SerializationException', 'request body is not valid JSON');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SageMakerFault('SerializationException', 'request body must be a JSON object');
      const output = await runner.call(operation, input as Record<string, unknown>);
      log(`${operation} ok`);
      sendJson(response, 200, output);
    } catch (error) {
      if (error instanceof SageMakerFault) {
        log(`${operation} ${error.type}: ${error.message}`);
        return sendJson(response, error.status, { __type: error.type, message: error.message, ...error.extra });
      }
      if (error instanceof TooLarge) return sendJson(response, 413, { __type: 'ValidationException', message: error.message });
      log(`${operation} failed: ${String(error)}`);
      sendJson(response, 500, { __type: 'InternalFailure', message: 'internal error in the local SageMaker runner' });
    }
  };

  const invoke = async (name: string, request: IncomingMessage, response: ServerResponse) => {
    const errorHeaders = (type: string) => ({ 'content-type': 'application/json', 'x-amzn-errortype': type });
    try {
      const body = await readBody(request, MAX_INVOCATION_BODY);
      const result = await runner.endpoints.invoke(name, body, {
        contentType: header(request, 'content-type'),
        accept: header(request, 'accept'),
        targetVariant: header(request, 'x-amzn-sagemaker-target-variant'),
        inferenceId: header(request, 'x-amzn-sagemaker-inference-id'),
      });
      response.writeHead(result.status, { ...result.headers, 'content-length': result.body.length });
      response.end(result.body);
    } catch (error) {
      if (error instanceof SageMakerFault) {
        return sendJson(response, error.status, { message: error.message, ...error.extra }, errorHeaders(error.type));
      }
      if (error instanceof TooLarge) return sendJson(response, 413, { message: error.message }, errorHeaders('ValidationError'));
      log(`InvokeEndpoint failed: ${String(error)}`);
      sendJson(response, 500, { message: 'internal error in the local SageMaker runner' }, errorHeaders('InternalFailure'));
    }
  };

  const hooks = async (request: IncomingMessage, response: ServerResponse) => {
    try {
      const hook = JSON.parse((await readBody(request, MAX_CONTROL_BODY)).toString('utf8')) as Record<string, unknown>;
      const text = (key: string) => (typeof hook[key] === 'string' ? hook[key] : undefined);
      const failNext = text('failNextUpdate');
      if (failNext) runner.failNextUpdate(failNext, text('reason'));
      const rollBackNext = text('rollBackNextUpdate');
      if (rollBackNext) runner.rollBackNextUpdate(rollBackNext);
      const exhaust = text('exhaustCapacity');
      if (exhaust) runner.exhaustCapacity(exhaust);
      const restore = text('restoreCapacity');
      if (restore) runner.restoreCapacity(restore);
      const interrupt = text('interruptSpot');
      if (interrupt) runner.training.interruptSpot(interrupt);
      if (hook.flushCapture === true) await runner.endpoints.flushCapture();
      sendJson(response, 200, {});
    } catch (error) {
      sendJson(response, 400, { message: error instanceof Error ? error.message : String(error) });
    }
  };

  return createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const invocation = /^\/endpoints\/([^/]+)\/invocations$/.exec(path);
    if (request.method !== 'POST') return sendJson(response, 405, { message: 'POST only' });
    if (invocation?.[1]) return void invoke(decodeURIComponent(invocation[1]), request, response);
    if (path === '/_local/hooks') return void hooks(request, response);
    if (path === '/') return void control(request, response);
    sendJson(response, 404, { message: `no route for ${path}` });
  });
}

export interface RunningLocalSageMaker {
  readonly runner: LocalSageMaker;
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_SAGEMAKER` and `…_SAGEMAKER_RUNTIME`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts the runner on 127.0.0.1 (port 0 picks a free one). */
export async function startLocalSageMaker(
  options: LocalSageMakerOptions & { readonly port?: number; readonly log?: (line: string) => void },
): Promise<RunningLocalSageMaker> {
  const runner = new LocalSageMaker(options);
  const server = createLocalSageMakerServer(runner, options.log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    runner,
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runner.close();
    },
  };
}
