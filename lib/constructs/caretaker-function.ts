import { CfnElement, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from '../../lambdas/shared/env';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';

const LAMBDAS_DIR = fileURLToPath(new URL('../../lambdas/', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Template metadata key holding a function's handler module, relative to the repository root. */
export const ENTRY_METADATA = 'Caretaker::Entry';

export interface CaretakerFunctionProps {
  /** Handler module, relative to `lambdas/` (e.g. `api/handler.ts`) or absolute. Its `handler` export is invoked. */
  readonly entry: string;
  /** What the function does; shown in the console. */
  readonly description: string;
  /** Key that encrypts the function's log group and environment. */
  readonly encryptionKey: kms.IKey;
  /** Environment variables, read once at module load. @default - only Powertools settings */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** Log retention. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group on stack delete. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A Lambda function as every Caretaker handler runs: Node.js 24 on arm64, ESM bundled and
 * minified with local esbuild (no Docker), the AWS SDK left to the runtime, X-Ray tracing,
 * JSON logs to its own KMS-encrypted log group with retention, and a role that may write only
 * to that log group. Callers add what else the handler needs through intent-level grants.
 */
export class CaretakerFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CaretakerFunctionProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.encryptionKey,
      removalPolicy,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: that managed policy may write
    // to every log group in the account; this one writes to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:log-stream:*`],
      }),
    );

    const serviceName = `caretaker-${id.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`;
    this.function = new NodejsFunction(this, 'Function', {
      entry: isAbsolute(props.entry) ? props.entry : `${LAMBDAS_DIR}${props.entry}`,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environmentEncryption: props.encryptionKey,
      environment: {
        [ENV.powertoolsServiceName]: serviceName,
        [ENV.powertoolsMetricsNamespace]: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // ESM bundles that pull in CommonJS dependencies need a `require` in scope.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
      },
    });

    // The role always has its default policy: the log statement above creates it.
    dependOnDefaultPolicyOnly(this.function);
    const stack = Stack.of(this);
    // Local mode runs the handler module in-process; it finds it through this (ignored by CloudFormation).
    (this.function.node.defaultChild as CfnResource).addMetadata(ENTRY_METADATA, relative(REPO_ROOT, isAbsolute(props.entry) ? props.entry : `${LAMBDAS_DIR}${props.entry}`));

    const logGroupId = stack.getLogicalId(this.logGroup.node.defaultChild as CfnElement);
    Validations.of(this.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:log-stream:*]`,
        reason: 'Lambda names its log streams at run time; the wildcard is confined to this function\'s own log group.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (tracing is on).',
      },
    );
  }
}

/**
 * Lambda's L2 makes a function depend on its whole role construct (role and default policy, so
 * the policy exists before the first call). The role half duplicates the `Role: GetAtt`, which
 * cfn-lint flags (W3005); keep only the policy. For our functions and CDK's own (BucketDeployment).
 */
export function dependOnDefaultPolicyOnly(fn: lambda.Function): void {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
  if (!policy || !CfnElement.isCfnElement(policy)) return;
  (fn.node.defaultChild as CfnResource).addOverride('DependsOn', [Stack.of(fn).getLogicalId(policy)]);
}
