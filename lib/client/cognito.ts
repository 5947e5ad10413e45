/**
 * The console's sign-in through Cognito, browser-safe (fetch and Web Crypto only, no SDK, no
 * Node imports), as the hosting construct sets it up (lib/constructs/console-hosting.ts):
 *
 * 1. The user pool's hosted UI, authorization code grant with PKCE (RFC 7636, S256): the tab keeps
 *    a random code_verifier and state, sends the browser to `<domain>/oauth2/authorize` with
 *    BASE64URL(SHA-256(verifier)) as code_challenge (Amazon Cognito Developer Guide, "The
 *    authorize endpoint").
 * 2. Back at the console with `?code=…&state=…`: the code, the verifier and the same redirect_uri
 *    go to `<domain>/oauth2/token` as a form POST; the answer is the ID, access and refresh tokens
 *    (Developer Guide, "The token issuer endpoint"). A code is good once: a second exchange
 *    answers `invalid_grant`.
 * 3. The identity pool turns the ID token into an IAM role's temporary credentials: GetId, then
 *    GetCredentialsForIdentity, each with `Logins: { "cognito-idp.<region>.amazonaws.com/<userPoolId>": idToken }`
 *    (Amazon Cognito Identity API Reference; both are unsigned calls of the JSON 1.1 protocol,
 *    target prefix `AWSCognitoIdentityService`, as botocore's cognito-identity model says). An
 *    expired or foreign token answers `NotAuthorizedException`.
 * 4. lib/client signs each API request with those credentials (SigV4, execute-api).
 *
 * `CognitoSignIn` keeps the tab's state in a `Storage` (sessionStorage in the console): the
 * pending PKCE request, the tokens, the identity id. When the ID token has expired it refreshes
 * with the refresh token; when that is refused too, the person must sign in again
 * (`SignInRequired`).
 */

/** The `auth` block of the console's config.json (lib/client/console-config.ts). */
export interface CognitoAuthSettings {
  readonly region: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly identityPoolId: string;
  /** The hosted UI's base URL, `https://<prefix>.auth.<region>.amazoncognito.com` (no trailing slash needed). */
  readonly domain: string;
}

/** The scopes the console's app client allows (console-hosting.ts: openid, email, profile). */
export const CONSOLE_SCOPES = ['openid', 'email', 'profile'] as const;

/** A refusal from the token endpoint (`error`, e.g. invalid_grant) or the identity API (`__type`, e.g. NotAuthorizedException). */
export class CognitoError extends Error {
  override readonly name = 'CognitoError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Nobody is signed in in this tab, or the sign-in has expired and cannot be refreshed. */
export class SignInRequired extends Error {
  override readonly name = 'SignInRequired';
}

export interface Tokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** When the ID and access tokens expire (ms since the epoch), from `expires_in`. */
  readonly expiresAt: number;
}

export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** What the flow needs from its surroundings; tests pass a stand-in fetch and clock. */
export interface CognitoDeps {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
  /** The identity API's endpoint. @default `https://cognito-identity.<region>.amazonaws.com/` */
  readonly identityEndpoint?: string;
}

const fetchOf = (deps: CognitoDeps): typeof fetch => deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
const nowOf = (deps: CognitoDeps) => deps.now ?? Date.now;
const trimSlash = (url: string) => url.replace(/\/+$/, '');

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A PKCE pair (RFC 7636 §4.1, §4.2): a code_verifier of 43 characters from the unreserved set
 * (32 random bytes, base64url) and its S256 code_challenge.
 */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await s256(verifier) };
}

/** BASE64URL(SHA-256(ASCII(verifier))), RFC 7636 §4.2. */
export async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** The hosted UI's authorize URL for the authorization code grant with PKCE. */
export function authorizeUrl(settings: CognitoAuthSettings, request: { redirectUri: string; state: string; challenge: string }): string {
  const url = new URL(`${trimSlash(settings.domain)}/oauth2/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.userPoolClientId,
    redirect_uri: request.redirectUri,
    scope: CONSOLE_SCOPES.join(' '),
    state: request.state,
    code_challenge: request.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/** The hosted UI's logout URL: ends the hosted UI's session cookie, then returns to `logoutUri` (a configured sign-out URL). */
export function logoutUrl(settings: CognitoAuthSettings, logoutUri: string): string {
  const url = new URL(`${trimSlash(settings.domain)}/logout`);
  url.search = new URLSearchParams({ client_id: settings.userPoolClientId, logout_uri: logoutUri }).toString();
  return url.toString();
}

async function tokenRequest(settings: CognitoAuthSettings, form: Record<string, string>, deps: CognitoDeps): Promise<Tokens & { refreshToken?: string }> {
  const response = await fetchOf(deps)(`${trimSlash(settings.domain)}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await response.json().catch(() => ({}))) as {
    error?: string;
    error_description?: string;
    id_token?: string;
    access_token?: string;
    refresh_token?: string;
    expires_in?: number;
  };
  if (!response.ok || body.error !== undefined) {
    const code = body.error ?? `HTTP${response.status}`;
    throw new CognitoError(code, `the sign-in token endpoint refused: ${code}${body.error_description ? ` (${body.error_description})` : ''}`, response.status);
  }
  if (!body.id_token || !body.access_token || typeof body.expires_in !== 'number') {
    throw new CognitoError('InvalidResponse', 'the sign-in token endpoint answered without id_token, access_token or expires_in');
  }
  return {
    idToken: body.id_token,
    accessToken: body.access_token,
    ...(body.refresh_token ? { refreshToken: body.refresh_token } : {}),
    expiresAt: nowOf(deps)() + body.expires_in * 1000,
  };
}

/** Redeems an authorization code (grant_type=authorization_code, with the PKCE code_verifier). */
export function exchangeCode(settings: CognitoAuthSettings, request: { code: string; verifier: string; redirectUri: string }, deps: CognitoDeps = {}): Promise<Tokens> {
  return tokenRequest(
    settings,
    { grant_type: 'authorization_code', client_id: settings.userPoolClientId, code: request.code, redirect_uri: request.redirectUri, code_verifier: request.verifier },
    deps,
  );
}

/** New ID and access tokens from a refresh token (grant_type=refresh_token); the refresh token itself is kept. */
export async function refreshTokens(settings: CognitoAuthSettings, refreshToken: string, deps: CognitoDeps = {}): Promise<Tokens> {
  const fresh = await tokenRequest(settings, { grant_type: 'refresh_token', client_id: settings.userPoolClientId, refresh_token: refreshToken }, deps);
  return { ...fresh, refreshToken: fresh.refreshToken ?? refreshToken };
}

/** The identity pool's `Logins` key for the user pool: `cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
export function loginsKey(settings: CognitoAuthSettings): string {
  return `cognito-idp.${settings.region}.amazonaws.com/${settings.userPoolId}`;
}

async function identityCall<T>(settings: CognitoAuthSettings, operation: 'GetId' | 'GetCredentialsForIdentity', input: object, deps: CognitoDeps): Promise<T> {
  const endpoint = deps.identityEndpoint ?? `https://cognito-identity.${settings.region}.amazonaws.com/`;
  const response = await fetchOf(deps)(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${operation}` },
    body: JSON.stringify(input),
  });
  const body = (await response.json().catch(() => ({}))) as T & { __type?: string; message?: string; Message?: string };
  if (!response.ok) {
    // JSON protocol errors: `__type` is the error's shape name, sometimes prefixed with a namespace ("…#NotAuthorizedException").
    const code = (body.__type ?? `HTTP${response.status}`).split('#').pop() ?? 'Unknown';
    throw new CognitoError(code, `the identity pool refused ${operation}: ${code}${body.message ?? body.Message ? ` (${body.message ?? body.Message ?? ''})` : ''}`, response.status);
  }
  return body;
}

/** GetId: the identity id of the signed-in user in the identity pool (stable per user: cache it). */
export async function getIdentityId(settings: CognitoAuthSettings, idToken: string, deps: CognitoDeps = {}): Promise<string> {
  const out = await identityCall<{ IdentityId?: string }>(settings, 'GetId', { IdentityPoolId: settings.identityPoolId, Logins: { [loginsKey(settings)]: idToken } }, deps);
  if (!out.IdentityId) throw new CognitoError('InvalidResponse', 'GetId answered without an IdentityId');
  return out.IdentityId;
}

/** GetCredentialsForIdentity: the group role's temporary credentials (the pool's "choose role from token"). */
export async function getCredentials(settings: CognitoAuthSettings, identityId: string, idToken: string, deps: CognitoDeps = {}): Promise<TemporaryCredentials> {
  const out = await identityCall<{ Credentials?: { AccessKeyId?: string; SecretKey?: string; SessionToken?: string; Expiration?: number | string } }>(
    settings,
    'GetCredentialsForIdentity',
    { IdentityId: identityId, Logins: { [loginsKey(settings)]: idToken } },
    deps,
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretKey || !c.SessionToken || c.Expiration === undefined) {
    throw new CognitoError('InvalidResponse', 'GetCredentialsForIdentity answered without complete credentials');
  }
  // The JSON protocol sends timestamps as epoch seconds (a number).
  const expiration = typeof c.Expiration === 'number' ? new Date(c.Expiration * 1000) : new Date(c.Expiration);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration };
}

/** The ID token's claims, unverified (the identity pool verifies it; the console only shows who is signed in). */
export function idTokenClaims(idToken: string): { email?: string; 'cognito:username'?: string; 'cognito:groups'?: string[]; exp?: number } {
  const payload = idToken.split('.')[1];
  if (!payload) throw new CognitoError('InvalidToken', 'the ID token is not a JWT');
  const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
  const bytes = Uint8Array.from(text, (ch) => ch.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as ReturnType<typeof idTokenClaims>;
}

/** Only what the flow uses of the Web Storage API (sessionStorage). */
export interface SignInStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEYS = { pending: 'caretaker.cognito.pending', tokens: 'caretaker.cognito.tokens', identity: 'caretaker.cognito.identity' } as const;
/** Credentials or tokens this close to expiry are renewed first (clock skew, a request in flight). */
const MARGIN_MS = 5 * 60 * 1000;

/** One tab's Cognito sign-in: start, complete, credentials for signing (renewed as they expire), sign out. */
export class CognitoSignIn {
  private credentials?: TemporaryCredentials;
  private inFlight?: Promise<TemporaryCredentials>;

  constructor(
    private readonly settings: CognitoAuthSettings,
    private readonly storage: SignInStorage,
    /** Where the hosted UI sends the browser back: one of the app client's callback URLs (the console's URL and `/`). */
    private readonly redirectUri: string,
    private readonly deps: CognitoDeps = {},
  ) {}

  /** Remembers a new PKCE verifier and state for this tab; returns the hosted UI URL to go to. */
  async begin(): Promise<string> {
    const { verifier, challenge } = await pkcePair();
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    this.storage.setItem(KEYS.pending, JSON.stringify({ state, verifier }));
    return authorizeUrl(this.settings, { redirectUri: this.redirectUri, state, challenge });
  }

  /**
   * Completes a sign-in when `url` is the hosted UI's redirect (`?code=&state=`, or `?error=`);
   * returns whether it was one. The state must be the one this tab sent; the verifier is used once.
   */
  async complete(url: string): Promise<boolean> {
    const params = new URL(url).searchParams;
    const error = params.get('error');
    const code = params.get('code');
    if (error === null && code === null) return false;
    const pending = this.storage.getItem(KEYS.pending);
    this.storage.removeItem(KEYS.pending);
    if (error !== null) throw new CognitoError(error, `sign-in failed: ${error}${params.get('error_description') ? ` (${params.get('error_description') ?? ''})` : ''}`);
    const expected = pending ? (JSON.parse(pending) as { state: string; verifier: string }) : undefined;
    if (!expected || params.get('state') !== expected.state) {
      throw new CognitoError('StateMismatch', 'this sign-in answer does not belong to a sign-in started in this tab (state differs); sign in again');
    }
    const tokens = await exchangeCode(this.settings, { code: code ?? '', verifier: expected.verifier, redirectUri: this.redirectUri }, this.deps);
    this.storeTokens(tokens);
    this.storage.removeItem(KEYS.identity);
    this.credentials = undefined;
    return true;
  }

  /** Whether this tab holds tokens (it may still need to refresh them). */
  get signedIn(): boolean {
    return this.tokens() !== undefined;
  }

  /** Who is signed in, from the ID token: email (or user name) and user pool groups. */
  profile(): { person: string; groups: string[] } | undefined {
    const tokens = this.tokens();
    if (!tokens) return undefined;
    const claims = idTokenClaims(tokens.idToken);
    return { person: claims.email ?? claims['cognito:username'] ?? 'signed in', groups: claims['cognito:groups'] ?? [] };
  }

  /** Credentials for SigV4 (a provider for lib/client): cached while fresh; renewed from the ID token, refreshed when it has expired. */
  provide = (): Promise<TemporaryCredentials> => {
    const now = nowOf(this.deps)();
    if (this.credentials && this.credentials.expiration.getTime() - now > MARGIN_MS) return Promise.resolve(this.credentials);
    this.inFlight ??= this.renew().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  };

  /** Forgets this tab's sign-in; returns the hosted UI's logout URL (its cookie ends there too). */
  signOut(): string {
    for (const key of Object.values(KEYS)) this.storage.removeItem(key);
    this.credentials = undefined;
    return logoutUrl(this.settings, this.redirectUri);
  }

  private async renew(): Promise<TemporaryCredentials> {
    let tokens = this.tokens();
    if (!tokens) throw new SignInRequired('nobody is signed in in this tab');
    if (tokens.expiresAt - nowOf(this.deps)() <= MARGIN_MS) tokens = await this.refresh(tokens);
    try {
      this.credentials = await this.credentialsFor(tokens);
    } catch (error) {
      // A token revoked or expired early (NotAuthorizedException): refresh once, then give up.
      if (!(error instanceof CognitoError && error.code === 'NotAuthorizedException')) throw error;
      this.credentials = await this.credentialsFor(await this.refresh(tokens));
    }
    return this.credentials;
  }

  private async credentialsFor(tokens: Tokens): Promise<TemporaryCredentials> {
    let identityId = this.storage.getItem(KEYS.identity);
    if (!identityId) {
      identityId = await getIdentityId(this.settings, tokens.idToken, this.deps);
      this.storage.setItem(KEYS.identity, identityId);
    }
    return getCredentials(this.settings, identityId, tokens.idToken, this.deps);
  }

  private async refresh(tokens: Tokens): Promise<Tokens> {
    if (!tokens.refreshToken) return this.expired('the sign-in has expired');
    try {
      const fresh = await refreshTokens(this.settings, tokens.refreshToken, this.deps);
      this.storeTokens(fresh);
      return fresh;
    } catch (error) {
      if (error instanceof CognitoError && (error.code === 'invalid_grant' || error.code === 'NotAuthorizedException')) return this.expired('the sign-in has expired and cannot be renewed');
      throw error;
    }
  }

  private expired(message: string): never {
    for (const key of Object.values(KEYS)) this.storage.removeItem(key);
    this.credentials = undefined;
    throw new SignInRequired(`${message}; sign in again`);
  }

  private tokens(): Tokens | undefined {
    const text = this.storage.getItem(KEYS.tokens);
    return text ? (JSON.parse(text) as Tokens) : undefined;
  }

  private storeTokens(tokens: Tokens): void {
    this.storage.setItem(KEYS.tokens, JSON.stringify(tokens));
  }
}
