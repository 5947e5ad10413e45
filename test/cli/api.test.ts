import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { formatTable, resolveApiUrl } from '../../cli/api';
import { keys } from '../../lambdas/shared/contracts';
import { APPROVER, createHarness, type Harness } from '../lambdas/api/harness';
import { serveApi } from '../../local/stack';

describe('caretaker CLI against the API', () => {
  let h: Harness;
  let server: Awaited<ReturnType<typeof serveApi>>;
  beforeAll(async () => {
    h = await createHarness();
    await h.putVersion({ model: 'churn', version: 1, status: 'LIVE' });
    await h.putVersion({ model: 'churn', version: 2 });
    await h.client.send(
      new PutCommand({
        TableName: h.tableName,
        Item: { ...keys.run('run-churn-2'), runId: 'run-churn-2', model: 'churn', status: 'REJECTED', currentState: 'WaitForApproval', startedAt: '2026-11-20T09:00:00.000Z', endedAt: '2026-11-20T12:00:00.000Z' },
      }),
    );
    server = await serveApi(h.localHandler);
  });
  afterAll(async () => {
    await server.close();
    await h.drop();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
    try {
      const code = await main(['node', 'caretaker', ...args, '--api-url', server.url, '--principal', APPROVER]);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
      stderr.mockRestore();
    }
  }

  it('models list prints a table', async () => {
    const { code, out } = await cli('models', 'list');
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toMatch(/^MODEL\s+LIVE\s+LATEST\s+STATUS\s+OBJECTIVE$/);
    expect(out).toMatch(/churn\s+1\s+2\s+PENDING_APPROVAL\s+maximize validation:auc/);
  });

  it('versions list --json prints the page for scripts', async () => {
    const { code, out } = await cli('versions', 'list', 'churn', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(out) as { items: { version: number }[] }).items.map((v) => v.version)).toEqual([2, 1]);
  });

  it('approve, the same approver repeating it gets the same answer, and a reject after it exits non-zero with the conflict', async () => {
    const first = await cli('approve', 'churn', '2', '--reason', 'better auc', '--json');
    expect(first.code).toBe(0);
    // A retry of a decision already made (lambdas/api/domain.ts replay): the recorded decision, not a second one.
    const again = await cli('approve', 'churn', '2', '--reason', 'again', '--json');
    expect(again.code).toBe(0);
    const decisionOf = (out: string) => (JSON.parse(out) as { decision: { reason: string; at: string } }).decision;
    expect(decisionOf(again.out)).toEqual(decisionOf(first.out));
    expect(decisionOf(again.out).reason).toBe('better auc');
    const reject = await cli('reject', 'churn', '2', '--reason', 'changed my mind');
    expect(reject.code).toBe(1);
    expect(reject.err).toContain('Conflict (409)');
  });

  it('names the bad field when the API refuses input', async () => {
    const { code, err } = await cli('rollback', 'churn', '1', '--reason', ' ');
    expect(code).toBe(1);
    expect(err).toContain('body.reason');
  });

  it('runs show --watch returns at once for a finished run, non-zero when it did not succeed', async () => {
    const { code, out, err } = await cli('runs', 'show', 'run-churn-2', '--watch', '--interval', '1');
    expect(out).toContain('run-churn-2: REJECTED');
    expect(code).toBe(1);
    expect(err).toContain('ended REJECTED');
  });

  // The connection options (--outputs has a default, --principal, --json) once leaked into request
  // bodies and queries, so these three commands always failed with 400 `unknown field`.
  it('retrain sends only its own arguments: the README example works and repeats safely', async () => {
    const first = await cli('retrain', 'churn', '--reason', 'new labels', '--idempotency-key', 'cli-test-1', '--wait', '0', '--json');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const { runId } = JSON.parse(first.out) as { runId: string };
    expect(runId).toMatch(/^churn-api-/);
    const again = await cli('retrain', 'churn', '--reason', 'new labels', '--idempotency-key', 'cli-test-1', '--wait', '0', '--json');
    expect((JSON.parse(again.out) as { runId: string }).runId).toBe(runId);
  });

  it('audit --model --json lists the trail without sending connection options as query fields', async () => {
    const { code, out, err } = await cli('audit', '--model', 'churn', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const page = JSON.parse(out) as { items: { model: string; type: string }[] };
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((e) => e.model === 'churn')).toBe(true);
  });

  it('datasets versions --limit --json sends only the page options', async () => {
    const { code, out, err } = await cli('datasets', 'versions', 'churn', '--limit', '5', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toHaveProperty('items');
  });

  it('tells a local-mode user to name a principal instead of failing on AWS credentials', async () => {
    const err: string[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    const saved = process.env.CARETAKER_PRINCIPAL;
    delete process.env.CARETAKER_PRINCIPAL;
    try {
      const code = await main(['node', 'caretaker', 'models', 'list', '--api-url', server.url]);
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('local mode needs --principal or CARETAKER_PRINCIPAL');
    } finally {
      error.mockRestore();
      if (saved !== undefined) process.env.CARETAKER_PRINCIPAL = saved;
    }
  });

  it('models show fills the deployment status: the live one LIVE, earlier ones REPLACED by the next', async () => {
    await h.putVersion({ model: 'fraud', version: 1, status: 'RETIRED' });
    await h.putVersion({ model: 'fraud', version: 2, status: 'LIVE' });
    for (const [version, at, previousVersion] of [[1, '2026-11-10T10:00:00.000Z', undefined], [2, '2026-11-15T10:00:00.000Z', 1]] as const) {
      await h.client.send(
        new PutCommand({
          TableName: h.tableName,
          Item: { ...keys.deployment('fraud', at), model: 'fraud', version, at, previousVersion, runId: `run-fraud-${version}`, endpointConfigName: `fraud-config-${version}` },
        }),
      );
    }
    const { code, out } = await cli('models', 'show', 'fraud');
    expect(code).toBe(0);
    const rows = out.split('\n').slice(1);
    expect(rows[0]).toMatch(/^AT\s+VERSION\s+PREVIOUS\s+STATUS\s+ENDPOINTCONFIGNAME$/);
    expect(rows[1]).toMatch(/^2026-11-15T10:00:00.000Z\s+2\s+1\s+LIVE\s+fraud-config-2$/);
    expect(rows[2]).toMatch(/^2026-11-10T10:00:00.000Z\s+1\s+-\s+REPLACED by v2\s+fraud-config-1$/);
  });

  it('exits non-zero for an unknown model', async () => {
    const { code, err } = await cli('versions', 'show', 'nope', '1');
    expect(code).toBe(1);
    expect(err).toContain('NotFound (404)');
  });
});

describe('API URL resolution and tables', () => {
  it('prefers --api-url, then CARETAKER_API_URL, then the ApiUrl stack output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caretaker-cli-'));
    const outputs = join(dir, 'outputs.json');
    writeFileSync(outputs, JSON.stringify({ Caretaker: { ApiUrl: 'https://from-outputs/v1/', MetadataTableName: 't' } }));
    expect(resolveApiUrl({ apiUrl: 'https://flag/', outputs }, { CARETAKER_API_URL: 'https://env/' })).toBe('https://flag/');
    expect(resolveApiUrl({ outputs }, { CARETAKER_API_URL: 'https://env/' })).toBe('https://env/');
    expect(resolveApiUrl({ outputs }, {})).toBe('https://from-outputs/v1/');
    expect(() => resolveApiUrl({ outputs: join(dir, 'missing.json') }, {})).toThrow(/CARETAKER_API_URL/);
  });

  it('aligns columns and shows missing values as -', () => {
    expect(formatTable([{ a: 'x', b: 10 }, { a: 'longer' }], ['a', 'b'])).toBe('A       B\nx       10\nlonger  -');
  });
});
