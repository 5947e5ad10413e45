/**
 * Every `npx caretaker …` command that README.md shows is run here, as written, against one
 * `caretaker local up` (RELIABILITY row 30: three README commands once always failed because
 * nothing ran them). Placeholders a reader fills in (`<runId>`, the version numbers of the
 * README's examples) are filled from the table below with what this run produced.
 *
 * A README command with no row here fails the test: add a row to `RUNS` (how to fill it, what
 * its output must look like), or, for a command another test already runs as a whole program
 * (the demo), a `coveredBy` row naming that test file, which must contain the command.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaretakerClient } from '../../lib/client';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'caretaker.mjs');
const REQUESTER = 'arn:aws:sts::123456789012:assumed-role/data-scientist/bob';
const APPROVER = 'arn:aws:sts::123456789012:assumed-role/ml-lead/alice';
const STARTUP_MS = 240_000;
const STEP_MS = 240_000;

/** What this run made, for placeholders. */
interface Context {
  /** The pending version the README approves (its example says 7). */
  pending: number;
  /** An earlier version the README rolls back to (its example says 6). */
  earlier: number;
  /** The run that trained `pending`. */
  runId: string;
}

interface Run {
  /** README text → the text to run, from what this run made. */
  fill?: (command: string, ctx: Context) => string;
  /** Who types it (CARETAKER_PRINCIPAL); default the requester. */
  as?: string;
  /** Checks on stdout (JSON when the command has --json). */
  check?: (stdout: string) => void;
  /** Waits after the command, before the next one (e.g. the deployment an approval starts). */
  settle?: (ctx: Context, client: (principal: string) => CaretakerClient) => Promise<void>;
}
type Row = Run | { coveredBy: string };

const RUNS: Record<string, Row> = {
  'npx caretaker demo': { coveredBy: 'test/local/demo.e2e.test.ts' },
  'npx caretaker demo --console': { coveredBy: 'test/console/browser.ts' },
  'npx caretaker demo --serving serverless': { coveredBy: 'test/local/demo-serving.e2e.test.ts' },
  'npx caretaker demo --serving batch': { coveredBy: 'test/local/demo-serving.e2e.test.ts' },
  'npx caretaker config check caretaker.config.json': {
    check: (out) => expect(out).toMatch(/caretaker\.config\.json: valid, \d+ models?/),
  },
  'npx caretaker datasets check examples/churn/data/2026-11.csv --dataset churn': {
    check: (out) => expect(out).toContain('examples/churn/data/2026-11.csv'),
  },
  'npx caretaker models list': { check: (out) => expect(out).toMatch(/^MODEL\s+LIVE/m) },
  'npx caretaker versions list churn --status PENDING_APPROVAL': {
    check: (out) => expect(out).toMatch(/PENDING_APPROVAL/),
  },
  'npx caretaker versions show churn 7': {
    fill: (c, ctx) => c.replace(/ 7$/, ` ${ctx.pending}`),
    check: (out) => expect(out).toMatch(/status\s+PENDING_APPROVAL/),
  },
  'npx caretaker approve churn 7 --reason "auc +0.012 on the same holdout"': {
    fill: (c, ctx) => c.replace(' 7 ', ` ${ctx.pending} `),
    as: APPROVER,
    check: (out) => expect(out).toMatch(/APPROVED by /),
    settle: async (ctx, client) => waitFor(async () => (await client(REQUESTER).getVersion('churn', ctx.pending)).status === 'LIVE', 'the approved version to go LIVE'),
  },
  'npx caretaker retrain churn --reason "drift on tenure" --idempotency-key nb-2026-11-22': {
    check: (out) => expect(out).toMatch(/requested run churn-api-\S+/),
  },
  'npx caretaker runs show <runId> --watch': {
    fill: (c, ctx) => c.replace('<runId>', ctx.runId),
    check: (out) => expect(out).toContain('SUCCEEDED'),
  },
  'npx caretaker rollback churn 6 --reason "latency regression"': {
    fill: (c, ctx) => c.replace(' 6 ', ` ${ctx.earlier} `),
    as: APPROVER,
    check: (out) => expect(out).toMatch(/rolling churn back to version \d+/),
  },
  'npx caretaker audit --model churn --json': {
    check: (out) => {
      const page = JSON.parse(out) as { items: { model: string; type: string; actor: string }[] };
      expect(page.items.length).toBeGreaterThan(0);
      expect(page.items.every((e) => e.model === 'churn')).toBe(true);
    },
  },
  'npx caretaker drift --baseline examples/churn/data/2026-11.csv --current examples/churn/data/2026-12.csv --psi-threshold 0.2': {
    check: (out) => expect(out).toMatch(/tenure_months|monthly_charges/),
  },
};

/** The `npx caretaker …` lines of README.md's shell code blocks, comments stripped. */
export function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    if (!['', 'sh', 'bash', 'shell', 'console'].includes(block[1] ?? '')) continue;
    for (const raw of (block[2] ?? '').split('\n')) {
      const line = raw.replace(/^\$\s+/, '').replace(/\s+#.*$/, '').trim();
      if (line.startsWith('npx caretaker')) commands.push(line);
    }
  }
  return commands;
}

/** Shell words: spaces split, double or single quotes group. Enough for the README's commands. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

async function waitFor(condition: () => Promise<boolean>, what: string, ms = STEP_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const commands = readmeCommands(readme);

describe('every npx caretaker command in README.md', () => {
  it('has a row saying how this test runs it', () => {
    const missing = commands.filter((c) => !(c in RUNS));
    expect(
      missing,
      `README.md shows commands this test does not run. Add a row to RUNS in test/readme/commands.test.ts for each (fill placeholders, check the output):\n${missing.join('\n')}`,
    ).toEqual([]);
    const stale = Object.keys(RUNS).filter((c) => !commands.includes(c));
    expect(stale, 'rows for commands README.md no longer shows').toEqual([]);
  });

  it.each(commands.filter((c) => { const row = RUNS[c]; return row !== undefined && 'coveredBy' in row; }))('%s is run by the test it names', (command) => {
    const row = RUNS[command] as { coveredBy: string };
    const file = join(ROOT, row.coveredBy);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`['"]${words(command).slice(2).join("['\"], ['\"]")}['"]`));
  });

  describe('against caretaker local up', () => {
    let up: ChildProcessWithoutNullStreams | undefined;
    const output: string[] = [];
    let apiUrl = '';
    let ctx: Context;
    const client = (principal: string) => new CaretakerClient({ baseUrl: apiUrl, local: { principal } });

    beforeAll(async () => {
      up = spawn(process.execPath, [CLI, 'local', 'up', '--port', '0'], { cwd: ROOT, detached: true });
      const banner = new Promise<Record<string, string>>((resolve, reject) => {
        const found: Record<string, string> = {};
        const onData = (chunk: Buffer) => {
          for (const line of chunk.toString().split('\n')) {
            output.push(line);
            for (const [name, pattern] of [['api', /^\s*API\s+(http:\/\/\S+)/], ['moto', /^\s*moto\s+(http:\/\/\S+)/], ['bucket', /datasets bucket (\S+)/]] as const) {
              const match = pattern.exec(line);
              if (match?.[1]) found[name] = match[1];
            }
            if (line.includes('Press Ctrl-C to stop')) resolve(found);
          }
        };
        up?.stdout.on('data', onData);
        up?.stderr.on('data', onData);
        up?.once('exit', (code) => reject(new Error(`local up exited ${String(code)}:\n${output.slice(-30).join('\n')}`)));
      });
      const found = await banner;
      apiUrl = found.api ?? '';
      // The banner tells a new user both exports; the commands below use exactly those.
      expect(output.join('\n')).toMatch(/export CARETAKER_PRINCIPAL=arn:aws:sts::\d{12}:assumed-role\//);

      const s3 = new S3Client({ endpoint: found.moto, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const bob = client(REQUESTER);
      const train = async (key: string, file: string, idempotencyKey: string) => {
        const put = await s3.send(new PutObjectCommand({ Bucket: found.bucket, Key: key, Body: readFileSync(join(ROOT, file)), ContentType: 'text/csv' }));
        const { record } = await bob.registerDatasetVersion('churn', { objects: [{ key, versionId: put.VersionId }] });
        const { runId } = await bob.retrain('churn', { reason: 'README test', datasetVersion: record.datasetVersion, idempotencyKey });
        let version = 0;
        await waitFor(async () => {
          const run = await bob.getRun(runId);
          if (run.status !== 'RUNNING') throw new Error(`run ${runId} ended ${run.status}`);
          version = run.version ?? 0;
          return version > 0 && (await bob.getVersion('churn', version)).status === 'PENDING_APPROVAL';
        }, `run ${runId} to wait for approval`);
        return { runId, version };
      };
      // v1 goes live, v2 waits for the README's approve; rollback then goes back to v1.
      const first = await train('datasets/churn/readme/2026-11.csv', 'examples/churn/data/2026-11.csv', 'readme-first');
      await client(APPROVER).approve('churn', first.version, 'first model');
      await waitFor(async () => (await bob.getVersion('churn', first.version)).status === 'LIVE', 'v1 to go LIVE');
      const second = await train('datasets/churn/readme/2026-12.csv', 'examples/churn/data/2026-12.csv', 'readme-second');
      ctx = { pending: second.version, earlier: first.version, runId: second.runId };
    }, STARTUP_MS + 3 * STEP_MS);

    afterAll(async () => {
      if (up?.pid !== undefined && up.exitCode === null) {
        const exited = new Promise((resolve) => up?.once('exit', resolve));
        process.kill(-up.pid, 'SIGINT');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
        try {
          process.kill(-up.pid, 'SIGKILL'); // anything of the group still running after 30 s
        } catch {
          // the group is gone: local up stopped everything it started
        }
      }
    }, 60_000);

    // README order matters (approve, then watch the run it resumed, then roll back): one test.
    it('runs each command as written, exit 0, with the output it promises', async () => {
      for (const command of commands) {
        const row = RUNS[command];
        if (row === undefined || 'coveredBy' in row) continue;
        const text = row.fill ? row.fill(command, ctx) : command;
        const args = words(text).slice(2);
        const result = await promisify(execFile)(process.execPath, [CLI, ...args], {
          cwd: ROOT,
          env: { ...process.env, CARETAKER_API_URL: apiUrl, CARETAKER_PRINCIPAL: row.as ?? REQUESTER },
          timeout: STEP_MS,
        }).catch((error: unknown) => {
          const failed = error as { code?: number; stdout?: string; stderr?: string };
          throw new Error(`\`${text}\` exited ${String(failed.code)}:\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
        });
        row.check?.(result.stdout);
        await row.settle?.(ctx, client);
      }
    }, commands.length * STEP_MS);
  });
});
