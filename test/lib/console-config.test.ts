/**
 * config.json's contract (lib/client/console-config.ts), the one the console parses and
 * ConsoleHosting writes (its runtime config is typed with CognitoConsoleConfig, so the compiler
 * holds the construct to it): the Cognito variant as the construct writes it, the local variant
 * as `caretaker local up` serves it, and bad files refused naming the field.
 */
import { describe, expect, it } from 'vitest';
import { isLocalConsoleConfig, parseConsoleConfig } from '../../lib/client/console-config';

const COGNITO = {
  apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/',
  docsUrl: 'https://d111111abcdef8.cloudfront.net/docs/',
  auth: {
    kind: 'cognito',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_AbCdEf123',
    userPoolClientId: '1example23456789abcdefghij',
    identityPoolId: 'eu-west-1:0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b',
    domain: 'https://caretaker-1234.auth.eu-west-1.amazoncognito.com',
  },
};

describe('console config.json', () => {
  it('reads the Cognito config ConsoleHosting writes', () => {
    const config = parseConsoleConfig(COGNITO);
    expect(isLocalConsoleConfig(config)).toBe(false);
    expect(config).toEqual(COGNITO);
  });

  it('reads local mode\'s config with its sign-in-as principals', () => {
    const config = parseConsoleConfig({ apiUrl: 'http://127.0.0.1:4000/', localPrincipals: [{ role: 'approver', principal: 'arn:aws:sts::1:assumed-role/approver/alice', label: 'Alice' }] });
    expect(isLocalConsoleConfig(config)).toBe(true);
  });

  it('refuses a Cognito config missing a field or of another kind, naming the field', () => {
    const { identityPoolId: _left, ...auth } = COGNITO.auth;
    expect(() => parseConsoleConfig({ ...COGNITO, auth })).toThrow(/^config\.json: auth\.identityPoolId: /);
    expect(() => parseConsoleConfig({ ...COGNITO, auth: { ...COGNITO.auth, kind: 'saml' } })).toThrow(/^config\.json: auth\.kind: /);
    // The first draft's flat shape (signInUrl, redirectUri, groups) is not what the construct writes.
    expect(() => parseConsoleConfig({ apiUrl: COGNITO.apiUrl, ...COGNITO.auth, signInUrl: COGNITO.auth.domain })).toThrow(/^config\.json: /);
  });
});
