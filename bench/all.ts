/**
 * Every benchmark, in sequence, at its standard size: `npm run bench`.
 *
 *   npm run bench                               # all of them (< 10 minutes on 2 cores)
 *   npm run bench -- --only drift,lambda-startup
 *
 * Each runs in its own Node.js process (so one's heap and JIT state never colour the next),
 * prints its Markdown table and writes bench/results/<name>.json; the summary at the end lists
 * the wall time of each and writes bench/results/summary.json. A failed benchmark does not stop
 * the others; the command exits non-zero if any failed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { table, writeResults } from './support';

interface Benchmark {
  readonly name: string;
  readonly script: string;
  /** The standard size: what BENCHMARKS.md's figures are measured at. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly nodeOptions?: readonly string[];
}

const BENCHMARKS: readonly Benchmark[] = [
  { name: 'lambda-startup', script: 'lambda-startup.ts', env: { BENCH_RUNS: '7' } },
  { name: 'pipeline-transitions', script: 'pipeline-transitions.ts' },
  { name: 'events', script: 'events.ts' },
  { name: 'registry-api', script: 'registry-api.ts', env: { BENCH_API_ITERATIONS: '20' } },
  { name: 'localrunner', script: 'localrunner.ts', args: ['--rows', '5000', '--requests', '500'] },
  { name: 'local-demo', script: 'local-demo.ts' },
  { name: 'console', script: 'console.ts', env: { BENCH_CONSOLE_LOADS: '10' } },
  // Issue 8 fixes this size: 1 000 000 rows × 10 numeric (and + 2 categorical), against numpy+scipy.
  { name: 'drift', script: 'drift.ts', args: ['--rows', '1000000', '--repeat', '3'] },
  // The one big item: a 1 GiB object streamed from moto, and a 256 MiB CSV registered.
  { name: 'datasets', script: 'hash-large-object.ts', env: { BENCH_OBJECT_MB: '1024', BENCH_CSV_MB: '256' }, nodeOptions: ['--expose-gc'] },
];

const BUDGET_SECONDS = 600;

function main(): number {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));
  const summary = [];
  const started = performance.now();
  for (const bench of selected) {
    console.log(`\n## ${bench.name}\n`);
    const t0 = performance.now();
    const run = spawnSync(process.execPath, [...(bench.nodeOptions ?? []), '--import', 'tsx', join(import.meta.dirname, bench.script), ...(bench.args ?? [])], {
      stdio: 'inherit',
      env: { ...process.env, ...bench.env },
    });
    const seconds = (performance.now() - t0) / 1000;
    const status = run.status === 0 ? 'ok' : `FAILED (${run.signal ?? `exit ${String(run.status)}`})`;
    summary.push({ benchmark: bench.name, status, seconds, results: `bench/results/${bench.name}.json` });
  }
  const total = (performance.now() - started) / 1000;
  console.log(`\n## Summary\n\n${table(summary, [['benchmark', 'benchmark'], ['status', 'status'], ['seconds', 'wall time s', 1], ['results', 'results']])}`);
  console.log(`\ntotal ${total.toFixed(0)} s${total > BUDGET_SECONDS ? ` — over the ${BUDGET_SECONDS} s budget` : ''}`);
  writeResults('summary', { totalSeconds: total, benchmarks: summary });
  return summary.every((s) => s.status === 'ok') ? 0 : 1;
}

process.exitCode = main();
