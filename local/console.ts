/**
 * The console in local mode: the same production build (`console/dist`, `npm run build:console`)
 * served next to the registry API on one origin, with a `config.json` that offers local
 * principals on a "sign in as" page instead of Cognito.
 *
 * Local mode has no IAM. For the read-only role the console's reader signs in with, the API is
 * guarded as API Gateway's IAM authorization guards it in AWS: a call the role's policy does not
 * allow (`grantRead` allows only the routes whose intent is `read`) is refused before the
 * handler runs with 403, `x-amzn-errortype: AccessDeniedException` and
 * `{"message":"User: <caller> is not authorized to perform: execute-api:Invoke on resource: <arn>"}`
 * (AWS Knowledge Center, "How do I troubleshoot HTTP 403 errors from API Gateway?", the IAM
 * authorization row).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parsePrincipal } from '../lambdas/api/principal';
import { match } from '../lambdas/api/router';
import { CONSOLE_CONFIG_FILE, type LocalConsoleConfig } from '../lib/client/console-config';
import { CONSOLE_PRINCIPALS, READ_ONLY_ROLES } from './principals';

export const ROOT = join(import.meta.dirname, '..');
/** Where `vite build` writes the console (console/vite.config.ts). */
export const CONSOLE_DIST = join(ROOT, 'console', 'dist');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.md': 'text/plain; charset=utf-8',
};

/** The headers the hosting construct's response headers policy sets, so local mode shows CSP breakage too. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export interface ConsoleSite {
  /** Serves a console request (anything outside the API's stage); false when it is not one. */
  serve(request: IncomingMessage, response: ServerResponse, url: URL): boolean;
}

/** Fails with what to run when the console was not built. */
export function assertConsoleBuilt(dir = CONSOLE_DIST): void {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`the console is not built (${join(dir, 'index.html')} is missing): run npm run build:console`);
  }
}

export function consoleSite(options: { readonly dir?: string; readonly stage: string }): ConsoleSite {
  const dir = options.dir ?? CONSOLE_DIST;
  assertConsoleBuilt(dir);
  return {
    serve(request, response, url) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const origin = `http://${request.headers.host ?? url.host}`;
      if (url.pathname === `/${CONSOLE_CONFIG_FILE}`) {
        const config: LocalConsoleConfig = {
          apiUrl: `${origin}/${options.stage}/`,
          docsUrl: `${origin}/docs/`,
          localPrincipals: CONSOLE_PRINCIPALS.map((p) => ({ ...p })),
        };
        send(response, 200, CONTENT_TYPES['.json'] ?? '', JSON.stringify(config), { 'cache-control': 'no-store' });
        return true;
      }
      // Runbooks live in the README; the console links `docs/README.md#runbook-…`.
      if (url.pathname === '/docs/README.md') {
        send(response, 200, CONTENT_TYPES['.md'] ?? '', readFileSync(join(ROOT, 'README.md')));
        return true;
      }
      const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
      const file = normalize(join(dir, relative));
      if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
        send(response, 404, 'text/plain; charset=utf-8', `no console file ${url.pathname}`);
        return true;
      }
      // Vite names assets by content hash; index.html must be fetched fresh.
      const cache = relative === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable';
      send(response, 200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file), { 'cache-control': cache });
      return true;
    },
  };
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': type, ...SECURITY_HEADERS, ...headers });
  response.end(body);
}

/**
 * IAM authorization of a read-only role's call, as API Gateway applies it before the
 * integration runs; `undefined` lets the call through. Unknown routes pass (the API answers 404).
 */
export function readOnlyRoleRefusal(event: APIGatewayProxyEvent, resourceArn: string): APIGatewayProxyResult | undefined {
  const header = Object.entries(event.headers).find(([name]) => name.toLowerCase() === 'x-caretaker-principal')?.[1];
  const caller = header ? parsePrincipal(header) : undefined;
  if (!caller?.roleArn || !READ_ONLY_ROLES.includes(caller.roleArn)) return undefined;
  let intent: string;
  try {
    intent = match(event.httpMethod, event.path).route.intent;
  } catch {
    return undefined;
  }
  if (intent === 'read') return undefined;
  return {
    statusCode: 403,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' },
    body: JSON.stringify({ message: `User: ${caller.id} is not authorized to perform: execute-api:Invoke on resource: ${resourceArn}/${event.httpMethod}${event.path}` }),
  };
}
