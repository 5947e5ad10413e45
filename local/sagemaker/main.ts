/**
 * Runs the local SageMaker runner on its own:
 *
 *   AWS_ENDPOINT_URL=http://127.0.0.1:5000 npx tsx local/sagemaker/main.ts [--port 4011] [--images images.json]
 *
 * S3 (and CloudWatch, for auto-rollback alarms) are reached through the usual SDK settings,
 * e.g. `AWS_ENDPOINT_URL` pointing at a moto server. Prints the URL to use as
 * `AWS_ENDPOINT_URL_SAGEMAKER` and `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`, and stops every
 * process it started on Ctrl-C or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { defaultImageRegistry, loadImageRegistry } from './images';
import { startLocalSageMaker } from './server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    images: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port number, got ${values.port}`);

const images = { ...defaultImageRegistry(), ...(values.images ? loadImageRegistry(values.images) : {}) };
const local = await startLocalSageMaker({
  s3: new S3Client({ forcePathStyle: true, region: process.env.AWS_REGION ?? 'us-east-1' }),
  cloudWatch: new CloudWatchClient({ region: process.env.AWS_REGION ?? 'us-east-1' }),
  images,
  port,
  log: values.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
});
process.stdout.write(`local SageMaker runner on ${local.endpoint} (images: ${Object.keys(images).join(', ')})\n`);
process.stdout.write(`export AWS_ENDPOINT_URL_SAGEMAKER=${local.endpoint} AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=${local.endpoint}\n`);

let closing = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (closing) return;
  closing = true;
  process.stderr.write(`${signal}: stopping jobs and endpoints\n`);
  void local.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
