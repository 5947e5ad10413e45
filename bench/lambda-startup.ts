/**
 * Lambda start-up: for every function the stack bundles, its minified bundle size and the
 * cold-start cost of a fresh Node.js process that loads the bundle and serves one event, next
 * to an empty handler bundled the same way as the floor.
 *
 *   npm run bench:lambda
 *
 * The bundles are the ones `cdk synth` produces (same esbuild settings, AWS SDK external as
 * on the Lambda runtime). "Serve one event" sends `{}`: every handler validates its input
 * first, so this measures module initialisation plus the handler's own first-call path
 * without network calls. Environment variables are taken from the template, with references
 * replaced by placeholder names.
 */
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { buildApp } from '../lib/app';
import { loadConfig } from '../lib/config';
import { writeResults, median, table } from './support';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const BUNDLE_LIMIT_BYTES = 200 * 1024;

interface LambdaResource {
  Type: string;
  Properties: { Description?: string; Environment?: { Variables?: Record<string, unknown> } };
  Metadata?: Record<string, string>;
}

/** Template env values are often intrinsics; the cold start only needs them to be strings. */
function placeholderEnv(variables: Record<string, unknown> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `placeholder-${name.toLowerCase()}`]),
  );
}

const PROBE = `
const start = performance.now();
const module = await import(process.argv[1]);
const loaded = performance.now();
try { await module.handler({}, { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 30000 }); } catch {}
const served = performance.now();
process.stdout.write(JSON.stringify({ initMs: loaded - start, firstEventMs: served - loaded }));
process.exit(0);
`;

function coldStart(bundle: string, env: Record<string, string>) {
  const samples = Array.from({ length: RUNS }, () => {
    const t0 = performance.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE, bundle], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        // Nothing listens here: a handler that reaches for the network fails fast instead of hanging.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_MAX_ATTEMPTS: '1',
        POWERTOOLS_DEV: 'false',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        ...env,
      },
      timeout: 20_000,
      encoding: 'utf8',
    });
    const probe = JSON.parse(out) as { initMs: number; firstEventMs: number };
    return { ...probe, processMs: performance.now() - t0 };
  });
  return {
    initMs: median(samples.map((s) => s.initMs)),
    firstEventMs: median(samples.map((s) => s.firstEventMs)),
    processMs: median(samples.map((s) => s.processMs)),
  };
}

function main() {
  const work = join(ROOT, '.bench');
  mkdirSync(work, { recursive: true });
  const outdir = mkdtempSync(join(work, 'cdk-'));
  try {
    const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    const { app, stack } = buildApp({
      config: loadConfig(join(ROOT, 'caretaker.config.json')),
      appProps: { outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } },
    });
    const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, LambdaResource> };

    // The floor: an empty handler through the same esbuild settings as CaretakerFunction.
    const emptyDir = join(outdir, 'empty');
    mkdirSync(emptyDir);
    writeFileSync(join(emptyDir, 'handler.ts'), 'export const handler = async () => ({});\n');
    buildSync({
      entryPoints: [join(emptyDir, 'handler.ts')],
      outfile: join(emptyDir, 'index.mjs'),
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      logLevel: 'silent',
    });

    const functions = [
      { name: '(empty handler: floor)', bundle: join(emptyDir, 'index.mjs'), env: {} },
      ...Object.entries(template.Resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path'])
        .filter(([id]) => !id.startsWith('CustomS3AutoDeleteObjects') && !id.startsWith('AWS'))
        .map(([id, r]) => ({
          name: id.replace(/Function[0-9A-F]{8}$/, ''),
          bundle: join(outdir, r.Metadata!['aws:asset:path']!, 'index.mjs'),
          env: placeholderEnv(r.Properties.Environment?.Variables),
        })),
    ];

    const rows = functions.map((fn) => {
      const code = readFileSync(fn.bundle);
      const timing = coldStart(fn.bundle, fn.env);
      return {
        function: fn.name,
        bundleKB: code.length / 1024,
        gzipKB: gzipSync(code).length / 1024,
        underLimit: code.length <= BUNDLE_LIMIT_BYTES,
        ...timing,
      };
    });

    console.log(
      table(rows, [
        ['function', 'function'],
        ['bundleKB', 'bundle KB (min)', 1],
        ['gzipKB', 'gzip KB', 1],
        ['initMs', 'init ms (median)', 1],
        ['firstEventMs', 'first event ms', 1],
        ['processMs', 'whole process ms', 0],
      ]),
    );
    const over = rows.filter((r) => !r.underLimit);
    if (over.length > 0) console.log(`\nover 200 KB: ${over.map((r) => r.function).join(', ')}`);
    writeResults('lambda-startup', { runs: RUNS, node: process.version, functions: rows });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

main();
