/**
 * The OpenAPI 3 document of the registry API, generated from the route table and its zod
 * schemas (the same ones the router validates with). Committed as `openapi.json`.
 */
import * as z from '../shared/zod';
import { errorResponse, ROUTES } from './schemas';

type Json = Record<string, unknown>;

const toSchema = (schema: z.ZodMiniType): Json => z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });
const toResponseSchema = (schema: z.ZodMiniType): Json => z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' });

const ERRORS: Record<string, string> = {
  '400': 'Invalid: malformed JSON, wrong types, unknown fields, wrong content type',
  '403': 'Forbidden: not allowed (e.g. the requester approving its own version)',
  '404': 'NotFound: unknown model, version, run or dataset',
  '409': 'Conflict: not in a state that allows this',
  '413': 'PayloadTooLarge: body over 64 KB',
  '503': 'Unavailable: a dependency failed; nothing changed, retry',
};

function parameters(route: (typeof ROUTES)[number]): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    const json = toSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: property });
    }
  }
  const idempotent: Partial<Record<string, string>> = {
    retrain: 'The same key returns the same run id and starts nothing new; a request recorded but not yet queued is sent.',
    rollback: 'The same key returns the same deployment and starts no second one; a rollback recorded but not yet started is started.',
  };
  const description = idempotent[route.id];
  if (description !== undefined) {
    out.push({ name: 'Idempotency-Key', in: 'header', required: false, description, schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } });
  }
  return out;
}

export function openApiDocument(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const operation: Json = {
      operationId: route.id,
      summary: route.summary,
      security: [{ sigv4: [] }],
      parameters: parameters(route),
      responses: {
        [String(route.successStatus ?? 200)]: {
          description: 'Success',
          content: { 'application/json': { schema: route.response ? toResponseSchema(route.response) : { type: 'object' } } },
        },
        ...Object.fromEntries(
          Object.entries(ERRORS).map(([status, description]) => [
            status,
            { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          ]),
        ),
      },
    };
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: toSchema(route.body) } } };
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Caretaker registry and approval API',
      version: '1',
      description: 'Models, versions, approvals, retraining, rollback, datasets and the audit trail. Every method requires SigV4 (AWS_IAM).',
    },
    paths,
    components: {
      schemas: { Error: toSchema(errorResponse) },
      securitySchemes: {
        sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' },
      },
    },
  };
}
