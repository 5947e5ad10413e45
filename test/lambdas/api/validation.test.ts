import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodies } from '../../../lambdas/api/schemas';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness } from './harness';

interface ErrorBody {
  error: string;
  message: string;
  details?: { field?: string; message: string }[];
}

describe('bad input is refused before anything is written', () => {
  let h: Harness;
  let baseline: { items: number; objects: number };
  beforeAll(async () => {
    h = await createHarness();
    await h.putVersion({ model: 'churn', version: 1 });
    await h.putVersion({ model: 'churn', version: 2, status: 'APPROVED' });
    baseline = { items: await h.itemCount(), objects: await h.objectCount() };
  });
  afterAll(async () => {
    // Nothing any test in this file sent may have written an item, an object or a message.
    expect(await h.itemCount()).toBe(baseline.items);
    expect(await h.objectCount()).toBe(baseline.objects);
    expect(h.callbacks.calls).toHaveLength(0);
    expect(h.queue.sent).toHaveLength(0);
    expect(h.rollbacks).toHaveLength(0);
    await h.drop();
  });

  const post = (path: string, options: Parameters<typeof apiEvent>[2]) => h.handler(apiEvent('POST', path, options));

  it('row 9: malformed JSON is 400 naming the body', async () => {
    const result = await post('/models/churn/versions/1/approve', { rawBody: '{"reason": ', headers: { 'content-type': 'application/json' } });
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result)).toMatchObject({ error: 'Invalid', details: [{ field: 'body' }] });
  });

  it('row 9: a wrong type is 400 naming the field', async () => {
    const result = await post('/models/churn/rollback', { body: { toVersion: 'two', reason: 'bad deploy' } });
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result).details).toContainEqual(expect.objectContaining({ field: 'body.toVersion' }));
    expect(bodyOf<ErrorBody>(result).message).toContain('body.toVersion');
  });

  it('row 9: an unknown field is 400 naming it', async () => {
    const result = await post('/models/churn/versions/1/approve', { body: { reason: 'ok', approvedBy: 'someone-else' } });
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result).details).toEqual([{ field: 'body.approvedBy', message: 'unknown field' }]);
  });

  it('row 9: a missing reason is 400 naming body.reason', async () => {
    const result = await post('/models/churn/versions/1/reject', { body: {} });
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result).details).toContainEqual(expect.objectContaining({ field: 'body.reason' }));
  });

  it('row 9: a wrong content type is 400 naming the header', async () => {
    const result = await post('/models/churn/versions/1/approve', { rawBody: '{"reason":"ok"}', headers: { 'Content-Type': 'text/plain' } });
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result).details).toEqual([{ field: 'headers.content-type', message: 'must be application/json' }]);
  });

  it('row 9: an unknown query parameter is 400 naming it', async () => {
    const result = await h.handler(apiEvent('GET', '/models/churn/versions', { query: { state: 'LIVE' } }));
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result).details).toEqual([{ field: 'query.state', message: 'unknown field' }]);
  });

  it('row 9: a forged page token is 400, not a scan of another partition', async () => {
    const token = Buffer.from(JSON.stringify({ pk: 'MODEL#fraud', sk: 'VERSION#0000000001' })).toString('base64url');
    const result = await h.handler(apiEvent('GET', '/models/churn/versions', { query: { nextToken: token } }));
    expect(result.statusCode).toBe(400);
    expect(bodyOf<ErrorBody>(result).details).toEqual([expect.objectContaining({ field: 'query.nextToken' })]);
  });

  it('row 10: a body over 64 KB is 413', async () => {
    const result = await post('/models/churn/versions/1/approve', { body: { reason: 'x'.repeat(70_000) } });
    expect(result.statusCode).toBe(413);
    expect(bodyOf<ErrorBody>(result).error).toBe('PayloadTooLarge');
  });

  it('row 10: a base64-encoded body over 64 KB is 413 as well', async () => {
    const event = apiEvent('POST', '/models/churn/ground-truth', { rawBody: Buffer.alloc(66_000, 'a').toString('base64'), headers: { 'content-type': 'application/json' } });
    event.isBase64Encoded = true;
    expect((await h.handler(event)).statusCode).toBe(413);
  });

  it('unknown model and version are 404 on every route that names one', async () => {
    for (const [method, path] of [
      ['GET', '/models/nope'],
      ['GET', '/models/nope/versions'],
      ['GET', '/models/churn/versions/77'],
      ['POST', '/models/nope/versions/1/approve'],
      ['POST', '/models/churn/versions/77/reject'],
    ] as const) {
      const result = await h.handler(apiEvent(method, path, method === 'POST' ? { body: { reason: 'x' } } : {}));
      expect(result.statusCode, `${method} ${path}`).toBe(404);
    }
    const rollback = await post('/models/churn/rollback', { body: { toVersion: 77, reason: 'x' } });
    expect(rollback.statusCode).toBe(404);
  });

  it('property: thousands of random paths, methods and headers never give a 5xx nor write', async () => {
    const segment = fc.oneof(
      fc.constantFrom('models', 'churn', 'fraud', 'versions', '1', '2', 'approve', 'reject', 'retrain', 'rollback', 'ground-truth', 'runs', 'datasets', 'audit', 'openapi.json'),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('%', '%E0%A4%A', '..', '%2F', '{model}', '0', '-1', '99999999999'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
        fc.array(segment, { maxLength: 6 }),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
        async (method, segments, query) => {
          const event = apiEvent(method, `/${segments.join('/')}`, { query, rawBody: '{"reason": 1}', headers: { 'content-type': 'application/json' } });
          const result = await h.handler(event);
          expect(result.statusCode).toBeLessThan(500);
          expect(() => JSON.parse(result.body) as unknown).not.toThrow();
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('property: thousands of random bodies at every write route never give a 5xx nor write', async () => {
    const routes = [
      ['/models/churn/versions/1/approve', bodies.decision],
      ['/models/churn/versions/1/reject', bodies.decision],
      ['/models/churn/retrain', bodies.retrain],
      ['/models/churn/rollback', bodies.rollback],
      ['/models/churn/ground-truth', bodies.groundTruth],
      ['/datasets/churn/versions', bodies.registerDataset],
    ] as const;
    const jsonish = fc.oneof(
      fc.jsonValue(),
      fc.record({ reason: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), extra: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ toVersion: fc.oneof(fc.integer(), fc.string(), fc.double()), reason: fc.string() }, { requiredKeys: [] }),
      fc.record({ records: fc.array(fc.record({ inferenceId: fc.jsonValue(), label: fc.jsonValue(), x: fc.string() }, { requiredKeys: [] })) }),
    );
    const raw = fc.oneof(jsonish.map((v) => JSON.stringify(v)), fc.string({ maxLength: 64 }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), raw, fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''), async ([path, schema], body, contentType) => {
        // Bodies a route accepts would (rightly) write; the property is about everything else.
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        fc.pre(!(contentType.startsWith('application/json') && schema.safeParse(parsed).success));
        const result = await h.handler(apiEvent('POST', path, { rawBody: body, headers: contentType ? { 'content-type': contentType } : {}, principal: APPROVER }));
        expect(result.statusCode).toBeGreaterThanOrEqual(400);
        expect(result.statusCode).toBeLessThan(500);
        const parsedBody = JSON.parse(result.body) as ErrorBody;
        expect(Object.keys(parsedBody).sort()).toEqual(expect.arrayContaining(['error', 'message']));
        expect(result.body).not.toMatch(/\bat .*\.ts:\d+/);
      }),
      { numRuns: 2000 },
    );
  });
});
