import { Capture, Match } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CaretakerFunction, ENTRY_METADATA } from '../../lib/constructs/caretaker-function';
import { synthCaretaker } from '../support/stack';

const ECHO_HANDLER = fileURLToPath(new URL('../fixtures/echo-handler.ts', import.meta.url));


describe('CaretakerFunction', () => {
  const { template, outdir } = synthCaretaker({
    bundle: true,
    extend: (stack) => {
      new CaretakerFunction(stack, 'Echo', { entry: ECHO_HANDLER, description: 'echo', encryptionKey: stack.key });
    },
  });

  it('runs Node.js 24 on arm64 with tracing and JSON logs to its own log group', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: Match.anyValue() }),
      KmsKeyArn: Match.anyValue(),
    });
  });

  it('encrypts its log group and keeps logs for three months', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ RetentionInDays: 90, KmsKeyId: Match.anyValue() }),
    });
  });

  it('may write only to its own log group (no AWSLambdaBasicExecutionRole)', () => {
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: statements },
      Roles: [{ Ref: Match.stringLikeRegexp('^EchoRole') }],
    });
    const logStatement = (statements.asArray() as { Action: string[]; Resource: unknown }[]).find((s) =>
      s.Action.includes('logs:PutLogEvents'),
    );
    expect(logStatement?.Resource).not.toContain('*');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('bundles the handler with local esbuild as one ESM file', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Metadata: { 'aws:asset:path': string };
    }[];
    const bundle = readFileSync(join(outdir, fn!.Metadata['aws:asset:path'], 'index.mjs'), 'utf8');
    expect(bundle).toMatch(/export\s*\{/);
    expect(bundle).toContain('createRequire');
  });

  it('keeps every Lambda bundle of the stack under 200 KB minified, with no X-Ray SDK inside', () => {
    const bundles = Object.entries(
      template.findResources('AWS::Lambda::Function') as Record<string, { Metadata?: Record<string, string> }>,
    )
      // Caretaker's own functions (CDK's custom-resource providers carry no entry and are not ours to size).
      .filter(([id, fn]) => fn.Metadata?.['aws:asset:path'] && fn.Metadata[ENTRY_METADATA] && !id.startsWith('Echo'))
      .map(([id, fn]) => {
        const code = readFileSync(join(outdir, fn.Metadata!['aws:asset:path']!, 'index.mjs'), 'utf8');
        return {
          id,
          kb: Buffer.byteLength(code) / 1024,
          xray: code.includes('aws-xray-sdk') || code.includes('AWSXRay'),
          // Classic zod's base class keeps its name through minification; zod/mini's is "ZodMiniType".
          classicZod: code.includes('"ZodType"'),
        };
      });
    // Reported so a change in size is visible in the test log; figures in BENCHMARKS.md.
    console.log(bundles.map((b) => `${b.id}: ${b.kb.toFixed(1)} KB`).join('\n'));
    expect(bundles.length).toBeGreaterThanOrEqual(9);
    expect(bundles.filter((b) => b.kb >= 200), 'bundles over the 200 KB budget').toEqual([]);
    expect(bundles.filter((b) => b.xray).map((b) => b.id), 'bundles carrying the X-Ray SDK').toEqual([]);
    // The API validates with zod/mini (lambdas/shared/zod.ts): one classic `from 'zod'` anywhere in
    // its graph brings every classic method back, ~40 KB (BENCHMARKS.md, "API bundle: zod classic → zod/mini").
    const api = bundles.filter((b) => b.id.startsWith('RegistryApiHandler'));
    expect(api).toHaveLength(1);
    expect(api.filter((b) => b.classicZod).map((b) => b.id), 'API bundle carrying classic zod').toEqual([]);
    // So do the pipeline steps (settings, step inputs, the drift baseline): classic zod took them to
    // 199.7 of their 200 KB (BENCHMARKS.md, "PipelineSteps bundle: zod classic → zod/mini").
    const steps = bundles.filter((b) => b.id.startsWith('PipelineSteps'));
    expect(steps).toHaveLength(1);
    expect(steps.filter((b) => b.classicZod).map((b) => b.id), 'PipelineSteps bundle carrying classic zod').toEqual([]);
  });
});
