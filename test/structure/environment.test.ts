import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from '../../lambdas/shared/zod';
import { auditCopierEnvironmentSchema, auditReconcilerEnvironmentSchema } from '../../lambdas/audit/environment';
import { sweepEnvironmentSchema } from '../../lambdas/api/environment';
import { apiEnvironmentSchema } from '../../lambdas/api/wiring';
import { datasetsEnvironmentSchema, newDataEnvironmentSchema } from '../../lambdas/datasets/ports';
import { analyzerEnvironmentSchema } from '../../lambdas/drift/handler';
import { mapEnvironmentSchema } from '../../lambdas/drift/map-handler';
import { eventsEnvironmentSchema } from '../../lambdas/events/handler';
import { stepsEnvironmentSchema } from '../../lambdas/pipeline/handler';
import { intakeSettingsSchema, releaseSettingsSchema, starterSettingsSchema } from '../../lambdas/retraining/settings';
import { COMMON_ENV_NAMES, environmentNames } from '../../lambdas/shared/env';
import { ENTRY_METADATA } from '../../lib/constructs/caretaker-function';
import { exampleConfigInput, synthCaretaker } from '../support/stack';
import { parseConfig } from '../../lib/config';

/**
 * The environment seam (issue 11, ../shared/STYLE.md "Seams"): each construct sets its
 * function's variables by the names in `lambdas/shared/env.ts`, and each handler entry parses
 * them at module load with one zod schema. Here the synthesized template's variables are held
 * against the schema of the function's entry, both ways, and each entry is loaded to show that
 * it really parses with that schema when its module loads.
 */

/** Each function entry (`Caretaker::Entry`, repository-relative) with the schema its module parses. */
const SCHEMAS: Readonly<Record<string, z.ZodMiniObject>> = {
  'lambdas/api/handler.ts': apiEnvironmentSchema,
  'lambdas/api/sweep.handler.ts': sweepEnvironmentSchema,
  'lambdas/audit/handler.ts': auditCopierEnvironmentSchema,
  'lambdas/audit/reconcile.handler.ts': auditReconcilerEnvironmentSchema,
  'lambdas/datasets/register.handler.ts': datasetsEnvironmentSchema,
  'lambdas/datasets/trainable.handler.ts': datasetsEnvironmentSchema,
  'lambdas/datasets/new-data.handler.ts': newDataEnvironmentSchema,
  'lambdas/drift/analyzer.handler.ts': analyzerEnvironmentSchema,
  'lambdas/drift/shard.handler.ts': mapEnvironmentSchema,
  'lambdas/drift/reduce.handler.ts': mapEnvironmentSchema,
  'lambdas/events/publisher.handler.ts': eventsEnvironmentSchema,
  'lambdas/pipeline/steps.handler.ts': stepsEnvironmentSchema,
  'lambdas/retraining/starter.handler.ts': starterSettingsSchema,
  'lambdas/retraining/release.handler.ts': releaseSettingsSchema,
  'lambdas/retraining/intake.handler.ts': intakeSettingsSchema,
};

interface SynthesizedFunction {
  readonly logicalId: string;
  readonly entry: string;
  /** Variable → its value: a string, or a CloudFormation intrinsic (resolved at deploy). */
  readonly variables: Readonly<Record<string, unknown>>;
}

function functionsOf(template: { toJSON(): unknown }): SynthesizedFunction[] {
  const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Metadata?: Record<string, unknown>; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }> }).Resources;
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && typeof r.Metadata?.[ENTRY_METADATA] === 'string')
    .map(([logicalId, r]) => ({ logicalId, entry: r.Metadata![ENTRY_METADATA] as string, variables: r.Properties?.Environment?.Variables ?? {} }));
}

/** Where a construct and a schema disagree: variables required but not set, and set but read by no schema. */
export function disagreements(fn: SynthesizedFunction, schema: z.ZodMiniObject | undefined): string[] {
  if (!schema) return [`${fn.logicalId} (${fn.entry}): no environment schema for this entry`];
  const { required, optional } = environmentNames(schema);
  const set = Object.keys(fn.variables);
  return [
    ...required.filter((name) => !set.includes(name)).map((name) => `${fn.logicalId} (${fn.entry}): ${name} is required by the schema but the construct does not set it`),
    ...set
      .filter((name) => !required.includes(name) && !optional.includes(name) && !COMMON_ENV_NAMES.includes(name))
      .map((name) => `${fn.logicalId} (${fn.entry}): ${name} is set but no schema reads it`),
  ];
}

/** A value of the shape a field accepts, standing in for a deploy-time token (a Ref or GetAtt). */
function standIn(field: z.core.$ZodType, name: string): string {
  const candidates = [`${name.toLowerCase()}-value`, 'arn:aws:states:eu-west-1:123456789012:stateMachine:x', 'https://sqs.eu-west-1.amazonaws.com/123456789012/x.fifo', 'https://d111111abcdef8.cloudfront.net', '{}'];
  const fitting = candidates.find((candidate) => z.safeParse(field, candidate).success);
  if (fitting === undefined) throw new Error(`no stand-in fits ${name}`);
  return fitting;
}

/** The configs the agreement is checked under: the example, and one with every optional part on. */
function configs() {
  const example = exampleConfigInput() as { models: { retraining?: object }[] };
  const everything = parseConfig({
    ...example,
    models: example.models.map((model) => ({ ...model, retraining: { ...model.retraining, newObjectsThreshold: 100 } })),
    events: { bus: 'create', consoleUrl: 'https://caretaker.example.com' },
  });
  return { example: parseConfig(example), everything };
}

describe('environment seam: constructs and handler schemas agree', () => {
  const synthesized = Object.entries(configs()).map(([name, config]) => ({ name, functions: functionsOf(synthCaretaker({ config }).template) }));

  it.each(synthesized)('every function of the $name stack sets exactly what its handler parses', ({ functions }) => {
    expect(functions.length).toBeGreaterThanOrEqual(11);
    expect(functions.flatMap((fn) => disagreements(fn, SCHEMAS[fn.entry]))).toEqual([]);
  });

  it('accepts every literal value a construct sets with the field that parses it', () => {
    const problems: string[] = [];
    for (const { functions } of synthesized) {
      for (const fn of functions) {
        const shape = SCHEMAS[fn.entry]!.shape;
        for (const [name, value] of Object.entries(fn.variables)) {
          if (typeof value !== 'string' || !shape[name]) continue;
          const parsed = z.safeParse(shape[name], value);
          if (!parsed.success) problems.push(`${fn.entry} ${name}=${value.slice(0, 60)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('lists a schema only for entries the stack deploys', () => {
    const deployed = new Set(synthesized.flatMap(({ functions }) => functions.map((fn) => fn.entry)));
    expect(Object.keys(SCHEMAS).filter((entry) => !deployed.has(entry))).toEqual([]);
  });

  it('finds a variable a schema requires but the construct leaves out, and one set that nothing reads', () => {
    const schema = z.object({ TABLE_NAME: z.string().check(z.minLength(1)), CONSOLE_URL: z.optional(z.string()) });
    const fn = { logicalId: 'Fn', entry: 'lambdas/x.handler.ts', variables: { POWERTOOLS_SERVICE_NAME: 'x', QUEUE_URL: 'https://q', CONSOLE_URL: 'https://c' } };
    expect(disagreements(fn, schema)).toEqual([
      'Fn (lambdas/x.handler.ts): TABLE_NAME is required by the schema but the construct does not set it',
      'Fn (lambdas/x.handler.ts): QUEUE_URL is set but no schema reads it',
    ]);
    expect(disagreements(fn, undefined)).toEqual(['Fn (lambdas/x.handler.ts): no environment schema for this entry']);
  });
});

describe('environment seam: each entry parses its schema when its module loads', () => {
  const functions = functionsOf(synthCaretaker({ config: configs().everything }).template);
  const byEntry = [...new Map(functions.map((fn) => [fn.entry, fn])).values()].map((fn) => ({ entry: fn.entry, fn }));
  const saved = { ...process.env };

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) Reflect.deleteProperty(process.env, key);
    Object.assign(process.env, saved);
    vi.resetModules();
  });

  function setEnvironment(variables: Readonly<Record<string, string>>, schema: z.ZodMiniObject): void {
    for (const name of Object.keys(schema.shape)) Reflect.deleteProperty(process.env, name);
    Object.assign(process.env, variables);
  }

  it.each(byEntry)('$entry fails at load naming every variable its schema requires', async ({ entry }) => {
    const schema = SCHEMAS[entry]!;
    setEnvironment({}, schema);
    vi.resetModules();
    const loading = import(/* @vite-ignore */ `../../${entry}`);
    const { required } = environmentNames(schema);
    expect(required.length).toBeGreaterThan(0);
    await expect(loading).rejects.toThrow(new RegExp(required.map((name) => `(?=.*\\b${name}: )`).join(''), 's'));
  });

  it.each(byEntry)('$entry loads with the environment its construct sets', async ({ entry, fn }) => {
    const schema = SCHEMAS[entry]!;
    const { shape } = schema;
    const variables = Object.fromEntries(
      Object.entries(fn.variables).map(([name, value]) => [name, typeof value === 'string' ? value : standIn(shape[name] ?? z.string(), name)]),
    );
    setEnvironment(variables, schema);
    vi.resetModules();
    const module = (await import(/* @vite-ignore */ `../../${entry}`)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
  });
});
