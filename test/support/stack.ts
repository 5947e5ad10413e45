import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/app';
import type { CaretakerStack } from '../../lib/caretaker-stack';
import { parseConfig, type CaretakerConfig, type ConfigInput } from '../../lib/config';

const ROOT = join(import.meta.dirname, '..', '..');
export const EXAMPLE_CONFIG_FILE = join(ROOT, 'caretaker.config.json');

/** The feature flags `cdk synth` reads from cdk.json; tests synthesize with the same ones. */
const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

/**
 * The example config shipped in the repo, as users start from it, with its evaluation scripts
 * named by absolute path (the file names them relative to itself), so a test may write it anywhere.
 */
export function exampleConfigInput(): ConfigInput {
  const input = JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as ConfigInput;
  return {
    ...input,
    models: input.models.map((model) =>
      model.evaluation?.script === undefined ? model : { ...model, evaluation: { ...model.evaluation, script: resolve(ROOT, model.evaluation.script) } },
    ),
  };
}

export function exampleConfig(): CaretakerConfig {
  return parseConfig(exampleConfigInput());
}

export interface SynthOptions {
  readonly config?: CaretakerConfig;
  /** Bundle Lambda code with esbuild, as `cdk synth` does. Off by default to keep tests fast. */
  readonly bundle?: boolean;
  /** Adds constructs to the stack before it is synthesized (for constructs tested alone). */
  readonly extend?: (stack: CaretakerStack) => void;
  /**
   * The built console the stack deploys. By default an empty directory, so what a test synthesizes
   * does not depend on whether `console/dist/` happens to be built (the test setup builds it).
   */
  readonly consoleAssetsPath?: string;
}

/** A minimal built console (index.html and one script), as `vite build` lays it out. */
export function fakeConsoleBuild(): string {
  const dist = mkdtempSync(join(tmpdir(), 'caretaker-console-dist-'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Caretaker</title><script type="module" src="/app.js"></script>');
  writeFileSync(join(dist, 'app.js'), 'document.title = "Caretaker";');
  return dist;
}

/** Builds the app exactly as `bin/app.ts` does (cdk-nag included) into a temporary cloud assembly. */
export function synthCaretaker(options: SynthOptions = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'caretaker-cdk-'));
  const context: Record<string, unknown> = {
    ...CDK_JSON_CONTEXT,
    ...(options.bundle ? { 'aws:cdk:enable-asset-metadata': true } : { 'aws:cdk:bundling-stacks': [] }),
  };
  const { app, stack } = buildApp({
    config: options.config ?? exampleConfig(),
    appProps: { outdir, context },
    consoleAssetsPath: options.consoleAssetsPath ?? mkdtempSync(join(tmpdir(), 'caretaker-console-not-built-')),
  });
  options.extend?.(stack);
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir };
}

type Json = Record<string, unknown>;

/** A CloudFormation value as text: `{ Ref: X }` → `<X>`, `{ Fn::GetAtt: [X, Y] }` → `<X.Y>`, `Fn::Join` joined. */
export function flat(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Json;
  if ('Ref' in v) return `<${String(v.Ref)}>`;
  if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(separator);
  }
  // CDK's asset locations: `cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}` stays as written.
  if ('Fn::Sub' in v && typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'];
  throw new Error(`flat: unexpected ${JSON.stringify(value)}`);
}

/** A construct's logical id in its stack's template. */
export const idOf = (stack: Stack, construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
