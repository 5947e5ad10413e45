/**
 * Local mode builds its resources from the same CloudFormation template `cdk synth` deploys,
 * never from a second hand-written description. This module synthesizes that template
 * in-process (no bundling, no account) and resolves the intrinsic functions local mode needs.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../lib/app';
import type { CaretakerConfig } from '../lib/config';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

const ROOT = join(import.meta.dirname, '..');

/** The stack's template as `cdk synth` writes it, with the feature flags from cdk.json. */
export function synthesizeTemplate(config: CaretakerConfig, stackId = 'Caretaker'): CfnTemplate {
  const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'caretaker-local-synth-'));
  const { app, stack } = buildApp({
    config,
    stackId,
    appProps: { outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } },
  });
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

/** Where an intrinsic function points once a resource exists locally. */
export interface ResolvedResource {
  /** What `Ref` returns (table/bucket name, queue URL, topic ARN …). */
  readonly ref: string;
  /** `Fn::GetAtt` attributes (`Arn`, `QueueName`, …). */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface ResolveContext {
  readonly region: string;
  readonly accountId: string;
  readonly resources: ReadonlyMap<string, ResolvedResource>;
}

export class UnresolvableError extends Error {}

/**
 * Resolves `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub` (string form), `Fn::Select`, `Fn::Split`
 * and the pseudo parameters against local resources. Anything else is an error that names
 * the expression, never a silently wrong value.
 */
export function resolveIntrinsics(value: unknown, context: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, context));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [first] = entries;
  if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
    return resolveFunction(first[0], first[1], context);
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveIntrinsics(item, context)]));
}

function pseudo(name: string, context: ResolveContext): string | undefined {
  switch (name) {
    case 'AWS::Region':
      return context.region;
    case 'AWS::AccountId':
      return context.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return 'Caretaker';
    default:
      return undefined;
  }
}

function resolveString(value: unknown, context: ResolveContext, what: string): string {
  const resolved = resolveIntrinsics(value, context);
  if (typeof resolved !== 'string') throw new UnresolvableError(`${what} did not resolve to a string: ${JSON.stringify(value)}`);
  return resolved;
}

function resolveFunction(name: string, argument: unknown, context: ResolveContext): unknown {
  switch (name) {
    case 'Ref': {
      const target = String(argument);
      const fromPseudo = pseudo(target, context);
      if (fromPseudo !== undefined) return fromPseudo;
      const resource = context.resources.get(target);
      if (!resource) throw new UnresolvableError(`Ref ${target}: no such local resource`);
      return resource.ref;
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(argument) ? (argument as string[]) : String(argument).split('.');
      const resource = context.resources.get(String(logicalId));
      const resolved = resource?.attributes[String(attribute)];
      if (resolved === undefined) throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute}: not available locally`);
      return resolved;
    }
    case 'Fn::Join': {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map((part, i) => resolveString(part, context, `Fn::Join part ${i}`)).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = argument as [number | string, unknown];
      const resolved = resolveIntrinsics(list, context);
      if (!Array.isArray(resolved)) throw new UnresolvableError('Fn::Select over a non-list');
      return resolved[Number(index)] as unknown;
    }
    case 'Fn::Split': {
      const [separator, source] = argument as [string, unknown];
      return resolveString(source, context, 'Fn::Split source').split(separator);
    }
    case 'Fn::Sub': {
      if (typeof argument !== 'string') throw new UnresolvableError('Fn::Sub with a variable map is not supported locally');
      return argument.replace(/\$\{([^}]+)\}/g, (_, expression: string) => {
        const [logicalId, attribute] = expression.split('.');
        if (attribute) return resolveString({ 'Fn::GetAtt': [logicalId, attribute] }, context, `\${${expression}}`);
        return resolveString({ Ref: logicalId }, context, `\${${expression}}`);
      });
    }
    default:
      throw new UnresolvableError(`${name} is not supported locally`);
  }
}
