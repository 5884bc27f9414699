import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { trustedCertificates } from '../../shared/http/trusted-certificates.ts';

/** How the agent reaches its influxd: the URL (http or https) and whom to trust for https. */
export interface InfluxdEndpointOptions {
  /** `http://host:port` or `https://host:port` (`--influxd-url`). */
  url: string;
  /**
   * PEM certificates trusted for an https influxd, besides Node's default
   * store (which includes `NODE_EXTRA_CA_CERTS`): `--influxd-ca`.
   */
  ca?: string;
  /** Keep-alive connections of the request pool. */
  connections?: number;
}

/** A request to influxd through the pool (undici's options, minus the origin). */
export type InfluxdRequest = Omit<Dispatcher.RequestOptions, 'origin'>;

/**
 * The one way the agent reaches its influxd. It knows the URL's scheme and
 * the trusted certificates, and gives out both kinds of connection the agent
 * uses: requests over a keep-alive pool (queries, DDL, pings, streamed writes)
 * and raw sockets for the write fast path, which relays bytes itself. Both
 * speak TLS to an https influxd with the same trust.
 */
export class InfluxdEndpoint {
  readonly url: string;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: { ca?: string[]; servername?: string } | undefined;
  readonly #pool: Pool;
  #closing: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  constructor(options: InfluxdEndpointOptions) {
    const url = new URL(options.url);
    this.url = options.url;
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    const secure = url.protocol === 'https:';
    this.#port = Number(url.port || (secure ? 443 : 80));
    // SNI only for names: an IP address is not a valid server name.
    const servername = /^[\d.]+$|:/.test(this.#host) ? undefined : this.#host;
    const ca = trustedCertificates(options.ca);
    this.#tls = secure ? { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) } : undefined;
    this.#pool = new Pool(url.origin, { connections: options.connections ?? 16, keepAliveTimeout: 30_000, ...(this.#tls ? { connect: this.#tls } : {}) });
  }

  get secure(): boolean {
    return this.#tls !== undefined;
  }

  /** Sends one request over the keep-alive pool; the caller reads or dumps the body. */
  request(options: InfluxdRequest): Promise<Dispatcher.ResponseData> {
    return this.#pool.request(options);
  }

  /** A new connection (TCP or TLS) to influxd, for code that speaks HTTP/1.1 on it by itself. */
  connect(): Socket {
    const socket = this.#tls ? connectTls({ host: this.#host, port: this.#port, ...this.#tls }) : connectTcp({ host: this.#host, port: this.#port });
    socket.setNoDelay(true);
    return socket;
  }

  /** Lets requests in flight finish, then closes the pool's connections. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.close().catch(() => undefined);
    return this.#closing;
  }

  /** Aborts requests in flight and closes every connection now. Safe twice. */
  destroy(): Promise<void> {
    this.#destroying ??= this.#pool.destroy().catch(() => undefined);
    return this.#destroying;
  }
}
