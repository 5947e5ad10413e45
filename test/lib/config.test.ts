import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, SERVERLESS_MEMORY_SIZES_MB, configJsonSchema, loadConfig, parseConfig, type ConfigInput } from '../../lib/config';
import { renderServerlessVariant } from '../../lib/pipeline-settings';
import { sagemakerRequestErrors, sagemakerShapeConstraints } from '../support/botocore';
import { EXAMPLE_CONFIG_FILE, exampleConfigInput } from '../support/stack';

const ROOT = join(import.meta.dirname, '..', '..');

type ModelInput = ConfigInput['models'][number];

/** The example config with its first model changed by `patch`. */
function withModel(patch: (model: ModelInput) => ModelInput): ConfigInput {
  const input = exampleConfigInput();
  const [first, ...rest] = input.models;
  return { ...input, models: [patch(first!), ...rest] };
}

function problemsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseConfig', () => {
  it('accepts the shipped example and fills in defaults', () => {
    const config = loadConfig(EXAMPLE_CONFIG_FILE);
    const model = config.models[0]!;
    expect(model.training.maxWaitSeconds).toBe(14400);
    expect(model.approval.timeoutSeconds).toBe(7 * 24 * 3600);
    expect(config.removalPolicy).toBe('retain');
  });

  it('defaults to a GPU instance with managed spot and MaxWait twice MaxRuntime', () => {
    const config = parseConfig(withModel(({ training: _ignored, ...model }) => model));
    expect(config.models[0]!.training).toMatchObject({
      instanceTypes: ['ml.g5.xlarge'],
      managedSpot: true,
      maxRuntimeSeconds: 14400,
      maxWaitSeconds: 28800,
    });
  });

  it('rejects a MaxWait shorter than MaxRuntime, naming both values', () => {
    const problems = problemsOf(
      withModel((m) => ({ ...m, training: { ...m.training, maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 } })),
    );
    expect(problems).toEqual(['models[0].training.maxWaitSeconds (3600): must be ≥ maxRuntimeSeconds (7200)']);
  });

  it('rejects MaxWait on a model that does not use spot', () => {
    const problems = problemsOf(
      withModel((m) => ({ ...m, training: { ...m.training, managedSpot: false, maxWaitSeconds: 14400 } })),
    );
    expect(problems).toEqual(['models[0].training.maxWaitSeconds (14400): only applies when managedSpot is true']);
  });

  it('rejects an unknown field, naming it', () => {
    const problems = problemsOf(withModel((m) => ({ ...m, instanceTyp: 'ml.g5.xlarge' }) as ModelInput));
    expect(problems).toEqual(['models[0]: unknown field "instanceTyp"']);
  });

  it('rejects a model name that cannot be part of a SageMaker job name', () => {
    const problems = problemsOf(withModel((m) => ({ ...m, name: 'Churn_Model' })));
    expect(problems).toEqual([
      'models[0].name ("Churn_Model"): must be lowercase letters, digits and single hyphens, starting with a letter',
    ]);
  });

  it('rejects a wrong type, naming the path and the value', () => {
    const problems = problemsOf(withModel((m) => ({ ...m, training: { ...m.training, instanceCount: '2' as never } })));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^models\[0\]\.training\.instanceCount \("2"\): .*expected number/);
  });

  it('rejects an instance type that is not a SageMaker one', () => {
    const problems = problemsOf(withModel((m) => ({ ...m, training: { ...m.training, instanceTypes: ['g5.xlarge'] } })));
    expect(problems).toEqual(['models[0].training.instanceTypes[0] ("g5.xlarge"): must look like ml.<family>.<size>']);
  });

  it('rejects an objective direction it does not know', () => {
    const problems = problemsOf(withModel((m) => ({ ...m, objective: { ...m.objective, direction: 'up' as never } })));
    expect(problems[0]).toMatch(/^models\[0\]\.objective\.direction \("up"\): .*"maximize"\|"minimize"/);
  });

  it('rejects two models with the same name', () => {
    const input = exampleConfigInput();
    const problems = problemsOf({ ...input, models: [input.models[0], input.models[0]] });
    expect(problems).toEqual(['models[1].name ("churn"): duplicates models[0].name']);
  });

  it('rejects an image that is not an ECR URI', () => {
    const problems = problemsOf(withModel((m) => ({ ...m, trainingImageUri: 'docker.io/library/python:3' })));
    expect(problems).toEqual([
      'models[0].trainingImageUri ("docker.io/library/python:3"): must be an ECR image URI with a tag or digest, or sagemaker-xgboost:<version>',
    ]);
  });

  it("accepts SageMaker's XGBoost image by name (resolved per region at synth), and only that form", () => {
    expect(parseConfig(withModel((m) => ({ ...m, trainingImageUri: 'sagemaker-xgboost:1.7-1' }))).models[0]?.trainingImageUri).toBe('sagemaker-xgboost:1.7-1');
    expect(parseConfig(withModel((m) => ({ ...m, trainingImageUri: 'sagemaker-xgboost:2.1-0' }))).models[0]?.trainingImageUri).toBe('sagemaker-xgboost:2.1-0');
    expect(problemsOf(withModel((m) => ({ ...m, trainingImageUri: 'sagemaker-xgboost:latest' })))).toEqual([
      'models[0].trainingImageUri ("sagemaker-xgboost:latest"): must be an ECR image URI with a tag or digest, or sagemaker-xgboost:<version>',
    ]);
  });

  it('resolves evaluation.script against the config file and refuses one that is not there, naming the field', () => {
    // The file as shipped names it relative to itself.
    const config = parseConfig(JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')), EXAMPLE_CONFIG_FILE);
    expect(config.models[0]?.evaluation.script).toBe(join(ROOT, 'examples', 'churn-xgboost', 'evaluate.py'));
    expect(problemsOf(withModel((m) => ({ ...m, evaluation: { script: 'examples/nope.py' } })))).toEqual([
      `models[0].evaluation.script ("examples/nope.py"): no such file (${join(process.cwd(), 'examples', 'nope.py')})`,
    ]);
    expect(problemsOf(withModel((m) => ({ ...m, evaluation: { script: 'examples/churn-xgboost/README.md' } })))).toEqual([
      'models[0].evaluation.script ("examples/churn-xgboost/README.md"): must name a Python file (.py)',
    ]);
  });

  it("a SageMaker image as the evaluation image needs a script: it has no evaluate entry point", () => {
    expect(problemsOf(withModel((m) => ({ ...m, evaluation: {} })))).toEqual([
      'models[0].evaluation.script (missing): is required: the evaluation image sagemaker-xgboost:1.7-1 is SageMaker\'s and has no "evaluate" entry point; name a Python script to run in it',
    ]);
    // The team's own evaluation image brings its own entry point.
    expect(() => parseConfig(withModel((m) => ({ ...m, evaluation: { imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/eval:1' } })))).not.toThrow();
  });

  it('a SageMaker algorithm image needs columns it can encode: categories for a string feature, a numeric declared label', () => {
    const columns = (m: ModelInput) => m.dataset.columns ?? [];
    expect(
      problemsOf(withModel((m) => ({ ...m, dataset: { ...m.dataset, columns: columns(m).map((c) => (c.name === 'contract' ? { name: 'contract', type: 'string' } : c)) } }))),
    ).toEqual(['models[0].dataset.columns[3].categories (missing): required to one-hot encode a string column (sagemaker-xgboost:1.7-1 trains on the algorithm CSV format)']);
    expect(problemsOf(withModel((m) => ({ ...m, dataset: { ...m.dataset, targetColumn: 'contract' } })))).toEqual([
      'models[0].dataset.targetColumn ("contract"): must be numeric (sagemaker-xgboost:1.7-1 trains on the algorithm CSV format)',
    ]);
    const { targetColumn: _label, ...unlabeled } = exampleConfigInput().models[0]!.dataset;
    expect(problemsOf(withModel((m) => ({ ...m, dataset: unlabeled })))).toEqual([
      'models[0].dataset.targetColumn (missing): must be declared (sagemaker-xgboost:1.7-1 trains on the algorithm CSV format)',
    ]);
  });

  it('rejects a gate threshold with neither bound, and an approver that is not an IAM ARN', () => {
    const problems = problemsOf(
      withModel((m) => ({
        ...m,
        gate: { thresholds: { 'validation:auc': {} } },
        approval: { approvers: ['alice@example.com'] },
      })),
    );
    expect(problems).toEqual([
      'models[0].gate.thresholds.validation:auc ({}): needs min or max',
      'models[0].approval.approvers[0] ("alice@example.com"): must be an IAM user ARN, an IAM role ARN or a role session ARN (a Cognito caller is listed as { cognitoGroup, roleArn })',
    ]);
  });

  it('accepts approvers as user, role (with path), role session and Cognito group entries, and requireDistinctRole', () => {
    const approvers = [
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_MlApprover_0a1b2c3d4e5f6789',
      'arn:aws:sts::123456789012:assumed-role/MlApprover/alice',
      { cognitoGroup: 'ml-approvers', roleArn: 'arn:aws:iam::123456789012:role/CaretakerConsoleApprovers' },
    ];
    const config = parseConfig(withModel((m) => ({ ...m, approval: { approvers, requireDistinctRole: true } })));
    expect(config.models[0]!.approval).toMatchObject({ approvers, requireDistinctRole: true });
  });

  it('refuses a Cognito session string (every Cognito user shares it) and a group without a role ARN', () => {
    const problems = problemsOf(
      withModel((m) => ({
        ...m,
        approval: {
          approvers: [
            'arn:aws:sts::123456789012:assumed-role/CaretakerConsoleUsers/CognitoIdentityCredentials',
            { cognitoGroup: 'ml-approvers', roleArn: 'arn:aws:sts::123456789012:assumed-role/X/y' },
          ],
        },
      })),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^models\[0\]\.approval\.approvers\[0\] .*listed as \{ cognitoGroup, roleArn \}/);
    expect(problems[1]).toMatch(/^models\[0\]\.approval\.approvers\[1\]/);
  });

  it('turns the console on by default with the caretaker-readers and caretaker-approvers groups and required MFA', () => {
    const config = parseConfig(exampleConfigInput());
    expect(config.console).toEqual({ enabled: true, groups: { readers: 'caretaker-readers', approvers: 'caretaker-approvers' }, mfa: 'required' });
  });

  it('names each bad console field: equal groups, a certificate outside us-east-1, a regional web ACL, federation without a provider, unknown fields', () => {
    const problems = problemsOf({
      ...exampleConfigInput(),
      console: {
        groups: { readers: 'ml', approvers: 'ml' },
        domain: { names: ['console.example.com'], certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b' },
        webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
        federation: {},
        theme: 'dark',
      },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^console\.groups\.approvers \("ml"\): must differ from console\.groups\.readers$/),
      expect.stringMatching(/^console\.domain\.certificateArn \(.*eu-west-1.*\): must be an ACM certificate ARN in us-east-1/),
      expect.stringMatching(/^console\.webAclArn \(.*regional.*\): must be a CLOUDFRONT-scope AWS WAF web ACL ARN/),
      expect.stringMatching(/^console\.federation \(\{\}\): needs saml or oidc$/),
      'console: unknown field "theme"',
    ]);
  });

  it('checks federation providers: an https metadata URL, a secret reference for the OIDC client secret, distinct names', () => {
    const problems = problemsOf({
      ...exampleConfigInput(),
      console: {
        federation: {
          saml: { name: 'Corp', metadataUrl: 'http://idp.example.com/metadata.xml' },
          oidc: { name: 'Corp', issuerUrl: 'https://login.example.com', clientId: 'caretaker', clientSecret: 'plain-text' },
        },
      },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^console\.federation\.saml\.metadataUrl \("http:.*"\): must be an https:\/\/ URL/),
      expect.stringMatching(/^console\.federation\.oidc\.clientSecret \("plain-text"\): /),
    ]);
    const named = problemsOf({
      ...exampleConfigInput(),
      console: {
        federation: {
          saml: { name: 'Corp', metadataUrl: 'https://idp.example.com/metadata.xml' },
          oidc: { name: 'Corp', issuerUrl: 'https://login.example.com', clientId: 'caretaker', clientSecret: { secretId: 'caretaker/oidc' } },
        },
      },
    });
    expect(named).toEqual([expect.stringMatching(/^console\.federation\.oidc\.name .*must differ from federation\.saml\.name/)]);
  });

  it('accepts { cognitoGroup } alone only for console.groups.approvers of an enabled console', () => {
    const listing = (cognitoGroup: string, console?: ConfigInput['console']) => ({
      ...withModel((m) => ({ ...m, approval: { approvers: [{ cognitoGroup }] } })),
      ...(console ? { console } : {}),
    });
    expect(parseConfig(listing('caretaker-approvers')).models[0]!.approval.approvers).toEqual([{ cognitoGroup: 'caretaker-approvers' }]);
    expect(problemsOf(listing('caretaker-readers'))).toEqual([
      'models[0].approval.approvers[0].cognitoGroup ("caretaker-readers"): without roleArn must be console.groups.approvers ("caretaker-approvers"): only that group\'s role has the approve grant',
    ]);
    expect(problemsOf(listing('caretaker-approvers', { enabled: false }))).toEqual([
      'models[0].approval.approvers[0].cognitoGroup ("caretaker-approvers"): needs roleArn when console.enabled is false (no console approver role is created)',
    ]);
  });

  it('accepts the README\'s console approvers example', () => {
    const readme = readFileSync(join(EXAMPLE_CONFIG_FILE, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### The console in AWS'));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const { approval } = JSON.parse(`{${block.trim().replace(/,$/, '')}}`) as { approval: ModelInput['approval'] };
    expect(parseConfig(withModel((m) => ({ ...m, approval }))).models[0]!.approval.approvers).toEqual([{ cognitoGroup: 'caretaker-approvers' }]);
  });

  it('rejects a config with no models', () => {
    expect(problemsOf({ models: [] })[0]).toMatch(/^models \(\[\]\): /);
  });
});

describe('deployment.mode', () => {
  type DeploymentInput = NonNullable<ModelInput['deployment']>;
  const withDeployment = (deployment: unknown) => withModel((m) => ({ ...m, deployment: deployment as DeploymentInput }));
  const deploymentOf = (deployment: unknown) => parseConfig(withDeployment(deployment)).models[0]!.deployment;

  it('defaults to a realtime endpoint on a CPU instance, never a GPU', () => {
    expect(deploymentOf(undefined)).toMatchObject({ mode: 'realtime', instanceType: 'ml.m5.large', initialInstanceCount: 1, dataCapturePercent: 20 });
    expect(deploymentOf({})).toMatchObject({ mode: 'realtime', instanceType: 'ml.m5.large' });
    // The shipped example serves from a CPU instance too.
    const example = loadConfig(EXAMPLE_CONFIG_FILE).models[0]!.deployment;
    expect(example.mode === 'realtime' ? example.instanceType : example.mode).toMatch(/^(ml\.(m5|m6i|m7i|c5|c6i|c7i|t3)\.|serverless$)/);
  });

  it('fills a serverless deployment: 2 GB, 5 concurrent, all at once, no provisioned concurrency', () => {
    expect(deploymentOf({ mode: 'serverless' })).toEqual({
      mode: 'serverless',
      memorySizeInMB: 2048,
      maxConcurrency: 5,
      trafficShifting: { type: 'ALL_AT_ONCE' },
      bakeSeconds: 600,
      latencyAlarmMs: 1000,
    });
    expect(deploymentOf({ mode: 'serverless', memorySizeInMB: 6144, maxConcurrency: 200, provisionedConcurrency: 200 })).toMatchObject({ provisionedConcurrency: 200 });
  });

  it('refuses a serverless memory size that is not a 1 GB step between 1024 and 6144 MB', () => {
    for (const memorySizeInMB of [512, 1500, 7168]) {
      expect(problemsOf(withDeployment({ mode: 'serverless', memorySizeInMB }))).toEqual([
        `models[0].deployment.memorySizeInMB (${memorySizeInMB}): must be one of 1024, 2048, 3072, 4096, 5120, 6144 (ServerlessConfig.MemorySizeInMB, 1 GB steps)`,
      ]);
    }
  });

  it('refuses a serverless max concurrency outside 1–200 and provisioned concurrency above it', () => {
    expect(problemsOf(withDeployment({ mode: 'serverless', maxConcurrency: 201 }))[0]).toMatch(/^models\[0\]\.deployment\.maxConcurrency \(201\): /);
    expect(problemsOf(withDeployment({ mode: 'serverless', maxConcurrency: 0 }))[0]).toMatch(/^models\[0\]\.deployment\.maxConcurrency \(0\): /);
    expect(problemsOf(withDeployment({ mode: 'serverless', maxConcurrency: 10, provisionedConcurrency: 11 }))).toEqual([
      'models[0].deployment.provisionedConcurrency (11): must be ≤ maxConcurrency (ServerlessConfig.ProvisionedConcurrency)',
    ]);
  });

  it('refuses an instance type on a serverless endpoint (SageMaker picks CPU compute from the memory size; no GPUs)', () => {
    for (const instanceType of ['ml.g5.xlarge', 'ml.m5.large']) {
      const problems = problemsOf(withDeployment({ mode: 'serverless', instanceType }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^models\[0\]\.deployment\.instanceType \(".+"\): serverless endpoints take no instance type: .*CPU only \(no GPUs\).*serverless-endpoints\.html/);
    }
    expect(problemsOf(withDeployment({ mode: 'serverless', initialInstanceCount: 2 }))).toEqual([
      'models[0].deployment.initialInstanceCount (2): serverless endpoints have no instances: they scale with requests up to maxConcurrency',
    ]);
  });

  it('refuses data capture on a serverless endpoint, naming the drift alternative', () => {
    const problems = problemsOf(withDeployment({ mode: 'serverless', dataCapturePercent: 20 }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^models\[0\]\.deployment\.dataCapturePercent \(20\): serverless endpoints do not support data capture .*request records the caller writes/);
  });

  it('refuses canary and linear traffic shifting on a serverless endpoint', () => {
    for (const trafficShifting of [{ type: 'CANARY', canaryPercent: 10, waitSeconds: 600 }, { type: 'LINEAR' }]) {
      const problems = problemsOf(withDeployment({ mode: 'serverless', trafficShifting }));
      expect(problems[0]).toMatch(/^models\[0\]\.deployment\.trafficShifting\.type \("(CANARY|LINEAR)"\): serverless endpoints update blue\/green all at once/);
    }
    expect(deploymentOf({ mode: 'serverless', trafficShifting: { type: 'ALL_AT_ONCE' }, bakeSeconds: 300 })).toMatchObject({ bakeSeconds: 300 });
  });

  it('refuses canary and linear sizes SageMaker refuses on a realtime endpoint', () => {
    expect(problemsOf(withDeployment({ trafficShifting: { type: 'CANARY', canaryPercent: 60 } }))[0]).toMatch(
      /^models\[0\]\.deployment\.trafficShifting\.canaryPercent \(60\): must be ≤ 50/,
    );
    expect(problemsOf(withDeployment({ trafficShifting: { type: 'LINEAR', stepPercent: 5 } }))[0]).toMatch(/^models\[0\]\.deployment\.trafficShifting\.stepPercent \(5\): must be 10–50/);
    expect(deploymentOf({ trafficShifting: { type: 'LINEAR', stepPercent: 50 } })).toMatchObject({ trafficShifting: { type: 'LINEAR', stepPercent: 50, waitSeconds: 300 } });
  });

  it('fills a batch deployment and refuses one that never runs', () => {
    expect(deploymentOf({ mode: 'batch', schedule: 'cron(0 2 * * ? *)' })).toEqual({
      mode: 'batch',
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      schedule: 'cron(0 2 * * ? *)',
      onNewData: false,
      contentType: 'text/csv',
      maxPayloadInMB: 6,
      timeoutSeconds: 14400,
    });
    expect(problemsOf(withDeployment({ mode: 'batch' }))).toEqual(['models[0].deployment.schedule (missing): a batch model needs a schedule (e.g. cron(0 2 * * ? *))']);
    // On-new-data scoring is not deployed: refused at config check, naming the field, not only at synth.
    expect(problemsOf(withDeployment({ mode: 'batch', schedule: 'rate(1 day)', onNewData: true }))).toEqual([
      'models[0].deployment.onNewData (true): is not deployed by this release: batch models score on deployment.schedule; remove it or set it false',
    ]);
  });

  it('refuses endpoint fields on a batch model, and prefixes that overlap or are not S3 prefixes', () => {
    const batch = { mode: 'batch', schedule: 'rate(1 day)' };
    expect(problemsOf(withDeployment({ ...batch, trafficShifting: { type: 'ALL_AT_ONCE' } }))).toEqual([
      'models[0].deployment.trafficShifting ({"type":"ALL_AT_ONCE"}): batch models have no endpoint to shift traffic on',
    ]);
    expect(problemsOf(withDeployment({ ...batch, dataCapturePercent: 10 }))[0]).toMatch(/^models\[0\]\.deployment\.dataCapturePercent \(10\): batch models have no endpoint to capture/);
    expect(problemsOf(withDeployment({ ...batch, inputPrefix: 'batch/in/', outputPrefix: 'batch/in/scored/' }))).toEqual([
      'models[0].deployment.outputPrefix ("batch/in/scored/"): must not overlap inputPrefix (batch/in/): a job would score its own outputs',
    ]);
    expect(problemsOf(withDeployment({ ...batch, inputPrefix: '/batch/in' }))[0]).toMatch(/^models\[0\]\.deployment\.inputPrefix \("\/batch\/in"\): must be an S3 key prefix/);
    expect(problemsOf(withDeployment({ ...batch, maxPayloadInMB: 101 }))[0]).toMatch(/^models\[0\]\.deployment\.maxPayloadInMB \(101\): /);
  });

  it('bounds ServerlessConfig as botocore\'s SageMaker service model does, and no wider', () => {
    const published = sagemakerShapeConstraints('CreateEndpointConfig', ['ProductionVariants', '[]', 'ServerlessConfig']);
    expect(Object.keys(published).sort()).toEqual(['MaxConcurrency', 'MemorySizeInMB', 'ProvisionedConcurrency']);
    const accepted = (deployment: Record<string, number>) => parseConfig(withDeployment({ mode: 'serverless', ...deployment })).models[0]!.deployment;
    const refused = (deployment: Record<string, number>) => problemsOf(withDeployment({ mode: 'serverless', maxConcurrency: 200, ...deployment }));
    const memory = published.MemorySizeInMB!;
    expect([memory.min, memory.max]).toEqual([Math.min(...SERVERLESS_MEMORY_SIZES_MB), Math.max(...SERVERLESS_MEMORY_SIZES_MB)]);
    for (const field of ['maxConcurrency', 'provisionedConcurrency'] as const) {
      const bounds = published[field === 'maxConcurrency' ? 'MaxConcurrency' : 'ProvisionedConcurrency']!;
      expect(accepted({ maxConcurrency: 200, [field]: bounds.min! })).toBeTruthy();
      expect(accepted({ maxConcurrency: 200, [field]: bounds.max! })).toBeTruthy();
      expect(refused({ [field]: bounds.min! - 1 })[0]).toMatch(new RegExp(`^models\\[0\\]\\.deployment\\.${field} `));
      expect(refused({ [field]: bounds.max! + 1 })[0]).toMatch(new RegExp(`^models\\[0\\]\\.deployment\\.${field} `));
    }
  });

  it('renders a serverless variant botocore\'s SageMaker model accepts in CreateEndpointConfig, with no instance fields', () => {
    for (const deployment of [{ mode: 'serverless' }, { mode: 'serverless', memorySizeInMB: 6144, maxConcurrency: 20, provisionedConcurrency: 2 }]) {
      const parsed = deploymentOf(deployment);
      if (parsed.mode !== 'serverless') throw new Error('expected a serverless deployment');
      const variant = renderServerlessVariant(parsed, 'caretaker-churn-v1-abc123');
      expect(Object.keys(variant).sort()).toEqual(['ModelName', 'ServerlessConfig', 'VariantName']);
      expect(sagemakerRequestErrors('CreateEndpointConfig', { EndpointConfigName: 'caretaker-churn-v1-abc123', ProductionVariants: [variant] })).toEqual([]);
    }
    // The same validator refuses what the config check refuses, so the check above can fail.
    expect(sagemakerRequestErrors('CreateEndpointConfig', { EndpointConfigName: 'c', ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm', ServerlessConfig: { MemorySizeInMB: 512, MaxConcurrency: 5 } }] })[0]).toMatch(/MemorySizeInMB, value: 512/);
  });

  it('names the modes when mode is unknown', () => {
    expect(problemsOf(withDeployment({ mode: 'async' }))).toEqual(['models[0].deployment.mode ("async"): mode must be "realtime", "serverless" or "batch"']);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-config-'));

  it('reports a JSON syntax error with its line and column', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "models": [\n    { "name": "churn", }\n  ]\n}\n');
    expect(() => loadConfig(file)).toThrow(/broken\.json is not a valid Caretaker config:\n {2}- line 3, column 24: not valid JSON: Expected double-quoted property name/);
  });

  it('names a file it cannot read', () => {
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/missing\.json is not a valid Caretaker config:\n {2}- no such file$/);
  });

  it('refuses a config that is not UTF-8, naming line and byte', () => {
    const file = join(dir, 'latin1.json');
    writeFileSync(file, Buffer.from('{\n  "description": "caf\xe9"\n}\n', 'latin1'));
    expect(() => loadConfig(file)).toThrow(/latin1\.json is not a valid Caretaker config:\n {2}- line 2, byte 23: not UTF-8 text \(byte 0xe9\)/);
  });

  it('names the line and column of JSON errors whose message carries no position', () => {
    const file = join(dir, 'token.json');
    writeFileSync(file, '{\n  "models": [\n    1,,\n  ]\n}\n');
    expect(() => loadConfig(file)).toThrow(/token\.json is not a valid Caretaker config:\n {2}- line 3, column 7: not valid JSON: Unexpected token ','/);
  });
});

describe('caretaker.config.schema.json', () => {
  it('is the schema generated from the zod config (run `npm run schema` after changing lib/config.ts)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(EXAMPLE_CONFIG_FILE, '..', 'caretaker.config.schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });
});
