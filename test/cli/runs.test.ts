/**
 * `caretaker retrain` and `caretaker runs show [--watch]` say what happened: the registry API and
 * the retraining starter on one moto table, the request delivered to the starter as the FIFO
 * queue would (once, shortly after it is sent).
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { formatElapsed } from '../../cli/runs';
import { keys, type AuditEvent } from '../../lambdas/shared/contracts';
import { serveApi } from '../../local/stack';
import { APPROVER, APPROVER_ROLE, createHarness, type Harness, REQUESTER } from '../lambdas/api/harness';
import { createStarter, defaultPolicy } from '../lambdas/retraining/harness';

let h: Harness;
let starter: ReturnType<typeof createStarter>;
let server: Awaited<ReturnType<typeof serveApi>>;
const delivered: Promise<unknown>[] = [];

beforeAll(async () => {
  h = await createHarness();
  starter = createStarter(h.tableName, { churn: defaultPolicy({ dataset: 'churn', cooldownHours: 0 }) });
  await starter.seedDataset('churn', [{ version: '2026-11-20-0001', status: 'PASSED' }]);
  // SQS FIFO delivers each message to the starter after the API's SendMessage returned.
  h.queue.send = (request) => {
    h.queue.sent.push(request);
    delivered.push(new Promise((resolve) => setTimeout(resolve, 300)).then(() => starter.deliver(request, request.model)));
    return Promise.resolve();
  };
  server = await serveApi(h.localHandler);
});
afterAll(async () => {
  await Promise.allSettled(delivered);
  await server.close();
  await h.drop();
});

async function cli(principal: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(['node', 'caretaker', ...args, '--api-url', server.url, '--principal', principal]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

async function auditOf(runId: string): Promise<AuditEvent[]> {
  const page = await h.ports.audit.list({ model: 'churn' }, { limit: 100 });
  return page.items.filter((e) => e.runId === runId);
}

describe('retrain says whether the run started or was suppressed', () => {
  let first = '';

  it('a started run: RUNNING, and exactly one RUN_REQUESTED in the audit', async () => {
    const result = await cli(REQUESTER, 'retrain', 'churn', '--reason', 'new labels', '--json');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const body = JSON.parse(result.out) as { runId: string; status: string };
    first = body.runId;
    expect(body.status).toBe('RUNNING');
    expect(starter.sfn.calls.map((c) => c.name)).toEqual([first]);
    expect((await auditOf(first)).map((e) => [e.type, e.actor])).toEqual([['RUN_REQUESTED', REQUESTER]]);
  });

  it('a suppressed run: SUPPRESSED with the reason, exit 1, and runs show finds it', async () => {
    const result = await cli(REQUESTER, 'retrain', 'churn', '--reason', 'again, too soon');
    expect(result.code).toBe(1);
    const runId = /requested run (churn-api-\S+): SUPPRESSED — in-progress: run (\S+) is in flight/.exec(result.out);
    expect(runId, result.out).not.toBeNull();
    expect(runId?.[2]).toBe(first);
    expect(result.out).not.toContain('runs show');
    const second = runId?.[1] ?? '';
    expect(starter.sfn.calls).toHaveLength(1);

    const shown = await cli(REQUESTER, 'runs', 'show', second);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`${second}: SUPPRESSED — in-progress: run ${first} is in flight`);
    const json = JSON.parse((await cli(REQUESTER, 'runs', 'show', second, '--json')).out) as { status: string; suppression: { reason: string }; requestedBy: string };
    expect(json).toMatchObject({ status: 'SUPPRESSED', suppression: { reason: 'in-progress' }, requestedBy: REQUESTER });
    const watched = await cli(REQUESTER, 'runs', 'show', second, '--watch', '--interval', '1');
    expect(watched.code).toBe(1);
    expect(watched.err).toContain('ended SUPPRESSED');
    expect((await auditOf(second)).map((e) => e.type).sort()).toEqual(['RUN_REQUESTED', 'RUN_SUPPRESSED']);
  });

  it('--wait 0 returns the run id at once, and runs show calls the undecided request QUEUED', async () => {
    const result = await cli(REQUESTER, 'retrain', 'churn', '--reason', 'no wait', '--wait', '0');
    expect(result.code).toBe(0);
    const runId = /requested run (churn-api-\S+) \(follow it/.exec(result.out)?.[1] ?? '';
    const shown = await cli(REQUESTER, 'runs', 'show', runId);
    expect(shown.out).toMatch(new RegExp(`^${runId}: QUEUED for \\d+s`));
  });
});

describe('runs show --watch at WaitForApproval', () => {
  async function putRun(runId: string, model: string, version: number, startedAt: string): Promise<void> {
    await h.client.send(
      new PutCommand({
        TableName: h.tableName,
        Item: {
          ...keys.run(runId),
          runId,
          model,
          status: 'RUNNING',
          currentState: 'WaitForApproval',
          version,
          requestedBy: REQUESTER,
          datasetVersion: '2026-11-20-0001',
          trigger: { kind: 'api', id: 'k', reason: 'r' },
          startedAt,
        },
      }),
    );
  }
  const endRun = (runId: string) =>
    h.client.send(
      new UpdateCommand({
        TableName: h.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET #s = :s, currentState = :c, endedAt = :e',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'SUCCEEDED', ':c': 'RecordDeployment', ':e': new Date().toISOString() },
      }),
    );
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  };

  it('prints the version, who may approve and the approve command, which works as printed', async () => {
    await h.putVersion({ model: 'churn', version: 5, runId: 'run-watch-5' });
    await putRun('run-watch-5', 'churn', 5, new Date(Date.now() - 125_000).toISOString());
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    let watching: Promise<number>;
    try {
      watching = main(['node', 'caretaker', 'runs', 'show', 'run-watch-5', '--watch', '--interval', '1', '--api-url', server.url, '--principal', APPROVER]);
      await until(() => out.join('\n').includes('approve:'));
    } finally {
      log.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toMatch(/^run-watch-5: RUNNING at WaitForApproval \(2m \d\ds since start\)$/m);
    expect(text).toMatch(/version 5 of churn waits for approval until \d{4}-\d\d-\d\dT.+ \(validation:auc 0\.81 vs champion 0\.79\)/);
    expect(text).toContain(`may approve: anyone granted approve on this API (approval.approvers is not set) — but not the requester, ${REQUESTER}`);
    expect(text).toContain(`you (${APPROVER}) may approve it`);
    const approve = /approve: (npx caretaker approve .+)$/m.exec(text)?.[1] ?? '';
    expect(approve).toBe('npx caretaker approve churn 5 --reason "<why>"');

    // The printed command, as a reader pastes it with a reason filled in.
    const argv = approve.replace('<why>', 'looks good').match(/"[^"]*"|\S+/g)?.slice(2).map((w) => w.replace(/^"|"$/g, '')) ?? [];
    const approved = await cli(APPROVER, ...argv);
    expect(approved.out).toContain('churn version 5: APPROVED');

    await endRun('run-watch-5');
    const log2 = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      expect(await watching).toBe(0);
    } finally {
      log2.mockRestore();
    }
    expect(out.at(-1)).toMatch(/^run-watch-5: SUCCEEDED at RecordDeployment \(took \d+m \d\ds, ended /);
  });

  it('names the configured approvers, and tells the requester it may not approve', async () => {
    await h.putVersion({ model: 'fraud', version: 3, runId: 'run-watch-fraud' });
    await putRun('run-watch-fraud', 'fraud', 3, new Date().toISOString());
    const shown = await cli(REQUESTER, 'runs', 'show', 'run-watch-fraud');
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`may approve: ${APPROVER_ROLE} — but not the requester, ${REQUESTER}`);
    expect(shown.out).toMatch(/you \(.+\) may not: .+ is not an approver of fraud/);
    expect(shown.out).toContain('approve: npx caretaker approve fraud 3 --reason "<why>"');
  });
});

describe('elapsed time', () => {
  it('reads as seconds, minutes or hours', () => {
    expect([formatElapsed(12_400), formatElapsed(245_000), formatElapsed(3 * 3600_000 + 4 * 60_000)]).toEqual(['12s', '4m 05s', '3h 4m']);
  });
});
