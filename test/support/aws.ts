import { randomUUID } from 'node:crypto';
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
