/**
 * The registry API client for Node (CLI, scripts): `./core` with the standard AWS credential
 * chain (env, SSO, profile, instance/container role) as the default credentials.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { CaretakerClient as CoreClient, type CaretakerClientOptions } from './core';

export * from './core';

export class CaretakerClient extends CoreClient {
  constructor(options: CaretakerClientOptions) {
    super(options.local || options.credentials ? options : { ...options, credentials: fromNodeProviderChain() });
  }
}
