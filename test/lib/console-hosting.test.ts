/**
 * The console's hosting and sign-in as synthesized in the Caretaker stack: CloudFront with origin
 * access control and the security headers, the private TLS-only bucket, and the identity pool's
 * roles with exactly the registry API grants they are meant to have.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations as CdkAnnotations, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { matchesApprover, principalFromIdentity, approverEntrySchema } from '../../lambdas/api/principal';
import { ROUTES } from '../../lambdas/api/schemas';
import { ConsoleHosting } from '../../lib/constructs/console-hosting';
import { parseConfig, type ConfigInput } from '../../lib/config';
import { cognito as cognitoCaller, roleSession } from '../lambdas/api/identities';
import { exampleConfigInput, flat, idOf, synthCaretaker } from '../support/stack';

type Json = Record<string, unknown>;

function resourcesOfType(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type));
}

function props(template: Template, logicalId: string): Json {
  return (template.toJSON() as { Resources: Record<string, { Properties: Json }> }).Resources[logicalId]!.Properties;
}

/** Every policy statement attached to a role, from AWS::IAM::Policy resources, inline policies and managed policies. */
function statementsOf(template: Template, roleId: string): Json[] {
  const attached = resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, r]) => ((r.Properties as Json).Roles as unknown[]).some((ref) => flat(ref) === `<${roleId}>`))
    .flatMap(([, r]) => ((r.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement);
  const role = props(template, roleId);
  const inline = ((role.Policies as { PolicyDocument: { Statement: Json[] } }[] | undefined) ?? []).flatMap((p) => p.PolicyDocument.Statement);
  expect(role.ManagedPolicyArns, `${roleId} has managed policies`).toBeUndefined();
  return [...attached, ...inline];
}

/** The execute-api ARNs an intent's routes grant, as `flat` spells them. */
function routeArns(stack: Stack, intents: readonly string[], api: { restApi: IConstruct; stage: IConstruct }): string[] {
  const prefix = `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${idOf(stack, api.restApi)}>/<${idOf(stack, api.stage)}>/`;
  return ROUTES.filter((r) => intents.includes(r.intent)).map((r) => `${prefix}${r.method}${r.path.replace(/\{[^}]+\}/g, '*')}`);
}

function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name = '', ...sources] = d.split(/\s+/);
    return [name, sources] as const;
  }));
}

describe('console hosting in the stack (default config: console on, not built)', () => {
  const { stack, template } = synthCaretaker();
  const console_ = stack.console!;
  const apiIds = { restApi: stack.api.api, stage: stack.api.api.deploymentStage };
  const bucketId = idOf(stack, console_.bucket.bucket);
  const distributionId = idOf(stack, console_.distribution);

  it('keeps the console bucket private, KMS-encrypted with its own key, and TLS-only', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [idOf(stack, console_.key), 'Arn'] } } }),
          ],
        },
        LoggingConfiguration: { DestinationBucketName: { Ref: idOf(stack, stack.accessLogs.bucket) }, LogFilePrefix: 'console/' },
      }),
      DeletionPolicy: 'Retain',
    });
    const [, policy] = resourcesOfType(template, 'AWS::S3::BucketPolicy').find(([, r]) => flat((r.Properties as Json).Bucket) === `<${bucketId}>`)!;
    const statements = ((policy.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement;
    const denies = statements.filter((s) => s.Effect === 'Deny');
    expect(denies.map((s) => s.Condition)).toEqual([{ Bool: { 'aws:SecureTransport': 'false' } }, { NumericLessThan: { 's3:TlsVersion': 1.2 } }]);
    // The only Allow: this distribution (OAC, service principal + SourceArn), read only.
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(flat(allows[0]!.Resource)).toBe(`<${bucketId}.Arn>/*`);
    expect(flat((allows[0]!.Condition as { StringEquals: Json }).StringEquals['AWS:SourceArn'])).toBe(
      `arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${distributionId}>`,
    );
  });

  it('serves the bucket through CloudFront with origin access control (SigV4), HTTPS only to viewers, and access logs', () => {
    const [oacId] = resourcesOfType(template, 'AWS::CloudFront::OriginAccessControl').map(([id]) => id);
    expect(props(template, oacId!)).toMatchObject({
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    const config = props(template, distributionId).DistributionConfig as Json;
    const [origin, ...others] = config.Origins as Json[];
    expect(others).toEqual([]);
    expect(flat(origin!.DomainName)).toBe(`<${bucketId}.RegionalDomainName>`);
    expect(flat(origin!.OriginAccessControlId)).toBe(`<${oacId}.Id>`);
    expect(origin!.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] });
    expect(flat((config.DefaultCacheBehavior as Json).ResponseHeadersPolicyId)).toBe(`<${idOf(stack, console_.responseHeadersPolicy)}>`);
    expect(flat((config.Logging as Json).Bucket)).toBe(`<${idOf(stack, console_.logBucket)}.RegionalDomainName>`);
    // CloudFront standard logs are written with ACLs: their bucket must allow them, and is itself access-logged.
    expect(props(template, idOf(stack, console_.logBucket))).toMatchObject({
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: idOf(stack, stack.accessLogs.bucket) } },
    });
    expect(config.WebACLId).toBeUndefined();
    expect(config.ViewerCertificate).toBeUndefined();
  });

  it('sends a CSP that allows only this origin, the API\'s execute-api host and the Cognito endpoints, plus HSTS, DENY, nosniff and a referrer policy', () => {
    const headers = (props(template, idOf(stack, console_.responseHeadersPolicy)).ResponseHeadersPolicyConfig as Json).SecurityHeadersConfig as Json;
    const csp = directives(flat((headers.ContentSecurityPolicy as Json).ContentSecurityPolicy));
    expect(csp.get('default-src')).toEqual(["'none'"]);
    for (const d of ['script-src', 'style-src', 'font-src']) expect(csp.get(d), d).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual([
      "'self'",
      `https://<${idOf(stack, stack.api.api)}>.execute-api.<AWS::Region>.<AWS::URLSuffix>`,
      'https://cognito-idp.<AWS::Region>.<AWS::URLSuffix>',
      'https://cognito-identity.<AWS::Region>.<AWS::URLSuffix>',
      `https://<${idOf(stack, console_.userPoolDomain)}>.auth.<AWS::Region>.amazoncognito.com`,
    ]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    const everySource = [...csp.values()].flat();
    for (const loose of ["'unsafe-inline'", "'unsafe-eval'", '*', 'http:', 'https:']) expect(everySource).not.toContain(loose);
    expect((headers.ContentSecurityPolicy as Json).Override).toBe(true);
    expect(headers.StrictTransportSecurity).toEqual({ AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true });
  });

  it('signs in through a user pool with a strong password policy, required TOTP MFA, threat protection and no self sign-up', () => {
    expect(props(template, idOf(stack, console_.userPool))).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      Policies: { PasswordPolicy: { MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      DeletionProtection: 'ACTIVE',
    });
  });

  it('gives the SPA a public client (no secret) with the authorization code flow only, redirecting to the console', () => {
    const client = props(template, idOf(stack, console_.userPoolClient));
    expect(client).toMatchObject({ GenerateSecret: false, AllowedOAuthFlows: ['code'], AllowedOAuthFlowsUserPoolClient: true, SupportedIdentityProviders: ['COGNITO'] });
    expect((client.CallbackURLs as unknown[]).map(flat)).toEqual([`https://<${distributionId}.DomainName>/`]);
    expect(client.ExplicitAuthFlows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
  });

  it('has no unauthenticated identities, and maps signed-in users to their group\'s role from the token, denying users in no group', () => {
    expect(props(template, idOf(stack, console_.identityPool))).toMatchObject({ AllowUnauthenticatedIdentities: false, AllowClassicFlow: false });
    const [[, attachment]] = resourcesOfType(template, 'AWS::Cognito::IdentityPoolRoleAttachment') as [[string, Json]];
    const mappings = Object.values((attachment.Properties as Json).RoleMappings as Record<string, Json>);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({ Type: 'Token', AmbiguousRoleResolution: 'Deny' });
    expect(flat(mappings[0]!.IdentityProvider)).toBe(`<${idOf(stack, console_.userPool)}.ProviderName>:<${idOf(stack, console_.userPoolClient)}>`);
    const groups = resourcesOfType(template, 'AWS::Cognito::UserPoolGroup').map(([, r]) => r.Properties as Json);
    expect(groups.map((g) => ({ name: g.GroupName, role: flat(g.RoleArn), precedence: g.Precedence }))).toEqual(
      expect.arrayContaining([
        { name: 'caretaker-approvers', role: `<${idOf(stack, console_.approverRole)}.Arn>`, precedence: 0 },
        { name: 'caretaker-readers', role: `<${idOf(stack, console_.readerRole)}.Arn>`, precedence: 10 },
      ]),
    );
    expect(groups).toHaveLength(2);
  });

  it('lets only authenticated identities of this identity pool assume the group roles', () => {
    for (const role of [console_.readerRole, console_.approverRole]) {
      const trust = (props(template, idOf(stack, role)).AssumeRolePolicyDocument as { Statement: Json[] }).Statement;
      expect(trust).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRoleWithWebIdentity',
          Principal: { Federated: 'cognito-identity.amazonaws.com' },
          Condition: {
            StringEquals: { 'cognito-identity.amazonaws.com:aud': { Ref: idOf(stack, console_.identityPool) } },
            'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
          },
        },
      ]);
    }
  });

  it('grants the reader role exactly the API\'s read routes, the approver role exactly read and approve, the pool\'s default roles nothing', () => {
    const grantsOf = (roleId: string) => {
      const statements = statementsOf(template, roleId);
      for (const s of statements) expect(s).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
      return statements.flatMap((s): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])).map(flat).sort();
    };
    expect(grantsOf(idOf(stack, console_.readerRole))).toEqual(routeArns(stack, ['read'], apiIds).sort());
    expect(grantsOf(idOf(stack, console_.approverRole))).toEqual(routeArns(stack, ['read', 'approve'], apiIds).sort());
    expect(routeArns(stack, ['approve'], apiIds).some((arn) => arn.endsWith('/POST/models/*/versions/*/approve'))).toBe(true);
    expect(statementsOf(template, idOf(stack, console_.identityPool.authenticatedRole))).toEqual([]);
    expect(statementsOf(template, idOf(stack, console_.identityPool.unauthenticatedRole))).toEqual([]);
  });

  it('says at synth that the console is not built, and deploys no assets', () => {
    const info = Annotations.fromStack(stack).findInfo(`/${stack.node.path}/Console`, Match.stringLikeRegexp('caretaker:consoleNotBuilt.*no index.html'));
    expect(info).toHaveLength(1);
    template.resourceCountIs('Custom::CDKBucketDeployment', 0);
  });
});

describe('console with a custom domain, WAF, federation, a built app, and the approvers group in approval.approvers', () => {
  const dist = mkdtempSync(join(tmpdir(), 'caretaker-console-dist-'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Caretaker</title><script type="module" src="/app.js"></script>');
  writeFileSync(join(dist, 'app.js'), 'document.title = "Caretaker";');
  const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
  const webAclArn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/caretaker-console/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
  const input = exampleConfigInput();
  const config = parseConfig({
    ...input,
    models: input.models.map((m, i) => (i === 0 ? { ...m, approval: { ...m.approval, approvers: [{ cognitoGroup: 'ml-approvers' }] } } : m)),
    console: {
      groups: { readers: 'ml-readers', approvers: 'ml-approvers' },
      domain: { names: ['console.example.com'], certificateArn },
      webAclArn,
      federation: {
        saml: { name: 'CorpSAML', metadataUrl: 'https://idp.example.com/saml/metadata.xml' },
        oidc: { name: 'CorpOIDC', issuerUrl: 'https://login.example.com', clientId: 'caretaker', clientSecret: { secretId: 'caretaker/oidc', jsonField: 'clientSecret' } },
      },
    },
  } satisfies ConfigInput);
  let built: ConsoleHosting | undefined;
  const { app, stack, template, outdir } = synthCaretaker({
    config,
    extend: (s) => {
      built = new ConsoleHosting(s, 'BuiltConsole', { api: s.api, accessLogsBucket: s.accessLogs.bucket, assetsPath: dist, signInDomainPrefix: 'caretaker-built-test' });
      // A second console on the stack's API, only to test the deployment of a built app: the API's one CORS origin is the first console's.
      CdkAnnotations.of(built).acknowledgeWarning('caretaker:consoleApiOriginTaken', 'second console in a test; its pages never call the API');
    },
  });
  const console_ = stack.console!;

  it('serves the custom domain with its certificate and TLSv1.2_2021, behind the web ACL', () => {
    const dc = props(template, idOf(stack, console_.distribution)).DistributionConfig as Json;
    expect(dc).toMatchObject({
      Aliases: ['console.example.com'],
      ViewerCertificate: { AcmCertificateArn: certificateArn, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
      WebACLId: webAclArn,
    });
    const client = props(template, idOf(stack, console_.userPoolClient));
    expect((client.CallbackURLs as unknown[]).map(flat)).toEqual(['https://console.example.com/', `https://<${idOf(stack, console_.distribution)}.DomainName>/`]);
    const provider = (id: string) => `<${idOf(stack, console_.node.findChild(id))}>`;
    expect((client.SupportedIdentityProviders as unknown[]).map(flat)).toEqual(['COGNITO', provider('Saml'), provider('Oidc')]);
  });

  it('federates to the SAML and OIDC providers, the OIDC secret as a Secrets Manager dynamic reference', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderName: 'CorpSAML',
      ProviderType: 'SAML',
      ProviderDetails: Match.objectLike({ MetadataURL: 'https://idp.example.com/saml/metadata.xml' }),
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderName: 'CorpOIDC',
      ProviderType: 'OIDC',
      ProviderDetails: Match.objectLike({ oidc_issuer: 'https://login.example.com', client_id: 'caretaker', client_secret: '{{resolve:secretsmanager:caretaker/oidc:SecretString:clientSecret::}}' }),
    });
  });

  it('fills { cognitoGroup } approvers with the approver role, so that group\'s signed-in members approve and the readers do not', () => {
    const fn = props(template, idOf(stack, stack.api.handler.function));
    const models = flat((fn.Environment as { Variables: Json }).Variables.MODELS);
    // Deploy time: CloudFormation puts in the role's ARN (its name is generated).
    const approverRoleArn = 'arn:aws:iam::123456789012:role/Caretaker-ConsoleApproverRoleE8EE7575-AbC123';
    const deployed = JSON.parse(models.replace(`<${idOf(stack, console_.approverRole)}.Arn>`, approverRoleArn)) as { name: string; approvers?: unknown[] }[];
    const [entry] = deployed.find((m) => m.name === config.models[0]!.name)!.approvers!;
    const parsed = approverEntrySchema.parse(entry);
    expect(parsed).toEqual({ cognitoGroup: 'ml-approvers', roleArn: approverRoleArn });
    const sub = '0f0e0d0c-0b0a-4908-8706-050403020100';
    const uuid = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    const approver = principalFromIdentity(cognitoCaller('Caretaker-ConsoleApproverRoleE8EE7575-AbC123', uuid, { userPoolSub: sub }));
    const reader = principalFromIdentity(cognitoCaller('Caretaker-ConsoleReaderRoleE9306F69-XyZ789', uuid, { userPoolSub: sub }));
    const sameRoleNotCognito = principalFromIdentity(roleSession('Caretaker-ConsoleApproverRoleE8EE7575-AbC123', 'someone'));
    expect(matchesApprover(parsed, approver)).toBe(true);
    expect(matchesApprover(parsed, reader)).toBe(false);
    expect(matchesApprover(parsed, sameRoleNotCognito)).toBe(false);
  });

  it('deploys the built app with its runtime config.json when the build exists, invalidating the distribution', () => {
    expect(built?.deployment).toBeDefined();
    const [[, deployment]] = resourcesOfType(template, 'Custom::CDKBucketDeployment') as [[string, Json]];
    const p = deployment.Properties as Json;
    expect(flat(p.DestinationBucketName)).toBe(`<${idOf(stack, built!.bucket.bucket)}>`);
    expect(flat(p.DistributionId)).toBe(`<${idOf(stack, built!.distribution)}>`);
    expect(p.SourceObjectKeys as unknown[]).toHaveLength(3);
    // config.json (console-app's contract): the markers CDK substitutes at deploy time, by field.
    const markers = JSON.stringify(p.SourceMarkers);
    const expected = {
      apiUrl: idOf(stack, stack.api.api),
      userPoolId: idOf(stack, built!.userPool),
      userPoolClientId: idOf(stack, built!.userPoolClient),
      identityPoolId: idOf(stack, built!.identityPool),
      domain: idOf(stack, built!.userPoolDomain),
      docsUrl: idOf(stack, built!.distribution),
    };
    for (const [field, logicalId] of Object.entries(expected)) expect(markers, field).toContain(logicalId);
  });

  it('has no unacknowledged cdk-nag finding with every option on and the app deployed', () => {
    app.synth({ force: true });
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const findings = report.pluginReports.flatMap((plugin) => plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)));
    expect(findings).toEqual([]);
  });
});

describe('console.enabled false, and ConsoleHosting props', () => {
  const disabled = parseConfig({ ...exampleConfigInput(), console: { enabled: false } });

  it('leaves the console out when console.enabled is false', () => {
    const { stack, template } = synthCaretaker({ config: disabled });
    expect(stack.console).toBeUndefined();
    for (const type of ['AWS::CloudFront::Distribution', 'AWS::Cognito::UserPool', 'AWS::Cognito::IdentityPool']) template.resourceCountIs(type, 0);
  });

  it('refuses domain names without a certificate, a regional web ACL and equal group names, naming the prop', () => {
    const attempt = (extra: Partial<ConstructorParameters<typeof ConsoleHosting>[2]>) => () =>
      synthCaretaker({
        config: disabled,
        extend: (s) => new ConsoleHosting(s, 'Bad', { api: s.api, accessLogsBucket: s.accessLogs.bucket, ...extra }),
      });
    expect(attempt({ domainNames: ['console.example.com'] })).toThrow(/domainNames needs certificate/);
    expect(attempt({ webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' })).toThrow(/webAclArn must be a CLOUDFRONT-scope/);
    expect(attempt({ groups: { readers: 'same', approvers: 'same' } })).toThrow(/groups.readers and groups.approvers must differ/);
    expect(attempt({ signInDomainPrefix: 'my-aws-console' })).toThrow(/signInDomainPrefix/);
  });
});
