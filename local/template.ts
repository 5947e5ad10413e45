/**
 * Local mode builds its resources from the same CloudFormation template `cdk synth` deploys,
 * never from a second hand-written description. This module synthesizes that template
 * in-process (no bundling, no account) and resolves the intrinsic functions local mode needs.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BucketAlreadyExists, BucketAlreadyOwnedByYou, CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
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
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

const ROOT = join(import.meta.dirname, '..');

/** A file asset `cdk deploy` uploads before the stack (cdk-assets): the file and where it goes. */
export interface FileAsset {
  readonly path: string;
  /** With `${AWS::AccountId}` / `${AWS::Region}` placeholders, as the asset manifest writes it. */
  readonly bucketName: string;
  readonly objectKey: string;
}

interface AssetManifest {
  readonly files?: Record<string, { source: { path: string; packaging?: string }; destinations: Record<string, { bucketName: string; objectKey: string }> }>;
}

/** The stack's template as `cdk synth` writes it, with the feature flags from cdk.json, and its file assets (the asset manifest's `file` entries). */
export function synthesizeStack(config: CaretakerConfig, stackId = 'Caretaker'): { readonly template: CfnTemplate; readonly fileAssets: readonly FileAsset[] } {
  const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'caretaker-local-synth-'));
  const { app, stack } = buildApp({
    config,
    stackId,
    appProps: { outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } },
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const fileAssets = artifact.dependencies
    .filter((dependency): dependency is cxapi.AssetManifestArtifact => dependency instanceof cxapi.AssetManifestArtifact)
    .flatMap((manifest) => Object.values((JSON.parse(readFileSync(manifest.file, 'utf8')) as AssetManifest).files ?? {}))
    // Directories (Lambda code, zipped) are run from source locally; single files are uploaded as `cdk deploy` would.
    .filter((asset) => (asset.source.packaging ?? 'file') === 'file')
    .flatMap((asset) => Object.values(asset.destinations).map((d) => ({ path: join(outdir, asset.source.path), bucketName: d.bucketName, objectKey: d.objectKey })));
  return { template: artifact.template as CfnTemplate, fileAssets };
}

/**
 * Uploads file assets to their bootstrap bucket, as `cdk deploy` does before it creates the stack
 * (the bucket is made if missing: `cdk bootstrap` owns it in AWS). Returns how many were uploaded.
 */
export async function publishFileAssets(s3: S3Client, assets: readonly FileAsset[], env: { readonly accountId: string; readonly region: string }): Promise<number> {
  const place = (text: string) => text.replaceAll('${AWS::AccountId}', env.accountId).replaceAll('${AWS::Region}', env.region).replaceAll('${AWS::Partition}', 'aws');
  for (const bucket of new Set(assets.map((asset) => place(asset.bucketName)))) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      // Another local stack on this moto server published first (moto answers us-east-1's re-create with BucketAlreadyExists).
      if (!(error instanceof BucketAlreadyOwnedByYou || error instanceof BucketAlreadyExists)) throw error;
    }
  }
  for (const asset of assets) {
    await s3.send(new PutObjectCommand({ Bucket: place(asset.bucketName), Key: place(asset.objectKey), Body: readFileSync(asset.path) }));
  }
  return assets.length;
}

/** The stack's template as `cdk synth` writes it. */
export function synthesizeTemplate(config: CaretakerConfig, stackId = 'Caretaker'): CfnTemplate {
  return synthesizeStack(config, stackId).template;
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
  /** The template's `Mappings`, for `Fn::FindInMap` (SageMaker's image registries per region). */
  readonly mappings?: CfnTemplate['Mappings'];
}

export class UnresolvableError extends Error {}

/**
 * Resolves `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub` (string form), `Fn::Select`, `Fn::Split`, `Fn::FindInMap`
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
    case 'Fn::FindInMap': {
      const [map, top, second] = (argument as unknown[]).map((part, i) => resolveString(part, context, `Fn::FindInMap argument ${i}`));
      const value = context.mappings?.[map ?? '']?.[top ?? '']?.[second ?? ''];
      if (value === undefined) throw new UnresolvableError(`Fn::FindInMap ${map}.${top}.${second}: no such mapping entry`);
      return value;
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
