/**
 * Serves an API handler over HTTP on 127.0.0.1 the way API Gateway's proxy integration calls
 * it, for client and CLI tests (and, with `fromLocalHeader`, the shape of local mode).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ApiHandler } from '../../lambdas/api/router';

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
}

export async function serveApi(handler: ApiHandler, stage = 'v1'): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
      const event = {
        httpMethod: request.method ?? 'GET',
        path: url.pathname.replace(new RegExp(`^/${stage}`), '') || '/',
        body: await readBody(request),
        isBase64Encoded: false,
        headers,
        queryStringParameters: url.searchParams.size ? Object.fromEntries(url.searchParams) : null,
        requestContext: { identity: { userArn: null } },
      } as unknown as APIGatewayProxyEvent;
      const result = await handler(event);
      response.writeHead(result.statusCode, result.headers as Record<string, string>);
      response.end(result.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${stage}/`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
