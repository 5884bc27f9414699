/**
 * A fault-injecting TCP proxy for partition tests: put it between a client
 * and a real server (influxd, etcd, an agent...) and switch what happens to
 * the traffic at run time.
 *
 * Modes:
 * - `'pass'`: bytes are forwarded both ways (connections held while in
 *   blackhole are connected to the target and flushed, frozen ones resume).
 * - `'refuse'`: new connections are reset right after accept (the client
 *   sees ECONNRESET / "socket hang up", like a server that is down), and
 *   established connections are reset too, so a keep-alive HTTP client
 *   cannot slip through on an old connection.
 * - `'blackhole'`: new connections are accepted but nothing is forwarded,
 *   and established connections are frozen (no byte moves either way), like
 *   a network partition: the client only notices through its own timeouts.
 *   Switching back to `'pass'` delivers what was held, as TCP would after
 *   the partition heals.
 *
 * Only node built-ins are used.
 */
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';

/** What the proxy does with traffic; see the module doc. */
export type FaultMode = 'pass' | 'refuse' | 'blackhole';

/** A running proxy returned by {@link startTcpFaultProxy}. */
export interface TcpFaultProxy {
  /** Host the proxy listens on (always 127.0.0.1). */
  readonly host: string;
  /** Port the proxy listens on. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for HTTP targets such as influxd or etcd. */
  readonly url: string;
  /** Current mode. */
  readonly mode: FaultMode;
  /** Number of client connections currently open through the proxy. */
  readonly connections: number;
  /** Switch mode; takes effect at once for new and established connections. */
  setMode(mode: FaultMode): void;
  /** Reset (RST) every established connection; the mode stays as it is. */
  cutConnections(): void;
  /** Reset all connections and stop listening. Safe to call twice. */
  close(): Promise<void>;
}

interface Conn {
  client: Socket;
  upstream: Socket | undefined;
  frozen: boolean;
}

/**
 * Close a socket with a TCP RST when that is possible, else plainly.
 *
 * Not with RST once `end()` was called: libuv refuses to reset a handle with
 * a pending shutdown (EINVAL), and Node 24 then never closes the handle, so
 * the process spins at 100% CPU forever when it exits.
 */
function reset(sock: Socket | undefined): void {
  if (!sock || sock.destroyed) return;
  if (sock.writableEnded || sock.connecting) {
    sock.destroy();
    return;
  }
  try {
    sock.resetAndDestroy();
  } catch {
    sock.destroy();
  }
}

/**
 * Start a proxy on 127.0.0.1 (on `opts.port`, default a free port) that
 * forwards to `target`. It starts in `opts.mode` (default `'pass'`).
 */
export async function startTcpFaultProxy(
  target: { host: string; port: number },
  opts: { port?: number; mode?: FaultMode } = {},
): Promise<TcpFaultProxy> {
  let mode: FaultMode = opts.mode ?? 'pass';
  const conns = new Set<Conn>();

  const dropConn = (c: Conn): void => {
    if (!conns.delete(c)) return;
    reset(c.client);
    reset(c.upstream);
  };

  const freeze = (c: Conn): void => {
    c.frozen = true;
    c.client.pause();
    c.upstream?.pause();
  };

  const thaw = (c: Conn): void => {
    c.frozen = false;
    if (c.upstream === undefined) {
      connectUpstream(c);
      return;
    }
    c.client.resume();
    c.upstream.resume();
  };

  /** Forward from `from` to `to` with backpressure; pause while frozen. */
  const wire = (c: Conn, from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!c.frozen) from.resume();
    });
    from.on('end', () => {
      to.end();
    });
  };

  const connectUpstream = (c: Conn): void => {
    const up = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    c.upstream = up;
    up.setNoDelay(true);
    up.on('error', () => dropConn(c));
    up.on('close', () => dropConn(c));
    up.once('connect', () => {
      if (!conns.has(c)) {
        up.destroy();
        return;
      }
      wire(c, c.client, up);
      wire(c, up, c.client);
      // Explicit: the client may have been paused (pauseOnConnect, freeze).
      if (c.frozen) {
        c.client.pause();
        up.pause();
      } else {
        c.client.resume();
        up.resume();
      }
    });
    if (c.frozen) up.pause();
  };

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    if (mode === 'refuse') {
      reset(client);
      return;
    }
    const c: Conn = { client, upstream: undefined, frozen: mode === 'blackhole' };
    conns.add(c);
    client.setNoDelay(true);
    client.on('error', () => dropConn(c));
    client.on('close', () => dropConn(c));
    if (c.frozen) return; // held (paused, unconnected) until the mode is 'pass'
    // The client socket stays paused (pauseOnConnect) until the upstream
    // is connected, so no byte is read before it can be forwarded.
    connectUpstream(c);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('tcp-fault-proxy: no address');
  const port = addr.port;

  let closing: Promise<void> | undefined;

  const cutConnections = (): void => {
    for (const c of [...conns]) dropConn(c);
  };

  return {
    host: '127.0.0.1',
    port,
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    get connections() {
      return conns.size;
    },
    setMode(next: FaultMode): void {
      if (closing) return;
      mode = next;
      if (next === 'refuse') {
        cutConnections();
      } else if (next === 'blackhole') {
        for (const c of conns) freeze(c);
      } else {
        for (const c of [...conns]) if (c.frozen) thaw(c);
      }
    },
    cutConnections,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        cutConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
