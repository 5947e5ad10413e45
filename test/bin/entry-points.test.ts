import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { exampleConfigInput } from '../support/stack';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (reason) {
    const error = reason as { code: number; stdout: string; stderr: string };
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

describe('entry points', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-entry-'));
  const badConfig = join(dir, 'bad.json');
  const input = exampleConfigInput();
  writeFileSync(
    badConfig,
    JSON.stringify({ ...input, models: [{ ...input.models[0], training: { maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 } }] }),
  );

  it('fails the CDK app on a bad config with the field named and no stack trace', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      CARETAKER_CONFIG: badConfig,
      CDK_OUTDIR: join(dir, 'out'),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('models[0].training.maxWaitSeconds (3600): must be ≥ maxRuntimeSeconds (7200)');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('`caretaker config check` accepts the example and exits non-zero on a bad file', async () => {
    const good = await run(process.execPath, ['bin/caretaker.mjs', 'config', 'check']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('churn: ml.g5.xlarge → ml.g4dn.xlarge (spot), maximize validation:auc');

    const bad = await run(process.execPath, ['bin/caretaker.mjs', 'config', 'check', badConfig]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('models[0].training.maxWaitSeconds (3600)');
  });
});
