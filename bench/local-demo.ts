/**
 * Wall time of local mode: `startLocalStack` (moto start, synth, provisioning, handler loading,
 * local services) and the demo loop, step by step, over a few runs, each in its own process
 * (local mode starts once per process) with its own moto server.
 *
 *   npm run bench:local [-- --runs 3]
 *
 * Writes bench/results/local-demo.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' && chunk.startsWith('{"_aws":') ? true : write(chunk, ...rest)));

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, child: { type: 'boolean', default: false } } });

if (values.child) {
  const { startLocalStack } = await import('../local/stack');
  const { localConfig, runDemo } = await import('../local/demo');
  const { loadConfig } = await import('../lib/config');
  const config = localConfig(loadConfig('caretaker.config.json'));
  const t0 = performance.now();
  const stack = await startLocalStack({ config });
  const startupMs = performance.now() - t0;
  try {
    const t1 = performance.now();
    const result = await runDemo({ stack, config });
    write(`RESULT ${JSON.stringify({ startupMs, loopMs: performance.now() - t1, steps: Object.fromEntries(result.steps.map((s) => [s.name, s.ms])) })}\n`);
  } finally {
    await stack.close();
  }
} else {
  const results: { startupMs: number; loopMs: number; steps: Record<string, number> }[] = [];
  for (let run = 0; run < Number(values.runs); run += 1) {
    const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/local-demo.ts', '--child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = output.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`run ${run + 1} printed no result`);
    const result = JSON.parse(line.slice('RESULT '.length)) as (typeof results)[number];
    results.push(result);
    console.log(`run ${run + 1}: startup ${(result.startupMs / 1000).toFixed(1)} s, loop ${(result.loopMs / 1000).toFixed(1)} s`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const summary = { runs: results.length, medianStartupMs: Math.round(median(results.map((r) => r.startupMs))), medianLoopMs: Math.round(median(results.map((r) => r.loopMs))), results };
  console.log(JSON.stringify({ medianStartupMs: summary.medianStartupMs, medianLoopMs: summary.medianLoopMs }));
  mkdirSync(join('bench', 'results'), { recursive: true });
  writeFileSync(join('bench', 'results', 'local-demo.json'), JSON.stringify(summary, null, 2));
}
