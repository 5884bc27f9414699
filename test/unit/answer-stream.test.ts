import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { streamAnswer } from '../../src/shared/http/answer-stream.ts';

/** Serves one request with `handle`; resolves with what the client got (or its error) and what streamAnswer settled with. */
async function serveOnce(handle: (res: ServerResponse) => Promise<void>, readClient = true): Promise<{ body?: string; clientError?: string; outcome: string }> {
  let outcome: Promise<string> = Promise.resolve('not called');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    outcome = handle(res).then(() => 'resolved', (err: Error) => `rejected: ${err.message}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = await new Promise<{ body?: string; clientError?: string }>((resolve) => {
      const req = request({ port: (server.address() as AddressInfo).port, path: '/' }, (res) => {
        if (!readClient) return req.destroy();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ body }));
        res.on('error', (err) => resolve({ clientError: err.message }));
      });
      req.on('error', (err) => resolve({ clientError: err.message }));
      req.on('close', () => resolve({ clientError: 'closed' }));
      req.end();
    });
    // The handler's promise settles once the server saw the outcome.
    for (let i = 0; i < 50 && (await Promise.race([outcome, Promise.resolve('pending')])) === 'pending'; i++) await new Promise((r) => setTimeout(r, 20));
    return { ...client, outcome: await outcome };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('an answer streams whole and the promise resolves when the response is finished', async () => {
  const got = await serveOnce((res) => streamAnswer(Readable.from(['a', 'b', 'c']), res));
  assert.equal(got.body, 'abc');
  assert.equal(got.outcome, 'resolved');
});

test('an upstream that breaks mid-answer cuts the client connection: an incomplete answer never looks whole', async () => {
  const got = await serveOnce((res) => {
    const source = new PassThrough();
    source.write('partial');
    setTimeout(() => source.destroy(new Error('influxd went away')), 20);
    return streamAnswer(source, res);
  });
  assert.equal(got.body, undefined);
  assert.ok(got.clientError);
  assert.equal(got.outcome, 'rejected: influxd went away');
});

test('a client that goes away stops the upstream answer', async () => {
  const source = new PassThrough();
  const interval = setInterval(() => source.write('x'.repeat(1024)), 5);
  const got = await serveOnce((res) => streamAnswer(source, res), false);
  clearInterval(interval);
  assert.equal(got.outcome, 'rejected: the client went away');
  assert.ok(source.destroyed, 'the upstream answer was destroyed');
});
