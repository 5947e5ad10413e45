/**
 * The stack's Lambda functions, run in-process: each `AWS::Lambda::Function` of the synthesized
 * template names its handler module (`Caretaker::Entry` metadata, written by CaretakerFunction)
 * and its Environment, resolved against the local resources. A handler reads its environment
 * when its module loads or on its first invocation; both happen with exactly that function's
 * variables in `process.env`, so every handler builds its clients and settings as in Lambda.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENTRY_METADATA } from '../lib/constructs/caretaker-function';
import type { CfnTemplate } from './template';

type Handler = (event: unknown, context?: unknown) => unknown;

export interface LocalFunction {
  readonly logicalId: string;
  readonly arn: string;
  readonly name: string;
  /** Handler module, relative to the repository root. */
  readonly entry: string;
  readonly environment: Readonly<Record<string, string>>;
}

const ROOT = join(import.meta.dirname, '..');

export class LocalFunctions {
  readonly byLogicalId = new Map<string, LocalFunction>();
  private readonly handlers = new Map<string, Handler>();
  private readonly warmed = new Set<string>();

  constructor(
    template: CfnTemplate,
    resolve: (value: unknown) => unknown,
    arnOf: (logicalId: string) => { arn: string; name: string },
  ) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const entry = (resource as { Metadata?: Record<string, unknown> }).Metadata?.[ENTRY_METADATA];
      if (typeof entry !== 'string') continue; // not a CaretakerFunction (CDK's own helpers)
      const variables = ((resource.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<string, unknown>;
      const environment = resolve(variables) as Record<string, string>;
      this.byLogicalId.set(logicalId, { logicalId, entry, environment, ...arnOf(logicalId) });
    }
  }

  /** A function by logical id, ARN, or name (as `FunctionName` may give either). */
  find(reference: string): LocalFunction | undefined {
    return [...this.byLogicalId.values()].find((fn) => fn.logicalId === reference || fn.arn === reference || fn.name === reference);
  }

  /** Imports every handler module once, each with its own environment (sequentially: `process.env` is shared). */
  async load(): Promise<void> {
    for (const fn of this.byLogicalId.values()) {
      await this.withEnvironment(fn, async () => {
        const module = (await import(pathToFileURL(join(ROOT, fn.entry)).href)) as { handler?: Handler };
        if (typeof module.handler !== 'function') throw new Error(`${fn.entry} exports no handler`);
        this.handlers.set(fn.logicalId, module.handler);
      });
    }
  }

  /** Invokes a function as Lambda would (the event in, its result or error out). */
  async invoke(reference: string, event: unknown): Promise<unknown> {
    const fn = this.find(reference);
    if (!fn) throw new Error(`no local function ${reference}`);
    const handler = this.handlers.get(fn.logicalId);
    if (!handler) throw new Error(`function ${fn.logicalId} is not loaded`);
    const context = { functionName: fn.name, invokedFunctionArn: fn.arn, awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 30_000 };
    if (this.warmed.has(fn.logicalId)) return handler(event, context);
    // The first invocation may build clients and settings from process.env (synchronously, before its first await).
    this.warmed.add(fn.logicalId);
    let result: unknown;
    await this.withEnvironment(fn, () => {
      result = handler(event, context);
      return Promise.resolve();
    });
    return result;
  }

  private async withEnvironment(fn: LocalFunction, work: () => Promise<void>): Promise<void> {
    const saved = new Map(Object.keys(fn.environment).map((key) => [key, process.env[key]]));
    Object.assign(process.env, fn.environment);
    try {
      await work();
    } finally {
      for (const [key, value] of saved) {
        if (value === undefined) Reflect.deleteProperty(process.env, key);
        else process.env[key] = value;
      }
    }
  }
}
