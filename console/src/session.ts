/**
 * Who is signed in and the API client that speaks for them. Local mode: a principal picked on
 * the "sign in as" page, sent as `X-Caretaker-Principal` (kept for this tab only). AWS: Cognito.
 */
import { CaretakerClient } from '../../lib/client/core';
import { CONSOLE_CONFIG_FILE, type ConsoleConfig, isLocalConsoleConfig, parseConsoleConfig } from '../../lib/client/console-config';

const PRINCIPAL_KEY = 'caretaker.principal';

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

/** The signed-in session, or undefined when nobody has signed in yet in this tab. */
export function currentSession(config: ConsoleConfig): Session | undefined {
  if (!isLocalConsoleConfig(config)) {
    // The hosted UI + identity pool sign-in is not part of this build yet.
    throw new Error('Sign-in through Cognito is not built into this console yet; use caretaker local up, or the CLI against AWS.');
  }
  const picked = sessionStorage.getItem(PRINCIPAL_KEY);
  const entry = config.localPrincipals.find((p) => p.principal === picked);
  if (!entry) return undefined;
  return { ...entry, client: new CaretakerClient({ baseUrl: config.apiUrl, local: { principal: entry.principal } }) };
}

export function signIn(principal: string): void {
  sessionStorage.setItem(PRINCIPAL_KEY, principal);
}

export function signOut(): void {
  sessionStorage.removeItem(PRINCIPAL_KEY);
}
