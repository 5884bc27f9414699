import type { Writable } from 'node:stream';

/** Sockets corked until the end of the current turn of the event loop. */
const corked = new WeakSet<Writable>();

/**
 * Gathers every write made to `socket` until the end of this turn of the
 * event loop into one system call (a writev when it is uncorked). A relayed
 * answer otherwise leaves in pieces as they are produced: the head, a chunk's
 * size line, its CRLF, the data, the CRLF, the last chunk: six writes for a
 * small query answer, each waking the client; on a virtual machine each such
 * loopback write cost 0.1-0.3 ms, most of what the agent's hop added to a
 * query. At most one turn's reads are held (backpressure still applies: a
 * corked socket's write() reports a full buffer).
 */
export function coalesceWrites(socket: Writable | null | undefined): void {
  if (!socket || corked.has(socket) || socket.destroyed) return;
  corked.add(socket);
  socket.cork();
  setImmediate(() => {
    corked.delete(socket);
    socket.uncork();
  });
}
