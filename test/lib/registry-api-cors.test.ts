/**
 * CORS on the registry API, so the console served from its CloudFront origin can call the
 * IAM-authenticated API from the browser (issue 15). What browsers do is the Fetch standard's
 * CORS protocol: a request with a non-safelisted header (Authorization, X-Amz-*, Content-Type
 * application/json) is preceded by an OPTIONS preflight sent without credentials, which must
 * answer 2xx with the origin, method and headers allowed; the real response, and any refusal,
 * must carry Access-Control-Allow-Origin or the page cannot read it.
 */
import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CORS_REQUEST_HEADERS, ROUTES } from '../../lambdas/api/schemas';
import { ENV } from '../../lambdas/shared/env';
import { CaretakerClient } from '../../lib/client/core';
import { parseConfig } from '../../lib/config';
import { exampleConfigInput, flat, idOf, synthCaretaker } from '../support/stack';

type Json = Record<string, unknown>;

function resources(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as { Properties: Json }).Properties]);
}

/** The resource path of each AWS::ApiGateway::Resource, from its PathPart and ParentId chain. */
function resourcePaths(template: Template, apiId: string): Map<string, string> {
  const all = new Map(resources(template, 'AWS::ApiGateway::Resource'));
  const pathOf = (id: string): string => {
    const r = all.get(id)!;
    const parent = flat(r.ParentId);
    const parentPath = parent === `<${apiId}.RootResourceId>` ? '' : pathOf(parent.slice(1, -1));
    return `${parentPath}/${String(r.PathPart)}`;
  };
  return new Map([...all.keys()].map((id) => [id, pathOf(id)]));
}

function preflights(template: Template, apiId: string) {
  const paths = resourcePaths(template, apiId);
  return resources(template, 'AWS::ApiGateway::Method')
    .filter(([, p]) => p.HttpMethod === 'OPTIONS')
    .map(([, p]) => {
      const resource = flat(p.ResourceId);
      const integration = p.Integration as { Type: string; IntegrationResponses: { StatusCode: string; ResponseParameters: Record<string, unknown> }[] };
      const [response] = integration.IntegrationResponses;
      const headers = Object.fromEntries(Object.entries(response!.ResponseParameters).map(([k, v]) => [k.replace('method.response.header.', ''), flat(v)]));
      return {
        path: resource === `<${apiId}.RootResourceId>` ? '/' : paths.get(resource.slice(1, -1))!,
        authorizationType: p.AuthorizationType,
        integrationType: integration.Type,
        statusCode: response!.StatusCode,
        headers,
      };
    });
}

/** The header values as API Gateway's static mapping values spell them: in single quotes. */
const quoted = (text: string) => `'${text}'`;
const list = (value: string) => value.slice(1, -1).split(',');

describe('CORS for the console (default config: console on, its CloudFront URL)', () => {
  const { stack, template } = synthCaretaker();
  const apiId = idOf(stack, stack.api.api);
  const origin = `https://<${idOf(stack, stack.console!.distribution)}.DomainName>`;
  const found = preflights(template, apiId);

  it('answers a preflight on every route\'s path without authorization, from a mock integration', () => {
    const routePaths = [...new Set(ROUTES.map((r) => r.path))].sort();
    expect(found.map((p) => p.path).sort()).toEqual(routePaths);
    for (const preflight of found) {
      expect(preflight, preflight.path).toMatchObject({ authorizationType: 'NONE', integrationType: 'MOCK', statusCode: '204' });
    }
  });

  it('allows exactly the console\'s origin (never *), the path\'s own methods and the headers a signed request carries', () => {
    for (const { path, headers } of found) {
      expect(headers['Access-Control-Allow-Origin'], path).toBe(quoted(origin));
      expect(headers.Vary, path).toBe(quoted('Origin'));
      expect(list(headers['Access-Control-Allow-Methods']!).sort(), path).toEqual(ROUTES.filter((r) => r.path === path).map((r) => r.method).sort());
      expect(list(headers['Access-Control-Allow-Headers']!), path).toEqual(expect.arrayContaining(['Authorization', 'X-Amz-Date', 'X-Amz-Security-Token', 'Content-Type', 'Idempotency-Key']));
      expect(headers['Access-Control-Max-Age'], path).toBe(quoted('600'));
    }
  });

  it('every header lib/client sends on a SigV4-signed request is one the preflight allows', async () => {
    const sent: string[] = [];
    const client = new CaretakerClient({
      baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/',
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'identity-pool-session' },
      fetch: (_url, init) => {
        sent.push(...Object.keys(init?.headers ?? {}));
        return Promise.resolve(new Response('{"runId":"r"}', { status: 202 }));
      },
    });
    await client.retrain('churn', { reason: 'because', idempotencyKey: 'key-1' });
    // Accept is CORS-safelisted (Fetch standard); everything else must be allowed by name.
    const allowed = new Set(CORS_REQUEST_HEADERS.map((h) => h.toLowerCase()));
    expect(sent.filter((name) => name !== 'accept' && !allowed.has(name.toLowerCase()))).toEqual([]);
    expect(sent).toEqual(expect.arrayContaining(['authorization', 'x-amz-date', 'x-amz-security-token', 'content-type', 'idempotency-key']));
  });

  it('gives the function the console\'s origin (CONSOLE_ORIGIN) for its responses\' Access-Control-Allow-Origin', () => {
    const fn = resources(template, 'AWS::Lambda::Function').find(([id]) => id === idOf(stack, stack.api.handler.function))![1];
    expect(flat((fn.Environment as { Variables: Json }).Variables[ENV.consoleOrigin])).toBe(origin);
  });

  it('puts the origin on API Gateway\'s own responses too (IAM 403s, expired credentials, throttling, 5XX), so the console can show a refusal', () => {
    const responses = resources(template, 'AWS::ApiGateway::GatewayResponse');
    const types = responses.map(([, p]) => p.ResponseType);
    expect(types).toEqual(expect.arrayContaining(['ACCESS_DENIED', 'MISSING_AUTHENTICATION_TOKEN', 'THROTTLED', 'DEFAULT_4XX', 'DEFAULT_5XX']));
    for (const [, p] of responses) {
      const headers = p.ResponseParameters as Record<string, unknown>;
      expect(flat(headers['gatewayresponse.header.Access-Control-Allow-Origin']), String(p.ResponseType)).toBe(quoted(origin));
    }
  });

  it('answers API Gateway\'s refusals as JSON: messageString is already quoted, so it is not quoted again', () => {
    const templateOf = (type: string) => (resources(template, 'AWS::ApiGateway::GatewayResponse').find(([, p]) => p.ResponseType === type)![1].ResponseTemplates as Json)['application/json'];
    // API Gateway's own default is {"message":$context.error.messageString}.
    expect(templateOf('ACCESS_DENIED')).toBe('{"error":"Forbidden","message":$context.error.messageString}');
    expect(templateOf('DEFAULT_4XX')).toBe('{"error":"$context.error.responseType","message":$context.error.messageString}');
    const sample = (text: string) => JSON.parse(text.replace('$context.error.messageString', JSON.stringify('User: arn:aws:sts::1:assumed-role/r/s is not authorized')).replace('$context.error.responseType', 'EXPIRED_TOKEN')) as unknown;
    expect(sample(String(templateOf('ACCESS_DENIED')))).toEqual({ error: 'Forbidden', message: 'User: arn:aws:sts::1:assumed-role/r/s is not authorized' });
    expect(sample(String(templateOf('DEFAULT_4XX')))).toMatchObject({ error: 'EXPIRED_TOKEN' });
  });
});

describe('CORS origin with a custom console domain, and without a console', () => {
  it('allows the custom domain, the console\'s URL, as the one origin', () => {
    const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
    const config = parseConfig({ ...exampleConfigInput(), console: { domain: { names: ['console.example.com', 'caretaker.example.com'], certificateArn } } });
    const { stack, template } = synthCaretaker({ config });
    const found = preflights(template, idOf(stack, stack.api.api));
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found.map((p) => p.headers['Access-Control-Allow-Origin']))).toEqual(new Set([quoted('https://console.example.com')]));
    expect(stack.api.browserOrigin).toBe('https://console.example.com');
  });

  it('has no preflight, no CONSOLE_ORIGIN and no CORS header when console.enabled is false', () => {
    const { stack, template } = synthCaretaker({ config: parseConfig({ ...exampleConfigInput(), console: { enabled: false } }) });
    expect(preflights(template, idOf(stack, stack.api.api))).toEqual([]);
    const fn = resources(template, 'AWS::Lambda::Function').find(([id]) => id === idOf(stack, stack.api.handler.function))![1];
    expect((fn.Environment as { Variables: Json }).Variables).not.toHaveProperty(ENV.consoleOrigin);
    for (const [, p] of resources(template, 'AWS::ApiGateway::GatewayResponse')) {
      expect(p.ResponseParameters ?? {}).not.toHaveProperty(['gatewayresponse.header.Access-Control-Allow-Origin']);
    }
  });
});

describe('RegistryApi.allowBrowserOrigin', () => {
  const noConsole = parseConfig({ ...exampleConfigInput(), console: { enabled: false } });

  it.each([
    ['*', 'a wildcard'],
    ['https://console.example.com/', 'a trailing slash'],
    ['https://console.example.com/app', 'a path'],
    ['http://console.example.com', 'plain http'],
  ])('refuses %s (%s), naming the method and the value', (origin) => {
    expect(() => synthCaretaker({ config: noConsole, extend: (s) => s.api.allowBrowserOrigin(origin) })).toThrow(
      new RegExp(`allowBrowserOrigin\\(origin\\) must be https://host\\[:port\\].*got ${origin.replace(/[.*/]/g, '\\$&')}$`),
    );
  });

  it('refuses a second origin: the header holds one', () => {
    expect(() =>
      synthCaretaker({
        config: noConsole,
        extend: (s) => {
          s.api.allowBrowserOrigin('https://one.example.com');
          s.api.allowBrowserOrigin('https://two.example.com');
        },
      }),
    ).toThrow(/already called with https:\/\/one\.example\.com; one origin per API, got https:\/\/two\.example\.com/);
  });

  it('accepts an origin with a port', () => {
    const { stack } = synthCaretaker({ config: noConsole, extend: (s) => s.api.allowBrowserOrigin('https://console.example.com:8443') });
    expect(Stack.of(stack.api).resolve(stack.api.browserOrigin)).toBe('https://console.example.com:8443');
  });
});
