/**
 * `npx caretaker demo --serving serverless`, run as the README shows it: the same loop with the
 * model deployed as a SageMaker serverless endpoint. SageMaker offers no data capture for
 * serverless endpoints, so drift can only come from the request records the calling application
 * writes (here the demo, as that application); this asserts the loop still reaches a drift alarm,
 * exactly one retraining run and a second serverless rollout.
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

describe('caretaker demo --serving serverless', () => {
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
});
