/**
 * The console's Cognito sign-in (lib/client/cognito.ts): the hosted UI's authorization code
 * grant with PKCE, the token endpoint, the identity pool's GetId and GetCredentialsForIdentity,
 * and requests signed with the credentials. Against test/support/cognito-stand-in.ts, which
 * follows Cognito's documented endpoints and refusals (its header names the pages); the identity
 * requests are also checked against botocore's cognito-identity model and sent to moto.
 */
import { describe, expect, it } from 'vitest';
import { CaretakerClient } from '../../lib/client/core';
import {
  authorizeUrl,
  CognitoError,
  CognitoSignIn,
  exchangeCode,
  getCredentials,
  getIdentityId,
  idTokenClaims,
  loginsKey,
  pkcePair,
  s256,
  SignInRequired,
} from '../../lib/client/cognito';
import { motoClientConfig } from '../support/aws';
import { serviceRequestCheck } from '../support/botocore';
import { CognitoStandIn, type StandInUser } from '../support/cognito-stand-in';

const CONSOLE = 'https://d111111abcdef8.cloudfront.net/';
const ALICE: StandInUser = { sub: '0f0e0d0c-0b0a-4908-8706-050403020100', email: 'alice@example.com', groups: ['caretaker-approvers'] };
const NOBODY: StandInUser = { sub: '1f1e1d1c-1b1a-4918-8716-151413121110', email: 'eve@example.com', groups: [] };

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

function setup() {
  let now = Date.parse('2026-12-04T09:00:00Z');
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const cognito = new CognitoStandIn([CONSOLE], clock.now);
  const storage = new MemoryStorage();
  const deps = { fetch: cognito.fetch, now: clock.now, identityEndpoint: cognito.identityEndpoint };
  const signIn = new CognitoSignIn(cognito.settings, storage, CONSOLE, deps);
  /** The browser's round trip through the hosted UI: where it lands back at the console. */
  const hostedUi = async (user: StandInUser) => cognito.authorize(await signIn.begin(), user);
  return { clock, cognito, storage, deps, signIn, hostedUi };
}

describe('PKCE (RFC 7636)', () => {
  it('derives the S256 challenge of RFC 7636 appendix B\'s example verifier', async () => {
    expect(await s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('makes a fresh 43-character verifier of unreserved characters each time, with its challenge', async () => {
    const a = await pkcePair();
    const b = await pkcePair();
    expect(a.verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(a.verifier).not.toBe(b.verifier);
    expect(a.challenge).toBe(await s256(a.verifier));
  });

  it('asks the hosted UI for a code with the S256 challenge, the state, the console\'s scopes and redirect URI', () => {
    const { cognito } = setup();
    const url = new URL(authorizeUrl(cognito.settings, { redirectUri: CONSOLE, state: 'st', challenge: 'ch' }));
    expect(`${url.origin}${url.pathname}`).toBe(`${cognito.domain}/oauth2/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: cognito.userPoolClientId,
      redirect_uri: CONSOLE,
      scope: 'openid email profile',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
    });
  });
});

describe('signing in: code → tokens → identity pool credentials → signed requests', () => {
  it('completes the redirect, exchanges the code with its verifier, and signs API requests with the group role\'s credentials', async () => {
    const { cognito, signIn, hostedUi, storage } = setup();
    const back = await hostedUi(ALICE);
    expect(await signIn.complete(back)).toBe(true);
    expect(signIn.profile()).toEqual({ person: 'alice@example.com', groups: ['caretaker-approvers'] });

    const [exchange] = cognito.calls;
    expect(exchange!.form).toMatchObject({ grant_type: 'authorization_code', client_id: cognito.userPoolClientId, redirect_uri: CONSOLE, code: new URL(back).searchParams.get('code') });
    expect(exchange!.form!.code_verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    // The verifier is used once and forgotten.
    expect([...storage.items.keys()]).not.toContain('caretaker.cognito.pending');

    const seen: Headers[] = [];
    const api = new CaretakerClient({
      baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/',
      credentials: signIn.provide,
      fetch: (_url, init) => {
        seen.push(new Headers(init?.headers));
        return Promise.resolve(Response.json({ models: [] }));
      },
    });
    await api.listModels();
    const identityCalls = cognito.calls.filter((c) => c.target);
    expect(identityCalls.map((c) => c.target)).toEqual(['AWSCognitoIdentityService.GetId', 'AWSCognitoIdentityService.GetCredentialsForIdentity']);
    for (const call of identityCalls) expect(Object.keys((call.body as { Logins: object }).Logins)).toEqual([`cognito-idp.eu-west-1.amazonaws.com/${cognito.userPoolId}`]);
    const credentials = await signIn.provide();
    expect(seen[0]!.get('authorization')).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/eu-west-1/execute-api/aws4_request`));
    expect(seen[0]!.get('x-amz-security-token')).toBe(credentials.sessionToken);
  });

  it('says a page load that is not a sign-in redirect is none, and leaves the tab signed out', async () => {
    const { signIn } = setup();
    expect(await signIn.complete(`${CONSOLE}#/models`)).toBe(false);
    expect(signIn.signedIn).toBe(false);
    await expect(signIn.provide()).rejects.toBeInstanceOf(SignInRequired);
  });

  it('gets invalid_grant for a code redeemed a second time (codes are single-use)', async () => {
    const { cognito, deps } = setup();
    const { verifier, challenge } = await pkcePair();
    const back = cognito.authorize(authorizeUrl(cognito.settings, { redirectUri: CONSOLE, state: 's', challenge }), ALICE);
    const code = new URL(back).searchParams.get('code')!;
    await exchangeCode(cognito.settings, { code, verifier, redirectUri: CONSOLE }, deps);
    const again = exchangeCode(cognito.settings, { code, verifier, redirectUri: CONSOLE }, deps);
    await expect(again).rejects.toMatchObject({ name: 'CognitoError', code: 'invalid_grant', status: 400 });
  });

  it('gets invalid_grant for a code sent with another verifier (a stolen code is useless)', async () => {
    const { cognito, deps } = setup();
    const { challenge } = await pkcePair();
    const other = await pkcePair();
    const back = cognito.authorize(authorizeUrl(cognito.settings, { redirectUri: CONSOLE, state: 's', challenge }), ALICE);
    await expect(exchangeCode(cognito.settings, { code: new URL(back).searchParams.get('code')!, verifier: other.verifier, redirectUri: CONSOLE }, deps)).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it('refuses a redirect whose state this tab did not send, without redeeming its code', async () => {
    const { cognito, signIn, hostedUi } = setup();
    const back = new URL(await hostedUi(ALICE));
    back.searchParams.set('state', 'forged');
    await expect(signIn.complete(back.toString())).rejects.toMatchObject({ code: 'StateMismatch' });
    expect(cognito.calls).toEqual([]);
    expect(signIn.signedIn).toBe(false);
  });

  it('refuses the same redirect loaded twice (reload, back button): the verifier is gone', async () => {
    const { signIn, hostedUi } = setup();
    const back = await hostedUi(ALICE);
    await signIn.complete(back);
    await expect(signIn.complete(back)).rejects.toMatchObject({ code: 'StateMismatch' });
  });

  it('shows the hosted UI\'s own refusal (?error=access_denied)', async () => {
    const { signIn } = setup();
    await signIn.begin();
    await expect(signIn.complete(`${CONSOLE}?error=access_denied&error_description=User+is+not+allowed`)).rejects.toThrow(/sign-in failed: access_denied \(User is not allowed\)/);
  });

  it('a signed-in user in no group gets no credentials: the identity pool denies the ambiguous role', async () => {
    const { signIn, hostedUi } = setup();
    await signIn.complete(await hostedUi(NOBODY));
    const refused = signIn.provide();
    await expect(refused).rejects.toMatchObject({ name: 'CognitoError', code: 'NotAuthorizedException' });
    await expect(refused).rejects.toThrow(/ambiguous role mapping rules/);
  });
});

describe('expiry: credentials renewed, tokens refreshed, then sign in again', () => {
  it('reuses credentials until five minutes before they expire, then gets new ones for the same identity', async () => {
    const { cognito, clock, signIn, hostedUi } = setup();
    await signIn.complete(await hostedUi(ALICE));
    const first = await signIn.provide();
    expect(await signIn.provide()).toBe(first);
    clock.advance((cognito.credentialSeconds - 4 * 60) * 1000);
    // The ID token is near its end too (same 1 h lifetime): refreshed, then new credentials.
    const second = await signIn.provide();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    const targets = cognito.calls.map((c) => c.target ?? c.form?.grant_type);
    expect(targets).toEqual(['authorization_code', 'AWSCognitoIdentityService.GetId', 'AWSCognitoIdentityService.GetCredentialsForIdentity', 'refresh_token', 'AWSCognitoIdentityService.GetCredentialsForIdentity']);
  });

  it('asks for new credentials once when several requests need them at the same moment', async () => {
    const { cognito, signIn, hostedUi } = setup();
    await signIn.complete(await hostedUi(ALICE));
    const all = await Promise.all([signIn.provide(), signIn.provide(), signIn.provide()]);
    expect(new Set(all).size).toBe(1);
    expect(cognito.calls.filter((c) => c.target === 'AWSCognitoIdentityService.GetCredentialsForIdentity')).toHaveLength(1);
  });

  it('after the refresh token is revoked, expired tokens mean sign in again, and the tab forgets them', async () => {
    const { cognito, clock, signIn, hostedUi, storage } = setup();
    await signIn.complete(await hostedUi(ALICE));
    await signIn.provide();
    cognito.revokeRefreshTokens();
    clock.advance(cognito.tokenSeconds * 1000);
    await expect(signIn.provide()).rejects.toBeInstanceOf(SignInRequired);
    expect(storage.items.size).toBe(0);
    expect(signIn.signedIn).toBe(false);
  });

  it('the identity pool refuses an expired ID token with NotAuthorizedException', async () => {
    const { cognito, clock, deps } = setup();
    const token = cognito.idToken(ALICE, clock.now() - 1000);
    const refused = getIdentityId(cognito.settings, token, deps);
    await expect(refused).rejects.toMatchObject({ code: 'NotAuthorizedException' });
    await expect(refused).rejects.toThrow(/Token expired/);
  });

  it('signs out: forgets the tokens and sends the browser to the hosted UI\'s logout with the console as logout_uri', async () => {
    const { cognito, signIn, hostedUi, storage } = setup();
    await signIn.complete(await hostedUi(ALICE));
    await signIn.provide();
    const url = new URL(signIn.signOut());
    expect(`${url.origin}${url.pathname}`).toBe(`${cognito.domain}/logout`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: cognito.userPoolClientId, logout_uri: CONSOLE });
    expect(storage.items.size).toBe(0);
    await expect(signIn.provide()).rejects.toBeInstanceOf(SignInRequired);
  });
});

describe('the identity requests as AWS defines them', () => {
  it('match botocore\'s cognito-identity model: JSON 1.1, target AWSCognitoIdentityService, unsigned, valid GetId and GetCredentialsForIdentity input', async () => {
    const { cognito, signIn, hostedUi } = setup();
    await signIn.complete(await hostedUi(ALICE));
    await signIn.provide();
    const [getId, getCredentialsCall] = cognito.calls.filter((c) => c.target);
    const idCheck = serviceRequestCheck('cognito-identity', 'GetId', getId!.body);
    const credentialsCheck = serviceRequestCheck('cognito-identity', 'GetCredentialsForIdentity', getCredentialsCall!.body);
    expect([idCheck.errors, credentialsCheck.errors]).toEqual([[], []]);
    expect(idCheck).toMatchObject({ protocol: 'json', targetPrefix: 'AWSCognitoIdentityService', jsonVersion: '1.1', authtype: 'none' });
    expect(credentialsCheck.authtype).toBe('none');
    // The validator itself refuses a request without the pool id.
    expect(serviceRequestCheck('cognito-identity', 'GetId', { Logins: {} }).errors.join(' ')).toMatch(/IdentityPoolId/);
  });

  it('moto\'s cognito-identity answers GetId and GetCredentialsForIdentity as sent, Expiration in epoch seconds', async () => {
    const { endpoint } = motoClientConfig();
    const call = async (target: string, body: object) => {
      const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${target}` }, body: JSON.stringify(body) });
      return (await response.json()) as Record<string, string>;
    };
    const pool = await call('CreateIdentityPool', { IdentityPoolName: 'caretaker_console_test', AllowUnauthenticatedIdentities: false });
    const settings = { region: 'us-east-1', userPoolId: 'us-east-1_AbCdEf123', userPoolClientId: 'client', identityPoolId: pool.IdentityPoolId!, domain: 'https://x.auth.us-east-1.amazoncognito.com' };
    const deps = { identityEndpoint: endpoint };
    const identityId = await getIdentityId(settings, 'header.payload.signature', deps);
    expect(identityId).toMatch(/^us-east-1:/);
    const credentials = await getCredentials(settings, identityId, 'header.payload.signature', deps);
    expect(credentials.accessKeyId.length).toBeGreaterThan(0);
    expect(credentials.expiration.getTime()).toBeGreaterThan(Date.now());
    expect(credentials.expiration.getTime()).toBeLessThan(Date.now() + 24 * 3600 * 1000);
  });

  it('names the Logins key after the user pool, and reads the ID token\'s claims', () => {
    const { cognito } = setup();
    expect(loginsKey(cognito.settings)).toBe(`cognito-idp.eu-west-1.amazonaws.com/${cognito.userPoolId}`);
    expect(idTokenClaims(cognito.idToken(ALICE))).toMatchObject({ email: 'alice@example.com', 'cognito:groups': ['caretaker-approvers'] });
    expect(() => idTokenClaims('not-a-jwt')).toThrow(CognitoError);
  });
});
