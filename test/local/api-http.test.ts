/**
 * The registry API as local mode serves it: over HTTP on 127.0.0.1, the caller taken from
 * `X-Caretaker-Principal`. The handler suites' bad-input cases, through the wire.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveApi } from '../../local/stack';
import { ACCOUNT, APPROVER, APPROVER_ROLE, createHarness, REQUESTER, type Harness } from '../lambdas/api/harness';

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

  const post = (path: string, body: string, principal: string | null = APPROVER, contentType = 'application/json', extra: Record<string, string> = {}) =>
    fetch(new URL(path, api.url), {
      method: 'POST',
      headers: { 'content-type': contentType, ...(principal === null ? {} : { 'x-caretaker-principal': principal }), ...extra },
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

  it('row 17: an approver listed by role ARN approves from a session of it; the role ARN itself, root and unknown shapes are refused', async () => {
    await h.putVersion({ model: 'fraud', version });
    const path = `models/fraud/versions/${version}/approve`;
    const body = JSON.stringify({ reason: 'holds' });
    const before = await h.itemCount();
    expect(APPROVER).toMatch(/:assumed-role\/approver\//);
    for (const refused of [APPROVER_ROLE, `arn:aws:iam::${ACCOUNT}:root`, 'alice', `arn:aws:sts::${ACCOUNT}:assumed-role/approver-2/alice`]) {
      const response = await post(path, body, refused);
      expect(response.status, refused).toBe(403);
    }
    expect(await h.itemCount()).toBe(before);
    expect(h.callbacks.calls).toHaveLength(0);
    const approved = await post(path, body, APPROVER);
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ decision: { by: APPROVER } });
  });

  it('rows 17/18: Cognito callers in local mode (session ARN + identity id): two users of one role are two people', async () => {
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/CaretakerConsoleUsers/CognitoIdentityCredentials`;
    const alice = `${session}/us-east-1:11111111-2222-4333-8444-555555555555`;
    const bob = `${session}/us-east-1:66666666-7777-4888-9999-aaaaaaaaaaaa`;
    const provider = { 'x-caretaker-cognito-provider': 'cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123,cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123:CognitoSignIn:a1a1a1a1-b2b2-4c3c-8d4d-e5e5e5e5e5e5' };
    await h.putVersion({ model: 'churn', version, requestedBy: alice });
    const path = `models/churn/versions/${version}/approve`;
    const body = JSON.stringify({ reason: 'console' });
    expect((await post(path, body, alice, 'application/json', provider)).status).toBe(403);
    // The shared session name alone names no one.
    expect((await post(path, body, session)).status).toBe(403);
    expect(h.callbacks.calls).toHaveLength(0);
    const approved = await post(path, body, bob);
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ decision: { by: bob } });
  });
});
