/**
 * `caretaker` CLI. Each subcommand lives with its domain; this file only wires them up.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerDatasetsCommands } from '../cli/datasets';
import { registerApiCommands } from '../cli/api';
import { registerDriftCommands } from '../cli/drift';
import { registerLocalCommands } from '../cli/local';
import { ConfigError, loadConfig } from '../lib/config';

/** The version `npm` installed, from this package's package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('caretaker')
    .description('Caretaker: datasets, training, approvals, rollout and drift for ML models on AWS')
    .version(packageVersion(), '-V, --version', 'print the caretaker version')
    .exitOverride()
    .showHelpAfterError();

  const config = program.command('config').description('work with caretaker.config.json');
  config
    .command('check')
    .description('validate a config file and print the models it declares')
    .argument('[file]', 'config file', 'caretaker.config.json')
    .option('--json', 'print the parsed config, defaults filled in, as JSON')
    .action((file: string, options: { json?: boolean }) => {
      const parsed = loadConfig(file);
      if (options.json) {
        console.log(JSON.stringify(parsed, null, 2));
        return;
      }
      console.log(`${file}: valid, ${parsed.models.length} model${parsed.models.length === 1 ? '' : 's'}`);
      for (const model of parsed.models) {
        const training = model.training;
        console.log(
          `  ${model.name}: ${training.instanceTypes.join(' → ')}${training.managedSpot ? ' (spot)' : ''}, ` +
            `${model.objective.direction} ${model.objective.metricName}`,
        );
      }
    });

  registerDatasetsCommands(program);
  registerApiCommands(program);
  registerDriftCommands(program);
  registerLocalCommands(program);
  return program;
}

/** Runs the CLI and returns the process exit code; errors are printed, never thrown. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    console.error(`caretaker: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
