/**
 * One deployment in flight per endpoint (RELIABILITY row 24): a conditional lease item per
 * endpoint, taken by a training run's StartDeployment and by a rollback's StartRollback before
 * they change anything, released when the deployment ends (RecordDeployment, FinishRun). A lease
 * whose holder never released it (the execution was stopped) expires after the deploy path's
 * computed bound (lib/execution-bound.ts), so an endpoint cannot stay locked forever.
 *
 * SageMaker itself refuses a second UpdateEndpoint while one runs (ValidationException); the
 * lease makes the second deployment wait or be refused *before* it moves any version.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../shared/contracts';
import { conditionalUpdate, isConditionFailure } from '../shared/dynamo';
import { Conflict, PIPELINE_ERRORS, type ErrorDetail } from '../shared/errors';

export interface DeploymentLease {
  readonly endpointName: string;
  readonly holder: string;
  readonly model: string;
  readonly version: number;
  readonly kind: 'training' | 'rollback';
  readonly acquiredAt: string;
  readonly leaseExpiresAt: string;
}

/** Another deployment holds the endpoint: raised before anything was changed. */
export const DEPLOYMENT_IN_FLIGHT = PIPELINE_ERRORS.deploymentInFlight;

export class DeploymentInFlight extends Conflict {
  constructor(
    message: string,
    readonly holder?: DeploymentLease,
    details?: readonly ErrorDetail[],
  ) {
    super(message, details);
    this.name = DEPLOYMENT_IN_FLIGHT;
  }
}

export function describeHolder(lease: DeploymentLease): string {
  return `${lease.kind === 'rollback' ? 'rollback' : 'deployment'} ${lease.holder} of ${lease.model} version ${lease.version} holds endpoint ${lease.endpointName} (since ${lease.acquiredAt}, lease until ${lease.leaseExpiresAt})`;
}

export class DeploymentLeases {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly tableName: string,
  ) {}

  async get(endpointName: string): Promise<DeploymentLease | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.deploymentLease(endpointName), ConsistentRead: true }));
    return Item && typeof Item.holder === 'string' ? (Item as DeploymentLease) : undefined;
  }

  /**
   * Takes the endpoint for `holder` (again, if it already holds it: a retried step). Throws
   * DeploymentInFlight naming the holder when another deployment holds an unexpired lease.
   */
  async acquire(input: Omit<DeploymentLease, 'leaseExpiresAt'> & { readonly leaseSeconds: number }): Promise<void> {
    const { leaseSeconds, ...lease } = input;
    const leaseExpiresAt = new Date(Date.parse(input.acquiredAt) + leaseSeconds * 1000).toISOString();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.deploymentLease(input.endpointName), ...lease, leaseExpiresAt },
          ConditionExpression: 'attribute_not_exists(holder) OR holder = :holder OR leaseExpiresAt < :now',
          ExpressionAttributeValues: { ':holder': input.holder, ':now': input.acquiredAt },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const holder = await this.get(input.endpointName);
      throw new DeploymentInFlight(holder ? describeHolder(holder) : `another deployment holds endpoint ${input.endpointName}`, holder);
    }
  }

  /** Gives the endpoint back if `holder` still holds it (a no-op otherwise). */
  async release(endpointName: string, holder: string, at: string): Promise<boolean> {
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: keys.deploymentLease(endpointName),
      UpdateExpression: 'SET releasedAt = :at, lastHolder = :holder REMOVE holder, leaseExpiresAt',
      ConditionExpression: 'holder = :holder',
      ExpressionAttributeValues: { ':holder': holder, ':at': at },
    });
  }
}
