import { connect as connectTcp, type Socket } from 'node:net';
import { nodeTls } from '../../shared/node-builtins.ts';
import { HttpClient, type HttpRequestOptions, type HttpResponse } from '../../shared/http/http-client.ts';
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
  readonly #pool: HttpClient;

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
    this.#pool = new HttpClient(url.origin, { maxSockets: options.connections ?? 16, ...(ca ? { ca } : {}), ...(servername && secure ? { servername } : {}) });
  }

  get secure(): boolean {
    return this.#tls !== undefined;
  }

  /** Sends one request over the keep-alive pool; the caller reads or drops the body. */
  request(options: HttpRequestOptions): Promise<HttpResponse> {
    return this.#pool.request(options);
  }

  /** A new connection (TCP or TLS) to influxd, for code that speaks HTTP/1.1 on it by itself. */
  connect(): Socket {
    const socket = this.#tls ? nodeTls().connect({ host: this.#host, port: this.#port, ...this.#tls }) : connectTcp({ host: this.#host, port: this.#port });
    socket.setNoDelay(true);
    return socket;
  }

  /** Lets requests in flight finish, then closes the pool's connections. Safe twice. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Aborts requests in flight and closes every connection now. Safe twice. */
  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
