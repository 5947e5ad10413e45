/**
 * The one DynamoDB toolkit of every part (api, pipeline, retraining, datasets):
 * - `createDocumentClient`: the document client, built once per process. Endpoint and region come
 *   from the standard AWS SDK environment (`AWS_ENDPOINT_URL[_DYNAMODB]`, `AWS_REGION`), so the
 *   same code talks to DynamoDB, to moto in tests, and to local mode.
 * - `isConditionFailure`: the one test for "a condition in this write did not hold".
 * - `encodePageToken` / `decodePageToken`: the one page-token codec, checked against the query;
 *   `queryPages`: every page of a query.
 * - `DEFAULT_PAGE_SIZE` / `MAX_PAGE_SIZE`: the page sizes every listing uses.
 * - `auditPut` / `transactWithAudit`: an audit event written once, and an act written together
 *   with its audit event.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand, UpdateCommand, type QueryCommandInput, type TransactWriteCommandInput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from './zod';
import { keys, type AuditEvent } from './contracts';
import { Invalid } from './errors';
import { TABLE_SCHEMA, type IndexName } from './table-schema';
import { sdkClientConfig } from './sdk';

export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...sdkClientConfig(), ...config }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

// ---------------------------------------------------------------------------------------------
// Condition failures

/**
 * True when DynamoDB refused a write because a condition did not hold: a
 * `ConditionalCheckFailedException` (single-item write), or a `TransactionCanceledException`
 * with at least one `ConditionalCheckFailed` cancellation reason. A transaction cancelled only
 * for other reasons (`TransactionConflict`, `ThrottlingError`, `ValidationError`) is not one:
 * that is a failure the caller must not read as "someone else already did it".
 * Matched by name, not `instanceof`, so errors from another copy of the SDK (local mode, tests)
 * are recognized too.
 */
export function isConditionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ConditionalCheckFailedException') return true;
  return error.name === 'TransactionCanceledException' && failedConditions(error).length > 0;
}

/**
 * Awaits one conditional write: true when it applied, false when its condition did not hold;
 * every other error is thrown as the SDK raised it.
 */
export async function applied(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** One conditional UpdateItem: true when it applied, false when its condition did not hold. */
export function conditionalUpdate(client: Pick<DynamoDBDocumentClient, 'send'>, input: UpdateCommandInput): Promise<boolean> {
  return applied(client.send(new UpdateCommand(input)));
}

/** One TransactWriteItems: true when it applied, false when a condition did not hold (nothing was written). */
export function conditionalTransact(client: Pick<DynamoDBDocumentClient, 'send'>, items: readonly TransactItem[]): Promise<boolean> {
  return applied(client.send(new TransactWriteCommand({ TransactItems: [...items] })));
}

/** Indexes of the transaction items whose condition failed (empty for any other error). */
export function failedConditions(error: unknown): number[] {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return [];
  const reasons = (error as { CancellationReasons?: readonly { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.flatMap((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? [index] : []));
}

// ---------------------------------------------------------------------------------------------
// Pages

/**
 * Every page of a query, following LastEvaluatedKey until DynamoDB says there is no more; the
 * caller may stop early. The SDK's `paginateQuery` does the same but refuses any client that is not
 * a `DynamoDBDocumentClient` instance, and the ports here take anything with `send`.
 */
export async function* queryPages(
  client: Pick<DynamoDBDocumentClient, 'send'>,
  input: QueryCommandInput,
): AsyncGenerator<Record<string, unknown>[]> {
  let start: Record<string, unknown> | undefined = input.ExclusiveStartKey;
  do {
    const page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pages';

/** The query a page token belongs to: a token is accepted back only for the same query. */
export interface PageQuery {
  /** The index queried. @default the table */
  readonly index?: IndexName;
  /** The partition key value of the query's key condition. */
  readonly partition: string;
  /** The sort key condition of the query, if any: `begins_with` and/or a range (inclusive). */
  readonly sort?: { readonly prefix?: string; readonly from?: string; readonly to?: string };
  /** The request field the token arrived in, named in the 400. @default 'query.nextToken' */
  readonly field?: string;
}

const keyValue = z.string().check(z.minLength(1), z.maxLength(1024));

/** The key attributes a LastEvaluatedKey of a query on `index` holds: the table's, plus the index's. */
function keyAttributes(index: IndexName | undefined): { partition: string; sort: string; all: string[] } {
  const table = [TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey];
  if (index === undefined) return { partition: TABLE_SCHEMA.partitionKey, sort: TABLE_SCHEMA.sortKey, all: table };
  const gsi = TABLE_SCHEMA.indexes.find((i) => i.indexName === index);
  if (!gsi) throw new Error(`no index ${index}`);
  return { partition: gsi.partitionKey, sort: gsi.sortKey, all: [...table, gsi.partitionKey, gsi.sortKey] };
}

/** DynamoDB's LastEvaluatedKey as an opaque token (base64url of its JSON); undefined on the last page. */
export function encodePageToken(lastKey: Readonly<Record<string, unknown>> | undefined): string | undefined {
  return lastKey ? Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url') : undefined;
}

/**
 * The ExclusiveStartKey a token stands for, or undefined for the first page. A token that is not
 * one this query returned — not base64url JSON, other attributes than the query's key, another
 * partition, a sort key outside the key condition (DynamoDB itself refuses an ExclusiveStartKey
 * outside the key condition, as a 400 `ValidationException`) — is `Invalid` (400) naming the field.
 */
export function decodePageToken(token: string | undefined, query: PageQuery): Record<string, string> | undefined {
  if (token === undefined) return undefined;
  const field = query.field ?? 'query.nextToken';
  const attributes = keyAttributes(query.index);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const shape = z.strictObject(Object.fromEntries(attributes.all.map((name) => [name, keyValue])));
  const result = shape.safeParse(parsed);
  const key = result.success ? (result.data as Record<string, string>) : undefined;
  const sortKey = key?.[attributes.sort];
  const inQuery =
    key !== undefined &&
    sortKey !== undefined &&
    key[attributes.partition] === query.partition &&
    (query.sort?.prefix === undefined || sortKey.startsWith(query.sort.prefix)) &&
    (query.sort?.from === undefined || sortKey >= query.sort.from) &&
    (query.sort?.to === undefined || sortKey <= query.sort.to);
  if (!inQuery) {
    const name = field.split('.').at(-1);
    throw new Invalid(`${name} is not a token from a previous page of this list`, [{ field, message: 'not a token from a previous page of this list' }]);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Audit events and the transactions that carry them

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The table item of an audit event (`AUDIT#<model>` / `<at>#<eventId>`, and the gsi1 time index). */
export function auditItem(event: AuditEvent): Record<string, unknown> {
  return { ...event, ...keys.audit(event.model, event.at, event.eventId) };
}

/**
 * The conditional Put of an audit event: written once per (model, time, eventId), never
 * overwritten. Send it alone (`new PutCommand(auditPut(…))`) or as a transaction item.
 */
export function auditPut(tableName: string, event: AuditEvent): NonNullable<TransactItem['Put']> {
  return { TableName: tableName, Item: auditItem(event), ConditionExpression: 'attribute_not_exists(pk)' };
}

export type TransactOutcome =
  | { readonly written: true }
  /** A condition failed: nothing was written. `failed` holds the indexes of the refusing items (the audit event's is `items.length`). */
  | { readonly written: false; readonly failed: readonly number[]; readonly error: Error };

/**
 * Performs an act and records its audit event in ONE `TransactWriteItems`: both are written, or
 * neither is. Use it wherever a state change must never exist without its audit trail (or the
 * trail without the change) — decisions, registrations, retrain requests, deployments.
 *
 * - `items` are the act's writes (Put / Update / Delete / ConditionCheck, each with the
 *   conditions that make the act valid, e.g. `#status = :pending`).
 * - `audit` is appended as a conditional Put (`auditPut`): an event id already written at that
 *   time cancels the whole transaction, so a replayed act with the same event is written once.
 * - At most 100 items in all (the TransactWriteItems limit), the audit event included.
 *
 * Returns `{ written: true }`, or `{ written: false, failed }` when any condition did not hold
 * (nothing was written; `failed` names which item refused, the audit event being index
 * `items.length`), so the caller can tell "lost the race / already done" from a fault. Every
 * other error — throttling, `TransactionConflict`, validation — is thrown as the SDK raised it.
 */
export async function transactWithAudit(
  client: Pick<DynamoDBDocumentClient, 'send'>,
  input: { readonly tableName: string; readonly items: readonly TransactItem[]; readonly audit: AuditEvent },
): Promise<TransactOutcome> {
  const TransactItems = [...input.items, { Put: auditPut(input.tableName, input.audit) }];
  if (TransactItems.length > 100) throw new Error(`transactWithAudit: ${TransactItems.length} items; TransactWriteItems takes at most 100`);
  try {
    await client.send(new TransactWriteCommand({ TransactItems }));
    return { written: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { written: false, failed: failedConditions(error), error: error as Error };
  }
}
