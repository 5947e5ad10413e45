/**
 * deployment.mode "batch" synthesizes: the batch scoring state machine, its schedule, its IAM
 * (the state machine's, SageMaker's, the steps function's, the analyzer's), the failed-runs alarm,
 * and a drift monitor without endpoint alarms or an analyzer schedule for the batch model.
 * cdk-nag and cfn-lint clean on the whole stack.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { BATCH_SCORING_DEFINITION, BatchScoring, type BatchScoringProps } from '../../lib/constructs/batch-scoring';
import { parseConfig, type ConfigInput } from '../../lib/config';
import { exampleConfigInput, flat, idOf, synthCaretaker } from '../support/stack';

const run = promisify(execFile);

/** The example's realtime churn model, and a nightly batch model on the same dataset. */
function batchConfigInput(deployment: Record<string, unknown> = {}): ConfigInput {
  const example = exampleConfigInput();
  const churn = example.models[0]!;
  return {
    ...example,
    models: [churn, { ...churn, name: 'churn-nightly', deployment: { mode: 'batch', schedule: 'cron(0 2 * * ? *)', instanceType: 'ml.m5.xlarge', ...deployment } }],
  };
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

describe('BatchScoring', () => {
  const { app, stack, template, outdir } = synthCaretaker({ config: parseConfig(batchConfigInput()) });
  const scoring = stack.batchScoring!;
  const statementsOf = (roleId: string): Statement[] =>
    Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles).includes(roleId))
      .flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
  const actions = (s: Statement) => [s.Action].flat();
  const resources = (s: Statement) => [s.Resource].flat().map(flat);
  const bucketArn = `<${idOf(stack, stack.artifacts.bucket)}.Arn>`;

  it('is built only when a model is batch, and schedules each batch model at its deployment.schedule with the model in the input', () => {
    expect(synthCaretaker().stack.batchScoring).toBeUndefined();
    const input = new Capture();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      KmsKeyArn: Match.anyValue(),
      Target: { Arn: { Ref: idOf(stack, scoring.stateMachine) }, Input: input, RetryPolicy: { MaximumRetryAttempts: 3 } },
    });
    expect(JSON.parse(input.asString())).toEqual({ model: 'churn-nightly', trigger: 'schedule', drift: { psiThreshold: 0.2, minRecords: 100 } });
    expect([...scoring.schedules.keys()]).toEqual(['churn-nightly']);
  });

  it('deploys the ASL file with every placeholder substituted and a top-level timeout above the transform timeout', () => {
    const used = new Set([...readFileSync(BATCH_SCORING_DEFINITION, 'utf8').matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine')).find((r) =>
      JSON.stringify(r).includes('batch-scoring') || JSON.stringify(r).includes('ScoreBatch'),
    ) as { Properties: { DefinitionSubstitutions: Record<string, unknown>; DefinitionString: unknown } };
    expect(new Set(Object.keys(machine.Properties.DefinitionSubstitutions))).toEqual(used);
    expect(scoring.executionTimeout.toSeconds()).toBeGreaterThan(4 * 3600);
    expect(JSON.stringify(machine.Properties.DefinitionString)).toContain(`\\"TimeoutSeconds\\":${scoring.executionTimeout.toSeconds()}`);
  });

  it('lets the state machine run transform jobs under the pipeline prefix (with .sync\'s managed rule), pass only the SageMaker role, and invoke exactly the steps and analyzer functions', () => {
    const statements = statementsOf(idOf(stack, scoring.role));
    const transform = statements.find((s) => actions(s).includes('sagemaker:CreateTransformJob'))!;
    expect(actions(transform).sort()).toEqual(['sagemaker:AddTags', 'sagemaker:CreateTransformJob', 'sagemaker:DescribeTransformJob', 'sagemaker:ListTags', 'sagemaker:StopTransformJob']);
    expect(resources(transform)).toEqual(['arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:transform-job/caretaker-*']);
    const rule = statements.find((s) => actions(s).includes('events:PutRule'))!;
    expect(resources(rule)).toEqual(['arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule']);
    const pass = statements.find((s) => actions(s).includes('iam:PassRole'))!;
    expect(resources(pass)).toEqual([`<${idOf(stack, stack.pipeline.sagemakerRole)}.Arn>`]);
    expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
    const invoked = statements.filter((s) => actions(s).includes('lambda:InvokeFunction')).flatMap(resources).sort();
    const steps = `<${idOf(stack, stack.pipeline.steps.function)}.Arn>`;
    const analyzer = `<${idOf(stack, stack.drift.analyzer.function)}.Arn>`;
    expect(invoked).toEqual([analyzer, `${analyzer}:*`, steps, `${steps}:*`].sort());
    for (const s of statements) for (const action of actions(s)) expect(action).not.toMatch(/\*/);
  });

  it('lets SageMaker read only the batch input prefix and write only under the batch output prefix', () => {
    const statements = statementsOf(idOf(stack, stack.pipeline.sagemakerRole));
    const reads = statements.filter((s) => actions(s).includes('s3:GetObject')).flatMap(resources);
    expect(reads).toContain(`${bucketArn}/batch/churn-nightly/input/*`);
    expect(reads).not.toContain(`${bucketArn}/batch/churn-nightly/output/*`);
    const writes = statements.filter((s) => actions(s).includes('s3:PutObject')).flatMap(resources);
    expect(writes).toContain(`${bucketArn}/batch/churn-nightly/output/*`);
    expect(writes).not.toContain(`${bucketArn}/batch/churn-nightly/input/*`);
    const list = statements.find((s) => actions(s).includes('s3:ListBucket'))!;
    expect(JSON.stringify(list.Condition)).toContain('batch/churn-nightly/input/*');
  });

  it('lets the steps function read and move exactly the model\'s latest.json, and the analyzer read the batch input', () => {
    const steps = statementsOf(idOf(stack, stack.pipeline.steps.role));
    const pointer = steps.find((s) => resources(s).some((r) => r.endsWith('latest.json')))!;
    expect(actions(pointer).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(resources(pointer)).toEqual([`${bucketArn}/batch/churn-nightly/output/latest.json`]);
    const analyzer = statementsOf(idOf(stack, stack.drift.analyzer.role));
    expect(analyzer.filter((s) => actions(s).includes('s3:GetObject')).flatMap(resources)).toContain(`${bucketArn}/batch/churn-nightly/input/*`);
    expect(analyzer.filter((s) => actions(s).includes('s3:PutObject')).flatMap(resources)).not.toContain(`${bucketArn}/batch/churn-nightly/input/*`);
  });

  it('alarms on failed or timed-out scoring runs into the alerts topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('BatchScoring-FailedRunsAlarm'),
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut' })]),
      AlarmActions: [{ Ref: idOf(stack, stack.notifications.alerts) }],
    });
  });

  it('watches the batch model\'s drift in daily periods, with no endpoint alarms, no quality alarm and no analyzer schedule', () => {
    const alarms = stack.drift.alarms.get('churn-nightly')!;
    expect(Object.keys(alarms)).toEqual(['drift']);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Caretaker-Caretaker-churn-nightly-drift', Period: 86400, TreatMissingData: 'ignore' });
    expect([...stack.drift.schedules.keys()]).toEqual(['churn']);
    expect(stack.pipeline.rollbackAlarms['churn-nightly']).toEqual([]);
  });

  it('refuses what this release does not deploy: onNewData', () => {
    // The config check refuses it first; a config built by hand is refused by the construct too.
    expect(() => parseConfig(batchConfigInput({ onNewData: true }))).toThrow(/deployment\.onNewData \(true\): is not deployed by this release/);
    const parsed = parseConfig(batchConfigInput());
    const byHand = { ...parsed, models: parsed.models.map((m) => (m.deployment.mode === 'batch' ? { ...m, deployment: { ...m.deployment, onNewData: true } } : m)) };
    expect(() => synthCaretaker({ config: byHand })).toThrow(/models\[churn-nightly\]\.deployment\.onNewData is not deployed/);
    const realtimeOnly = { models: parseConfig(exampleConfigInput()).models } as unknown as BatchScoringProps;
    expect(() => new BatchScoring(new Stack(), 'None', realtimeOnly)).toThrow(/no model with deployment.mode "batch"/);
  });

  it('is cdk-nag clean and cfn-lint clean', async () => {
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)))).toEqual([]);
    const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f));
    const result = await run('cfn-lint', ['--format', 'parseable', '--', ...templates]).then(
      ({ stdout }) => stdout,
      (reason: unknown) => {
        const error = reason as { stdout?: string; stderr?: string };
        return `${error.stdout ?? ''}${error.stderr ?? ''}`;
      },
    );
    expect(result.trim()).toBe('');
  }, 120_000);
});
