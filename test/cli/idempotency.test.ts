/**
 * The CLI's acting commands send an Idempotency-Key per command (the one given with
 * --idempotency-key, else one of its own, kept for the client's retries): repeating a rollback
 * with its key is a replay of that one deployment.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { serveApi } from '../../local/stack';
import { APPROVER, createHarness, type Harness } from '../lambdas/api/harness';

describe('caretaker rollback and retrain: one Idempotency-Key per command', () => {
  let h: Harness;
  let server: Awaited<ReturnType<typeof serveApi>>;
  beforeAll(async () => {
    h = await createHarness();
    await h.putVersion({ model: 'churn', version: 1, status: 'RETIRED' });
    server = await serveApi(h.localHandler);
  });
  afterAll(async () => {
    await server.close();
    await h.drop();
  });

  async function json(...args: string[]): Promise<Record<string, unknown>> {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      expect(await main(['node', 'caretaker', ...args, '--json', '--api-url', server.url, '--principal', APPROVER])).toBe(0);
    } finally {
      log.mockRestore();
    }
    return JSON.parse(out.join('\n')) as Record<string, unknown>;
  }

  it('rollback --idempotency-key: the repeat is a replay of the same deployment, never a second one', async () => {
    const first = await json('rollback', 'churn', '1', '--reason', 'latency regression', '--idempotency-key', 'cli-rb-1');
    const again = await json('rollback', 'churn', '1', '--reason', 'latency regression', '--idempotency-key', 'cli-rb-1');
    expect(again).toMatchObject({ deploymentId: first.deploymentId, replayed: true });
    expect(new Set(h.rollbacks.map((r) => r.deploymentId))).toEqual(new Set([first.deploymentId]));
  });

  it('without a key, each command is its own request: two rollbacks are two deployments', async () => {
    const a = await json('rollback', 'churn', '1', '--reason', 'again');
    const b = await json('rollback', 'churn', '1', '--reason', 'again');
    expect(a.deploymentId).not.toBe(b.deploymentId);
    expect(a.replayed).toBe(false);
  });
});
