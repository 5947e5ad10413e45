import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { responses } from '../../lambdas/api/schemas';
import { CaretakerApiError, CaretakerClient, type DecisionResult } from '../../lib/client';
import { APPROVER, createHarness, type Harness, REQUESTER } from '../lambdas/api/harness';
import { serveApi } from '../../local/stack';

describe('CaretakerClient in local mode against the handler', () => {
  let h: Harness;
  let server: Awaited<ReturnType<typeof serveApi>>;
  beforeAll(async () => {
    h = await createHarness();
    await h.putVersion({ model: 'churn', version: 1 });
    server = await serveApi(h.localHandler);
  });
  afterAll(async () => {
    await server.close();
    await h.drop();
  });
  const as = (principal: string) => new CaretakerClient({ baseUrl: server.url, local: { principal } });

  it('returns typed results', async () => {
    const { models } = await as(APPROVER).listModels();
    expect(models.map((m) => m.name)).toEqual(['churn', 'fraud']);
    expect((await as(APPROVER).listVersions('churn', { status: 'PENDING_APPROVAL' })).items.map((v) => v.version)).toEqual([1]);
  });

  it('throws CaretakerApiError with status, code and field details', async () => {
    const error = await as(APPROVER).approve('churn', 1, '   ').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaretakerApiError);
    expect(error).toMatchObject({ status: 400, code: 'Invalid', details: [{ field: 'body.reason' }] });
    await expect(as(REQUESTER).approve('churn', 1, 'mine')).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await expect(as(APPROVER).getVersion('churn', 42)).rejects.toMatchObject({ status: 404, code: 'NotFound' });
  });

  it('approves, and the same retrain idempotency key gives the same run', async () => {
    expect((await as(APPROVER).approve('churn', 1, 'ship it')).status).toBe('APPROVED');
    const a = await as(REQUESTER).retrain('churn', { reason: 'weekly', idempotencyKey: 'k-1' });
    const b = await as(REQUESTER).retrain('churn', { reason: 'weekly', idempotencyKey: 'k-1' });
    expect(b.runId).toBe(a.runId);
    expect(h.queue.sent).toHaveLength(1);
  });

  it('a decision answers the route table\'s contract exactly, delivery and all (the type the client returns)', async () => {
    await h.putVersion({ model: 'churn', version: 2 });
    const result: DecisionResult = await as(APPROVER).reject('churn', 2, 'not this one');
    expect(responses.decision.parse(result)).toEqual(result);
    expect(result).toMatchObject({ status: 'REJECTED', delivery: 'DELIVERED' });
    expectTypeOf<DecisionResult['delivery']>().toEqualTypeOf<'OWED' | 'DELIVERED' | 'CLOSED'>();
    expectTypeOf<DecisionResult['message']>().toEqualTypeOf<string | undefined>();
  });

  it('against the API: a rollback retried with its key deploys once (the repeat is a replay)', async () => {
    const client = new CaretakerClient({ baseUrl: server.url, local: { principal: APPROVER } });
    await h.putVersion({ model: 'churn', version: 3, status: 'RETIRED' });
    const first = await client.rollback('churn', 3, 'back to 3', { idempotencyKey: 'client-rb-1' });
    const again = await client.rollback('churn', 3, 'back to 3', { idempotencyKey: 'client-rb-1' });
    expect(again).toMatchObject({ deploymentId: first.deploymentId, replayed: true });
    expect(new Set(h.rollbacks.map((r) => r.deploymentId))).toEqual(new Set([first.deploymentId]));
  });
});

describe('CaretakerClient signing', () => {
  it('signs with SigV4 for execute-api in the URL\'s region and never sends the local header', async () => {
    const seen: { url: string; headers: Headers; body?: string }[] = [];
    const fakeFetch: typeof fetch = (input, init) => {
      seen.push({ url: input instanceof URL ? input.href : typeof input === 'string' ? input : input.url, headers: new Headers(init?.headers), body: init?.body as string | undefined });
      return Promise.resolve(new Response(JSON.stringify({ runId: 'churn-api-x' }), { status: 202 }));
    };
    const client = new CaretakerClient({
      baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' },
      fetch: fakeFetch,
    });
    await client.retrain('churn', { reason: 'drift', idempotencyKey: 'abc' });
    const [request] = seen;
    expect(request!.url).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/v1/models/churn/retrain');
    expect(request!.headers.get('authorization')).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*content-type;host;idempotency-key;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(request!.headers.get('x-amz-security-token')).toBe('session');
    expect(request!.headers.has('x-caretaker-principal')).toBe(false);
    expect(JSON.parse(request!.body!)).toEqual({ reason: 'drift' });
  });

  it('asks for a region when the URL does not name one', () => {
    const region = process.env.AWS_REGION;
    delete process.env.AWS_REGION;
    try {
      expect(() => new CaretakerClient({ baseUrl: 'https://api.example.com/', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })).toThrow(/region/);
    } finally {
      if (region !== undefined) process.env.AWS_REGION = region;
    }
  });
});

describe('CaretakerClient: one Idempotency-Key per acting call, kept for its retries', () => {
  /** Answers `statuses` in turn (then 202), recording every request's Idempotency-Key. */
  function scripted(statuses: (number | 'network')[], body: unknown) {
    const keys: (string | null)[] = [];
    const fetchImpl: typeof fetch = (_input, init) => {
      keys.push(new Headers(init?.headers).get('idempotency-key'));
      const next = statuses.shift() ?? 202;
      // fetch rejects with a TypeError when the connection fails (WHATWG Fetch, "network error").
      if (next === 'network') return Promise.reject(new TypeError('fetch failed'));
      const answer = next < 300 ? body : { error: next === 503 ? 'Unavailable' : 'Conflict', message: 'scripted' };
      return Promise.resolve(new Response(JSON.stringify(answer), { status: next }));
    };
    let n = 0;
    const client = new CaretakerClient({ baseUrl: 'http://127.0.0.1:1/v1/', local: { principal: REQUESTER }, fetch: fetchImpl, retry: { delayMs: 0 }, newIdempotencyKey: () => `key-${++n}` });
    return { client, keys };
  }

  it('retrain without a key: a key of its own, the same on each retry after 503 and a network failure; the next call another', async () => {
    const { client, keys } = scripted([503, 'network'], { runId: 'churn-api-x' });
    expect(await client.retrain('churn', { reason: 'drift' })).toEqual({ runId: 'churn-api-x' });
    expect(keys).toEqual(['key-1', 'key-1', 'key-1']);
    await client.retrain('churn', { reason: 'drift' });
    expect(keys.at(-1)).toBe('key-2');
  });

  it('rollback sends a key per call (the one given, or its own) and retries 502/503/504/429 with it, not 409 or 400', async () => {
    const body = { deploymentId: 'churn-rollback-x', model: 'churn', version: 1 };
    const retried = scripted([502, 429, 504], body);
    await expect(retried.client.rollback('churn', 1, 'regressed')).rejects.toMatchObject({ status: 504 });
    expect(retried.keys).toEqual(['key-1', 'key-1', 'key-1']);
    const given = scripted([503], body);
    expect(await given.client.rollback('churn', 1, 'regressed', { idempotencyKey: 'rb-7' })).toEqual(body);
    expect(given.keys).toEqual(['rb-7', 'rb-7']);
    const refused = scripted([409], body);
    await expect(refused.client.rollback('churn', 1, 'regressed')).rejects.toMatchObject({ status: 409 });
    expect(refused.keys).toEqual(['key-1']);
  });

});
