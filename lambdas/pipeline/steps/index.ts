/**
 * The pipeline steps that need code, one file per stage. Each is a plain function of its
 * (zod-parsed) input and its ports; `handler.ts` dispatches on `step`. Statuses only move through
 * conditional writes (store.ts), so a retried step or a concurrent API decision cannot move a
 * version twice.
 */
export * from './ports';
export * from './run';
export * from './evaluation';
export * from './approval';
export * from './deployment';
export * from './rollback';
export * from './scoring';
