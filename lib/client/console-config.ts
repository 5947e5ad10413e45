/**
 * `config.json` next to the console's `index.html`: where the API is and how people sign in.
 * One definition for its three sides — the console reads it, `caretaker local up` serves it,
 * the hosting construct (lib/constructs/console-hosting.ts) writes it into the bucket.
 * Browser-safe (`zod/mini`, no Node imports).
 */
import * as z from 'zod/mini';

/** Path of the file, relative to the console's base URL. */
export const CONSOLE_CONFIG_FILE = 'config.json';

/** The three kinds of people the console is built for; each maps to an IAM grant of the API. */
export const CONSOLE_ROLES = ['requester', 'approver', 'reader'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

const nonEmpty = z.string().check(z.minLength(1));

const common = {
  /** The registry API's stage URL (`…/v1/`). */
  apiUrl: nonEmpty,
  /** Base URL the runbook links (`README.md#runbook-…`) are resolved against. @default - links shown as text */
  docsUrl: z.optional(nonEmpty),
};

/** Local mode: the caller is named in `X-Caretaker-Principal`, picked on a "sign in as" page. */
export const localConsoleConfigSchema = z.strictObject({
  ...common,
  localPrincipals: z.array(z.strictObject({ role: z.enum(CONSOLE_ROLES), principal: nonEmpty, label: nonEmpty })).check(z.minLength(1)),
});

/**
 * AWS: a Cognito user pool (hosted UI) for sign-in, its identity pool for the credentials that
 * sign requests — what ConsoleHosting writes (lib/constructs/console-hosting.ts). The hosted UI
 * sends the browser back to the console's own URL (`location.origin` and `/`, the app client's
 * callback URL); the user pool groups the person is in come in the ID token.
 */
export const cognitoConsoleConfigSchema = z.strictObject({
  ...common,
  auth: z.strictObject({
    kind: z.literal('cognito'),
    region: nonEmpty,
    userPoolId: nonEmpty,
    userPoolClientId: nonEmpty,
    identityPoolId: nonEmpty,
    /** The hosted UI's base URL, `https://<prefix>.auth.<region>.amazoncognito.com`. */
    domain: nonEmpty,
  }),
});

export const consoleConfigSchema = z.union([localConsoleConfigSchema, cognitoConsoleConfigSchema]);

export type LocalConsoleConfig = z.infer<typeof localConsoleConfigSchema>;
export type CognitoConsoleConfig = z.infer<typeof cognitoConsoleConfigSchema>;
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

export function isLocalConsoleConfig(config: ConsoleConfig): config is LocalConsoleConfig {
  return 'localPrincipals' in config;
}

/** Parses the file's JSON; the error names the first bad field of the variant it is closest to. */
export function parseConsoleConfig(value: unknown): ConsoleConfig {
  const local = typeof value === 'object' && value !== null && 'localPrincipals' in value;
  const result = (local ? localConsoleConfigSchema : cognitoConsoleConfigSchema).safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(root)';
  const keys = issue?.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : '';
  throw new Error(`${CONSOLE_CONFIG_FILE}: ${field}: ${issue?.message ?? 'invalid'}${keys}`);
}
