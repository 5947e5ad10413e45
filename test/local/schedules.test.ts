/**
 * Local mode runs scheduled functions (moto stores a rule's ScheduleExpression and never fires
 * it): the delivery sweep and the audit reconciler at the rates their constructs give, with the event EventBridge sends a
 * scheduled rule's target, and — in a running local stack — against the local table and Step
 * Functions.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, type ModelVersionRecord } from '../../lambdas/shared/contracts';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { auditObjectKey } from '../../lambdas/audit/copy';
import { auditPut, createDocumentClient } from '../../lambdas/shared/dynamo';
import { ENV } from '../../lambdas/shared/env';
import { localConfig } from '../../local/demo';
import { LocalFunctions } from '../../local/functions';
import { ratePeriodMs, scheduledFunctions, startSchedules, type Schedule } from '../../local/schedules';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { synthesizeTemplate, type CfnTemplate } from '../../local/template';
import { motoClientConfig, uniqueName } from '../support/aws';
import { exampleConfig } from '../support/stack';

describe('rate expressions (EventBridge: rate(value unit), singular unit for 1)', () => {
  it('reads minutes, hours and days', () => {
    expect(ratePeriodMs('rate(1 minute)')).toBe(60_000);
    expect(ratePeriodMs('rate(5 minutes)')).toBe(300_000);
    expect(ratePeriodMs('rate(2 hours)')).toBe(7_200_000);
    expect(ratePeriodMs('rate(1 day)')).toBe(86_400_000);
  });

  it('refuses what EventBridge refuses, and cron, naming the expression', () => {
    for (const bad of ['rate(1 minutes)', 'rate(2 minute)', 'rate(0 minutes)', 'rate(5 seconds)', 'cron(0 12 * * ? *)']) {
      expect(() => ratePeriodMs(bad)).toThrow(bad);
    }
  });
});

describe('scheduled functions from the synthesized template', () => {
  let template: CfnTemplate;
  let functions: LocalFunctions;
  beforeAll(() => {
    template = synthesizeTemplate(localConfig(exampleConfig()));
    // Only the functions' entries matter here: their environments are left unresolved.
    functions = new LocalFunctions(template, (value) => value, (id) => ({ arn: `arn:aws:lambda:us-east-1:123456789012:function:${id}`, name: id }));
  }, 120_000);

  it('finds the delivery sweep and the audit reconciler at their rules\' rates, and only the scheduled functions local mode runs', () => {
    const schedules = scheduledFunctions(template, functions, (id) => `arn:aws:events:us-east-1:123456789012:rule/${id}`);
    expect(schedules.map((s) => s.entry.replace(/^.*lambdas\//, '')).sort()).toEqual(['api/sweep.handler.ts', 'audit/reconcile.handler.ts']);
    for (const schedule of schedules) {
      const rule = template.Resources[schedule.ruleLogicalId]?.Properties ?? {};
      expect(schedule.expression).toBe(rule.ScheduleExpression);
      expect(schedule.periodMs).toBe(ratePeriodMs(String(rule.ScheduleExpression)));
      expect(schedule.ruleArn).toBe(`arn:aws:events:us-east-1:123456789012:rule/${schedule.ruleLogicalId}`);
    }
    expect(schedules.find((s) => s.entry.endsWith('api/sweep.handler.ts'))?.periodMs).toBe(60_000);
    // RegistryApi's auditReconcile.every defaults to an hour.
    expect(schedules.find((s) => s.entry.endsWith('audit/reconcile.handler.ts'))?.periodMs).toBe(3_600_000);
  });
});

describe('startSchedules', () => {
  const schedule: Schedule = { ruleLogicalId: 'SweepRule', ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/sweep', functionLogicalId: 'Sweeper', entry: 'lambdas/api/sweep.handler.ts', expression: 'rate(1 minute)', periodMs: 60_000 };

  function fakeTimers() {
    const timers: { run: () => void; ms: number; cleared: boolean }[] = [];
    return {
      timers,
      setInterval: (run: () => void, ms: number) => {
        const timer = { run, ms, cleared: false };
        timers.push(timer);
        return timer;
      },
      clearInterval: (timer: never) => {
        (timer as { cleared: boolean }).cleared = true;
      },
    };
  }

  it('invokes the function every period with a Scheduled Event naming the rule, never twice at once, and logs a failure', async () => {
    const clock = fakeTimers();
    const events: unknown[] = [];
    let finish: (() => void) | undefined;
    let fail = false;
    const lines: string[] = [];
    const running = startSchedules({
      schedules: [schedule],
      functions: {
        invoke: (reference, event) => {
          events.push({ reference, event });
          if (fail) return Promise.reject(new Error('table gone'));
          return new Promise<void>((resolve) => (finish = resolve));
        },
      },
      accountId: '123456789012',
      region: 'us-east-1',
      log: (line) => lines.push(line),
      ...clock,
    });
    expect(clock.timers.map((t) => t.ms)).toEqual([60_000]);
    clock.timers[0]?.run();
    clock.timers[0]?.run(); // due again while the first is still running
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([
      {
        reference: 'Sweeper',
        event: expect.objectContaining({ 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', region: 'us-east-1', resources: [schedule.ruleArn], detail: {} }) as unknown,
      },
    ]);
    finish?.();
    await new Promise((resolve) => setImmediate(resolve));
    fail = true;
    clock.timers[0]?.run();
    await running.stop();
    expect(events).toHaveLength(2);
    expect(lines).toEqual([expect.stringMatching(/rate\(1 minute\) → lambdas\/api\/sweep\.handler\.ts failed: table gone/)]);
    expect(clock.timers[0]?.cleared).toBe(true);
  });
});

describe('local mode runs the delivery sweep', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ config: localConfig(exampleConfig()), motoEndpoint: motoClientConfig().endpoint, prefix: uniqueName('sched') });
  }, 120_000);
  afterAll(async () => {
    await stack.close();
  });

  it('schedules the sweeper at its rule\'s rate; its run closes an owed decision whose task Step Functions no longer knows', async () => {
    const sweep = stack.schedules.schedules.find((s) => s.entry.endsWith('api/sweep.handler.ts'));
    expect(sweep).toMatchObject({ entry: expect.stringMatching(/api\/sweep\.handler\.ts$/) as unknown, periodMs: 60_000 });
    const db = createDocumentClient(stack.clientConfig);
    const decidedAt = new Date(Date.now() - 5 * 60_000).toISOString();
    const model = 'churn';
    const version = 900;
    const record: Partial<ModelVersionRecord> & Record<string, unknown> = {
      model,
      version,
      status: 'APPROVED',
      runId: 'run-churn-900',
      requestedBy: 'arn:aws:sts::123456789012:assumed-role/ds/bob',
      taskToken: 'token-the-local-pipeline-never-issued',
      decision: { decision: 'APPROVED', by: 'arn:aws:sts::123456789012:assumed-role/approver/alice', reason: 'ok', at: decidedAt },
      deliveryState: 'OWED',
      createdAt: decidedAt,
      updatedAt: decidedAt,
    };
    await db.send(new PutCommand({ TableName: stack.names.table, Item: { ...record, ...keys.version(model, version), ...keys.versionByStatus(model, 'APPROVED', version), ...keys.owedDelivery(model, version, decidedAt) } }));
    await stack.schedules.tick(sweep?.functionLogicalId ?? '');
    const { Item } = await db.send(new GetCommand({ TableName: stack.names.table, Key: keys.version(model, version), ConsistentRead: true }));
    expect(Item).toMatchObject({ status: 'APPROVED', deliveryState: 'CLOSED' });
    expect(Item).not.toHaveProperty('gsi2pk');
  });

  // Last in this block: it stops the stack's stream consumers, as a copier outage would.
  it('schedules the audit reconciler hourly; its run copies an audit event the stream copier missed into the audit bucket', async () => {
    const reconcile = stack.schedules.schedules.find((s) => s.entry.endsWith('audit/reconcile.handler.ts'));
    expect(reconcile).toMatchObject({ periodMs: 3_600_000 });
    const bucket = [...stack.functions.byLogicalId.values()].find((fn) => fn.logicalId === reconcile?.functionLogicalId)?.environment[ENV.auditBucket];
    await stack.streams.stop();
    const event = { eventId: 'evt-missed-by-the-copier', model: 'churn', at: new Date(Date.now() - 30 * 60_000).toISOString(), type: 'RUN_REQUESTED' as const, actor: 'arn:aws:sts::123456789012:assumed-role/ds/bob' };
    await createDocumentClient(stack.clientConfig).send(new PutCommand(auditPut(stack.names.table, event)));
    const s3 = new S3Client(stack.clientConfig);
    const listed = async () => (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'audit/churn/' }))).Contents?.map((o) => o.Key) ?? [];
    expect(await listed()).not.toContain(auditObjectKey(event));
    await stack.schedules.tick(reconcile?.functionLogicalId ?? '');
    expect(await listed()).toContain(auditObjectKey(event));
    s3.destroy();
  });
});
