/**
 * The Distributed Map's two functions (see map.ts): each child's `analyzeShard`, and the
 * reducer's `reduceShards`. Both take their event from the state machine (parsed with zod) and
 * the artifacts bucket from the environment.
 */
import { S3Client } from '@aws-sdk/client-s3';
import * as z from '../shared/zod';
import { ENV, envValue } from '../shared/env';
import { Invalid } from '../shared/errors';
import { logger } from '../shared/powertools';
import { sdkClientConfig } from '../shared/sdk';
import type { PublishPorts } from './analyze';
import { analyzeShard, reduceEventSchema, reduceShards, shardEventSchema, type ShardPorts } from './map';
import { s3DriftObjects, type DriftObjectPorts } from './store';

function parsed<S extends z.core.$ZodType>(schema: S, event: unknown, what: string): z.output<S> {
  const result = z.safeParse(schema, event);
  if (!result.success) {
    throw new Invalid(
      `invalid ${what}`,
      result.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })),
    );
  }
  return result.data;
}

export function createShardHandler(ports: ShardPorts) {
  return (event: unknown) => analyzeShard(parsed(shardEventSchema, event, 'drift map shard event'), ports);
}

export function createReduceHandler(ports: DriftObjectPorts & PublishPorts, bucket: string) {
  return async (event: unknown) => {
    const input = parsed(reduceEventSchema, event, 'drift map reduce event');
    if (input.manifest.Bucket !== bucket) throw new Invalid(`the map's results are in bucket ${input.manifest.Bucket}, not the artifacts bucket ${bucket}`);
    return reduceShards(input, ports);
  };
}

/** Both functions' environment, as the DriftMonitor construct sets it. */
export const mapEnvironmentSchema = z.object({ [ENV.artifactsBucket]: envValue.name });

export function mapPortsFromEnvironment(env: z.output<typeof mapEnvironmentSchema>): DriftObjectPorts & PublishPorts {
  return {
    ...s3DriftObjects(new S3Client(sdkClientConfig()), env[ENV.artifactsBucket]),
    // EMF documents go to stdout; CloudWatch extracts the metrics from the function's log group.
    emit: (document) => process.stdout.write(`${document}\n`),
    log: (level, message, details) => logger[level](message, details ?? {}),
  };
}
