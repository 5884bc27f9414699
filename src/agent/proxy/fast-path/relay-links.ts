import type { Duplex } from 'node:stream';

/** The request using a link: it gets the link's events. */
export interface LinkUser {
  linkData(chunk: Buffer): void;
  linkDrain(): void;
  linkClosed(): void;
}

/**
 * A keep-alive connection (to influxd, or an in-process one to this agent's
 * own HTTP server) whose listeners are set once, for its whole life; each
 * event goes to the request using it at the time.
 */
export class RelayLink {
  readonly socket: Duplex;
  user: LinkUser | undefined;
  /** The last socket error, for the log line of a failed relay. */
  lastError: string | undefined;
  /** When it went back to its pool (performance.now() ms). */
  idleSince = 0;

  constructor(socket: Duplex, closed: (link: RelayLink) => void) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.user) this.user.linkData(chunk);
      else socket.destroy(); // bytes nobody asked for: the connection is out of step
    });
    socket.on('drain', () => this.user?.linkDrain());
    socket.on('error', (err: Error) => {
      this.lastError = err.message;
      socket.destroy();
    });
    socket.on('close', () => {
      closed(this);
      this.user?.linkClosed();
    });
  }
}

/** Idle keep-alive connections to one server (the local influxd, or a peer agent), reused request after request. */
export class LinkPool {
  readonly #connect: () => Duplex;
  readonly #maxIdle: number;
  readonly #maxIdleMs: number;
  readonly #idle: RelayLink[] = [];
  readonly #dropIdle = (link: RelayLink) => {
    const index = this.#idle.indexOf(link);
    if (index >= 0) this.#idle.splice(index, 1);
  };

  /**
   * `connect` opens a new connection (TCP or TLS) to the server; `maxIdleMs`:
   * a connection idle longer is not reused (it must stay below the server's
   * own idle timeout, or a request may meet a connection as it closes).
   */
  constructor(connect: () => Duplex, maxIdle: number, maxIdleMs = Infinity) {
    this.#connect = connect;
    this.#maxIdle = maxIdle;
    this.#maxIdleMs = maxIdleMs;
  }

  /** An idle connection for `user`, or a new one. */
  take(user: LinkUser): RelayLink {
    const now = performance.now();
    let link = this.#idle.pop();
    while (link && (link.socket.destroyed || now - link.idleSince > this.#maxIdleMs)) {
      link.socket.destroy();
      link = this.#idle.pop();
    }
    link ??= new RelayLink(this.#connect(), this.#dropIdle);
    link.user = user;
    link.lastError = undefined;
    return link;
  }

  /** Keeps a connection whose last answer was read in full, unless `closing` or the pool is full. */
  release(link: RelayLink, closing: boolean): void {
    link.user = undefined;
    if (closing || link.socket.destroyed || this.#idle.length >= this.#maxIdle) link.socket.destroy();
    else {
      link.idleSince = performance.now();
      this.#idle.push(link);
    }
  }

  /** Closes every idle connection. */
  closeIdle(): void {
    for (const link of this.#idle.splice(0)) link.socket.destroy();
  }
}
