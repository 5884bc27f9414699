import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { coalesceWrites } from '../../src/shared/http/write-coalescing.ts';

/** A connected loopback socket pair; `received` collects what the far end read. */
async function socketPair(): Promise<{ near: Socket; received: () => string; close: () => Promise<void> }> {
  let far: Socket | undefined;
  let text = '';
  const server: Server = createServer((socket) => {
    far = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const near = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => near.once('connect', resolve));
  return {
    near,
    received: () => text,
    close: async () => {
      near.destroy();
      far?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Counts the socket's system-call-level writes: one per _write, one per _writev however many chunks it carries. */
function countWrites(socket: Socket): { single: number; vectored: number } {
  const counts = { single: 0, vectored: 0 };
  const internals = socket as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (...args) => {
    counts.single++;
    write(...args);
  };
  internals._writev = (...args) => {
    counts.vectored++;
    writev(...args);
  };
  return counts;
}

const PIECES = ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n', '2a', '\r\n', '{"results":[{"statement_id":0,"series":[]}]}', '\r\n', '0\r\n\r\n'];

test('writes made in one turn of the event loop leave as one vectored write, in order', async () => {
  const pair = await socketPair();
  try {
    const counts = countWrites(pair.near);
    coalesceWrites(pair.near);
    coalesceWrites(pair.near); // a second call in the same turn changes nothing
    for (const piece of PIECES) pair.near.write(piece);
    assert.deepEqual(counts, { single: 0, vectored: 0 }, 'nothing leaves before the turn ends');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(counts, { single: 0, vectored: 1 });
    for (let i = 0; i < 50 && pair.received().length < PIECES.join('').length; i++) await nextTurn();
    assert.equal(pair.received(), PIECES.join(''));
  } finally {
    await pair.close();
  }
});

test('without it each write is its own system call (what the test above guards against)', async () => {
  const pair = await socketPair();
  try {
    const counts = countWrites(pair.near);
    for (const piece of PIECES) pair.near.write(piece);
    await nextTurn();
    assert.ok(counts.single + counts.vectored > 1, `${JSON.stringify(counts)}`);
  } finally {
    await pair.close();
  }
});

test('a socket already destroyed is left alone', async () => {
  const pair = await socketPair();
  pair.near.destroy();
  assert.doesNotThrow(() => coalesceWrites(pair.near));
  assert.equal(pair.near.writableCorked, 0);
  await pair.close();
});
