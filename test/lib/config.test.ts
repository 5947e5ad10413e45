import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configJsonSchema, loadConfig, parseConfig, type ConfigInput } from '../../lib/config';
import { EXAMPLE_CONFIG_FILE, exampleConfigInput } from '../support/stack';

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
      'models[0].trainingImageUri ("docker.io/library/python:3"): must be an ECR image URI with a tag or digest',
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

  it('rejects a config with no models', () => {
    expect(problemsOf({ models: [] })[0]).toMatch(/^models \(\[\]\): /);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-config-'));

  it('reports a JSON syntax error with its line and column', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "models": [\n    { "name": "churn", }\n  ]\n}\n');
    expect(() => loadConfig(file)).toThrow(/broken\.json is not a valid Caretaker config:\n {2}- line 3, column 24: Expected double-quoted property name/);
  });

  it('names a file it cannot read', () => {
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/missing\.json is not a valid Caretaker config:\n {2}- cannot be read: ENOENT/);
  });
});

describe('caretaker.config.schema.json', () => {
  it('is the schema generated from the zod config (run `npm run schema` after changing lib/config.ts)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(EXAMPLE_CONFIG_FILE, '..', 'caretaker.config.schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });
});
