/**
 * Benchmarks of the local SageMaker runner and the churn example, through the SageMaker wire
 * protocol against a moto S3 server it starts itself:
 *
 *   npm run bench:localrunner [-- --rows 5000 --requests 500]
 *
 * Reports: training job wall time (create → Completed) at two data sizes, endpoint create →
 * InService, InvokeEndpoint latency through the runner (with 100 % capture) vs straight to the
 * serving process, and the runner's resident memory. Writes bench/results/localrunner.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTrainingJobCommand,
  DescribeEndpointCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { generateCsv } from '../examples/churn/src/data';
import { startLocalSageMaker } from '../local/sagemaker/server';
import { startMotoServer } from '../test/support/moto-server';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '5000' }, requests: { type: 'string', default: '500' } } });
const rows = Number(values.rows);
const requests = Number(values.requests);

const moto = await startMotoServer();
const aws = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, forcePathStyle: true } as const;
const s3 = new S3Client(aws);
const local = await startLocalSageMaker({ s3, settings: { captureFlushMs: 1_000 } });
const sagemaker = new SageMakerClient({ ...aws, endpoint: local.endpoint });
const bucket = 'bench-localrunner';
const results: Record<string, number | string> = { node: process.version, rows, requests };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const round = (ms: number) => Math.round(ms * 100) / 100;

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const size of [1000, rows]) {
    const key = `data/${size}/train.csv`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: generateCsv({ rows: size, seed: 7 }) }));
    const name = `bench-train-${size}`;
    const started = performance.now();
    await sagemaker.send(
      new CreateTrainingJobCommand({
        TrainingJobName: name,
        RoleArn: 'arn:aws:iam::123456789012:role/bench',
        AlgorithmSpecification: { TrainingImage: 'caretaker-churn:1.0.0', TrainingInputMode: 'File' },
        HyperParameters: { eta: '0.2', num_round: '200' },
        InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/data/${size}/` } } }],
        OutputDataConfig: { S3OutputPath: `s3://${bucket}/models/` },
        ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
        StoppingCondition: { MaxRuntimeInSeconds: 600 },
      }),
    );
    const job = await poll(
      () => sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })),
      (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus ?? ''),
    );
    if (job.TrainingJobStatus !== 'Completed') throw new Error(`${name}: ${job.FailureReason ?? job.TrainingJobStatus ?? ''}`);
    results[`train_${size}_rows_200_epochs_ms`] = round(performance.now() - started);
  }

  await sagemaker.send(
    new CreateModelCommand({ ModelName: 'bench', PrimaryContainer: { Image: 'caretaker-churn:1.0.0', ModelDataUrl: `s3://${bucket}/models/bench-train-${rows}/output/model.tar.gz` } }),
  );
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'bench',
      ProductionVariants: [{ VariantName: 'primary', ModelName: 'bench', InitialInstanceCount: 1 }],
      DataCaptureConfig: { EnableCapture: true, InitialSamplingPercentage: 100, DestinationS3Uri: `s3://${bucket}/capture`, CaptureOptions: [{ CaptureMode: 'InputAndOutput' }] },
    }),
  );
  const created = performance.now();
  await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'bench', EndpointConfigName: 'bench' }));
  await poll(() => sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'bench' })), (e) => e.EndpointStatus === 'InService');
  results.endpoint_create_to_in_service_ms = round(performance.now() - created);

  const body = '3,90.5,4,month-to-month\n';
  const measure = async (url: string) => {
    const latencies: number[] = [];
    for (let i = 0; i < requests; i += 1) {
      const t = performance.now();
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
      latencies.push(performance.now() - t);
    }
    return latencies.sort((a, b) => a - b);
  };
  const [serving] = local.runner.endpoints.processes('bench');
  await measure(`${local.endpoint}/endpoints/bench/invocations`); // warm-up
  const viaRunner = await measure(`${local.endpoint}/endpoints/bench/invocations`);
  const direct = await measure(`http://127.0.0.1:${serving!.port}/invocations`);
  results.invoke_via_runner_p50_ms = round(percentile(viaRunner, 50));
  results.invoke_via_runner_p99_ms = round(percentile(viaRunner, 99));
  results.invoke_direct_p50_ms = round(percentile(direct, 50));
  results.invoke_direct_p99_ms = round(percentile(direct, 99));
  results.runner_rss_mb = Math.round(process.memoryUsage().rss / 1024 / 1024);
} finally {
  await local.close();
  s3.destroy();
  sagemaker.destroy();
  await moto.stop();
}

mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'localrunner.json'), JSON.stringify(results, null, 2));
for (const [name, value] of Object.entries(results)) process.stdout.write(`${name.padEnd(40)} ${value}\n`);
