import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaretakerApiError, CaretakerClient } from '../../lib/client';
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
