/**
 * `caretaker` subcommands for the registry and approval API: models, versions, approve,
 * reject, retrain, rollback, runs, datasets, audit. Tables by default, `--json` for scripts,
 * non-zero exit on any error. The API URL comes from `--api-url`, `CARETAKER_API_URL`, or the
 * `ApiUrl` output that `cdk deploy --outputs-file cdk.out/outputs.json` wrote.
 */
import { existsSync } from 'node:fs';
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VERSION_STATUSES, type VersionStatus } from '../lambdas/shared/contracts';
import { CaretakerApiError, CaretakerClient, type DatasetRegistration, type DeploymentRecord } from '../lib/client';
import { FileError, readJson } from '../lib/files';
import { commandGroup } from './group';
import { awaitDecision, describeRun, followRun } from './runs';

export const DEFAULT_OUTPUTS_FILE = 'cdk.out/outputs.json';

export interface GlobalOptions {
  apiUrl?: string;
  json?: boolean;
  principal?: string;
  region?: string;
  outputs?: string;
}

/** `--api-url`, then `CARETAKER_API_URL`, then the `ApiUrl` stack output in the outputs file. */
export function resolveApiUrl(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  if (options.apiUrl) return options.apiUrl;
  if (env.CARETAKER_API_URL) return env.CARETAKER_API_URL;
  const file = options.outputs ?? DEFAULT_OUTPUTS_FILE;
  const url = stackOutput('ApiUrl', file);
  if (url !== undefined) return url;
  throw new Error(`no API URL: pass --api-url, set CARETAKER_API_URL, or deploy with --outputs-file ${file}`);
}

/** Plain aligned columns; values that are objects print as compact JSON. */
export function formatTable(rows: readonly object[], columns: readonly string[]): string {
  const cell = (value: unknown) => {
    if (value === undefined || value === null) return '-';
    if (typeof value === 'string') return value;
    return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  };
  const cells = rows.map((row) => columns.map((c) => cell((row as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** Local mode serves on loopback; the deployed API never does. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of 0 or more');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** Every API command takes the connection options itself, so other commands' flags stay theirs. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('--api-url <url>', 'API base URL (default: $CARETAKER_API_URL or the ApiUrl stack output)')
    .option('--outputs <file>', 'stack outputs file written by cdk deploy --outputs-file', DEFAULT_OUTPUTS_FILE)
    .option('--region <region>', 'region to sign requests for (default: from the URL or $AWS_REGION)')
    .option('--principal <arn>', 'local mode only: act as this principal (X-Caretaker-Principal) instead of signing', process.env.CARETAKER_PRINCIPAL)
    .option('--json', 'print JSON instead of tables');
}

/** The API client for a command's connection options (local mode: the named principal, no signing). */
export function clientFromOptions(options: GlobalOptions): CaretakerClient {
  const baseUrl = resolveApiUrl(options);
  if (!options.principal && isLoopback(baseUrl)) {
    throw new Error(
      `${baseUrl} is local mode, which takes the caller from a header instead of AWS credentials: ` +
        'local mode needs --principal or CARETAKER_PRINCIPAL (caretaker local up prints sample principals to export)',
    );
  }
  return new CaretakerClient({
    baseUrl,
    region: options.region,
    local: options.principal ? { principal: options.principal } : undefined,
  });
}

/** A stack output by name from the outputs file `cdk deploy --outputs-file` wrote, if there is one. */
export function stackOutput(name: string, file: string = DEFAULT_OUTPUTS_FILE): string | undefined {
  if (!existsSync(file)) return undefined;
  const outputs = readJson(file);
  if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs)) {
    throw new FileError(file, 'not a cdk deploy --outputs-file file: expected an object of stacks and their outputs');
  }
  for (const stack of Object.values(outputs as Record<string, unknown>)) {
    const value = stack !== null && typeof stack === 'object' ? (stack as Record<string, unknown>)[name] : undefined;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** `datasets register --objects <file>`: a JSON array of `{ key, versionId?, sha256? }`; a bad entry is named by file and index. */
export function readObjectsFile(file: string): DatasetRegistration['objects'] {
  const objects = readJson(file);
  if (!Array.isArray(objects) || objects.length === 0) {
    throw new FileError(file, 'must be a non-empty JSON array of { "key", "versionId"?, "sha256"? }');
  }
  objects.forEach((entry: unknown, i) => {
    const o = entry as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object' || Array.isArray(o) || typeof o.key !== 'string') {
      throw new FileError(file, `entry [${i}] must be an object with a string "key"`);
    }
    for (const field of Object.keys(o)) {
      if (!['key', 'versionId', 'sha256'].includes(field)) throw new FileError(file, `entry [${i}] has unknown field "${field}" (key, versionId and sha256 are taken)`);
      if (typeof o[field] !== 'string') throw new FileError(file, `entry [${i}].${field} must be a string`);
    }
  });
  return objects as DatasetRegistration['objects'];
}

/**
 * The deployment history with a status per row. A history item is written only when a
 * deployment completed (RecordDeployment, with the version going LIVE), so the newest item of
 * the live version is `LIVE` and every other one `REPLACED` (by the next row up).
 */
export function deploymentRows(deployments: readonly DeploymentRecord[], liveVersion: number | undefined): object[] {
  const newestFirst = [...deployments].sort((a, b) => b.at.localeCompare(a.at));
  return newestFirst.map((d, i) => ({
    ...d,
    previous: d.previousVersion,
    status: d.status ?? (i === 0 && d.version === liveVersion ? 'LIVE' : `REPLACED${newestFirst[i - 1] ? ` by v${newestFirst[i - 1]?.version}` : ''}`),
  }));
}

export function registerApiCommands(program: Command): void {
  const api = (parent: Command, name: string) => withConnectionOptions(parent.command(name));
  const globals = (cmd: Command) => cmd.opts<GlobalOptions>();
  const clientFor = (cmd: Command) => clientFromOptions(globals(cmd));
  /** Runs a command; API errors become one readable line (plus field details) and exit code 1. */
  const run =
    (fn: (cmd: Command, ...positional: never[]) => Promise<void>) =>
    async (...args: unknown[]) => {
      // commander calls actions with (...positional, options, command).
      const cmd = args.at(-1) as Command;
      try {
        await fn(cmd, ...(args.slice(0, -2) as never[]));
      } catch (error) {
        if (error instanceof CaretakerApiError) {
          const details = (error.details ?? []).map((d) => `\n  ${d.field ?? ''}: ${d.message}`).join('');
          throw new Error(`${error.code} (${error.status}): ${error.message}${details}`);
        }
        throw error;
      }
    };
  const print = (cmd: Command, value: unknown, human: () => string) => {
    console.log(globals(cmd).json ? JSON.stringify(value, null, 2) : human());
  };
  const more = (nextToken?: string) => (nextToken ? `\n(more: --next-token ${nextToken})` : '');

  const models = program.command('models').description('models from the config, with their live and latest versions');
  api(models, 'list')
    .description('list models')
    .action(
      run(async (cmd) => {
        const result = await clientFor(cmd).listModels();
        print(cmd, result, () =>
          formatTable(
            result.models.map((m) => ({ model: m.name, live: m.liveVersion, latest: m.latestVersion?.version, status: m.latestVersion?.status, objective: `${m.objective.direction} ${m.objective.metricName}` })),
            ['model', 'live', 'latest', 'status', 'objective'],
          ),
        );
      }),
    );
  api(models, 'show')
    .description('one model: config summary, live version, deployments')
    .argument('<model>')
    .action(
      run(async (cmd, model: string) => {
        const result = await clientFor(cmd).getModel(model);
        print(cmd, result, () =>
          [
            `${result.model.name}: live version ${result.live?.version ?? '-'}`,
            formatTable(deploymentRows(result.deployments, result.live?.version), ['at', 'version', 'previous', 'status', 'endpointConfigName']),
          ].join('\n'),
        );
      }),
    );

  const versions = program.command('versions').description('model versions');
  api(versions, 'list')
    .description('versions newest first')
    .argument('<model>')
    .addOption(new Option('--status <status>', 'only versions with this status').choices(VERSION_STATUSES))
    .option('--limit <n>', 'page size', positiveInt)
    .option('--next-token <token>', 'continue from a previous page')
    .action(
      run(async (cmd, model: string) => {
        const o = cmd.opts<{ status?: VersionStatus; limit?: number; nextToken?: string }>();
        const page = await clientFor(cmd).listVersions(model, { status: o.status, limit: o.limit, nextToken: o.nextToken });
        print(cmd, page, () => formatTable(page.items.map((v) => ({ ...v, metric: v.comparison.candidate, champion: v.comparison.champion })), ['version', 'status', 'metric', 'champion', 'datasetVersion', 'createdAt']) + more(page.nextToken));
      }),
    );
  api(versions, 'show')
    .description('one version: metrics vs champion, dataset, training job, run, decision')
    .argument('<model>')
    .argument('<version>', 'version number', positiveInt)
    .action(
      run(async (cmd, model: string, version: number) => {
        const v = await clientFor(cmd).getVersion(model, version);
        print(cmd, v, () =>
          formatTable(
            [
              { field: 'status', value: v.status },
              { field: v.comparison.metricName, value: `${v.comparison.candidate} (champion ${v.comparison.champion ?? '-'}, ${v.comparison.direction})` },
              { field: 'dataset', value: `${v.datasetName}@${v.datasetVersion}` },
              { field: 'training job', value: v.trainingJobName },
              { field: 'image', value: v.imageUri },
              { field: 'hyperparameters', value: v.hyperparameters },
              { field: 'run', value: `${v.runId} (${v.run?.status ?? '?'})` },
              { field: 'requested by', value: v.requestedBy },
              { field: 'decision', value: v.decision ? `${v.decision.decision} by ${v.decision.by} at ${v.decision.at}: ${v.decision.reason}` : undefined },
            ],
            ['field', 'value'],
          ),
        );
      }),
    );

  for (const kind of ['approve', 'reject'] as const) {
    api(program, kind)
      .description(kind === 'approve' ? 'approve a pending version (resumes its pipeline)' : 'reject a pending version (ends its run)')
      .argument('<model>')
      .argument('<version>', 'version number', positiveInt)
      .requiredOption('--reason <text>', 'why (kept in the audit trail)')
      .action(
        run(async (cmd, model: string, version: number) => {
          const { reason } = cmd.opts<{ reason: string }>();
          const client = clientFor(cmd);
          const result = kind === 'approve' ? await client.approve(model, version, reason) : await client.reject(model, version, reason);
          print(cmd, result, () => `${model} version ${version}: ${result.status} by ${result.decision.by}`);
        }),
      );
  }

  api(program, 'retrain')
    .description('request a retraining run, and say whether it started or was suppressed')
    .argument('<model>')
    .requiredOption('--reason <text>', 'why')
    .option('--dataset-version <version>', 'train on this dataset version')
    .option('--idempotency-key <key>', 'repeat-safe key: the same key returns the same run (default: one per command, kept for its retries)')
    .option('--wait <seconds>', 'seconds to wait for the retraining starter\'s decision (0: do not wait)', nonNegativeInt, 30)
    .action(
      run(async (cmd, model: string) => {
        const o = cmd.opts<{ reason: string; datasetVersion?: string; idempotencyKey?: string; wait: number }>();
        const client = clientFor(cmd);
        // The request carries this command's own arguments only; connection options never leave the CLI.
        const { runId } = await client.retrain(model, { reason: o.reason, datasetVersion: o.datasetVersion, idempotencyKey: o.idempotencyKey });
        const outcome = o.wait > 0 ? await awaitDecision(client, runId, o.wait) : undefined;
        print(cmd, { runId, ...(outcome ? { status: outcome.status, run: outcome } : {}) }, () => {
          if (!outcome) return `requested run ${runId} (follow it: caretaker runs show ${runId} --watch)`;
          const follow = outcome.status === 'SUPPRESSED' ? '' : `\nfollow it: caretaker runs show ${runId} --watch`;
          return `requested run ${describeRun(outcome, new Date())}${follow}`;
        });
        if (outcome?.status === 'SUPPRESSED') throw new CommanderError(1, 'caretaker.retrain.suppressed', `run ${runId} was suppressed`);
      }),
    );

  api(program, 'rollback')
    .description('redeploy an earlier approved version')
    .argument('<model>')
    .argument('<version>', 'version to roll back to', positiveInt)
    .requiredOption('--reason <text>', 'why')
    .option('--idempotency-key <key>', 'repeat-safe key: the same key returns the same deployment (default: one per command, kept for its retries)')
    .action(
      run(async (cmd, model: string, version: number) => {
        const o = cmd.opts<{ reason: string; idempotencyKey?: string }>();
        const result = await clientFor(cmd).rollback(model, version, o.reason, { idempotencyKey: o.idempotencyKey });
        print(cmd, result, () => `rolling ${model} back to version ${version} (deployment ${result.deploymentId})`);
      }),
    );

  const runs = program.command('runs').description('pipeline runs');
  api(runs, 'show')
    .description('a run: status, current or failed state, timings; a retraining request that started none: QUEUED or SUPPRESSED and why')
    .argument('<runId>')
    .option('--watch', 'follow the run until it ends: each state as it changes, and who may approve when it waits for approval')
    .option('--interval <seconds>', 'seconds between polls with --watch', positiveInt, 10)
    .action(
      run(async (cmd, runId: string) => {
        const o = cmd.opts<{ watch?: boolean; interval: number }>();
        const last = await followRun(clientFor(cmd), runId, {
          watch: o.watch ?? false,
          interval: o.interval,
          print: (view, lines) => print(cmd, view, () => lines.join('\n')),
        });
        if (o.watch && last.status !== 'SUCCEEDED') throw new Error(`run ${runId} ended ${last.status}`);
      }),
    );

  const datasets = commandGroup(program, 'datasets', 'the dataset registry, and dataset files before upload');
  api(datasets, 'list')
    .description('datasets the configured models train on')
    .action(
      run(async (cmd) => {
        const result = await clientFor(cmd).listDatasets();
        print(cmd, result, () =>
          formatTable(
            result.datasets.map((d) => ({ ...d, models: d.models.join(', ') })),
            ['dataset', 'models', 'versions', 'latestVersion', 'latestPassedVersion'],
          ),
        );
      }),
    );
  api(datasets, 'versions')
    .description('versions of a dataset, newest first')
    .argument('<dataset>')
    .option('--limit <n>', 'page size', positiveInt)
    .option('--next-token <token>', 'continue from a previous page')
    .action(
      run(async (cmd, dataset: string) => {
        const o = cmd.opts<{ limit?: number; nextToken?: string }>();
        const page = await clientFor(cmd).listDatasetVersions(dataset, { limit: o.limit, nextToken: o.nextToken });
        print(cmd, page, () => formatTable(page.items.map((v) => ({ ...v, validation: v.validation.status })), ['datasetVersion', 'validation', 'objects', 'rowCount', 'createdAt']) + more(page.nextToken));
      }),
    );
  api(datasets, 'show')
    .description('one dataset version')
    .argument('<dataset>')
    .argument('<version>')
    .action(
      run(async (cmd, dataset: string, version: string) => {
        const v = await clientFor(cmd).getDatasetVersion(dataset, version);
        print(cmd, v, () => `${v.dataset}@${v.datasetVersion}: ${v.validation.status}\n${formatTable(v.objects, ['bucket', 'key', 'versionId', 'sha256'])}`);
      }),
    );
  api(datasets, 'register')
    .description('register the next version of a dataset from objects under datasets/<dataset>/ (a JSON file: [{ key, versionId?, sha256? }])')
    .argument('<dataset>')
    .requiredOption('--objects <file>', 'JSON file with the objects')
    .action(
      run(async (cmd, dataset: string) => {
        const objects = readObjectsFile(cmd.opts<{ objects: string }>().objects);
        const { record: v, created } = await clientFor(cmd).registerDatasetVersion(dataset, { objects });
        print(cmd, { record: v, created }, () =>
          `${created ? 'registered' : 'same bytes as'} ${v.dataset}@${v.datasetVersion} (${v.objects.length} objects, ${v.rowCount} rows, validation ${v.validation.status}${v.validation.reasons.length ? `: ${v.validation.reasons.join('; ')}` : ''})`,
        );
      }),
    );

  api(program, 'audit')
    .description('the decision and deployment trail')
    .option('--model <model>')
    .option('--from <iso time>')
    .option('--to <iso time>')
    .option('--limit <n>', 'page size', positiveInt)
    .option('--next-token <token>', 'continue from a previous page')
    .action(
      run(async (cmd) => {
        const o = cmd.opts<{ model?: string; from?: string; to?: string; limit?: number; nextToken?: string }>();
        const page = await clientFor(cmd).listAudit({ model: o.model, from: o.from, to: o.to, limit: o.limit, nextToken: o.nextToken });
        print(cmd, page, () => formatTable(page.items, ['at', 'model', 'type', 'version', 'actor', 'reason']) + more(page.nextToken));
      }),
    );
}
