/**
 * A starter wired to the moto server's DynamoDB, with fakes only at the boundaries moto does
 * not cover: Step Functions (records every StartExecution and behaves like the service on
 * repeated names), metrics (records outcomes) and the clock.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { keys, type RetrainingRequest } from '../../../lambdas/shared/contracts';
import { intakeEventSchema, normalize } from '../../../lambdas/retraining/messages';
import { createDocumentClient } from '../../../lambdas/shared/dynamo';
import { StepFunctionsPipeline } from '../../../lambdas/retraining/adapters';
import type { RetrainingPolicy, SuppressionReason } from '../../../lambdas/retraining/policy';
import { dynamoReleasePorts } from '../../../lambdas/retraining/release';
import { DynamoDatasetVersions, DynamoRetrainingStore } from '../../../lambdas/retraining/repository';
import { createHandler, type StarterDeps } from '../../../lambdas/retraining/starter';
import { serializedMotoConfig } from '../../support/aws';
import { sqsRecord } from './events';

export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Caretaker-TrainingPipeline';
export const ALARM_PREFIX = 'Caretaker-Caretaker-';

export { serializedMotoConfig } from '../../support/aws';

/** Step Functions at the boundary: names are unique per state machine, as in the service. */
export class FakeStepFunctions {
  readonly calls: StartExecutionCommandInput[] = [];
  private readonly executions = new Map<string, string | undefined>();
  private failures: Error[] = [];

  failNext(...errors: Error[]): void {
    this.failures.push(...errors);
  }

  send(command: unknown): Promise<{ executionArn: string; startDate: Date }> {
    if (!(command instanceof StartExecutionCommand)) return Promise.reject(new Error('unexpected command'));
    const input = command.input;
    this.calls.push(input);
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    const name = input.name ?? '';
    const executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
    if (this.executions.has(name) && this.executions.get(name) !== input.input) {
      return Promise.reject(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${executionArn}'`, $metadata: {} }));
    }
    this.executions.set(name, input.input);
    return Promise.resolve({ executionArn, startDate: new Date() });
  }

  startsFor(model: string): StartExecutionCommandInput[] {
    return this.calls.filter((c) => (JSON.parse(c.input ?? '{}') as { model?: string }).model === model);
  }
}

export class RecordingMetrics {
  readonly started: string[] = [];
  readonly suppressed: { model: string; reason: SuppressionReason }[] = [];
  readonly port = {
    started: (model: string) => this.started.push(model),
    suppressed: (model: string, reason: SuppressionReason) => this.suppressed.push({ model, reason }),
  };
  suppressedFor(model: string, reason: SuppressionReason): number {
    return this.suppressed.filter((s) => s.model === model && s.reason === reason).length;
  }
}

export const defaultPolicy = (overrides: Partial<RetrainingPolicy> = {}): RetrainingPolicy => ({
  dataset: 'churn',
  cooldownHours: 6,
  maxRunsPerDay: 3,
  leaseSeconds: 3 * 24 * 3600,
  ...overrides,
});

/** What the intake would queue for `event`. */
export function asRequest(event: RetrainingRequest | object, models: readonly string[]): RetrainingRequest {
  if ('runId' in event) return event;
  const normalized = normalize(intakeEventSchema.parse(event), { alarmNamePrefix: ALARM_PREFIX, models });
  if (normalized.kind !== 'request') throw new Error(normalized.why);
  return normalized.request;
}

export function createStarter(tableName: string, policies: Record<string, RetrainingPolicy>) {
  const documents = createDocumentClient(serializedMotoConfig());
  const sfn = new FakeStepFunctions();
  const metrics = new RecordingMetrics();
  const clock = { now: new Date('2026-11-22T10:00:00.000Z') };
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const deps: StarterDeps = {
    store: new DynamoRetrainingStore(documents, tableName),
    datasets: new DynamoDatasetVersions(documents, tableName),
    pipeline: new StepFunctionsPipeline(sfn, STATE_MACHINE_ARN),
    metrics: metrics.port,
    now: () => clock.now,
    claimSeconds: 120,
    policies,
    log: quiet,
  };
  const handler = createHandler(deps);
  const release = dynamoReleasePorts(documents, tableName, () => clock.now);
  return {
    documents,
    sfn,
    metrics,
    clock,
    deps,
    handler,
    release,
    /**
     * Delivers one message as its own invocation, like one of many concurrent Lambda instances.
     * Alarm events are first normalized as the intake does.
     */
    deliver: (body: RetrainingRequest | object, group: string) =>
      handler({ Records: [sqsRecord(JSON.stringify(asRequest(body, Object.keys(policies))), group)] } satisfies SQSEvent),
    advanceHours: (hours: number) => {
      clock.now = new Date(clock.now.getTime() + hours * 3_600_000);
    },
    async seedDataset(dataset: string, versions: readonly { version: string; status: 'PASSED' | 'FAILED' | 'PENDING' }[]) {
      for (const { version, status } of versions) {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...keys.datasetVersion(dataset, version),
              dataset,
              datasetVersion: version,
              validation: { status },
              objects: [{ bucket: 'datasets', key: `datasets/${dataset}/train.csv`, versionId: version, sha256: 'ab'.repeat(32) }],
              createdAt: '2026-11-20T00:00:00.000Z',
            },
          }),
        );
      }
    },
    get: async (key: Record<string, string>) =>
      (await documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item,
    query: async (pk: string) =>
      (await documents.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } })))
        .Items ?? [],
  };
}
