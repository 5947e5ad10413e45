/**
 * A stand-in for the Cognito endpoints the console signs in through, as a `fetch`. It follows
 * AWS's documentation, not our code (ARCHITECTURE.md, "Fakes that tell the truth"):
 *
 * - The authorize endpoint (Amazon Cognito Developer Guide, "The authorize endpoint",
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html):
 *   `response_type=code`, a known `client_id`, a `redirect_uri` among the app client's callback
 *   URLs, the requested scopes allowed; `code_challenge_method` must be S256 when a
 *   `code_challenge` is sent. On success the browser comes back to `redirect_uri?code=…&state=…`.
 * - The token endpoint ("The token issuer endpoint",
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html): POST with
 *   `Content-Type: application/x-www-form-urlencoded`; `authorization_code` needs `code`,
 *   `client_id`, the same `redirect_uri` and, for a PKCE request, the `code_verifier` whose
 *   BASE64URL(SHA-256) is the challenge (RFC 7636 §4.6); a code is redeemed once and within five
 *   minutes ("Using PKCE in authorization code grants"); `refresh_token` returns new ID and access
 *   tokens and no refresh token. Refusals are 400 with `{"error": "invalid_request" |
 *   "invalid_client" | "invalid_grant" | "unauthorized_client" | "unsupported_grant_type"}`.
 * - The identity API (Amazon Cognito Identity API Reference, GetId and
 *   GetCredentialsForIdentity; botocore's `cognito-identity` service model: JSON 1.1, target
 *   prefix `AWSCognitoIdentityService`, no signature): `Logins` must map
 *   `cognito-idp.<region>.amazonaws.com/<userPoolId>` to an ID token the user pool issued for
 *   this identity pool's app client and not yet expired, else `NotAuthorizedException` ("Invalid
 *   login token. Token expired: …"); an unknown pool is `ResourceNotFoundException`; errors are
 *   400 with `{"__type", "message"}`; `Expiration` is epoch seconds.
 *
 * Tokens are unsigned JWT-shaped strings with the claims Cognito's ID tokens carry
 * (Developer Guide, "Understanding the identity (ID) token"): sub, email, cognito:username,
 * cognito:groups, aud (the app client), iss, token_use, exp.
 */
import { createHash, randomUUID } from 'node:crypto';

export interface StandInUser {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly string[];
}

interface IssuedCode {
  readonly user: StandInUser;
  readonly redirectUri: string;
  readonly challenge?: string;
  readonly issuedAt: number;
  used: boolean;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class CognitoStandIn {
  readonly region = 'eu-west-1';
  readonly userPoolId = 'eu-west-1_AbCdEf123';
  readonly userPoolClientId = '1example23456789abcdefghij';
  readonly identityPoolId = 'eu-west-1:0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b';
  readonly domain = 'https://caretaker-test.auth.eu-west-1.amazoncognito.com';
  readonly identityEndpoint = 'https://cognito-identity.eu-west-1.amazonaws.com/';
  /** Token lifetime (the app client's idTokenValidity: 1 hour). */
  readonly tokenSeconds = 3600;
  /** Credentials lifetime GetCredentialsForIdentity gives (1 hour, the roles' maxSessionDuration). */
  readonly credentialSeconds = 3600;
  readonly calls: { url: string; target?: string; form?: Record<string, string>; body?: unknown }[] = [];
  /** Credentials GetCredentialsForIdentity issued, by access key id (an API stand-in verifies signatures with them). */
  readonly issued = new Map<string, { secretAccessKey: string; sessionToken: string }>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, StandInUser>();
  private readonly identities = new Map<string, string>();

  constructor(
    readonly callbackUrls: readonly string[],
    /** The stand-in's clock (ms), shared with the code under test. */
    readonly now: () => number,
  ) {}

  get settings() {
    return { region: this.region, userPoolId: this.userPoolId, userPoolClientId: this.userPoolClientId, identityPoolId: this.identityPoolId, domain: this.domain };
  }

  /** The hosted UI: `user` signs in at `authorizeUrl`; returns where the browser is sent back. */
  authorize(authorizeUrl: string, user: StandInUser): string {
    const url = new URL(authorizeUrl);
    const p = url.searchParams;
    const refuse = (error: string) => {
      throw new Error(`authorize endpoint refuses: ${error}`);
    };
    if (`${url.origin}${url.pathname}` !== `${this.domain}/oauth2/authorize`) refuse(`not the authorize endpoint: ${url.origin}${url.pathname}`);
    if (p.get('response_type') !== 'code') refuse('unsupported_response_type');
    if (p.get('client_id') !== this.userPoolClientId) refuse('invalid client_id');
    const redirectUri = p.get('redirect_uri') ?? '';
    if (!this.callbackUrls.includes(redirectUri)) refuse('redirect_mismatch');
    const scopes = (p.get('scope') ?? '').split(' ');
    if (scopes.some((s) => !['openid', 'email', 'profile'].includes(s))) refuse('invalid_scope');
    const challenge = p.get('code_challenge') ?? undefined;
    if (challenge !== undefined && p.get('code_challenge_method') !== 'S256') refuse('invalid_request: code_challenge_method must be S256');
    const code = randomUUID();
    this.codes.set(code, { user, redirectUri, ...(challenge !== undefined ? { challenge } : {}), issuedAt: this.now(), used: false });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    const state = p.get('state');
    if (state !== null) back.searchParams.set('state', state);
    return back.toString();
  }

  /** An ID token for `user`, valid until `expiresAt` (ms). */
  idToken(user: StandInUser, expiresAt = this.now() + this.tokenSeconds * 1000): string {
    const claims = {
      sub: user.sub,
      email: user.email,
      'cognito:username': user.sub,
      'cognito:groups': user.groups,
      aud: this.userPoolClientId,
      iss: `https://cognito-idp.${this.region}.amazonaws.com/${this.userPoolId}`,
      token_use: 'id',
      exp: Math.floor(expiresAt / 1000),
    };
    return `${base64url('{"alg":"none"}')}.${base64url(JSON.stringify(claims))}.`;
  }

  /** Revokes every refresh token (RevokeToken, or the user signed out globally). */
  revokeRefreshTokens(): void {
    this.refreshTokens.clear();
  }

  fetch: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    const headers = new Headers(init?.headers);
    // The flow sends string bodies (a form, JSON) only.
    const body = typeof init?.body === 'string' ? init.body : '';
    if (url === `${this.domain}/oauth2/token`) return Promise.resolve(this.token(init?.method ?? 'GET', headers, body));
    if (url === this.identityEndpoint) return Promise.resolve(this.identity(headers, body));
    return Promise.resolve(new Response('not a Cognito endpoint the stand-in knows', { status: 404 }));
  };

  private token(method: string, headers: Headers, body: string): Response {
    const oauthError = (error: string) => Response.json({ error }, { status: 400 });
    if (method !== 'POST') return new Response(null, { status: 405 });
    if (!/^application\/x-www-form-urlencoded\b/.test(headers.get('content-type') ?? '')) return oauthError('invalid_request');
    const form = Object.fromEntries(new URLSearchParams(body));
    this.calls.push({ url: `${this.domain}/oauth2/token`, form });
    if (form.client_id !== this.userPoolClientId) return oauthError('invalid_client');
    if (form.grant_type === 'authorization_code') {
      if (!form.code || !form.redirect_uri) return oauthError('invalid_request');
      const issued = this.codes.get(form.code);
      // "Authorization code has been consumed or does not exist", and codes expire after 5 minutes.
      if (!issued || issued.used || this.now() - issued.issuedAt > 5 * 60 * 1000) return oauthError('invalid_grant');
      issued.used = true;
      if (issued.redirectUri !== form.redirect_uri) return oauthError('invalid_grant');
      if (issued.challenge !== undefined) {
        if (!form.code_verifier) return oauthError('invalid_request');
        if (base64url(createHash('sha256').update(form.code_verifier, 'ascii').digest()) !== issued.challenge) return oauthError('invalid_grant');
      }
      const refreshToken = randomUUID();
      this.refreshTokens.set(refreshToken, issued.user);
      return Response.json({ id_token: this.idToken(issued.user), access_token: `access-${randomUUID()}`, refresh_token: refreshToken, token_type: 'Bearer', expires_in: this.tokenSeconds });
    }
    if (form.grant_type === 'refresh_token') {
      const user = form.refresh_token ? this.refreshTokens.get(form.refresh_token) : undefined;
      if (!user) return oauthError('invalid_grant');
      return Response.json({ id_token: this.idToken(user), access_token: `access-${randomUUID()}`, token_type: 'Bearer', expires_in: this.tokenSeconds });
    }
    return oauthError('unsupported_grant_type');
  }

  private identity(headers: Headers, text: string): Response {
    const error = (type: string, message: string) => Response.json({ __type: type, message }, { status: 400 });
    const target = headers.get('x-amz-target') ?? '';
    if (headers.get('content-type') !== 'application/x-amz-json-1.1') return error('SerializationException', 'expected application/x-amz-json-1.1');
    const body = JSON.parse(text) as { IdentityPoolId?: string; IdentityId?: string; Logins?: Record<string, string> };
    this.calls.push({ url: this.identityEndpoint, target, body });
    const key = `cognito-idp.${this.region}.amazonaws.com/${this.userPoolId}`;
    const checkLogin = (): StandInUser | Response => {
      const token = body.Logins?.[key];
      if (!token) return error('NotAuthorizedException', 'Missing a required login: the Logins map has no user pool provider of this identity pool');
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string; email: string; aud: string; exp: number; 'cognito:groups': string[] };
      if (claims.aud !== this.userPoolClientId) return error('NotAuthorizedException', 'Invalid login token. Issuer doesn\'t match providerName');
      if (claims.exp * 1000 <= this.now()) return error('NotAuthorizedException', `Invalid login token. Token expired: ${claims.exp} >= ${Math.floor(this.now() / 1000)}`);
      return { sub: claims.sub, email: claims.email, groups: claims['cognito:groups'] };
    };
    if (target === 'AWSCognitoIdentityService.GetId') {
      if (body.IdentityPoolId !== this.identityPoolId) return error('ResourceNotFoundException', `IdentityPool '${body.IdentityPoolId ?? ''}' not found.`);
      const user = checkLogin();
      if (user instanceof Response) return user;
      const id = this.identities.get(user.sub) ?? `${this.region}:${randomUUID()}`;
      this.identities.set(user.sub, id);
      return Response.json({ IdentityId: id });
    }
    if (target === 'AWSCognitoIdentityService.GetCredentialsForIdentity') {
      const user = checkLogin();
      if (user instanceof Response) return user;
      if (this.identities.get(user.sub) !== body.IdentityId) return error('NotAuthorizedException', 'Logins don\'t match. Please include at least one valid login for this identity or identity pool.');
      // "Choose role from token" with AmbiguousRoleResolution Deny, for a user in no group (the
      // message as real identity pools answer it, e.g. aws-amplify/amplify-js#8644).
      if (user.groups.length === 0) return error('NotAuthorizedException', `The ambiguous role mapping rules for: ${key} denied this request.`);
      const credentials = { AccessKeyId: `ASIA${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`, SecretKey: randomUUID(), SessionToken: `session-${randomUUID()}` };
      this.issued.set(credentials.AccessKeyId, { secretAccessKey: credentials.SecretKey, sessionToken: credentials.SessionToken });
      return Response.json({ IdentityId: body.IdentityId, Credentials: { ...credentials, Expiration: Math.floor(this.now() / 1000) + this.credentialSeconds } });
    }
    return error('UnknownOperationException', target);
  }
}
