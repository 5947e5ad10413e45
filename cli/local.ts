/**
 * `caretaker local up` — the stack on this machine (moto, local SageMaker, local Step Functions,
 * the registry API over HTTP) until Ctrl-C. `caretaker demo` — the whole loop on it, end to end.
 * Local mode is loaded on demand, so the rest of the CLI starts without it.
 */
import { Option, type Command } from 'commander';
import { createServer } from 'node:net';
import { loadConfig } from '../lib/config';

/** Handler logs and EMF metric lines go to CloudWatch in AWS; locally they drown the progress. */
function quietHandlers(verbose: boolean): void {
  process.env.POWERTOOLS_LOG_LEVEL ??= verbose ? 'INFO' : 'ERROR';
  if (verbose) return;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('{"_aws":')) return true;
    return write(chunk, ...rest);
  });
}

/** Fails before anything is synthesized or started when the API's port is taken. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use: pass --port <another port> (or --port 0 for any free one)`) : error),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Runs `work` with the stack up; stops everything on return, failure, Ctrl-C or SIGTERM. */
async function withLocalStack<T>(
  options: { config: string; port?: number; verbose: boolean; console?: boolean; serving?: 'realtime' | 'serverless' | 'batch' },
  work: (stack: import('../local/stack').LocalStack, config: import('../lib/config').CaretakerConfig) => Promise<T>,
): Promise<T> {
  quietHandlers(options.verbose);
  if (options.port) await assertPortFree(options.port);
  const [{ startLocalStack }, { localConfig, NODE_EXAMPLE_IMAGE }, { xgboostStandInProblem }, { isBuiltInImage }] = await Promise.all([
    import('../local/stack'),
    import('../local/demo'),
    import('../local/sagemaker/images'),
    import('../lib/sagemaker-images'),
  ]);
  const loaded = loadConfig(options.config);
  // SageMaker's XGBoost image runs locally as the real library under Debian's python3; without it, say so and train the example's Node model.
  const problem = loaded.models.some((model) => isBuiltInImage(model.trainingImageUri)) ? xgboostStandInProblem() : undefined;
  if (problem) console.log(`Note: ${problem}.\n      Local mode trains the example's Node model (${NODE_EXAMPLE_IMAGE.split('/').pop()}, examples/churn) in place of sagemaker-xgboost.`);
  const config = localConfig(loaded, { serving: options.serving, xgboost: problem ? 'unavailable' : 'stand-in' });
  const log = options.verbose ? (line: string) => console.error(`  ${line}`) : undefined;
  console.log('Starting local mode: synthesizing the stack and creating its resources on moto …');
  const stack = await startLocalStack({ config, apiPort: options.port, log, console: options.console });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stack.close());
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping local mode …`);
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(stack, config);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
  }
}

/** Whether `npm run build:console` has run (local up serves the console only then). */
async function consoleBuilt(): Promise<boolean> {
  const { assertConsoleBuilt } = await import('../local/console');
  try {
    assertConsoleBuilt();
    return true;
  } catch {
    return false;
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be 0–65535, got ${value}`);
  return port;
}

export function registerLocalCommands(program: Command): void {
  const local = program.command('local').description('run Caretaker on this machine, without an AWS account');
  local
    .command('up')
    .description('start local mode (moto, SageMaker runner, Step Functions, registry API) until Ctrl-C')
    .option('--port <port>', 'registry API port', parsePort, 4010)
    .option('--config <file>', 'config file', 'caretaker.config.json')
    .option('--verbose', 'show the services\' and handlers\' logs')
    .action(async (options: { port: number; config: string; verbose?: boolean }) => {
      const built = await consoleBuilt();
      await withLocalStack({ config: options.config, port: options.port, verbose: options.verbose ?? false, console: built }, async (stack) => {
        const { APPROVER, REQUESTER } = await import('../local/demo');
        console.log(`
Caretaker is running locally.
  Console     ${stack.consoleUrl ?? 'not built: run npm run build:console, then local up again'}   (sign in as a sample requester, approver or reader)
  API         ${stack.apiUrl}   (name the caller in the X-Caretaker-Principal header)
  moto        ${stack.endpoints.moto}
  SageMaker   ${stack.endpoints.sagemaker}
  Steps       ${stack.endpoints.stepFunctions}

  export CARETAKER_API_URL=${stack.apiUrl}
  export CARETAKER_PRINCIPAL=${REQUESTER}   # a data scientist (requester)
  # approve as another person:  --principal ${APPROVER}
  export CARETAKER_DATASETS_BUCKET=${stack.names.datasetsBucket}   # caretaker datasets push
  export AWS_ENDPOINT_URL=${stack.endpoints.moto} AWS_ENDPOINT_URL_SFN=${stack.endpoints.stepFunctions} AWS_ENDPOINT_URL_SAGEMAKER=${stack.endpoints.sagemaker}

  Metadata table ${stack.names.table}, datasets bucket ${stack.names.datasetsBucket}
Press Ctrl-C to stop.`);
        await new Promise<never>(() => undefined);
      });
    });

  program
    .command('demo')
    .description('run the whole loop locally: data → training → gate → approval → rollout → drift → retraining → rollout')
    .option('--config <file>', 'config file', 'caretaker.config.json')
    .option('--verbose', 'show the services\' and handlers\' logs')
    .option('--console', 'keep the stack up after the loop and serve the console, to look at what it did (Ctrl-C stops)')
    .option('--port <port>', 'registry API (and console) port with --console', parsePort, 0)
    .addOption(new Option('--serving <mode>', 'serve the model as the config says (realtime), as a serverless endpoint, or as nightly Batch Transform scoring').choices(['realtime', 'serverless', 'batch']).default('realtime'))
    .action(async (options: { config: string; verbose?: boolean; console?: boolean; port: number; serving: 'realtime' | 'serverless' | 'batch' }) => {
      const { runDemo, summaryTable } = await import('../local/demo');
      if (options.console) (await import('../local/console')).assertConsoleBuilt();
      await withLocalStack({ config: options.config, verbose: options.verbose ?? false, console: options.console, port: options.port || undefined, serving: options.serving }, async (stack, config) => {
        console.log(`Registry API at ${stack.apiUrl}\n`);
        const result = await runDemo({ stack, config, print: (line) => console.log(line) });
        console.log(summaryTable(result));
        if (!options.console) {
          console.log('\nEvery step happened. Stopping local mode …');
          return;
        }
        console.log(`\nEvery step happened. The stack stays up so you can look:\n  Console     ${stack.consoleUrl ?? ''}\n  API         ${stack.apiUrl}\nPress Ctrl-C to stop.`);
        await new Promise<never>(() => undefined);
      });
    });
}
