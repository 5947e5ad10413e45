/**
 * Every AWS SDK client in lambdas/ is built with `sdkClientConfig` (connection and request
 * timeouts, bounded attempts), and those timeouts really end a call to a server that never
 * answers: a hung dependency cannot keep the API past API Gateway's 29 s.
 */
import { createServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SDK_TIMEOUTS, sdkClientConfig } from '../../lambdas/shared/sdk';
import { readSources, REPO_ROOT } from '../support/imports';

/** `new XxxClient(arg)` in a lambdas/ file: its argument, and what the argument names if it is an identifier. */
function clientConstructions(path: string): { line: number; client: string; config: string }[] {
  const text = readFileSync(join(REPO_ROOT, path), 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const initializers = new Map<string, string>();
  const found: { line: number; client: string; config: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) initializers.set(node.name.text, node.initializer.getText(source));
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && /Client$/.test(node.expression.text) && node.expression.text !== 'DynamoDBDocumentClient') {
      const arg = node.arguments?.[0];
      const argText = arg?.getText(source) ?? '';
      const config = arg && ts.isIdentifier(arg) ? (initializers.get(arg.text) ?? argText) : argText;
      found.push({ line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, client: node.expression.text, config });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('SDK client timeouts', () => {
  const files = readSources(['lambdas']).map((f) => f.path);

  it('every SDK client in lambdas/ is built with sdkClientConfig', () => {
    const constructions = files.flatMap((path) => clientConstructions(path).map((c) => ({ path, ...c })));
    // The walk finds the clients that exist (DynamoDB, S3, SFN, SQS, SNS, CloudWatch, EventBridge, SageMaker for the releaser's DescribeEndpoint).
    expect(new Set(constructions.map((c) => c.client))).toEqual(
      new Set(['DynamoDBClient', 'S3Client', 'SFNClient', 'SQSClient', 'SNSClient', 'CloudWatchClient', 'EventBridgeClient', 'SageMakerClient']),
    );
    const without = constructions.filter((c) => !c.config.includes('sdkClientConfig('));
    expect(without.map((c) => `${c.path}:${c.line} new ${c.client}(${c.config})`)).toEqual([]);
  });

  it('the API profile gives up on one call well inside API Gateway\'s 29 s', () => {
    const { connectionTimeout, requestTimeout, maxAttempts } = SDK_TIMEOUTS.api;
    // Each attempt may use its whole connection and request time; backoff between 2 attempts is < 1 s (standard retry strategy).
    expect(maxAttempts * (connectionTimeout + requestTimeout) + 1_000).toBeLessThan(29_000);
  });

  describe('against a server that accepts connections and never answers', () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    let port = 0;
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('SendTaskSuccess fails with the SDK\'s TimeoutError after the attempts, instead of hanging', async () => {
      const client = new SFNClient({
        ...sdkClientConfig('api'),
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      });
      const error = await client.send(new SendTaskSuccessCommand({ taskToken: 'token', output: '{}' })).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('TimeoutError');
      // Both attempts reached the server: the retry strategy ran, bounded by maxAttempts.
      expect(sockets.length).toBe(SDK_TIMEOUTS.api.maxAttempts);
    }, 30_000);
  });
});
