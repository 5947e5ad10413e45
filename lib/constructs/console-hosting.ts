import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Annotations, Aws, CfnOutput, type CfnResource, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as identitypool from 'aws-cdk-lib/aws-cognito-identitypool';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { dependOnDefaultPolicyOnly } from './caretaker-function';
import type { CognitoConsoleConfig } from '../client/console-config';
import type { RegistryApi } from './registry-api';
import { warnOnDestroy } from './removal';
import { SecureBucket } from './secure-bucket';

/** Where console-app's build writes the console (`console/dist/`, with `index.html` at its top). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));
/** The runbooks the console links to (`docs/README.md#runbook-…`). */
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The user pool groups whose members get the reader and approver roles. */
export interface ConsoleGroups {
  /** May read the registry API (models, versions, runs, drift, audit). */
  readonly readers: string;
  /** May read, and approve, reject and roll back (the API's approval rules still apply). */
  readonly approvers: string;
}

/** A SAML 2.0 identity provider the user pool federates to (the company's IdP). */
export interface ConsoleSamlFederation {
  /** Provider name shown on the sign-in page and used in `identity_provider=`. */
  readonly name: string;
  /** The IdP's metadata document URL (HTTPS). Exactly one of metadataUrl and metadataXml. */
  readonly metadataUrl?: string;
  /** The IdP's metadata document itself. */
  readonly metadataXml?: string;
  /**
   * SAML attribute carrying the user's email.
   * @default 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'
   */
  readonly emailAttribute?: string;
}

/** An OpenID Connect identity provider the user pool federates to. */
export interface ConsoleOidcFederation {
  readonly name: string;
  /** The issuer URL; its `/.well-known/openid-configuration` must be reachable by Cognito. */
  readonly issuerUrl: string;
  readonly clientId: string;
  /** The client secret, e.g. `SecretValue.secretsManager(...)` (a dynamic reference, never in the template). */
  readonly clientSecret: string;
  /** @default ['openid', 'email', 'profile'] */
  readonly scopes?: string[];
}

export interface ConsoleFederation {
  /** @default - no SAML provider */
  readonly saml?: ConsoleSamlFederation;
  /** @default - no OIDC provider */
  readonly oidc?: ConsoleOidcFederation;
}

export interface ConsoleHostingProps {
  /**
   * The registry API the console calls. Its execute-api endpoint is the only API origin the
   * content security policy allows, and the sign-in roles get its `grantRead` / `grantApprove`.
   */
  readonly api: RegistryApi;
  /** Target of the buckets' server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Names of the user pool groups mapped to the reader and approver roles.
   * @default - { readers: 'caretaker-readers', approvers: 'caretaker-approvers' }
   */
  readonly groups?: ConsoleGroups;
  /**
   * The built console (a directory with `index.html` at its top). Deployed to the bucket when it
   * exists; when it does not, the bucket stays empty and synth says so in a warning.
   * @default CONSOLE_DIST (`console/dist/` at the repository root)
   */
  readonly assetsPath?: string;
  /**
   * Certificate for `domainNames`, in us-east-1 (CloudFront's region). Viewers then need
   * TLS 1.2 (security policy TLSv1.2_2021).
   * @default - the distribution's *.cloudfront.net name and certificate
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Custom domain names of the console; requires `certificate`.
   * @default - none
   */
  readonly domainNames?: string[];
  /**
   * ARN of an AWS WAF web ACL with CLOUDFRONT scope (created in us-east-1) put in front of the console.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Whether users of the pool itself (not federated ones, whose IdP does MFA) must set up a TOTP
   * authenticator (`REQUIRED`) or may (`OPTIONAL`).
   * @default cognito.Mfa.REQUIRED
   */
  readonly mfa?: cognito.Mfa.REQUIRED | cognito.Mfa.OPTIONAL;
  /**
   * Cognito threat protection (compromised credentials, adaptive authentication) in full-function
   * mode, which needs the Plus feature plan (billed per monthly active user).
   * @default true
   */
  readonly threatProtection?: boolean;
  /**
   * Whether anyone reaching the sign-in page may create an account. Group membership, not an
   * account, is what grants access; still, off unless asked for.
   * @default false
   */
  readonly selfSignUp?: boolean;
  /** @default - users of the pool only */
  readonly federation?: ConsoleFederation;
  /**
   * Prefix of the Cognito hosted sign-in domain, `<prefix>.auth.<region>.amazoncognito.com`.
   * Unique per region across all AWS accounts.
   * @default - `caretaker-<the stack's id>` (a UUID CloudFormation assigns)
   */
  readonly signInDomainPrefix?: string;
  /** @default PriceClass.PRICE_CLASS_100 (North America, Europe, Israel) */
  readonly priceClass?: cloudfront.PriceClass;
  /** The console bucket, its key, the CloudFront log bucket and the user pool. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULT_GROUPS: ConsoleGroups = { readers: 'caretaker-readers', approvers: 'caretaker-approvers' };
/** A web ACL for CloudFront: `global` scope, created in us-east-1 (AWS WAF developer guide). */
const CLOUDFRONT_WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]{1,128}\/[0-9a-f-]{36}$/;
const COGNITO_DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SAML_EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';

/** The content security policy: only this origin, the API, and Cognito. */
export function consoleContentSecurityPolicy(connect: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${connect.join(' ')}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    'upgrade-insecure-requests',
  ].join('; ');
}

/**
 * The Caretaker console in AWS: the built single-page app in a private, KMS-encrypted, TLS-only
 * S3 bucket that only this CloudFront distribution reads (origin access control); security
 * response headers (CSP allowing only the API and Cognito, HSTS, frame denial, nosniff, referrer
 * policy); CloudFront access logs; optional custom domain and WAF web ACL.
 *
 * Sign-in: a Cognito user pool (strong passwords, MFA, threat protection, no self sign-up,
 * optional SAML/OIDC federation) with a public app client (authorization code + PKCE), and an
 * identity pool that hands signed-in members of the two groups the credentials of their group's
 * role ("choose role from token": the group's IAM role arrives as `cognito:preferred_role`).
 * Identity-pool callers reach the API as `assumed-role/<role>/CognitoIdentityCredentials`, told
 * apart by their identity id (lambdas/api/principal.ts).
 */
export class ConsoleHosting extends Construct {
  /** The console assets (private; read only by the distribution). */
  public readonly bucket: SecureBucket;
  /** Encrypts the console bucket only: the key policy lets CloudFront decrypt (see the constructor). */
  public readonly key: kms.Key;
  public readonly distribution: cloudfront.Distribution;
  public readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** CloudFront standard logs (CloudFront writes them with ACLs, so a bucket of their own). */
  public readonly logBucket: s3.Bucket;
  public readonly userPool: cognito.UserPool;
  public readonly userPoolClient: cognito.UserPoolClient;
  public readonly userPoolDomain: cognito.UserPoolDomain;
  public readonly identityPool: identitypool.IdentityPool;
  /** Assumed by signed-in members of `groups.readers`: the API's read grant. */
  public readonly readerRole: iam.Role;
  /** Assumed by signed-in members of `groups.approvers`: the API's read and approve grants. */
  public readonly approverRole: iam.Role;
  public readonly groups: ConsoleGroups;
  /** Set when the console was built at synth time. */
  public readonly deployment?: s3deploy.BucketDeployment;
  private readonly host: string;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    validateProps(this, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const groups = props.groups ?? DEFAULT_GROUPS;
    this.groups = groups;
    const stack = Stack.of(this);

    // --- assets: private bucket behind CloudFront ---
    // A key of its own: with OAC on an SSE-KMS bucket, CDK's key policy lets CloudFront
    // distributions of this account decrypt (a wildcard distribution id, to avoid a circular
    // dependency). On this key that opens nothing but the console's own code.
    this.key = new kms.Key(this, 'Key', {
      description: 'Caretaker console assets',
      enableKeyRotation: true,
      removalPolicy,
    });
    warnOnDestroy(this.key, removalPolicy);
    this.bucket = new SecureBucket(this, 'Assets', {
      encryptionKey: this.key,
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'console/',
      lifecycleRules: [{ id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy,
    });
    this.logBucket = new s3.Bucket(this, 'CloudFrontLogs', {
      // CloudFront standard logging writes with ACLs (CloudFront developer guide, "Standard
      // logging (legacy)": the bucket must not use bucket-owner-enforced Object Ownership).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'console-cloudfront-logs/',
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });

    // --- sign-in ---
    const threatProtection = props.threatProtection ?? true;
    const mfa = props.mfa ?? cognito.Mfa.REQUIRED;
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: props.selfSignUp ?? false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 5,
      },
      mfa,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: threatProtection ? cognito.FeaturePlan.PLUS : cognito.FeaturePlan.ESSENTIALS,
      ...(threatProtection ? { standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION } : {}),
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
    });
    const providers = this.addFederation(props.federation);

    // The stack id's UUID part: unique across accounts and regions, and lowercase hex.
    const domainPrefix = props.signInDomainPrefix ?? Fn.join('-', ['caretaker', Fn.select(2, Fn.split('/', Aws.STACK_ID))]);
    this.userPoolDomain = this.userPool.addDomain('SignInDomain', { cognitoDomain: { domainPrefix } });
    const signInUrl = this.userPoolDomain.baseUrl();

    const apiHost = `${props.api.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    const connect = [
      `https://${apiHost}`,
      `https://cognito-idp.${stack.region}.${stack.urlSuffix}`,
      `https://cognito-identity.${stack.region}.${stack.urlSuffix}`,
      signInUrl,
    ];
    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Caretaker console: CSP (self, the API, Cognito), HSTS, no framing, nosniff, referrer policy',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: consoleContentSecurityPolicy(connect), override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Caretaker console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      ...(props.certificate
        ? { certificate: props.certificate, domainNames: props.domainNames, minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 }
        : {}),
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });

    this.host = props.domainNames?.[0] ?? this.distribution.distributionDomainName;
    // The console's pages call the API from the browser: its one CORS origin is the console's URL.
    if (props.api.browserOrigin === undefined) {
      props.api.allowBrowserOrigin(this.url);
    } else {
      Annotations.of(this).addWarningV2(
        'caretaker:consoleApiOriginTaken',
        `The API already allows another console's origin (${props.api.browserOrigin}); browsers refuse this console's calls to it (CORS allows one origin per API).`,
      );
    }
    const origins_ = [
      ...(props.domainNames ?? []).map((name) => `https://${name}`),
      `https://${this.distribution.distributionDomainName}`,
    ];
    this.userPoolClient = this.userPool.addClient('ConsoleClient', {
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: origins_.map((o) => `${o}/`),
        logoutUrls: origins_.map((o) => `${o}/`),
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO, ...providers.map((p) => cognito.UserPoolClientIdentityProvider.custom(p.providerName))],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    for (const provider of providers) this.userPoolClient.node.addDependency(provider);

    this.identityPool = new identitypool.IdentityPool(this, 'IdentityPool', {
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      authenticationProviders: {
        userPools: [new identitypool.UserPoolAuthenticationProvider({ userPool: this.userPool, userPoolClient: this.userPoolClient })],
      },
      roleMappings: [
        {
          mappingKey: 'console',
          providerUrl: identitypool.IdentityPoolProviderUrl.userPool(this.userPool, this.userPoolClient),
          // "Choose role from token": the group's role (cognito:preferred_role); a user in no group gets nothing.
          useToken: true,
          resolveAmbiguousRoles: false,
        },
      ],
    });

    // The L2 makes both depend on the whole user pool construct; the Refs already order them, and
    // cfn-lint (W3005) flags the duplicates.
    for (const resource of [this.identityPool.node.defaultChild as CfnResource, this.identityPool.roleAttachment]) resource.addDeletionOverride('DependsOn');

    const assumedBySignedIn = new iam.FederatedPrincipal(
      'cognito-identity.amazonaws.com',
      {
        StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.identityPoolId },
        'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
      },
      'sts:AssumeRoleWithWebIdentity',
    );
    this.readerRole = new iam.Role(this, 'ReaderRole', {
      assumedBy: assumedBySignedIn,
      description: `Caretaker console: members of the user pool group ${groups.readers} (read the registry API)`,
      maxSessionDuration: Duration.hours(1),
    });
    this.approverRole = new iam.Role(this, 'ApproverRole', {
      assumedBy: assumedBySignedIn,
      description: `Caretaker console: members of the user pool group ${groups.approvers} (read, approve, reject, roll back)`,
      maxSessionDuration: Duration.hours(1),
    });
    // Exactly these grants. An approver reads too: a Cognito session holds one role's
    // credentials at a time, and the version page must load before its buttons mean anything.
    props.api.grantRead(this.readerRole);
    props.api.grantRead(this.approverRole);
    props.api.grantApprove(this.approverRole);

    // Lower precedence wins cognito:preferred_role: a member of both groups is an approver.
    // Beside the pool, not in it: the identity pool depends on the user pool construct's whole subtree.
    new cognito.UserPoolGroup(this, 'ApproversGroup', { userPool: this.userPool, groupName: groups.approvers, description: 'Caretaker approvers: the console approver role', precedence: 0, role: this.approverRole });
    new cognito.UserPoolGroup(this, 'ReadersGroup', { userPool: this.userPool, groupName: groups.readers, description: 'Caretaker readers: the console reader role', precedence: 10, role: this.readerRole });

    const assetsPath = props.assetsPath ?? CONSOLE_DIST;
    // config.json as the console reads it (lib/client/console-config.ts, cognitoConsoleConfigSchema);
    // the README is deployed under docs/ for the runbook links.
    const runtimeConfig: CognitoConsoleConfig = {
      apiUrl: props.api.url,
      docsUrl: `${this.url}/docs/`,
      auth: {
        kind: 'cognito' as const,
        region: stack.region,
        userPoolId: this.userPool.userPoolId,
        userPoolClientId: this.userPoolClient.userPoolClientId,
        identityPoolId: this.identityPool.identityPoolId,
        domain: signInUrl,
      },
    };
    if (existsSync(join(assetsPath, 'index.html'))) {
      this.deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
        sources: [
          s3deploy.Source.asset(assetsPath),
          s3deploy.Source.jsonData('config.json', runtimeConfig),
          s3deploy.Source.data('docs/README.md', readFileSync(README, 'utf8')),
        ],
        destinationBucket: this.bucket.bucket,
        // Small app: browsers revalidate each file (304s); a deploy is visible at once.
        cacheControl: [s3deploy.CacheControl.noCache()],
        distribution: this.distribution,
        distributionPaths: ['/*'],
        memoryLimit: 512,
      });
      // CDK's handler for the deployment, a singleton Lambda function at the stack's top.
      dependOnDefaultPolicyOnly(this.deployment.handlerRole.node.scope as lambda.Function);
      this.acknowledgeDeploymentFindings(this.deployment);
    } else {
      // Info, not a warning: synthesizing before the console is built (tests, CI) is normal.
      Annotations.of(this).addInfo(
        `[caretaker:consoleNotBuilt] The console is not built (no index.html in ${assetsPath}): its bucket deploys empty. Build it (console/) and synthesize again to deploy it.`,
      );
    }

    this.acknowledgeInherentFindings(props, mfa, threatProtection);
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-cloudfront-origins:wildcardKeyPolicyForOac',
      'The key encrypts the console bucket only (the built app, no data); CloudFront distributions of this account may decrypt with it, and the bucket policy admits only this one.',
    );

    new CfnOutput(this, 'Url', { value: this.url, description: 'Caretaker console' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'IdentityPoolId', { value: this.identityPool.identityPoolId });
    new CfnOutput(this, 'SignInUrl', { value: signInUrl, description: 'Cognito hosted sign-in domain' });
    new CfnOutput(this, 'ReaderRoleArn', { value: this.readerRole.roleArn, description: `Role of the ${groups.readers} group` });
    new CfnOutput(this, 'ApproverRoleArn', { value: this.approverRole.roleArn, description: `Role of the ${groups.approvers} group` });
  }

  /** `https://` and the first custom domain name, or the distribution's own, without a trailing slash. */
  get url(): string {
    return `https://${this.host}`;
  }

  private addFederation(federation: ConsoleFederation | undefined): cognito.IUserPoolIdentityProvider[] {
    const providers: cognito.IUserPoolIdentityProvider[] = [];
    if (federation?.saml) {
      const saml = federation.saml;
      providers.push(
        new cognito.UserPoolIdentityProviderSaml(this, 'Saml', {
          userPool: this.userPool,
          name: saml.name,
          metadata: saml.metadataUrl
            ? cognito.UserPoolIdentityProviderSamlMetadata.url(saml.metadataUrl)
            : cognito.UserPoolIdentityProviderSamlMetadata.file(saml.metadataXml ?? ''),
          attributeMapping: { email: cognito.ProviderAttribute.other(saml.emailAttribute ?? SAML_EMAIL) },
          idpSignout: true,
        }),
      );
    }
    if (federation?.oidc) {
      const oidc = federation.oidc;
      providers.push(
        new cognito.UserPoolIdentityProviderOidc(this, 'Oidc', {
          userPool: this.userPool,
          name: oidc.name,
          issuerUrl: oidc.issuerUrl,
          clientId: oidc.clientId,
          clientSecret: oidc.clientSecret,
          scopes: oidc.scopes ?? ['openid', 'email', 'profile'],
          attributeRequestMethod: cognito.OidcAttributeRequestMethod.GET,
          attributeMapping: { email: cognito.ProviderAttribute.other('email') },
        }),
      );
    }
    return providers;
  }

  private acknowledgeInherentFindings(props: ConsoleHostingProps, mfa: cognito.Mfa, threatProtection: boolean): void {
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'The console is for the team\'s people wherever they are; sign-in and IAM, not geography, decide access.' },
      ...(props.webAclArn
        ? []
        : [{ id: 'AwsSolutions-CFR2', reason: 'No console.webAclArn configured: a CloudFront web ACL lives in us-east-1 and is the account\'s choice; the API behind it has its own WAF option and IAM auth.' }]),
      ...(props.certificate
        ? []
        : [{ id: 'AwsSolutions-CFR4', reason: 'No console.domain configured: the default *.cloudfront.net certificate, for which CloudFront fixes the policy; a custom domain gets TLSv1.2_2021.' }]),
    );
    if (mfa !== cognito.Mfa.REQUIRED) {
      Validations.of(this.userPool).acknowledge({ id: 'AwsSolutions-COG2', reason: 'console.mfa is "optional" in the config (e.g. everyone signs in through a federated IdP that does MFA).' });
    }
    if (!threatProtection) {
      Validations.of(this.userPool).acknowledge({ id: 'AwsSolutions-COG8', reason: 'Threat protection (Plus plan) is switched off in the construct props by the caller.' });
    }
  }

  /** CDK's BucketDeployment handler: one function per stack (and memory size), maintained by AWS. */
  private acknowledgeDeploymentFindings(deployment: s3deploy.BucketDeployment): void {
    const stack = Stack.of(this);
    const bucketId = stack.getLogicalId(this.bucket.bucket.node.defaultChild as CfnResource);
    const assets = `arn:<AWS::Partition>:s3:::cdk-${DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-<AWS::AccountId>-<AWS::Region>/*`;
    const grant = 'CDK\'s BucketDeployment handler';
    Validations.of(deployment.handlerRole).acknowledge(
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: `${grant} logs with the AWS managed basic execution policy.` },
      { id: `AwsSolutions-IAM5[Resource::${assets}]`, reason: `${grant} reads the console build from the CDK assets bucket (read only).` },
      { id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, reason: `${grant} syncs the console build into the console bucket, whose object keys are the app's files.` },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: `${grant} invalidates the console distribution after a deploy (CreateInvalidation/GetInvalidation as CDK grants them).` },
      ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${grant}: CDK's read/write grant on the assets bucket and the console bucket only.`,
      })),
      ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${grant} writes objects encrypted with the console key (CDK's key grant on that one key).`,
      })),
    );
    const handler = deployment.handlerRole.node.scope;
    if (handler) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'CDK\'s BucketDeployment handler: its Python runtime is the one aws-cdk-lib ships and updates, not ours to pick.',
      });
    }
  }
}

function validateProps(scope: Construct, props: ConsoleHostingProps): void {
  const fail = (message: string) => {
    throw new Error(`ConsoleHosting ${scope.node.path}: ${message}`);
  };
  if (props.domainNames?.length && !props.certificate) fail('domainNames needs certificate (an ACM certificate in us-east-1)');
  if (props.certificate && !props.domainNames?.length) fail('certificate needs domainNames (the names it covers)');
  if (props.webAclArn && !Token.isUnresolved(props.webAclArn) && !CLOUDFRONT_WEB_ACL_ARN.test(props.webAclArn)) {
    fail(`webAclArn must be a CLOUDFRONT-scope AWS WAF web ACL (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got ${props.webAclArn}`);
  }
  const groups = props.groups ?? DEFAULT_GROUPS;
  if (groups.readers === groups.approvers) fail(`groups.readers and groups.approvers must differ, got ${groups.readers} for both`);
  const prefix = props.signInDomainPrefix;
  if (prefix !== undefined && !Token.isUnresolved(prefix) && (!COGNITO_DOMAIN_PREFIX.test(prefix) || /aws|amazon|cognito/.test(prefix))) {
    fail(`signInDomainPrefix must be lowercase letters, digits and hyphens without "aws", "amazon" or "cognito", got ${prefix}`);
  }
  const saml = props.federation?.saml;
  if (saml && (saml.metadataUrl === undefined) === (saml.metadataXml === undefined)) fail('federation.saml needs exactly one of metadataUrl and metadataXml');
}

/**
 * The models with each `{ cognitoGroup }` approver entry (the console's approvers group, as the
 * config allows) given `approverRoleArn`, the role the identity pool assumes for that group —
 * what `approval.approvers` matches Cognito callers by (lambdas/api/principal.ts).
 */
export function resolveConsoleApprovers<M extends { readonly approval: { readonly approvers?: readonly (string | { readonly cognitoGroup: string; readonly roleArn?: string })[] } }>(
  models: readonly M[],
  approverRoleArn: string,
): M[] {
  return models.map((model) => {
    const approvers = model.approval.approvers;
    if (!approvers?.some((entry) => typeof entry !== 'string' && entry.roleArn === undefined)) return model;
    return {
      ...model,
      approval: {
        ...model.approval,
        approvers: approvers.map((entry) => (typeof entry === 'string' || entry.roleArn !== undefined ? entry : { cognitoGroup: entry.cognitoGroup, roleArn: approverRoleArn })),
      },
    };
  });
}
