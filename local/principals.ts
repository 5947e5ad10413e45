/**
 * Local mode's sample people, named as API Gateway names role-session callers (the
 * `X-Caretaker-Principal` header carries the same shape): a data scientist who requests runs,
 * an ML lead who approves, and a reader who may look but not decide.
 */
export const ACCOUNT = '123456789012';
export const REQUESTER = `arn:aws:sts::${ACCOUNT}:assumed-role/data-scientist/bob`;
export const APPROVER = `arn:aws:sts::${ACCOUNT}:assumed-role/ml-lead/alice`;
export const READER = `arn:aws:sts::${ACCOUNT}:assumed-role/caretaker-reader/carol`;

/**
 * Roles that hold only the API's read grant (`grantRead`), as the console's reader role does in
 * AWS. Local mode has no IAM, so its API refuses their other calls the way API Gateway's IAM
 * authorization does (see `local/console.ts`).
 */
export const READ_ONLY_ROLES: readonly string[] = [`arn:aws:iam::${ACCOUNT}:role/caretaker-reader`];

/** The console's "sign in as" choices. */
export const CONSOLE_PRINCIPALS = [
  { role: 'requester', principal: REQUESTER, label: 'bob — data scientist (requests runs)' },
  { role: 'approver', principal: APPROVER, label: 'alice — ML lead (approves)' },
  { role: 'reader', principal: READER, label: 'carol — reader (read-only grant)' },
] as const;
