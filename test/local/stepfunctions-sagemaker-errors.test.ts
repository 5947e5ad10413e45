/**
 * Local Step Functions raises SageMaker API errors with the names and Cause Step Functions uses
 * (local/stepfunctions/sagemaker-errors.ts names the sources), not the SDK's error names.
 */
import { CreateTrainingJobCommand, DescribeEndpointCommand, ResourceLimitExceeded, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { taskHandlerFor, type TaskPorts } from '../../local/stepfunctions/tasks';

const sagemaker = new SageMakerClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const mock = mockClient(sagemaker);
const ports = { isFunction: () => false, sagemaker } as unknown as TaskPorts;
const task = { stateName: 'T', taskToken: 't' };

/** An error as the SDK builds it from SageMaker's JSON 1.1 answer (`__type` → name). */
const serviceError = (name: string, message: string, status = 400) =>
  new SageMakerServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'req-1' } });

describe('local Step Functions: SageMaker errors as the service raises them', () => {
  afterEach(() => mock.reset());

  it('an unmodeled code (ThrottlingException) on an optimized integration is SageMaker.AmazonSageMakerException with the code in the Cause', async () => {
    mock.on(CreateTrainingJobCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded'));
    const handler = taskHandlerFor('arn:aws:states:::sagemaker:createTrainingJob.sync', ports)!;
    await expect(Promise.resolve(handler({ TrainingJobName: 'j' }, task))).rejects.toMatchObject({
      name: 'SageMaker.AmazonSageMakerException',
      message: 'Rate exceeded (Service: AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException; Request ID: req-1; Proxy: null)',
    });
  });

  it('a modeled error (ResourceLimitExceeded) keeps its Java class name', async () => {
    mock.on(CreateTrainingJobCommand).rejects(new ResourceLimitExceeded({ message: 'The account-level service limit is 0 Instances', $metadata: { httpStatusCode: 400, requestId: 'req-2' } }));
    const handler = taskHandlerFor('arn:aws:states:::sagemaker:createTrainingJob.sync', ports)!;
    await expect(Promise.resolve(handler({ TrainingJobName: 'j' }, task))).rejects.toMatchObject({
      name: 'SageMaker.ResourceLimitExceededException',
      message: expect.stringContaining('Error Code: ResourceLimitExceeded; Request ID: req-2') as unknown,
    });
  });

  it('the AWS SDK integration names errors ServiceName.ErrorName with the Exception suffix', async () => {
    mock.on(DescribeEndpointCommand).rejects(serviceError('ValidationException', 'Could not find endpoint "x".'));
    const handler = taskHandlerFor('arn:aws:states:::aws-sdk:sagemaker:describeEndpoint', ports)!;
    await expect(Promise.resolve(handler({ EndpointName: 'x' }, task))).rejects.toMatchObject({ name: 'SageMaker.ValidationException' });
    mock.on(DescribeEndpointCommand).rejects(serviceError('InternalFailure', 'oops', 500));
    await expect(Promise.resolve(handler({ EndpointName: 'x' }, task))).rejects.toMatchObject({ name: 'SageMaker.InternalFailureException' });
  });
});
