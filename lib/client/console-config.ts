/**
 * `config.json` next to the console's `index.html`: where the API is and how people sign in.
 * One definition for its three sides — the console reads it, `caretaker local up` serves it,
 * the hosting construct writes it into the bucket. Browser-safe (`zod/mini`, no Node imports).
 */
import * as z from 'zod/mini';

/** Path of the file, relative to the console's base URL. */
export const CONSOLE_CONFIG_FILE = 'config.json';

/** The three kinds of people the console is built for; each maps to an IAM grant of the API. */
export const CONSOLE_ROLES = ['requester', 'approver', 'reader'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

const nonEmpty = z.string().check(z.minLength(1));

export const consoleConfigSchema = z.object({
  /** The registry API's stage URL (`…/v1/`). */
  apiUrl: nonEmpty,
  /** Base URL the runbook links (`README.md#runbook-…`) are resolved against. */
  docsUrl: nonEmpty,
  auth: z.discriminatedUnion('kind', [
    /** Local mode: the caller is named in `X-Caretaker-Principal`, picked from these on a "sign in as" page. */
    z.object({
      kind: z.literal('local'),
      principals: z.array(z.object({ role: z.enum(CONSOLE_ROLES), principal: nonEmpty, label: nonEmpty })).check(z.minLength(1)),
    }),
    /** AWS: a Cognito user pool for sign-in, its identity pool for the credentials that sign requests. */
    z.object({
      kind: z.literal('cognito'),
      region: nonEmpty,
      userPoolId: nonEmpty,
      userPoolClientId: nonEmpty,
      identityPoolId: nonEmpty,
      /** Hosted UI domain, `https://<prefix>.auth.<region>.amazoncognito.com`. */
      domain: nonEmpty,
    }),
  ]),
});

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

/** Parses the file's JSON; the error names the first bad field. */
export function parseConsoleConfig(value: unknown): ConsoleConfig {
  const result = consoleConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(root)';
  throw new Error(`${CONSOLE_CONFIG_FILE}: ${field}: ${issue?.message ?? 'invalid'}`);
}
