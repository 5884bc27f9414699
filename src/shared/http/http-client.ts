import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { nodeHttp, nodeHttps } from '../node-builtins.ts';
import type { Readable } from 'node:stream';

/** One request: the body is sent whole, streamed from a Readable (backpressure kept), or absent. */
export interface HttpRequestOptions {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable | null;
  /** Aborts the request (and a response in progress). */
  signal?: AbortSignal;
}

/** An answer whose body has not been read yet: read it with readBodyText, pipe it, or drop it with resume(). */
export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Keep-alive sockets per origin. */
  maxSockets?: number;
  /** PEM certificates trusted for https (undefined: Node's default store). */
  ca?: string[];
  /** The name a server certificate must carry, when not the origin's host. */
  servername?: string;
  /** No byte from the server for this long ends the request (ms). */
  idleTimeoutMs?: number;
}

/**
 * A keep-alive HTTP/1.1 client for one origin on Node's own `http`/`https`
 * (no WebAssembly parser: a smaller agent). Answers are parsed leniently
 * (`insecureHTTPParser`): influxd copies a client's bad line protocol, control
 * characters included, into its `X-Influxdb-Error` header, and a strict parser
 * would turn influxd's 400 into a failed request. Headers are sanitised before
 * they are relayed (header-copy.ts).
 */
export class HttpClient {
  readonly origin: string;
  readonly #url: URL;
  readonly #secure: boolean;
  readonly #agent: HttpAgent;
  readonly #idleTimeoutMs: number;
  readonly #servername: string | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(origin: string, options: HttpClientOptions = {}) {
    this.origin = origin;
    this.#url = new URL(origin);
    this.#secure = this.#url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16, maxFreeSockets: options.maxSockets ?? 16, scheduling: 'lifo' as const };
    this.#agent = this.#secure ? new (nodeHttps().Agent)({ ...agentOptions, ...(options.ca ? { ca: options.ca } : {}) }) : new nodeHttp.Agent(agentOptions);
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
    this.#servername = options.servername;
  }

  /**
   * Sends a request; resolves with the answer's head once it arrives (the body is the caller's to read).
   * A kept-alive connection the server closed while idle fails the next request sent on it before the
   * server read anything (ECONNRESET on a reused socket): such a request is sent once more on a new
   * connection when its body can be sent again (not a stream), as Node's documentation advises.
   */
  async request(options: HttpRequestOptions): Promise<HttpResponse> {
    try {
      return await this.#send(options);
    } catch (err) {
      const body = options.body;
      const replayable = body === undefined || body === null || typeof body === 'string' || Buffer.isBuffer(body);
      if (!replayable || !(err as { reusedSocket?: boolean }).reusedSocket || options.signal?.aborted) throw err;
      return this.#send(options);
    }
  }

  #send(options: HttpRequestOptions): Promise<HttpResponse> {
    if (this.#closing) return Promise.reject(new Error(`HTTP client of ${this.origin} is closed`));
    this.#inFlight++;
    return new Promise<HttpResponse>((resolve, reject) => {
      const send = this.#secure ? nodeHttps().request : nodeHttp.request;
      const req = send({
        agent: this.#agent,
        protocol: this.#url.protocol,
        hostname: this.#url.hostname.replace(/^\[|\]$/g, ''),
        port: this.#url.port || (this.#secure ? 443 : 80),
        method: options.method,
        path: options.path,
        headers: options.headers ?? {},
        insecureHTTPParser: true,
        ...(this.#servername ? { servername: this.#servername } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        if (--this.#inFlight === 0) this.#drained?.();
      };
      req.setTimeout(this.#idleTimeoutMs, () => req.destroy(Object.assign(new Error(`${this.origin} sent nothing for ${this.#idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        finish();
        // Reset before any answer on a connection that carried earlier requests: the server closed it while idle.
        Object.assign(err, { reusedSocket: req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE') });
        reject(err);
      });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        // An answer before the whole request was sent (influxd refusing a write early), or an error
        // answer to a request with a body (influxd's router answers 404/405 without reading it, and
        // the unread bytes would be parsed as the next request): this connection carries no other.
        const hasBody = options.body !== undefined && options.body !== null;
        if (!req.writableFinished || (hasBody && (res.statusCode ?? 0) >= 400)) req.shouldKeepAlive = false;
        res.on('close', finish);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      const body = options.body;
      if (body === undefined || body === null || typeof body === 'string' || Buffer.isBuffer(body)) {
        req.end(body ?? undefined);
      } else {
        // Streamed: the source's backpressure holds; a failed request stops reading it.
        body.on('error', (err) => req.destroy(err));
        req.on('close', () => body.unpipe(req));
        body.pipe(req);
      }
    });
  }

  /** Lets requests in flight finish, then closes the sockets. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#agent.destroy();
    })();
    return this.#closing;
  }

  /** Closes every socket now (requests in flight fail). */
  destroy(): Promise<void> {
    this.#closing ??= Promise.resolve();
    this.#agent.destroy();
    this.#drained?.();
    return Promise.resolve();
  }
}

/** The whole body of an answer as text. */
export async function readBodyText(body: Readable): Promise<string> {
  return (await readBodyBytes(body)).toString('utf8');
}

/** The whole body of an answer as bytes (MessagePack answers are binary). */
export async function readBodyBytes(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
