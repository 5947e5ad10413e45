/**
 * Who is calling, as one canonical principal per person.
 *
 * The deployed API trusts only what API Gateway put in `requestContext.identity` after it
 * verified the SigV4 signature (AWS_IAM authorization). The fields and their shapes, per the API
 * Gateway developer guide ("$context variables for data models, authorizers, mapping templates,
 * and access logging": `$context.identity.userArn`, `.user`, `.caller`, `.accountId`,
 * `.cognitoIdentityId`, `.cognitoIdentityPoolId`, `.cognitoAuthenticationType`,
 * `.cognitoAuthenticationProvider`) and the IAM user guide's principal table
 * (`aws:userid` / `aws:PrincipalArn` per principal type):
 *
 * | caller                              | `userArn`                                                          | `user` / `caller`          |
 * |-------------------------------------|--------------------------------------------------------------------|----------------------------|
 * | IAM user                            | `arn:aws:iam::A:user/[path/]alice`                                 | `AIDA…` (unique user id)   |
 * | role session (AssumeRole)           | `arn:aws:sts::A:assumed-role/MlApprover/alice` (role path dropped)  | `AROA…:alice`              |
 * | IAM Identity Center (SSO)           | `arn:aws:sts::A:assumed-role/AWSReservedSSO_<set>_<hash>/alice@corp` | `AROA…:alice@corp`         |
 * | Cognito identity pool               | `arn:aws:sts::A:assumed-role/<pool role>/CognitoIdentityCredentials` | `AROA…:CognitoIdentityCredentials` |
 * | federated user (GetFederationToken) | `arn:aws:sts::A:federated-user/bob`                                | `A:bob`                    |
 * | root                                | `arn:aws:iam::A:root`                                              | `A`                        |
 *
 * Cognito callers also carry `cognitoIdentityPoolId`, `cognitoIdentityId` (`<region>:<uuid>`,
 * assigned by Cognito), `cognitoAuthenticationType` (`authenticated` | `unauthenticated`) and,
 * when signed in through a user pool, `cognitoAuthenticationProvider`
 * (`cognito-idp.<region>.amazonaws.com/<poolId>,cognito-idp.<region>.amazonaws.com/<poolId>:CognitoSignIn:<sub>`).
 *
 * The canonical id (stored as `requestedBy`, `decision.by` and the audit `actor`) is the
 * `userArn`, except for Cognito callers, who all share one session name: theirs is the
 * `userArn` followed by `/` and the identity id (a session name cannot contain `/`).
 *
 * Who is the same person (separation of duties):
 * - an IAM user, a federated user: its ARN;
 * - a directly assumed role: role + session name. The session name is chosen by whoever calls
 *   AssumeRole, so one person can appear as `ds/bob` and `ds/bob-2`; `approval.requireDistinctRole`
 *   closes that gap by refusing an approver whose role is the requester's;
 * - an Identity Center session (`AWSReservedSSO_*` role): the session name, which Identity Center
 *   sets to the user's name and the user cannot choose, whatever permission set (role) is used;
 * - a Cognito identity-pool caller: the identity id.
 *
 * Local mode has no SigV4: the caller names itself in `X-Caretaker-Principal` (a canonical id as
 * above), optionally with `X-Caretaker-Cognito-Provider` (the user pool provider string), and
 * goes through the same rules.
 */
import type { APIGatewayEventIdentity, APIGatewayProxyEvent } from 'aws-lambda';
import * as z from '../shared/zod';
import { Forbidden } from '../shared/errors';

export type PrincipalKind = 'iam-user' | 'role-session' | 'identity-center' | 'cognito' | 'federated-user';

export interface Principal {
  /** The canonical id: what rules compare with stored ids and what the audit records. */
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly partition: string;
  readonly account: string;
  /** The same value for every session of the same person (see the module comment). */
  readonly person: string;
  /** The IAM role of a session, `arn:<partition>:iam::<account>:role/<name>` (the role's path is not sent). */
  readonly roleArn?: string;
  readonly roleName?: string;
  readonly sessionName?: string;
  readonly cognito?: {
    readonly identityId: string;
    readonly identityPoolId?: string;
    /** Set when the identity signed in through a Cognito user pool. */
    readonly userPool?: { readonly id: string; readonly sub: string };
  };
}

export type PrincipalResolver = (event: APIGatewayProxyEvent) => Principal;

const PARTITION = 'aws[a-z-]*';
const ACCOUNT = '\\d{12}';
/** IAM names: role and user names `[\w+=,.@-]`, session names the same (STS RoleSessionName). */
const NAME = '[\\w+=,.@-]+';
const USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user/((?:${NAME}/)*${NAME})$`);
const ROOT_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):root$`);
const ASSUMED_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/(${NAME})$`);
const FEDERATED_USER_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):federated-user/(${NAME})$`);
const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role/(?:${NAME}/)*(${NAME})$`);
/** What an approver string may be: a user ARN, a role ARN, or a role session ARN that is not a Cognito session. */
const APPROVER_ARN = new RegExp(
  `^arn:${PARTITION}:(iam::${ACCOUNT}:(user|role)/(${NAME}/)*${NAME}|sts::${ACCOUNT}:assumed-role/${NAME}/(?!CognitoIdentityCredentials$)${NAME})$`,
);
const COGNITO_IDENTITY_ID = /^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f-]{36}$/;
/** The canonical id of a Cognito caller: the session ARN, `/`, the identity id. */
const COGNITO_CANONICAL = new RegExp(`^(arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/(${NAME}))/([^/]+)$`);
const USER_POOL_PROVIDER = /cognito-idp\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([\w-]+):CognitoSignIn:([0-9a-f-]{36})$/;

/** The session name STS gives every Cognito identity-pool session. */
export const COGNITO_SESSION_NAME = 'CognitoIdentityCredentials';
/** IAM Identity Center's permission-set roles. */
const IDENTITY_CENTER_ROLE = /^AWSReservedSSO_/;

function roleSession(partition: string, account: string, roleName: string, sessionName: string, id: string) {
  return { partition, account, roleName, sessionName, roleArn: `arn:${partition}:iam::${account}:role/${roleName}`, id };
}

/**
 * Parses a canonical id (as stored in `requestedBy`, or sent by local mode) back into its
 * principal. `undefined` for anything else: automatic requesters (`caretaker:<trigger>`), root,
 * or shapes AWS does not send.
 */
export function parsePrincipal(id: string, cognitoProvider?: string | null): Principal | undefined {
  let m = USER_ARN.exec(id);
  if (m) return { id, kind: 'iam-user', partition: m[1] ?? '', account: m[2] ?? '', person: id };
  m = FEDERATED_USER_ARN.exec(id);
  if (m) return { id, kind: 'federated-user', partition: m[1] ?? '', account: m[2] ?? '', person: id, sessionName: m[3] };
  m = COGNITO_CANONICAL.exec(id);
  if (m) {
    const identityId = m[6] ?? '';
    if (m[5] !== COGNITO_SESSION_NAME || !COGNITO_IDENTITY_ID.test(identityId)) return undefined;
    const userPool = cognitoProvider ? userPoolOf(cognitoProvider) : undefined;
    return {
      ...roleSession(m[2] ?? '', m[3] ?? '', m[4] ?? '', COGNITO_SESSION_NAME, id),
      kind: 'cognito',
      person: `cognito-identity/${identityId}`,
      cognito: { identityId, ...(userPool ? { userPool } : {}) },
    };
  }
  m = ASSUMED_ROLE_ARN.exec(id);
  if (m) {
    const [, partition = '', account = '', roleName = '', sessionName = ''] = m;
    // Without its identity id a Cognito session names no one in particular.
    if (sessionName === COGNITO_SESSION_NAME) return undefined;
    if (IDENTITY_CENTER_ROLE.test(roleName)) {
      // The Identity Center user is the same person in every permission set and account.
      return { ...roleSession(partition, account, roleName, sessionName, id), kind: 'identity-center', person: `identity-center/${sessionName}` };
    }
    return { ...roleSession(partition, account, roleName, sessionName, id), kind: 'role-session', person: id };
  }
  return undefined;
}

function userPoolOf(provider: string): { id: string; sub: string } | undefined {
  const m = USER_POOL_PROVIDER.exec(provider.trim());
  return m ? { id: m[1] ?? '', sub: m[2] ?? '' } : undefined;
}

type IdentityFields = Pick<
  APIGatewayEventIdentity,
  'userArn' | 'cognitoIdentityId' | 'cognitoIdentityPoolId' | 'cognitoAuthenticationType' | 'cognitoAuthenticationProvider'
>;

/** The canonical principal of an API Gateway IAM identity; refuses root, anonymous and unknown callers. */
export function principalFromIdentity(identity: Partial<IdentityFields> | undefined): Principal {
  const arn = identity?.userArn ?? undefined;
  if (!arn) throw new Forbidden('the request carries no IAM identity');
  if (ROOT_ARN.test(arn)) throw new Forbidden('the account root user may not call this API; use an IAM role or Identity Center');
  if (identity?.cognitoAuthenticationType === 'unauthenticated') {
    throw new Forbidden('unauthenticated (guest) Cognito identities may not call this API');
  }
  const identityId = identity?.cognitoIdentityId ?? undefined;
  const assumed = ASSUMED_ROLE_ARN.exec(arn);
  if (identityId) {
    if (!assumed || assumed[4] !== COGNITO_SESSION_NAME) throw new Forbidden('a Cognito identity must arrive as its identity pool role session');
    const principal = parsePrincipal(`${arn}/${identityId}`, identity?.cognitoAuthenticationProvider);
    if (!principal?.cognito) throw new Forbidden('the Cognito identity id is not one Cognito issues');
    const identityPoolId = identity?.cognitoIdentityPoolId ?? undefined;
    return { ...principal, cognito: { ...principal.cognito, ...(identityPoolId ? { identityPoolId } : {}) } };
  }
  const principal = parsePrincipal(arn);
  if (!principal) {
    if (assumed?.[4] === COGNITO_SESSION_NAME) throw new Forbidden('a Cognito identity-pool session without its identity id names no one');
    throw new Forbidden('the caller is not an IAM user, role session, Identity Center user, Cognito identity or federated user');
  }
  return principal;
}

/** The IAM principal API Gateway verified with SigV4 (`AWS_IAM` authorization). */
export const fromIamContext: PrincipalResolver = (event) => principalFromIdentity(event.requestContext.identity);

export const LOCAL_PRINCIPAL_HEADER = 'x-caretaker-principal';
export const LOCAL_COGNITO_PROVIDER_HEADER = 'x-caretaker-cognito-provider';

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers).find(([key]) => key.toLowerCase() === name);
  return entry?.[1]?.trim() || undefined;
}

/**
 * Local mode only: the caller names itself in `X-Caretaker-Principal` with a canonical id (a
 * session ARN as API Gateway would send it, an IAM user ARN, or a Cognito caller's
 * `<session ARN>/<identity id>`), optionally `X-Caretaker-Cognito-Provider`; the same rules as
 * the deployed API refuse root and unknown shapes.
 */
export const fromLocalHeader: PrincipalResolver = (event) => {
  const value = header(event, LOCAL_PRINCIPAL_HEADER);
  if (!value || value.length > 2048) throw new Forbidden(`local mode needs the ${LOCAL_PRINCIPAL_HEADER} header`);
  const cognito = COGNITO_CANONICAL.exec(value);
  if (cognito) {
    return principalFromIdentity({
      userArn: cognito[1],
      cognitoIdentityId: cognito[6],
      cognitoAuthenticationType: 'authenticated',
      cognitoAuthenticationProvider: header(event, LOCAL_COGNITO_PROVIDER_HEADER) ?? null,
    });
  }
  return principalFromIdentity({ userArn: value });
};

// ---------------------------------------------------------------------------------------------
// Rules

/** Separation of duties: the same person, whichever session, permission set or console sign-in. */
export function samePerson(a: Principal, b: Principal): boolean {
  return a.person === b.person;
}

/** The role (or, for users, the user itself) a principal acts through. */
function roleKey(p: Principal): string {
  return p.roleArn ?? p.id;
}

export function sameRole(a: Principal, b: Principal): boolean {
  return roleKey(a) === roleKey(b);
}

/**
 * An `approval.approvers` entry:
 * - `arn:aws:iam::A:user/alice`: that IAM user;
 * - `arn:aws:iam::A:role/[path/]MlApprover`: any session of that role (role sessions, Identity
 *   Center permission-set roles, Cognito identity-pool roles). API Gateway never sends the role
 *   ARN, only the session's, which drops the path; role names are unique in an account;
 * - `arn:aws:sts::A:assumed-role/MlApprover/alice`: exactly that session (for Identity Center,
 *   that user in that permission set);
 * - `{ cognitoGroup, roleArn }`: a Cognito user pool group, known by the IAM role the identity pool
 *   assumes for its members (identity pool role resolution "choose role from token", which takes
 *   the group's role from `cognito:preferred_role`). `cognito:groups` itself never reaches an
 *   IAM-authorized API, so the group's role must be its own; a caller matches when it is a
 *   user-pool-authenticated Cognito identity acting through that role.
 */
export const approverEntrySchema = z.union([
  z.string().check(z.regex(APPROVER_ARN, 'must be an IAM user ARN, an IAM role ARN or a role session ARN (a Cognito caller is listed as { cognitoGroup, roleArn })')),
  z.strictObject({
    cognitoGroup: z.string().check(z.minLength(1), z.maxLength(128), z.describe('The user pool group (for people reading the config and the audit).')),
    roleArn: z.string().check(z.regex(ROLE_ARN, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)'), z.describe('The IAM role the identity pool assumes for the group.')),
  }),
]);
export type ApproverEntry = z.infer<typeof approverEntrySchema>;

export function matchesApprover(entry: ApproverEntry, p: Principal): boolean {
  if (typeof entry !== 'string') {
    const role = ROLE_ARN.exec(entry.roleArn);
    return p.kind === 'cognito' && p.cognito?.userPool !== undefined && role !== null && sameAccountRole(role, p);
  }
  if (USER_ARN.test(entry)) return p.kind === 'iam-user' && p.id === entry;
  const role = ROLE_ARN.exec(entry);
  if (role) return sameAccountRole(role, p);
  const session = ASSUMED_ROLE_ARN.exec(entry);
  return session !== null && (p.kind === 'role-session' || p.kind === 'identity-center') && p.id === entry;
}

function sameAccountRole(role: RegExpExecArray, p: Principal): boolean {
  return p.roleName !== undefined && role[1] === p.partition && role[2] === p.account && role[3] === p.roleName;
}

/** How an audit event shows the person behind a canonical id (the user pool subject where there is one). */
export function auditCaller(p: Principal): Record<string, string> {
  return {
    kind: p.kind,
    person: p.person,
    ...(p.roleArn ? { role: p.roleArn } : {}),
    ...(p.cognito?.userPool ? { userPool: p.cognito.userPool.id, userPoolSub: p.cognito.userPool.sub } : {}),
  };
}
