import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { HttpClient, readBodyText } from '../../src/shared/http/http-client.ts';

/**
 * A server that answers the first request on a connection and drops the
 * connection at the next one without answering: what a client meets when the
 * server closed an idle kept-alive connection just as a request went out.
 */
async function closingServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  const served = new WeakSet<Socket>();
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (served.has(req.socket)) return void req.socket.destroy();
    served.add(req.socket);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('a request reset on a reused kept-alive connection is sent once more on a new one; a streamed body is not', async () => {
  const server = await closingServer();
  const client = new HttpClient(server.url);
  try {
    assert.equal(await readBodyText((await client.request({ method: 'GET', path: '/' })).body), 'ok');
    // The next request reuses the connection, which the server drops: answered on a new connection.
    assert.equal(await readBodyText((await client.request({ method: 'POST', path: '/', body: 'x' })).body), 'ok');
    assert.equal(server.requests(), 3);
    // A body that cannot be sent twice fails instead.
    const { Readable } = await import('node:stream');
    await assert.rejects(client.request({ method: 'POST', path: '/', body: Readable.from([Buffer.from('y')]) }));
  } finally {
    await client.destroy();
    await server.close();
  }
});
