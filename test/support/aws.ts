import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { inject } from 'vitest';

/**
 * Client settings for the shared moto server. Tests pass these to SDK clients (or set them
 * as env for handlers built at module load) so nothing ever reaches a real AWS endpoint.
 */
export function motoClientConfig() {
  return {
    endpoint: inject('motoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
  } as const;
}

/** A name no other test uses, so files sharing one moto server never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Client settings for moto with one connection. DynamoDB and SQS apply each request atomically;
 * moto's threaded server does not (two concurrent conditional writes can both pass their
 * condition, two concurrent sends can both escape deduplication). One connection sends one
 * request at a time, restoring per-request atomicity, while concurrent invocations still
 * interleave between their requests. Use it wherever a test races handlers against each other.
 */
export function serializedMotoConfig() {
  return { ...motoClientConfig(), requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) } };
}
