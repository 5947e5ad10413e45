import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../local/streams';

describe('matchesPattern (Lambda event filtering, the forms the stack uses)', () => {
  const record = { eventName: 'MODIFY', dynamodb: { Keys: { pk: { S: 'MODEL#churn' }, sk: { S: 'VERSION#0000000001' } } } };
  const events = { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'RUN#' }, { prefix: 'MODEL#' }] } } } };

  it('matches exact values and prefixes, field by field', () => {
    expect(matchesPattern(events, record)).toBe(true);
    expect(matchesPattern(events, { ...record, eventName: 'REMOVE' })).toBe(false);
    expect(matchesPattern(events, { ...record, dynamodb: { Keys: { pk: { S: 'AUDIT#churn' } } } })).toBe(false);
    expect(matchesPattern({ dynamodb: { NewImage: { status: { S: ['LIVE'] } } } }, record)).toBe(false);
  });

  it('refuses an operator it does not implement instead of ignoring the filter', () => {
    expect(() => matchesPattern({ eventName: [{ 'anything-but': 'REMOVE' }] }, record)).toThrow(/unsupported/);
  });
});
