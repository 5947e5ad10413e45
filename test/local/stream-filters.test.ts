/**
 * Local mode's DynamoDB stream drain applies FilterCriteria as Lambda does (Lambda developer
 * guide, "Control which events Lambda sends to your function"): here the audit copier's own
 * filter, as the synthesized template carries it (local mode now drains the audit copier too).
 */
import { describe, expect, it } from 'vitest';
import { matchesPattern as matchesFilter } from '../../local/streams';
import { synthCaretaker } from '../support/stack';

describe('stream filter criteria, locally', () => {
  const { template } = synthCaretaker();
  const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).find((r) =>
    JSON.stringify(r).includes('AUDIT#'),
  ) as { Properties: { FilterCriteria: { Filters: { Pattern: string }[] } } };
  const pattern = JSON.parse(mapping.Properties.FilterCriteria.Filters[0]!.Pattern) as Record<string, unknown>;
  const record = (eventName: string, pk: string) => ({ eventName, dynamodb: { Keys: { pk: { S: pk }, sk: { S: 'x' } } } });

  it('passes only INSERTs of AUDIT# items to the audit copier', () => {
    expect(matchesFilter(pattern, record('INSERT', 'AUDIT#churn'))).toBe(true);
    expect(matchesFilter(pattern, record('MODIFY', 'AUDIT#churn'))).toBe(false);
    expect(matchesFilter(pattern, record('INSERT', 'MODEL#churn'))).toBe(false);
    expect(matchesFilter(pattern, { eventName: 'INSERT' })).toBe(false);
  });
});
