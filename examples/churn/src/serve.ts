/**
 * `serve` — the SageMaker inference entry point for the churn model.
 *
 * Loads `<root>/model/model.json` and answers on port 8080 (`SAGEMAKER_BIND_TO_PORT` overrides;
 * the host is `0.0.0.0` as the container contract needs, `SAGEMAKER_BIND_TO_HOST` overrides):
 * - `GET /ping` → 200 once the model is loaded;
 * - `POST /invocations` with `text/csv` (feature values in the model's feature order, one row a
 *   line, an optional header line naming the columns) or `application/json` (`{"instances":
 *   [{…}]}`, an array of objects, or an array of arrays) → churn probabilities, one per row: CSV
 *   lines, or `{"predictions":[…]}` for JSON (the `Accept` header picks; default: same as the
 *   request).
 * Bad rows are a 400 naming the row and the field; other content types 415; bodies over 6 MB
 * (SageMaker's limit) 413.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { csvLines, parseCsvLine } from './csv';
import { encode, parseModelFile, predictOne, type ModelFile } from './model';
import { smRoot } from './paths';

export const MAX_BODY_BYTES = 6 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Record_ = (name: string) => string | undefined;

function csvRecords(model: ModelFile, body: string): Record_[] {
  const names = model.features.map((f) => f.name);
  const lines = csvLines(body);
  let columns: readonly string[] = names;
  const first = lines[0] === undefined ? [] : parseCsvLine(lines[0]);
  if (names.every((name) => first.includes(name))) {
    columns = first;
    lines.shift();
  }
  return lines.map((line, index) => {
    const row = parseCsvLine(line);
    // A trailing label column (as in a training file) is tolerated and ignored.
    if (row.length < names.length) throw new HttpError(400, `row ${index + 1} has ${row.length} values, expected ${names.length} (${names.join(', ')})`);
    return (name: string) => {
      const i = columns.indexOf(name);
      return i < 0 ? undefined : row[i];
    };
  });
}

/** A JSON value as the text a CSV cell would hold; null/absent is a missing value. */
function cell(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function jsonRecords(model: ModelFile, body: string): Record_[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  const instances: unknown = Array.isArray(parsed) ? parsed : (parsed as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances)) throw new HttpError(400, 'expected a JSON array of rows or {"instances": [...]}');
  const names = model.features.map((f) => f.name);
  return instances.map((instance: unknown, index) => {
    if (Array.isArray(instance)) {
      return (name: string) => cell(instance[names.indexOf(name)]);
    }
    if (typeof instance === 'object' && instance !== null) {
      const record = instance as Record<string, unknown>;
      return (name: string) => cell(record[name]);
    }
    throw new HttpError(400, `instance ${index + 1} must be an object or an array`);
  });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const mediaType = (header: string | undefined) => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

export function invoke(model: ModelFile, contentType: string | undefined, accept: string | undefined, body: string) {
  const type = mediaType(contentType);
  let records: Record_[];
  if (type === 'text/csv') records = csvRecords(model, body);
  else if (type === 'application/json') records = jsonRecords(model, body);
  else throw new HttpError(415, `unsupported content type "${contentType ?? ''}": use text/csv or application/json`);
  const probabilities = records.map((record, index) => {
    try {
      return Math.round(predictOne(model, encode(model.features, record)) * 1e6) / 1e6;
    } catch (error) {
      throw new HttpError(400, `row ${index + 1}: ${(error as Error).message}`);
    }
  });
  const wanted = mediaType(accept);
  const responseType = wanted === 'text/csv' || wanted === 'application/json' ? wanted : type;
  return responseType === 'text/csv'
    ? { contentType: 'text/csv', body: probabilities.map(String).join('\n') + '\n' }
    : { contentType: 'application/json', body: JSON.stringify({ predictions: probabilities }) };
}

export function createServeServer(model: ModelFile): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const send = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      response.end(body);
    };
    void (async () => {
      try {
        if (request.method === 'GET' && request.url === '/ping') return send(200, 'text/plain', 'ok\n');
        if (request.method === 'POST' && request.url === '/invocations') {
          const body = await readBody(request);
          const result = invoke(model, request.headers['content-type'], request.headers.accept, body);
          return send(200, result.contentType, result.body);
        }
        send(404, 'application/json', JSON.stringify({ error: 'NotFound', message: `${request.method ?? ''} ${request.url ?? ''}` }));
      } catch (error) {
        const status = error instanceof HttpError ? error.status : 500;
        const message = error instanceof HttpError ? error.message : 'internal error';
        if (!(error instanceof HttpError)) process.stderr.write(`invocation failed: ${String(error)}\n`);
        send(status, 'application/json', JSON.stringify({ error: status === 500 ? 'InternalError' : 'BadRequest', message }));
      }
    })();
  });
}

export function main(): Server {
  const root = smRoot();
  const model = parseModelFile(readFileSync(join(root, 'model', 'model.json'), 'utf8'));
  const port = Number(process.env.SAGEMAKER_BIND_TO_PORT ?? 8080);
  const host = process.env.SAGEMAKER_BIND_TO_HOST ?? '0.0.0.0';
  const server = createServeServer(model);
  server.listen(port, host, () => process.stdout.write(`serving ${model.format} on ${host}:${port}\n`));
  const shutdown = () => server.close(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
