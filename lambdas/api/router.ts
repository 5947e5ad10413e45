/**
 * The HTTP edge of the registry API: match a route, resolve the caller, check size, content
 * type, path, query and body against the route's zod schemas, call the domain, and map every
 * outcome to `{ error, message, details? }` in one place. No stack trace or SDK error leaves.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type * as z from '../shared/zod';
import { CaretakerError, type ErrorDetail, Invalid, NotFound, PayloadTooLarge, Unavailable } from '../shared/errors';
import { logger } from '../shared/powertools';
import { DEFAULT_PAGE_SIZE } from '../shared/pages';
import * as domain from './domain';
import { openApiDocument } from './openapi';
import type { ModelSummary, Ports } from './ports';
import type { Principal, PrincipalResolver } from './principal';
import { type bodies, MAX_BODY_BYTES, type queries, ROUTES, type RouteSpec } from './schemas';

export interface HandlerDeps {
  /** Where the caller's identity comes from: `fromIamContext` deployed, `fromLocalHeader` in local mode. */
  readonly principal: PrincipalResolver;
  readonly ports: Ports;
  readonly models: readonly ModelSummary[];
  /**
   * The one web origin (the console's URL) allowed to read responses cross-origin: every
   * response, refusals included, carries it as `Access-Control-Allow-Origin`.
   * @default - no CORS header (CLI callers and local mode, which serves the console itself)
   */
  readonly corsOrigin?: string;
}

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

interface Matched {
  readonly route: RouteSpec;
  readonly params: Record<string, string>;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

const COMPILED = ROUTES.map((route) => ({ route, segments: splitPath(route.path) }));

/** The route of a request (`NotFound` when none); local mode's IAM stand-in asks it for the route's intent. */
export function match(method: string, path: string): Matched {
  const segments = splitPath(path);
  for (const { route, segments: pattern } of COMPILED) {
    if (route.method !== method || pattern.length !== segments.length) continue;
    const found: Record<string, string> = {};
    const ok = pattern.every((part, index) => {
      const actual = segments[index] ?? '';
      if (part.startsWith('{')) {
        found[part.slice(1, -1)] = decodeSegment(actual);
        return true;
      }
      return part === actual;
    });
    if (ok) return { route, params: found };
  }
  throw new NotFound(`no route ${method} ${path.slice(0, 200)}`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new Invalid('the path is not validly URL-encoded', [{ field: 'path', message: 'invalid percent-encoding' }]);
  }
}

/** zod issues → details naming each field as `<where>.<path>`; unknown fields one detail each. */
function details(where: string, issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const path = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ field: `${path}.${key}`, message: 'unknown field' }));
    return [{ field: path, message: issue.message }];
  });
}

function parse<S extends z.ZodMiniType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const found = details(where, result.error.issues);
  const first = found[0];
  throw new Invalid(first ? `${first.field ?? where}: ${first.message}` : `${where} is invalid`, found);
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers)) {
    if (key.toLowerCase() === name) return value ?? undefined;
  }
  return undefined;
}

/** Body checks in the order that writes nothing and reads nothing: size, content type, JSON, schema. */
function readBody(event: APIGatewayProxyEvent, schema: z.ZodMiniType): unknown {
  const raw = event.body === null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLarge(`the body is ${raw.byteLength} bytes; at most ${MAX_BODY_BYTES} are accepted`);
  }
  const contentType = header(event, 'content-type');
  if (contentType === undefined || !/^application\/json\s*(;.*)?$/i.test(contentType.trim())) {
    throw new Invalid('the body must be JSON, sent with Content-Type: application/json', [
      { field: 'headers.content-type', message: 'must be application/json' },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Invalid('the body is not valid JSON', [{ field: 'body', message: 'not valid JSON' }]);
  }
  return parse(schema, value, 'body');
}

/** The optional Idempotency-Key header, checked before anything is read or written. */
function idempotencyKeyOf(event: APIGatewayProxyEvent): string | undefined {
  const key = header(event, 'idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new Invalid('Idempotency-Key must be 1–128 letters, digits or . _ : -', [
      { field: 'headers.idempotency-key', message: 'must be 1–128 letters, digits or . _ : -' },
    ]);
  }
  return key;
}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
    body: JSON.stringify(body),
  };
}

/** The one error mapping. Unknown errors are logged and shown only as their class of failure. */
export function errorResponse(error: unknown, method = 'GET'): APIGatewayProxyResult {
  if (error instanceof CaretakerError) {
    return json(error.status, { error: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) });
  }
  if (isSdkError(error)) {
    logger.error('a dependency failed', { error });
    // A read changes nothing. A write whose first step failed may still have committed (a lost
    // response): say only what is known, and what makes the retry safe.
    const unavailable = new Unavailable(
      method === 'GET'
        ? 'a dependency is unavailable; nothing was changed, retry'
        : 'a dependency is unavailable; the request may not have been recorded — retry it (decisions, and requests with an Idempotency-Key, are done once)',
    );
    return json(unavailable.status, { error: unavailable.code, message: unavailable.message });
  }
  logger.error('unexpected error', { error: error as Error });
  return json(500, { error: 'Internal', message: 'internal error' });
}

function isSdkError(error: unknown): error is Error {
  return error instanceof Error && '$metadata' in error;
}

export function createHandler(deps: HandlerDeps): ApiHandler {
  const ctx: domain.ApiContext = { ports: deps.ports, models: deps.models };
  return async (event) => {
    try {
      const { route, params: rawParams } = match(event.httpMethod, event.path);
      const caller = deps.principal(event);
      const result = await dispatch(ctx, route, rawParams, event, caller);
      return withCors(json(route.successStatus ?? 200, result));
    } catch (error) {
      return withCors(errorResponse(error, event.httpMethod));
    }
  };
  function withCors(response: APIGatewayProxyResult): APIGatewayProxyResult {
    if (deps.corsOrigin === undefined) return response;
    return { ...response, headers: { ...response.headers, 'access-control-allow-origin': deps.corsOrigin, vary: 'Origin' } };
  }
}

function pageOf(query: { limit?: number; nextToken?: string }) {
  return { limit: query.limit ?? DEFAULT_PAGE_SIZE, nextToken: query.nextToken };
}

async function dispatch(
  ctx: domain.ApiContext,
  route: RouteSpec,
  rawParams: Record<string, string>,
  event: APIGatewayProxyEvent,
  caller: Principal,
): Promise<unknown> {
  // Path, query and body against the route's own schemas (the table the OpenAPI document and API
  // Gateway's validators come from), in that order, before any port is touched.
  const path = parse(route.params, rawParams, 'path') as Record<string, string>;
  const query: unknown = parse(route.query, event.queryStringParameters ?? {}, 'query');
  const body: unknown = route.body ? readBody(event, route.body) : undefined;
  const model = path.model ?? '';
  const version = Number(path.version);
  switch (route.id) {
    case 'listModels':
      return domain.listModels(ctx);
    case 'getModel':
      return domain.getModel(ctx, model);
    case 'listVersions': {
      const q = query as z.output<typeof queries.versions>;
      return domain.listVersions(ctx, model, pageOf(q), q.status);
    }
    case 'getVersion':
      return domain.getVersion(ctx, model, version);
    case 'approve':
    case 'reject':
      return domain.decide(ctx, {
        model,
        version,
        decision: route.id === 'approve' ? 'APPROVED' : 'REJECTED',
        reason: (body as z.output<typeof bodies.decision>).reason,
        caller,
      });
    case 'retrain': {
      const { reason, datasetVersion } = body as z.output<typeof bodies.retrain>;
      const { runId } = await domain.requestRetrain(ctx, { model, reason, datasetVersion, caller, idempotencyKey: idempotencyKeyOf(event) });
      return { runId };
    }
    case 'rollback': {
      const { toVersion, reason } = body as z.output<typeof bodies.rollback>;
      return domain.rollback(ctx, { model, toVersion, reason, caller, idempotencyKey: idempotencyKeyOf(event) });
    }
    case 'groundTruth':
      return domain.uploadGroundTruth(ctx, { model, records: (body as z.output<typeof bodies.groundTruth>).records, caller });
    case 'getRun':
      return domain.getRun(ctx, path.runId ?? '');
    case 'getRunTimeline':
      return domain.getRunTimeline(ctx, path.runId ?? '');
    case 'listDatasets':
      return domain.listDatasets(ctx);
    case 'listDatasetVersions':
      return domain.listDatasetVersions(ctx, path.dataset ?? '', pageOf(query as z.output<typeof queries.page>));
    case 'getDatasetVersion':
      return domain.getDatasetVersion(ctx, path.dataset ?? '', path.version ?? '');
    case 'registerDatasetVersion':
      return domain.registerDatasetVersion(ctx, { ...(body as z.output<typeof bodies.registerDataset>), dataset: path.dataset ?? '', caller });
    case 'listAudit': {
      const q = query as z.output<typeof queries.audit>;
      return domain.listAudit(ctx, { model: q.model, from: q.from, to: q.to }, pageOf(q));
    }
    case 'whoAmI':
      return domain.whoAmI(caller);
    case 'checkDecision':
      return domain.checkDecision(ctx, { model, version, caller });
    case 'getEvaluation':
      return domain.getEvaluation(ctx, model, version);
    case 'modelMetrics':
      return domain.modelMetrics(ctx, model, query as z.output<typeof queries.metrics>);
    case 'listDriftReports':
      return domain.listDriftReports(ctx, model, pageOf(query as z.output<typeof queries.driftReports>));
    case 'getDriftReport':
      return domain.getDriftReport(ctx, model, path.window ?? '');
    case 'openapi':
      return openApiDocument();
  }
}
