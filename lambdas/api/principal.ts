/**
 * Who is calling. Chosen when the handler is built: the deployed API trusts only the IAM
 * principal API Gateway authenticated; local mode (no AWS, no SigV4) reads a header.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Forbidden } from '../shared/errors';

export type PrincipalResolver = (event: APIGatewayProxyEvent) => string;

/** The IAM principal ARN API Gateway verified with SigV4 (`AWS_IAM` authorization). */
export const fromIamContext: PrincipalResolver = (event) => {
  const arn = event.requestContext.identity.userArn;
  if (!arn) throw new Forbidden('the request carries no IAM identity');
  return arn;
};

export const LOCAL_PRINCIPAL_HEADER = 'x-caretaker-principal';

/** Local mode only: the caller names itself in `X-Caretaker-Principal`. */
export const fromLocalHeader: PrincipalResolver = (event) => {
  const entry = Object.entries(event.headers).find(([name]) => name.toLowerCase() === LOCAL_PRINCIPAL_HEADER);
  const value = entry?.[1]?.trim();
  if (!value || value.length > 2048) throw new Forbidden(`local mode needs the ${LOCAL_PRINCIPAL_HEADER} header`);
  return value;
};
