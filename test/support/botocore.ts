/**
 * Checks a SageMaker request against botocore's SageMaker service model (the model the AWS SDKs
 * are generated from), with botocore's own `ParamValidator`: required members, types, enums and
 * min/max bounds as SageMaker publishes them. A source no one here wrote, so a fake or a
 * rendered request that agrees with it agrees with the API (ARCHITECTURE.md, "Fakes that tell
 * the truth"). botocore ships with moto on these machines (`pip install "moto[server]"`).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const SCRIPT = `
import json, sys
import botocore.session
from botocore.validate import ParamValidator
request = json.load(sys.stdin)
model = botocore.session.get_session().get_service_model('sagemaker')
shape = model.operation_model(request['operation']).input_shape
report = ParamValidator().validate(request['params'], shape)
print(json.dumps(report.generate_report().splitlines() if report.has_errors() else []))
`;

/** botocore's validation errors for `params` of a SageMaker `operation` (e.g. CreateEndpointConfig); empty when valid. */
export function sagemakerRequestErrors(operation: string, params: unknown): string[] {
  const out = execFileSync('python3', ['-c', SCRIPT], { input: JSON.stringify({ operation, params }), encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

const BOUNDS_SCRIPT = `
import json, sys
import botocore.session
request = json.load(sys.stdin)
model = botocore.session.get_session().get_service_model('sagemaker')
shape = model.operation_model(request['operation']).input_shape
for step in request['path']:
    shape = shape.member if step == '[]' else shape.members[step]
print(json.dumps({name: member.metadata for name, member in shape.members.items()}))
`;

/** The published constraints (min, max, pattern…) of each member of a shape reached from an operation's input, e.g. ['ProductionVariants', '[]', 'ServerlessConfig']. */
export function sagemakerShapeConstraints(operation: string, path: readonly string[]): Record<string, { min?: number; max?: number; pattern?: string }> {
  const out = execFileSync('python3', ['-c', BOUNDS_SCRIPT], { input: JSON.stringify({ operation, path }), encoding: 'utf8' });
  return JSON.parse(out) as Record<string, { min?: number; max?: number }>;
}

const SERVICE_SCRIPT = `
import json, sys
import botocore.session
from botocore.validate import ParamValidator
request = json.load(sys.stdin)
model = botocore.session.get_session().get_service_model(request['service'])
operation = model.operation_model(request['operation'])
report = ParamValidator().validate(request['params'], operation.input_shape)
print(json.dumps({'errors': report.generate_report().splitlines() if report.has_errors() else [], 'protocol': model.metadata['protocol'], 'targetPrefix': model.metadata.get('targetPrefix'), 'jsonVersion': model.metadata.get('jsonVersion'), 'authtype': operation.metadata.get('authtype', operation._operation_model.get('authtype'))}))
`;

/**
 * botocore's validation errors for `params` of any service's `operation` (e.g. cognito-identity
 * GetId), with what the model says about how it is sent: protocol, JSON target prefix and
 * version, and the operation's auth type (`none` for unsigned calls).
 */
export function serviceRequestCheck(service: string, operation: string, params: unknown): { errors: string[]; protocol: string; targetPrefix?: string; jsonVersion?: string; authtype?: string } {
  const out = execFileSync('python3', ['-c', SERVICE_SCRIPT], { input: JSON.stringify({ service, operation, params }), encoding: 'utf8' });
  return JSON.parse(out) as ReturnType<typeof serviceRequestCheck>;
}

const VALIDATOR = join(import.meta.dirname, 'sagemaker-validate.py');

/** What `sagemaker-validate.py` answers: botocore's version, and one result per request ("" when valid). */
export interface SageMakerValidation {
  readonly botocore: string;
  readonly results: readonly { readonly operation: string; readonly errors: string }[];
}

/** Many SageMaker requests validated in one python3 process (`sagemaker-validate.py`, botocore's ParamValidator). */
export function validateSageMakerRequests(requests: readonly { operation: string; params: unknown }[]): SageMakerValidation {
  return JSON.parse(execFileSync('python3', [VALIDATOR], { input: JSON.stringify(requests), encoding: 'utf8' })) as SageMakerValidation;
}

/** The SageMaker operation of a scripted call's `api` (`createEndpointConfig` → `CreateEndpointConfig`). */
export const operationOf = (api: string) => api.charAt(0).toUpperCase() + api.slice(1);

/** botocore's errors for the requests a scripted SageMaker recorded, one `Operation: errors` line per invalid request. */
export function recordedCallErrors(calls: readonly { api: string; request: Record<string, unknown> }[]): string[] {
  const { results } = validateSageMakerRequests(calls.map((c) => ({ operation: operationOf(c.api), params: c.request })));
  if (results.length !== calls.length) throw new Error(`sagemaker-validate.py answered ${results.length} results for ${calls.length} requests`);
  return results.filter((r) => r.errors !== '').map((r) => `${r.operation}: ${r.errors}`);
}
