/**
 * The registry API Lambda behind API Gateway (REST, proxy integration, AWS_IAM on every
 * method). Clients, config and ports are built once per process; the caller is the IAM
 * principal API Gateway authenticated.
 */
import { logger } from '../shared/powertools';
import { fromIamContext } from './principal';
import { createApiHandlerFromEnv } from './wiring';

const api = createApiHandlerFromEnv(process.env, fromIamContext);

export const handler = api.handler;

logger.debug('registry API ready', { models: api.modelCount });
