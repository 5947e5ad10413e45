/**
 * The console's Cognito sign-in in headless Chromium (issue 15): the built console, served with
 * a config.json of kind `cognito`, signs in through the hosted UI (authorization code + PKCE in
 * the browser's Web Crypto), gets identity-pool credentials and calls the API with SigV4, then
 * signs out through the hosted UI's logout. The Cognito endpoints are the documented stand-in
 * (test/support/cognito-stand-in.ts) behind Playwright routes; the API is a stand-in that checks
 * each request's SigV4 signature (recomputed with @smithy/signature-v4) against the credentials
 * the identity pool issued.
 *
 * What this does not prove: CORS. Playwright's routes answer before Chromium's CORS checks (a
 * preflight answer missing X-Amz-Content-Sha256 still let the request through when tried), so the
 * preflight and Access-Control-Allow-Origin are proven by test/lib/registry-api-cors.test.ts and
 * test/lambdas/api/cors.test.ts instead. The routes answer them as the construct would anyway.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Browser, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_REQUEST_HEADERS } from '../../lambdas/api/schemas';
import { CognitoStandIn, type StandInUser } from '../support/cognito-stand-in';
import { launchChromium, ROOT, screenshot } from './browser';

const DIST = join(ROOT, 'console', 'dist');
const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/';
const ALICE: StandInUser = { sub: '0f0e0d0c-0b0a-4908-8706-050403020100', email: 'alice@example.com', groups: ['caretaker-approvers'] };
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

let server: Server;
let origin: string;
let browser: Browser;
let cognito: CognitoStandIn;
/** How far the stand-in's clock runs ahead of the machine's (moved with the page's clock). */
let skewMs = 0;
/** What the API stand-in saw: each request's method and path, and whether its signature verified. */
const apiCalls: { method: string; path: string; verified: boolean }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiUrl: API, auth: { kind: 'cognito', ...cognito.settings } }));
      return;
    }
    const file = normalize(join(DIST, path === '/' ? 'index.html' : path));
    if (!file.startsWith(DIST)) return void res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  cognito = new CognitoStandIn([`${origin}/`], () => Date.now() + skewMs);
  browser = await launchChromium();
});

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await new Promise((resolve) => (server as Server | undefined)?.close(resolve) ?? resolve(undefined));
});

const cors = () => ({ 'access-control-allow-origin': origin, vary: 'Origin' });

/** The hosted UI and the token/identity endpoints, answered by the stand-in. */
async function routeCognito(route: Route): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  if (request.method() === 'OPTIONS') {
    return route.fulfill({ status: 204, headers: { ...cors(), 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type,x-amz-target,x-amz-user-agent' } });
  }
  if (url.pathname === '/oauth2/authorize') return route.fulfill({ status: 302, headers: { location: cognito.authorize(url.toString(), ALICE) } });
  if (url.pathname === '/logout') return route.fulfill({ status: 302, headers: { location: url.searchParams.get('logout_uri') ?? '' } });
  const answer = await cognito.fetch(url.toString(), { method: request.method(), headers: request.headers(), body: request.postData() ?? '' });
  return route.fulfill({ status: answer.status, headers: { 'content-type': 'application/json', ...cors() }, body: await answer.text() });
}

/** The API: preflights as the construct configures them; signed requests verified, then answered. */
async function routeApi(route: Route): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  if (request.method() === 'OPTIONS') {
    return route.fulfill({ status: 204, headers: { ...cors(), 'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': CORS_REQUEST_HEADERS.join(',') } });
  }
  const headers = request.headers();
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]+)$/.exec(headers.authorization ?? '');
  const issued = auth ? cognito.issued.get(auth[1]!) : undefined;
  let verified = false;
  if (auth && issued && headers['x-amz-security-token'] === issued.sessionToken) {
    const signer = new SignatureV4({ service: auth[4]!, region: auth[3]!, credentials: { accessKeyId: auth[1]!, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken }, sha256: Sha256 });
    const signedHeaders = Object.fromEntries(auth[5]!.split(';').map((name) => [name, name === 'host' ? url.host : (headers[name] ?? '')]));
    const amzDate = headers['x-amz-date'] ?? '';
    const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const again = await signer.sign(
      new HttpRequest({ method: request.method(), protocol: url.protocol, hostname: url.hostname, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: signedHeaders, body: request.postData() ?? undefined }),
      { signingDate },
    );
    verified = String(again.headers.authorization).endsWith(`Signature=${auth[6]!}`);
  }
  apiCalls.push({ method: request.method(), path: url.pathname, verified });
  if (!verified) return route.fulfill({ status: 403, headers: { 'content-type': 'application/json', ...cors() }, body: '{"error":"Forbidden","message":"The request signature we calculated does not match"}' });
  return route.fulfill({ status: 200, headers: { 'content-type': 'application/json', ...cors() }, body: url.pathname.endsWith('/models') ? '{"models":[]}' : '{"items":[]}' });
}

describe('console sign-in through Cognito in Chromium', () => {
  it('signs in through the hosted UI, calls the API with valid SigV4 signatures from the identity pool\'s credentials, and signs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.route(`${cognito.domain}/**`, routeCognito);
    await context.route(cognito.identityEndpoint, routeCognito);
    await context.route(`${API}**`, routeApi);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/#/audit`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByTestId('signin-cognito').click();
    // Back from the hosted UI: the code is redeemed, the address bar is clean, the page the person was on is back.
    await page.getByTestId('who').getByText('alice@example.com · caretaker-approvers').waitFor();
    expect(new URL(page.url()).search).toBe('');
    expect(new URL(page.url()).hash).toBe('#/audit');
    await page.goto(`${origin}/#/models`);
    await page.getByText('No models are configured.').waitFor();
    await screenshot(page, 'cognito-signed-in');

    const [exchange] = cognito.calls.filter((c) => c.form);
    expect(exchange!.form).toMatchObject({ grant_type: 'authorization_code', redirect_uri: `${origin}/` });
    expect(cognito.calls.map((c) => c.target).filter(Boolean)).toContain('AWSCognitoIdentityService.GetCredentialsForIdentity');
    expect(apiCalls.length).toBeGreaterThan(0);
    expect(apiCalls.filter((c) => !c.verified)).toEqual([]);

    await page.getByTestId('who').getByText('sign out').click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('Object.keys(sessionStorage).filter((k) => k.startsWith("caretaker.cognito"))')).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('asks the person to sign in again once the sign-in has expired and the refresh token is refused, and signs in again from there', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.route(`${cognito.domain}/**`, routeCognito);
    await context.route(cognito.identityEndpoint, routeCognito);
    await context.route(`${API}**`, routeApi);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    // The page's clock is Playwright's (Clock API), so the console's "has this expired?" runs on it.
    await page.clock.install();
    await page.goto(`${origin}/#/models`);
    await page.getByTestId('signin-cognito').click();
    await page.getByText('No models are configured.').waitFor();

    // Two hours on (the ID token and the identity pool's credentials last an hour), and the
    // refresh token revoked (RevokeToken, or a global sign-out): the token endpoint refuses it.
    skewMs = 2 * 3600_000;
    cognito.revokeRefreshTokens();
    await page.clock.fastForward('02:00:00');
    const refusedBefore = cognito.calls.filter((c) => c.form?.grant_type === 'refresh_token').length;
    // Moving within the app (no reload): the next API call needs credentials, and none can be had.
    await page.evaluate('location.hash = "#/audit"');
    const error = page.getByTestId('api-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('Your sign-in has ended');
    expect(await error.textContent()).toContain('sign in again');
    expect(cognito.calls.filter((c) => c.form?.grant_type === 'refresh_token').length).toBe(refusedBefore + 1);
    // The expired tokens are gone from this tab.
    expect(await page.evaluate('Object.keys(sessionStorage).filter((k) => k.startsWith("caretaker.cognito.tokens"))')).toEqual([]);
    await screenshot(page, 'cognito-sign-in-again');

    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByTestId('signin-cognito').click();
    await page.getByTestId('who').getByText('alice@example.com · caretaker-approvers').waitFor();
    await context.close();
    skewMs = 0;
  });
});
