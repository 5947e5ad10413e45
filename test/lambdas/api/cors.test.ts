/**
 * The API function's half of CORS (issue 15): built from the environment its construct sets
 * (`CONSOLE_ORIGIN`, lambdas/shared/env.ts), every response — success, the domain's refusals,
 * the router's 404 and 400, a dependency failure's 503 — carries `Access-Control-Allow-Origin`
 * for the console's origin, so the console can show what went wrong instead of a CORS error.
 * The table is the moto server's (a table that does not exist gives the real SDK error).
 */
import { describe, expect, it } from 'vitest';
import { fromIamContext } from '../../../lambdas/api/principal';
import { createApiHandlerFromEnv } from '../../../lambdas/api/wiring';
import { ENV } from '../../../lambdas/shared/env';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { apiEvent, bodyOf, DATASETS, identityOf, MODELS } from './harness';

const ORIGIN = 'https://d111111abcdef8.cloudfront.net';

function environment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    [ENV.tableName]: uniqueName('caretaker-cors-missing'),
    [ENV.artifactsBucket]: 'artifacts',
    [ENV.datasetsBucket]: 'datasets',
    [ENV.models]: JSON.stringify(MODELS),
    [ENV.datasetsCatalog]: JSON.stringify(DATASETS),
    ...extra,
  };
}

describe('the API function answers the console\'s origin on every response', () => {
  const { handler } = createApiHandlerFromEnv(environment({ [ENV.consoleOrigin]: ORIGIN }), fromIamContext, motoClientConfig());
  const allowed = (result: { headers?: Record<string, unknown> }) => result.headers?.['access-control-allow-origin'];

  it('a success (GET /caller)', async () => {
    const result = await handler(apiEvent('GET', '/caller'));
    expect(result.statusCode).toBe(200);
    expect(allowed(result)).toBe(ORIGIN);
  });

  it('a route that does not exist (404), a bad query (400) and a caller refused (403, no IAM identity)', async () => {
    const notFound = await handler(apiEvent('GET', '/nowhere'));
    const invalid = await handler(apiEvent('GET', '/models', { query: { surprise: '1' } }));
    const anonymous = await handler(apiEvent('GET', '/caller', { identity: identityOf(null) }));
    expect([notFound.statusCode, invalid.statusCode, anonymous.statusCode]).toEqual([404, 400, 403]);
    for (const result of [notFound, invalid, anonymous]) expect(allowed(result)).toBe(ORIGIN);
  });

  it('a dependency failure (503, DynamoDB\'s ResourceNotFoundException for a missing table)', async () => {
    const result = await handler(apiEvent('GET', '/models/churn/versions'));
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toMatchObject({ error: 'Unavailable' });
    expect(allowed(result)).toBe(ORIGIN);
  });

  it('sends no CORS header when CONSOLE_ORIGIN is unset (CLI callers, local mode)', async () => {
    const plain = createApiHandlerFromEnv(environment(), fromIamContext, motoClientConfig()).handler;
    const result = await plain(apiEvent('GET', '/caller'));
    expect(result.statusCode).toBe(200);
    expect(result.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it('refuses a CONSOLE_ORIGIN that is not an https origin at start-up, naming the variable', () => {
    for (const bad of ['*', 'https://console.example.com/', 'console.example.com']) {
      expect(() => createApiHandlerFromEnv(environment({ [ENV.consoleOrigin]: bad }), fromIamContext, motoClientConfig())).toThrow(/CONSOLE_ORIGIN: is not an https origin/);
    }
  });
});
