/**
 * `npx caretaker demo --serving serverless` and `npx caretaker demo --serving batch`, run as the
 * README shows them: the same loop with the model served another way.
 * - serverless: SageMaker offers no data capture for serverless endpoints, so drift can only come
 *   from the request records the calling application writes (here the demo, as that application);
 * - batch: no endpoint; each scoring run is a Batch Transform job over the input prefix, started
 *   with the input the nightly schedule's target carries, and the job's input is the drift window.
 * Each asserts the loop still reaches a drift alarm, exactly one retraining run and v2 live.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function runCli(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'caretaker.mjs'), ...args], { cwd: ROOT });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`caretaker ${args.join(' ')} did not finish in ${timeoutMs / 1000} s:\n${output.join('').slice(-3000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.join('') });
    });
  });
}

describe('caretaker demo --serving', () => {
  it('runs the whole loop on serverless endpoints, with drift from the caller\'s own request records', async () => {
    const { code, output } = await runCli(['demo', '--serving', 'serverless'], 300_000);
    expect(code, output.slice(-3000)).toBe(0);
    // Both rollouts are serverless endpoint configs, as DescribeEndpointConfig reports them.
    expect(output).toMatch(/✓ v1 deployed\s+endpoint caretaker-churn InService on \S+ \(serverless, 2048 MB, up to 5 concurrent\)/);
    expect(output).toMatch(/✓ v2 deployed and live\s+the API reports live version 2; endpoint caretaker-churn InService on \S+ \(serverless, 2048 MB/);
    expect(output).toContain('600 requests to the serverless endpoint, each recorded by the caller under capture/churn/');
    // The drift window is the caller's records: the drifted traffic drives the alarm and one run.
    expect(output).toMatch(/✓ drift alarm in ALARM/);
    expect(output).toMatch(/✓ exactly one retraining run/);
    expect(output).toContain('live version: 2');
    expect(output).toContain('Every step happened.');
  }, 330_000);

  it('runs the whole loop as nightly Batch Transform scoring, with drift from each job\'s input', async () => {
    const { code, output } = await runCli(['demo', '--serving', 'batch'], 300_000);
    expect(code, output.slice(-3000)).toBe(0);
    // The first deployment scored the input that was there; no endpoint exists.
    expect(output).toMatch(/✓ v1 deployed\s+no endpoint: SageMaker model caretaker-churn-v1-\S+, scored by Batch Transform at cron\(0 2 \* \* \? \*\)/);
    // Scheduled runs score the input prefix into folders of their own; the drifted input alarms.
    expect(output).toMatch(/✓ batch scoring \(baseline input\)\s+600 rows scored by v1 into s3:\/\/\S+\/batch\/churn\/output\/caretaker-churn-\d{12}-[0-9a-f]{4}\/; DriftScore 0\.0\d+ → alarm OK/);
    expect(output).toMatch(/✓ drift alarm in ALARM/);
    expect(output).toMatch(/✓ exactly one retraining run/);
    // v2 scores the next run.
    expect(output).toMatch(/✓ batch scoring \(v2's first run\)\s+1200 rows scored by v2 into /);
    expect(output).toContain('live version: 2');
  }, 330_000);
});
