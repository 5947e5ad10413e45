/**
 * `caretaker datasets …`: work with dataset files before they are uploaded.
 *
 * `caretaker datasets check <files…> --dataset <name>` runs the registration's own code path
 * (streamed hash, CSV parse, profile, checks) over local files, with the rules the config
 * declares, and prints each file's sha256 (pass it as `sha256` when registering), the content
 * address the files would have under `datasets/<name>/<file name>`, and the validation result.
 * No previous version is compared (that needs the registry). Exits 1 if the files would fail.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { datasetCatalogFromConfig } from '../lib/dataset-catalog';
import { checkProfile, DatasetProfiler } from '../lambdas/datasets/profile';
import { contentAddress } from '../lambdas/datasets/records';
import { scanCsvStream } from '../lambdas/datasets/register';
import { datasetPrefix } from '../lambdas/shared/layout';
import { loadConfig } from '../lib/config';
import { commandGroup } from './group';

export function registerDatasetsCommands(program: Command): void {
  const datasets = commandGroup(program, 'datasets', 'the dataset registry, and dataset files before upload');
  datasets
    .command('check')
    .description('validate local CSV files as one dataset version, as registration would')
    .argument('<files...>', 'CSV files of one dataset version')
    .requiredOption('--dataset <name>', 'dataset name declared in the config')
    .option('--config <file>', 'config file', 'caretaker.config.json')
    .option('--json', 'print the result as JSON')
    .action(async (files: string[], options: { dataset: string; config: string; json?: boolean }) => {
      const catalog = datasetCatalogFromConfig(loadConfig(options.config));
      const rules = catalog[options.dataset];
      if (!rules) {
        throw new Error(`unknown dataset "${options.dataset}" (declared in ${options.config}: ${Object.keys(catalog).sort().join(', ')})`);
      }
      const profiler = new DatasetProfiler(rules.columns);
      const objects = [];
      for (const file of files) {
        const key = `${datasetPrefix(options.dataset)}${basename(file)}`;
        objects.push({ file, key, ...(await scanCsvStream(profiler, { key, where: file }, createReadStream(file))) });
      }
      const { reasons } = checkProfile(profiler, rules, rules.columns, undefined);
      const result = {
        dataset: options.dataset,
        status: reasons.length === 0 ? 'PASSED' : 'FAILED',
        reasons,
        rowCount: profiler.rows,
        contentAddress: contentAddress(objects),
        objects,
      };
      if (options.json) console.log(JSON.stringify(result, null, 2));
      else {
        for (const o of objects) console.log(`${o.file}: ${o.rows} rows, ${o.size} bytes, sha256 ${o.sha256}`);
        console.log(`${result.status}: ${result.rowCount} rows, content address ${result.contentAddress} (as ${datasetPrefix(options.dataset)}<file name>)`);
        for (const reason of reasons) console.log(`  - ${reason}`);
      }
      // Results are printed; the exit code says whether the files would pass.
      if (reasons.length > 0) throw new CommanderError(1, 'caretaker.datasets.failed', 'validation failed');
    });
}
