/**
 * The registry API as local mode serves it: over HTTP on 127.0.0.1, the caller taken from
 * `X-Caretaker-Principal`. The handler suites' bad-input cases, through the wire.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveApi } from '../../local/stack';
import { APPROVER, createHarness, REQUESTER, type Harness } from '../lambdas/api/harness';

describe('local mode API over HTTP', () => {
  let h: Harness;
  let api: Awaited<ReturnType<typeof serveApi>>;
  let version = 500;
  beforeAll(async () => {
    h = await createHarness();
    api = await serveApi(h.localHandler, 0);
  });
  afterAll(async () => {
    await api.close();
    await h.drop();
  });
  beforeEach(() => {
    h.callbacks.calls.length = 0;
    version += 1;
  });

  const post = (path: string, body: string, principal: string | null = APPROVER, contentType = 'application/json') =>
    fetch(new URL(path, api.url), {
      method: 'POST',
      headers: { 'content-type': contentType, ...(principal === null ? {} : { 'x-caretaker-principal': principal }) },
      body,
    });

  it('listens on loopback only, under the stage path', async () => {
    expect(new URL(api.url).hostname).toBe('127.0.0.1');
    const outside = await fetch(new URL('/models', api.url));
    expect(outside.status).toBe(404);
  });

  it('refuses bad input with 4xx naming the problem, and writes nothing', async () => {
    await h.putVersion({ model: 'churn', version });
    const before = await h.itemCount();
    const path = `models/churn/versions/${version}/approve`;
    const malformed = await post(path, '{"reason":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { message: string }).message).toMatch(/body/i);
    expect((await post(path, JSON.stringify({ reason: 'ok', extra: 1 }))).status).toBe(400);
    expect((await post(path, JSON.stringify({ reason: 'ok' }), APPROVER, 'text/plain')).status).toBe(400);
    expect((await post(path, JSON.stringify({ reason: 'x'.repeat(70_000) }))).status).toBe(413);
    expect((await post(path, JSON.stringify({ reason: 'ok' }), null)).status).toBe(403);
    expect((await post('models/nope/versions/1/approve', JSON.stringify({ reason: 'ok' }))).status).toBe(404);
    expect(await h.itemCount()).toBe(before);
    expect(h.callbacks.calls).toHaveLength(0);
  });

  it('refuses the requester\'s own approval with 403', async () => {
    await h.putVersion({ model: 'churn', version });
    const response = await post(`models/churn/versions/${version}/approve`, JSON.stringify({ reason: 'mine' }), REQUESTER);
    expect(response.status).toBe(403);
    expect(h.callbacks.calls).toHaveLength(0);
  });

  it('lets exactly one of 50 concurrent approvals through the wire win; the others get 409', async () => {
    await h.putVersion({ model: 'churn', version });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post(`models/churn/versions/${version}/approve`, JSON.stringify({ reason: `approval ${i}` }), `${APPROVER}-${i}`),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    expect(h.callbacks.calls).toHaveLength(1);
  });
});
