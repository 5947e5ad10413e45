import type { TestProject } from 'vitest/node';
import { startMotoServer } from './moto-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the moto server shared by the run's integration tests. */
    motoEndpoint: string;
  }
}

/** One moto server for the whole run; each test file isolates itself by resource names. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMotoServer();
  project.provide('motoEndpoint', moto.endpoint);
  return () => moto.stop();
}
