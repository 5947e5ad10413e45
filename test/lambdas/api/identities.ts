/**
 * `requestContext.identity` as API Gateway fills it for SigV4 callers of an AWS_IAM method
 * (API Gateway developer guide, `$context.identity.*`; the IAM user guide's principal table for
 * `aws:userid`, which `user`/`caller` carry). Unset fields are `null`, as in AWS's sample events.
 */
import type { APIGatewayEventIdentity } from 'aws-lambda';

export const A = '123456789012';

function base(): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: '203.0.113.10',
    user: null,
    userAgent: 'aws-sdk-js/3',
    userArn: null,
  };
}

/** A role session (`sts:AssumeRole` with RoleSessionName). */
export function roleSession(role: string, session: string): APIGatewayEventIdentity {
  const id = `AROA3EXAMPLEROLE${role.length}:${session}`;
  return { ...base(), accountId: A, accessKey: 'ASIA3EXAMPLEKEY00001', caller: id, user: id, userArn: `arn:aws:sts::${A}:assumed-role/${role}/${session}` };
}

/** IAM Identity Center: the permission set's role, the session named by Identity Center after the user. */
export function identityCenter(permissionSet: string, user: string): APIGatewayEventIdentity {
  return roleSession(`AWSReservedSSO_${permissionSet}_0a1b2c3d4e5f6789`, user);
}

export const identityCenterRoleArn = (permissionSet: string) =>
  `arn:aws:iam::${A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_${permissionSet}_0a1b2c3d4e5f6789`;

export function iamUser(name: string): APIGatewayEventIdentity {
  return { ...base(), accountId: A, accessKey: 'AKIA3EXAMPLEKEY00001', caller: 'AIDA3EXAMPLEUSER0001', user: 'AIDA3EXAMPLEUSER0001', userArn: `arn:aws:iam::${A}:user/${name}` };
}

export function federatedUser(name: string): APIGatewayEventIdentity {
  return { ...base(), accountId: A, caller: `${A}:${name}`, user: `${A}:${name}`, userArn: `arn:aws:sts::${A}:federated-user/${name}` };
}

export function root(): APIGatewayEventIdentity {
  return { ...base(), accountId: A, caller: A, user: A, userArn: `arn:aws:iam::${A}:root` };
}

export function anonymous(): APIGatewayEventIdentity {
  return base();
}

export const USER_POOL = 'us-east-1_AbCdEf123';
export const IDENTITY_POOL = 'us-east-1:4f0e7c2a-9b1d-4e3f-8a6b-5c4d3e2f1a0b';

/**
 * A Cognito identity-pool caller. Every one of them is the session `CognitoIdentityCredentials`
 * of the pool's role; `userPoolSub` set: signed in through the user pool.
 */
export function cognito(role: string, identityUuid: string, options: { userPoolSub?: string; authenticated?: boolean } = {}): APIGatewayEventIdentity {
  const session = roleSession(role, 'CognitoIdentityCredentials');
  const provider = `cognito-idp.us-east-1.amazonaws.com/${USER_POOL}`;
  return {
    ...session,
    cognitoIdentityPoolId: IDENTITY_POOL,
    cognitoIdentityId: `us-east-1:${identityUuid}`,
    cognitoAuthenticationType: options.authenticated === false ? 'unauthenticated' : 'authenticated',
    cognitoAuthenticationProvider: options.userPoolSub ? `${provider},${provider}:CognitoSignIn:${options.userPoolSub}` : null,
  };
}

export const ALICE_UUID = '11111111-2222-4333-8444-555555555555';
export const BOB_UUID = '66666666-7777-4888-9999-aaaaaaaaaaaa';
export const ALICE_SUB = 'a1a1a1a1-b2b2-4c3c-8d4d-e5e5e5e5e5e5';
export const BOB_SUB = 'f6f6f6f6-0707-4818-9929-3a3a3a3a3a3a';
