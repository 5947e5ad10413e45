import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { bodies, ROUTES } from '../../lambdas/api/schemas';
import { apiGatewaySchema, RegistryApi } from '../../lib/constructs/registry-api';
import { parseConfig } from '../../lib/config';
import { exampleConfigInput, synthCaretaker } from '../support/stack';
import { ENV } from '../../lambdas/shared/env';

describe('RegistryApi', () => {
  let reader: iam.Role | undefined;
  let approver: iam.Role | undefined;
  const { template, stack } = synthCaretaker({
    extend: (s) => {
      reader = new iam.Role(s, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
      approver = new iam.Role(s, 'ApproverRole', { assumedBy: new iam.AccountRootPrincipal() });
      s.api.grantRead(reader);
      s.api.grantApprove(approver);
    },
  });
  const apiId = stack.getLogicalId(stack.api.api.node.defaultChild as never);

  it('requires AWS_IAM on every method but the CORS preflights, one per route', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { HttpMethod: string; AuthorizationType: string } }[];
    const auth = methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS').map((m) => m.Properties.AuthorizationType);
    expect(auth).toHaveLength(ROUTES.length);
    expect(new Set(auth)).toEqual(new Set(['AWS_IAM']));
  });

  it('validates bodies and parameters with models generated from the zod schemas', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      OperationName: 'approve',
      RequestParameters: { 'method.request.path.model': true, 'method.request.path.version': true },
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        required: ['reason'],
        additionalProperties: false,
      }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      OperationName: 'listVersions',
      RequestParameters: Match.objectLike({ 'method.request.querystring.status': false, 'method.request.path.model': true }),
    });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { HttpMethod: string; RequestValidatorId?: unknown } }[];
    expect(methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS').every((m) => m.Properties.RequestValidatorId !== undefined)).toBe(true);
  });

  it('produces draft-4 schemas API Gateway accepts', () => {
    const schema = apiGatewaySchema(bodies.rollback) as Record<string, unknown>;
    expect(schema).not.toHaveProperty('$schema');
    expect(JSON.stringify(schema)).not.toMatch(/"exclusiveMinimum":\d/);
  });

  it('logs access to a KMS-encrypted log group, traces, and throttles the stage', () => {
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.key.node.defaultChild as never), 'Arn'] };
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: keyArn,
      RetentionInDays: 365,
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: { Ref: apiId },
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([{ Ref: stack.getLogicalId(stack.api.accessLogGroup.node.defaultChild as never) }])],
        }),
        Format: Match.stringLikeRegexp('"caller":"\\$context.identity.caller"'),
      },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40, LoggingLevel: 'ERROR', DataTraceEnabled: false })],
    });
  });

  it('grants read as GET-only execute-api ARNs and approve as the decision, decision-check and rollback paths', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(reader!.node.defaultChild as never) }] },
    });
    const readText = JSON.stringify(policies);
    expect(readText).toContain('execute-api:Invoke');
    expect(readText).toContain('/GET/models/*/versions/*"');
    expect(readText).toContain('/GET/runs/*/timeline"');
    expect(readText).not.toContain('/POST/');
    const approve = JSON.stringify(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(approver!.node.defaultChild as never) }] } }),
    );
    for (const path of ['/POST/models/*/versions/*/approve', '/POST/models/*/versions/*/reject', '/POST/models/*/rollback']) {
      expect(approve).toContain(path);
    }
    expect(approve).not.toContain('/retrain');
    // The one GET an approver gets beyond read: "may I decide?" (a reader is refused it by IAM, as the decision itself).
    expect(approve.match(/\/GET\/[^"]*/g)).toEqual(['/GET/models/*/versions/*/decision-check']);
    expect(readText).not.toContain('decision-check');
  });

  it('passes the model summaries and table to the function, and nothing to retrain until wired', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Caretaker registry and approval API',
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: stack.getLogicalId(stack.metadata.table.node.defaultChild as never) },
          MODELS: Match.stringLikeRegexp('"name":"churn"'),
        }),
      },
    });
  });

  it("names each model's endpoint (the pipeline's) in MODELS, so a rollback checks that endpoint's deployment lease first", () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: 'Caretaker registry and approval API' } }))[0] as {
      Properties: { Environment: { Variables: Record<string, string> } };
    };
    const models = JSON.parse(fn.Properties.Environment.Variables[ENV.models] ?? '[]') as { name: string; endpointName?: string }[];
    expect(models.length).toBeGreaterThan(0);
    for (const model of models) expect(model.endpointName).toBe(stack.pipeline.endpointName(model.name));
  });

  it('gives the function the datasets bucket and catalog, and read-only access to datasets/ objects for registration', () => {
    const datasetsBucket = stack.getLogicalId(stack.datasets.bucket.node.defaultChild as never);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Caretaker registry and approval API',
      Environment: {
        Variables: Match.objectLike({
          [ENV.datasetsBucket]: { Ref: datasetsBucket },
          [ENV.datasetsCatalog]: Match.stringLikeRegexp('"churn":\\{"columns"'),
        }),
      },
    });
    const role = stack.api.handler.role.node.tryFindChild('DefaultPolicy')!.node.defaultChild as never;
    const policy = (template.toJSON() as { Resources: Record<string, unknown> }).Resources[stack.getLogicalId(role)] as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } };
    const onDatasets = policy.Properties.PolicyDocument.Statement.filter((s) => JSON.stringify(s.Resource).includes(datasetsBucket));
    expect(onDatasets).toEqual([
      expect.objectContaining({ Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [datasetsBucket, 'Arn'] }, '/datasets/*']] } }),
    ]);
  });

  it('lets the function list and read the drift reports under reports/ only, and decrypt them with the bucket key', () => {
    const artifacts = stack.getLogicalId(stack.artifacts.bucket.node.defaultChild as never);
    const role = stack.api.handler.role.node.tryFindChild('DefaultPolicy')!.node.defaultChild as never;
    const policy = (template.toJSON() as { Resources: Record<string, unknown> }).Resources[stack.getLogicalId(role)] as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] } } };
    const statements = policy.Properties.PolicyDocument.Statement;
    const onReports = statements.filter((st) => JSON.stringify(st).includes('reports/'));
    expect(onReports).toEqual([
      expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [artifacts, 'Arn'] }, Condition: { StringLike: { 's3:prefix': ['reports/*'] } } }),
      expect.objectContaining({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [artifacts, 'Arn'] }, '/reports/*']] } }),
    ]);
    const key = stack.getLogicalId(stack.key.node.defaultChild as never);
    expect(statements.some((st) => [st.Action].flat().includes('kms:Decrypt') && JSON.stringify(st.Resource).includes(key))).toBe(true);
  });

  it('wires rollback to the training pipeline: its ARN in the environment and StartExecution on it only', () => {
    const machine = stack.getLogicalId(stack.pipeline.stateMachine.node.defaultChild as never);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Caretaker registry and approval API',
      Environment: { Variables: Match.objectLike({ DEPLOY_STATE_MACHINE_ARN: { Ref: machine } }) },
    });
    const role = stack.api.handler.role.node.tryFindChild('DefaultPolicy')!.node.defaultChild as never;
    const policy = (template.toJSON() as { Resources: Record<string, unknown> }).Resources[stack.getLogicalId(role)] as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } };
    const starting = policy.Properties.PolicyDocument.Statement.filter((st) => [st.Action].flat().includes('states:StartExecution'));
    expect(starting.map((st) => st.Resource)).toEqual([{ Ref: machine }]);
  });

  it('lets the API read the execution history of the training pipeline\'s executions only (the run timeline)', () => {
    const machine = stack.getLogicalId(stack.pipeline.stateMachine.node.defaultChild as never);
    const policies = (template.toJSON() as { Resources: Record<string, { Type: string; Properties: { PolicyDocument?: { Statement: { Action: string | string[]; Resource: unknown }[] } } }> }).Resources;
    const reading = Object.entries(policies)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .flatMap(([id, r]) => (r.Properties.PolicyDocument?.Statement ?? []).filter((st) => [st.Action].flat().some((a) => a.includes('GetExecutionHistory') || a === 'states:*')).map((st) => ({ id, st })));
    const role = stack.api.handler.role.node.tryFindChild('DefaultPolicy')!.node.defaultChild as never;
    expect(reading.map((r) => r.id)).toEqual([stack.getLogicalId(role)]);
    expect(reading[0]!.st).toEqual({
      Action: 'states:GetExecutionHistory',
      Effect: 'Allow',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: machine }] }] }, ':*']],
      },
    });
  });

  it('copies audit inserts from the stream to an Object Lock (governance) bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [stack.getLogicalId(stack.metadata.table.node.defaultChild as never), 'StreamArn'] },
      BisectBatchOnFunctionError: true,
      FilterCriteria: { Filters: [{ Pattern: Match.stringLikeRegexp('AUDIT#') }] },
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('adds a WAF web ACL on the stage only when asked', () => {
    expect(Object.keys(template.findResources('AWS::WAFv2::WebACL'))).toHaveLength(0);
    const app = new App();
    const alone = new Stack(app, 'Alone');
    const key = new kms.Key(alone, 'Key');
    const table = new dynamodb.Table(alone, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    const registry = new RegistryApi(alone, 'Registry', {
      models: parseConfig(exampleConfigInput()).models,
      table,
      artifactsBucket: new s3.Bucket(alone, 'Artifacts'),
      datasetBucket: new s3.Bucket(alone, 'Datasets'),
      accessLogsBucket: new s3.Bucket(alone, 'Logs'),
      encryptionKey: key,
      waf: true,
    });
    const withWaf = Template.fromStack(alone);
    withWaf.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet' }), Match.objectLike({ Name: 'rate-limit-per-ip' })]),
    });
    withWaf.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: { 'Fn::GetAtt': [alone.getLogicalId(registry.webAcl!), 'Arn'] },
    });
  });

  it('refuses a table without a stream, naming the prop', () => {
    const alone = new Stack(new App(), 'NoStream');
    const table = new dynamodb.Table(alone, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    expect(
      () =>
        new RegistryApi(alone, 'Registry', {
          models: parseConfig(exampleConfigInput()).models,
          table,
          artifactsBucket: new s3.Bucket(alone, 'Artifacts'),
          datasetBucket: new s3.Bucket(alone, 'Datasets'),
          accessLogsBucket: new s3.Bucket(alone, 'Logs'),
          encryptionKey: new kms.Key(alone, 'Key'),
        }),
    ).toThrow(/table must have a stream/);
  });

  it('outputs the API URL', () => {
    template.hasOutput('ApiUrl', { Value: Match.anyValue() });
  });

  it('row 22: reconciles the audit copy on a schedule, reading only the audit index, and alarms when the copy lags or fails', () => {
    const reconciler = stack.getLogicalId(stack.api.auditReconciler.function.node.defaultChild as never);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [reconciler, 'Arn'] } })]),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUDIT_RECONCILE_DAYS: '7', AUDIT_BUCKET: Match.anyValue(), TABLE_NAME: Match.anyValue() }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'dynamodb:Query', Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['AUDIT'] } } }),
          Match.objectLike({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['audit/*'] } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'AuditCopyLate', Namespace: 'Caretaker', Threshold: 1, AlarmActions: Match.anyValue() });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, AlarmActions: Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionResponseTypes: ['ReportBatchItemFailures'], BisectBatchOnFunctionError: true });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(stack.api.auditReconciler.role.node.defaultChild as never) }] } }));
    expect(policies).not.toMatch(/dynamodb:(Scan|DeleteItem|PutItem|UpdateItem|BatchWriteItem)/);
  });

  describe('least privilege on the metadata table', () => {
    const handlerRole = () => stack.getLogicalId(stack.api.handler.role.node.defaultChild as never);
    const tableId = () => stack.getLogicalId(stack.metadata.table.node.defaultChild as never);
    type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
    const statementsOfApiRole = (): Statement[] =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(handlerRole()))
        .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
    const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

    it('the API role is allowed exactly the item-level actions the API sends: no DeleteItem, Scan or BatchWriteItem', () => {
      const allowed = statementsOfApiRole()
        .filter((s) => s.Effect === 'Allow')
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('dynamodb:'));
      expect([...new Set(allowed)].sort()).toEqual(
        ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'].sort(),
      );
      // grantReadWriteData would add these (and DescribeTable, GetRecords …): none may appear.
      for (const forbidden of ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:*']) expect(allowed).not.toContain(forbidden);
      // Queries only the table and its two named indexes, no index wildcard.
      const queryResources = JSON.stringify(statementsOfApiRole().filter((s) => s.Effect === 'Allow' && actionsOf(s).includes('dynamodb:Query')).map((s) => s.Resource));
      expect(queryResources).toContain('/index/gsi1');
      expect(queryResources).toContain('/index/gsi2');
      expect(queryResources).not.toContain('/index/*');
      expect(queryResources).toContain(tableId());
    });

    it('the API role may not update or delete an audit item (dynamodb:LeadingKeys AUDIT#*)', () => {
      const deny = statementsOfApiRole().filter((s) => s.Effect === 'Deny');
      expect(deny).toEqual([
        expect.objectContaining({
          Action: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
          Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['AUDIT#*'] } },
        }),
      ]);
    });
  });


  it('the API function stops before API Gateway\'s 29 s integration timeout', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f).includes('Caretaker registry and approval API'),
    ) as { Properties: { Timeout: number } } | undefined;
    expect(fn?.Properties.Timeout).toBeLessThan(29);
  });

  it('rows 19, 21: sweeps owed decision deliveries and retrain sends every minute, with only the owed index entries, table items, task callbacks and the retraining queue', () => {
    const sweeper = stack.getLogicalId(stack.api.decisionSweeper.function.node.defaultChild as never);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [sweeper, 'Arn'] } })]),
    });
    const role = stack.getLogicalId(stack.api.decisionSweeper.role.node.defaultChild as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(role));
    const statements = policies.flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Effect: string; Action: string | string[]; Condition?: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement);
    const allowed = statements.filter((st) => st.Effect === 'Allow').flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
    expect(allowed.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(allowed).toEqual(expect.arrayContaining(['states:SendTaskSuccess', 'states:SendTaskFailure']));
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'dynamodb:Query', Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['DELIVERY#OWED', 'RETRAIN#OWED'] } } }),
    );
    expect(allowed).toContain('sqs:SendMessage');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('retrain requests still owed'),
      Environment: { Variables: Match.objectLike({ [ENV.retrainingQueueUrl]: Match.anyValue() }) },
    });
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['AUDIT#*'] } } }));
  });
});
