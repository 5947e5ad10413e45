import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CaretakerStack } from './caretaker-stack';
import type { CaretakerConfig } from './config';

export interface CaretakerAppOptions {
  readonly config: CaretakerConfig;
  /** Construct id (and default stack name). @default 'Caretaker' */
  readonly stackId?: string;
  /** Passed to `App` (tests use it for `outdir` and bundling context). */
  readonly appProps?: ConstructorParameters<typeof App>[0];
  /** The built console to deploy. @default CONSOLE_DIST (`console/dist/`) */
  readonly consoleAssetsPath?: string;
}

/** The app as `cdk synth` builds it: the stack, with cdk-nag's AwsSolutions pack at synth. */
export function buildApp(options: CaretakerAppOptions): { app: App; stack: CaretakerStack } {
  const app = new App(options.appProps);
  const stack = new CaretakerStack(app, options.stackId ?? 'Caretaker', {
    config: options.config,
    ...(options.consoleAssetsPath ? { consoleAssetsPath: options.consoleAssetsPath } : {}),
    description: 'Caretaker: datasets, training pipeline, approvals, rollout, drift and retraining for ML models',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
