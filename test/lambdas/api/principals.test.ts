/**
 * RELIABILITY rows 17 and 18: callers as API Gateway identifies them (role sessions, Identity
 * Center sessions, Cognito identity-pool users, IAM users, federated users, root, anonymous),
 * one canonical principal per person, approver entries, separation of duties and
 * `requireDistinctRole` — through the router, against DynamoDB on moto.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayEventIdentity } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../../lambdas/api/ports';
import { fromIamContext, principalFromIdentity } from '../../../lambdas/api/principal';
import { type ApiHandler, createHandler } from '../../../lambdas/api/router';
import { keys } from '../../../lambdas/shared/contracts';
import { apiEvent, bodyOf, createHarness, type Harness } from './harness';
import {
  A,
  ALICE_SUB,
  ALICE_UUID,
  anonymous,
  BOB_SUB,
  BOB_UUID,
  cognito,
  federatedUser,
  iamUser,
  identityCenter,
  identityCenterRoleArn,
  root,
  roleSession,
} from './identities';

const objective = { metricName: 'validation:auc', direction: 'maximize' } as const;
const model = (name: string, extra: Partial<ModelSummary> = {}): ModelSummary => ({ name, datasetName: 'churn', objective, approvalTimeoutSeconds: 3600, ...extra });

const MODELS: ModelSummary[] = [
  model('open'),
  model('by-role', { approvers: [`arn:aws:iam::${A}:role/MlApprover`] }),
  model('by-sso', { approvers: [identityCenterRoleArn('MlApprover')] }),
  model('by-user', { approvers: [`arn:aws:iam::${A}:user/alice`] }),
  model('by-session', { approvers: [`arn:aws:sts::${A}:assumed-role/MlApprover/alice`] }),
  model('by-group', { approvers: [{ cognitoGroup: 'ml-approvers', roleArn: `arn:aws:iam::${A}:role/CaretakerConsoleApprovers` }] }),
  model('distinct', { requireDistinctRole: true }),
];

describe('canonical principals (rows 17, 18) through the router', () => {
  let h: Harness;
  let handler: ApiHandler;
  let version = 1000;
  beforeAll(async () => {
    h = await createHarness();
    handler = createHandler({ principal: fromIamContext, ports: h.ports, models: MODELS });
  });
  afterAll(async () => {
    await h.drop();
  });
  beforeEach(() => {
    h.callbacks.calls.length = 0;
    version += 1;
  });

  const approve = (name: string, v: number, identity: APIGatewayEventIdentity) =>
    handler(apiEvent('POST', `/models/${name}/versions/${v}/approve`, { body: { reason: 'metrics hold' }, principal: identity.userArn ?? undefined, identity }));
  const stored = async (name: string, v: number) =>
    (await h.client.send(new GetCommand({ TableName: h.tableName, Key: keys.version(name, v), ConsistentRead: true }))).Item;
  const pending = (name: string, requestedBy = `arn:aws:sts::${A}:assumed-role/data-scientist/bob`) => h.putVersion({ model: name, version, requestedBy });
  const auditOf = async (name: string, v: number) => {
    const listed = bodyOf<{ items: { type: string; version?: number; actor: string; details?: Record<string, unknown> }[] }>(
      await handler(apiEvent('GET', '/audit', { query: { model: name, limit: '100' }, identity: roleSession('auditor', 'eve') })),
    );
    return listed.items.filter((item) => item.version === v);
  };

  /** A refusal: 403, the version untouched, no callback, no audit item. */
  async function expectRefused(name: string, identity: APIGatewayEventIdentity, message?: RegExp) {
    const before = await stored(name, version);
    const items = await h.itemCount();
    const result = await approve(name, version, identity);
    expect(result.statusCode).toBe(403);
    if (message) expect(bodyOf<{ message: string }>(result).message).toMatch(message);
    expect(await stored(name, version)).toEqual(before);
    expect(await h.itemCount()).toBe(items);
    expect(h.callbacks.calls).toHaveLength(0);
  }

  describe('row 17: who is calling', () => {
    it('an approver listed by role ARN approves from a session of that role; the audit names the session', async () => {
      await pending('by-role');
      const result = await approve('by-role', version, roleSession('MlApprover', 'alice'));
      expect(result.statusCode).toBe(200);
      const by = `arn:aws:sts::${A}:assumed-role/MlApprover/alice`;
      expect(bodyOf(result)).toMatchObject({ decision: { by } });
      expect(h.callbacks.calls).toHaveLength(1);
      const events = await auditOf('by-role', version);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'APPROVED', actor: by, details: { caller: { kind: 'role-session', person: by, role: `arn:aws:iam::${A}:role/MlApprover` } } });
    });

    it('a session of another role is not a listed role approver (403, nothing written)', async () => {
      await pending('by-role');
      await expectRefused('by-role', roleSession('MlApprover2', 'alice'), /not an approver/);
    });

    it('an Identity Center user approves through the permission set\'s role listed with its aws-reserved path; the audit shows the user', async () => {
      await pending('by-sso');
      const result = await approve('by-sso', version, identityCenter('MlApprover', 'alice@example.com'));
      expect(result.statusCode).toBe(200);
      const [event] = await auditOf('by-sso', version);
      expect(event).toMatchObject({ actor: `arn:aws:sts::${A}:assumed-role/AWSReservedSSO_MlApprover_0a1b2c3d4e5f6789/alice@example.com` });
      expect(event?.details?.caller).toMatchObject({ kind: 'identity-center', person: 'identity-center/alice@example.com' });
    });

    it('an IAM user listed by user ARN approves; another IAM user does not', async () => {
      await pending('by-user');
      await expectRefused('by-user', iamUser('mallory'));
      expect((await approve('by-user', version, iamUser('alice'))).statusCode).toBe(200);
    });

    it('a listed role session approves; another session of the same role does not', async () => {
      await pending('by-session');
      await expectRefused('by-session', roleSession('MlApprover', 'alice-2'));
      expect((await approve('by-session', version, roleSession('MlApprover', 'alice'))).statusCode).toBe(200);
    });

    it('a Cognito group entry: a user-pool user through the group\'s role approves, and the audit has identity id and user pool subject', async () => {
      await pending('by-group');
      const result = await approve('by-group', version, cognito('CaretakerConsoleApprovers', ALICE_UUID, { userPoolSub: ALICE_SUB }));
      expect(result.statusCode).toBe(200);
      const by = `arn:aws:sts::${A}:assumed-role/CaretakerConsoleApprovers/CognitoIdentityCredentials/us-east-1:${ALICE_UUID}`;
      expect(bodyOf(result)).toMatchObject({ decision: { by } });
      const [event] = await auditOf('by-group', version);
      expect(event?.details?.caller).toMatchObject({ kind: 'cognito', person: `cognito-identity/us-east-1:${ALICE_UUID}`, userPoolSub: ALICE_SUB, userPool: 'us-east-1_AbCdEf123' });
    });

    it('a Cognito group entry refuses an identity of that role not signed in through the user pool, and other roles', async () => {
      await pending('by-group');
      await expectRefused('by-group', cognito('CaretakerConsoleApprovers', BOB_UUID));
      await expectRefused('by-group', cognito('CaretakerConsoleViewers', BOB_UUID, { userPoolSub: BOB_SUB }));
    });

    it('two Cognito users of one role are two people: one requests, the other approves; the requester cannot', async () => {
      const aliceIdentity = cognito('CaretakerConsoleUsers', ALICE_UUID, { userPoolSub: ALICE_SUB });
      // Alice requests the run through the API: her canonical id is what the run records.
      const retrain = await handler(apiEvent('POST', '/models/open/retrain', { body: { reason: 'new labels' }, identity: aliceIdentity }));
      expect(retrain.statusCode).toBe(202);
      const requestedBy = h.queue.sent.at(-1)?.requestedBy ?? '';
      expect(requestedBy).toBe(`arn:aws:sts::${A}:assumed-role/CaretakerConsoleUsers/CognitoIdentityCredentials/us-east-1:${ALICE_UUID}`);
      await pending('open', requestedBy);
      await expectRefused('open', aliceIdentity, /requested the run/);
      expect((await approve('open', version, cognito('CaretakerConsoleUsers', BOB_UUID, { userPoolSub: BOB_SUB }))).statusCode).toBe(200);
    });

    it('a federated user is a caller of its own (by its federated-user ARN)', async () => {
      await pending('open', `arn:aws:sts::${A}:federated-user/bob`);
      await expectRefused('open', federatedUser('bob'));
      expect((await approve('open', version, federatedUser('carol'))).statusCode).toBe(200);
    });

    it.each([
      ['the account root user', root(), /root/],
      ['an anonymous request (no IAM identity)', anonymous(), /no IAM identity/],
      ['an unauthenticated (guest) Cognito identity', cognito('CaretakerGuests', ALICE_UUID, { authenticated: false }), /unauthenticated/],
      ['a Cognito session without its identity id', roleSession('CaretakerConsoleUsers', 'CognitoIdentityCredentials'), /names no one/],
      ['a role ARN where API Gateway sends a session ARN', { ...roleSession('MlApprover', 'x'), userArn: `arn:aws:iam::${A}:role/MlApprover` }, /not an IAM user, role session/],
    ])('refuses %s with 403 and writes nothing', async (_kind, identity, message) => {
      await pending('open');
      await expectRefused('open', identity, message);
      // Reads are refused too: no route serves an unknown caller.
      expect((await handler(apiEvent('GET', '/models', { identity }))).statusCode).toBe(403);
    });
  });

  describe('row 18: the requester approving from another session', () => {
    it('an Identity Center user who requested through one permission set cannot approve through another', async () => {
      const requester = identityCenter('DataScientist', 'alice@example.com');
      await pending('open', requester.userArn ?? '');
      await expectRefused('open', identityCenter('MlApprover', 'alice@example.com'), /requested the run/);
      expect((await approve('open', version, identityCenter('MlApprover', 'carol@example.com'))).statusCode).toBe(200);
    });

    it('the same role session is the same person', async () => {
      await pending('open', `arn:aws:sts::${A}:assumed-role/ds/bob`);
      await expectRefused('open', roleSession('ds', 'bob'));
    });

    it('documented limit: a directly assumed role\'s second session (ds/bob-2) is another principal unless requireDistinctRole', async () => {
      await pending('open', `arn:aws:sts::${A}:assumed-role/ds/bob`);
      expect((await approve('open', version, roleSession('ds', 'bob-2'))).statusCode).toBe(200);
    });

    it('requireDistinctRole refuses an approver acting through the requester\'s role, and lets another role approve', async () => {
      await pending('distinct', `arn:aws:sts::${A}:assumed-role/ds/bob`);
      await expectRefused('distinct', roleSession('ds', 'bob-2'), /requireDistinctRole/);
      await expectRefused('distinct', roleSession('ds', 'carol'), /requireDistinctRole/);
      expect((await approve('distinct', version, roleSession('MlApprover', 'carol'))).statusCode).toBe(200);
    });

    it('requireDistinctRole compares Identity Center permission sets as roles', async () => {
      await pending('distinct', identityCenter('DataScientist', 'bob@example.com').userArn ?? '');
      await expectRefused('distinct', identityCenter('DataScientist', 'carol@example.com'), /requireDistinctRole/);
      expect((await approve('distinct', version, identityCenter('MlApprover', 'carol@example.com'))).statusCode).toBe(200);
    });

    it('automatic requesters (caretaker:alarm) are nobody: any approver may decide', async () => {
      await pending('distinct', 'caretaker:alarm');
      expect((await approve('distinct', version, roleSession('ds', 'bob'))).statusCode).toBe(200);
    });
  });
});

describe('principalFromIdentity', () => {
  it('gives every session of one Identity Center user the same person, and each Cognito identity its own', () => {
    const a = principalFromIdentity(identityCenter('DataScientist', 'alice@example.com'));
    const b = principalFromIdentity(identityCenter('MlApprover', 'alice@example.com'));
    expect(a.person).toBe(b.person);
    expect(a.roleArn).not.toBe(b.roleArn);
    const c1 = principalFromIdentity(cognito('Users', ALICE_UUID));
    const c2 = principalFromIdentity(cognito('Users', BOB_UUID));
    expect(c1.person).not.toBe(c2.person);
    expect(c1.roleArn).toBe(c2.roleArn);
    expect(c1.cognito).toMatchObject({ identityId: `us-east-1:${ALICE_UUID}`, identityPoolId: 'us-east-1:4f0e7c2a-9b1d-4e3f-8a6b-5c4d3e2f1a0b' });
  });

  it('keeps the partition: a GovCloud role session is the same shape', () => {
    const p = principalFromIdentity({ userArn: `arn:aws-us-gov:sts::${A}:assumed-role/MlApprover/alice` });
    expect(p).toMatchObject({ kind: 'role-session', partition: 'aws-us-gov', roleArn: `arn:aws-us-gov:iam::${A}:role/MlApprover` });
  });
});
