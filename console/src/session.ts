/**
 * Who is signed in and the API client that speaks for them. Local mode: a principal picked on
 * the "sign in as" page, sent as `X-Caretaker-Principal` (kept for this tab only). AWS: the
 * Cognito hosted UI (authorization code + PKCE), the identity pool's credentials, SigV4-signed
 * requests (lib/client/cognito.ts), kept for this tab only too (sessionStorage).
 */
import { CognitoSignIn } from '../../lib/client/cognito';
import { CaretakerClient } from '../../lib/client/core';
import { CONSOLE_CONFIG_FILE, type CognitoConsoleConfig, type ConsoleConfig, isLocalConsoleConfig, parseConsoleConfig } from '../../lib/client/console-config';

const PRINCIPAL_KEY = 'caretaker.principal';
/** The page (hash) to come back to after the hosted UI, which returns to the console's root. */
const RETURN_KEY = 'caretaker.cognito.returnTo';

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(CONSOLE_CONFIG_FILE, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${CONSOLE_CONFIG_FILE} answered ${response.status} ${response.statusText}`);
  let value: unknown;
  try {
    value = await response.json();
  } catch {
    throw new Error(`${CONSOLE_CONFIG_FILE} is not valid JSON`);
  }
  return parseConsoleConfig(value);
}

export interface Session {
  readonly principal: string;
  readonly label: string;
  readonly role: string;
  readonly client: CaretakerClient;
}

/** This tab's Cognito sign-in, and the session built from it (one client per sign-in: pages refetch when their client changes). */
let cognito: { signIn: CognitoSignIn; session?: Session } | undefined;

function cognitoOf(config: CognitoConsoleConfig): { signIn: CognitoSignIn; session?: Session } {
  // The app client's callback and sign-out URLs are the console's origin and `/` (console-hosting.ts).
  cognito ??= { signIn: new CognitoSignIn(config.auth, sessionStorage, `${location.origin}/`) };
  return cognito;
}

/**
 * On load: when the hosted UI has just sent the browser back (`?code=&state=`), redeems the code
 * and puts the page the person was on back in the address bar. Throws what Cognito refused.
 */
export async function completeSignIn(config: ConsoleConfig): Promise<void> {
  if (isLocalConsoleConfig(config)) return;
  const { signIn } = cognitoOf(config);
  let completed: boolean;
  try {
    completed = await signIn.complete(location.href);
  } finally {
    // The code is good once, whatever happened: never leave it in the address bar.
    if (location.search) history.replaceState(null, '', `${location.pathname}${sessionStorage.getItem(RETURN_KEY) ?? location.hash}`);
  }
  if (completed) sessionStorage.removeItem(RETURN_KEY);
}

/** The signed-in session, or undefined when nobody has signed in yet in this tab. */
export function currentSession(config: ConsoleConfig): Session | undefined {
  if (!isLocalConsoleConfig(config)) {
    const state = cognitoOf(config);
    const profile = state.signIn.profile();
    if (!profile) {
      state.session = undefined;
      return undefined;
    }
    state.session ??= {
      principal: profile.person,
      label: profile.person,
      role: profile.groups.join(', ') || 'no group',
      client: new CaretakerClient({ baseUrl: config.apiUrl, region: config.auth.region, credentials: state.signIn.provide }),
    };
    return state.session;
  }
  const picked = sessionStorage.getItem(PRINCIPAL_KEY);
  const entry = config.localPrincipals.find((p) => p.principal === picked);
  if (!entry) return undefined;
  return { ...entry, client: new CaretakerClient({ baseUrl: config.apiUrl, local: { principal: entry.principal } }) };
}

/** Local mode: signs in as the picked principal. */
export function signIn(principal: string): void {
  sessionStorage.setItem(PRINCIPAL_KEY, principal);
}

/** Cognito: goes to the hosted UI (and comes back to this page). */
export async function signInWithCognito(config: CognitoConsoleConfig): Promise<void> {
  sessionStorage.setItem(RETURN_KEY, location.hash && location.hash !== '#/signin' ? location.hash : '#/models');
  location.assign(await cognitoOf(config).signIn.begin());
}

/** Forgets this tab's sign-in; with Cognito, also ends the hosted UI's session (the browser goes there and back). */
export function signOut(config: ConsoleConfig): void {
  sessionStorage.removeItem(PRINCIPAL_KEY);
  if (!isLocalConsoleConfig(config) && cognito) {
    const logout = cognito.signIn.signOut();
    cognito.session = undefined;
    location.assign(logout);
  }
}
