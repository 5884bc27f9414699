import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ChunkedBodyEnd, HEAD_END, MAX_HEAD_BYTES, responseFramingOf, withHeaderLine } from './http-head.ts';
import { CFLUX_VERSION } from '../../../shared/version.ts';
import { coalesceWrites } from '../../../shared/http/write-coalescing.ts';

const EMPTY = Buffer.alloc(0);
const VERSION_HEADER = Buffer.from(`X-Clusterflux-Version: ${CFLUX_VERSION}\r\n`, 'latin1');

/**
 * How an answer ended: read whole with the connection reusable, read whole,
 * not relayed (the client got a 502 or lost its connection), or nothing
 * sent to the client at all (a relay that may retry elsewhere).
 */
export type Outcome = 'complete' | 'reuse' | 'failed' | 'unanswered';

/**
 * Reads the answer to one request (from influxd, or from this agent's own
 * HTTP server) and writes it to the client.
 */
export class AnswerRelay {
  readonly #upstream: Duplex;
  readonly #versionHeader: boolean;
  readonly #source: string;
  readonly #retryElsewhere: boolean;
  readonly #retryOn: ((status: number) => boolean) | undefined;
  readonly #client: Socket;
  readonly #done: (outcome: Outcome, reason?: string) => void;
  #head: Buffer = EMPTY;
  #headSent = false;
  /** Bytes of body still to come (Content-Length), or a chunked body's tracker, or 'close' (ends with the connection). */
  #body: number | ChunkedBodyEnd | 'close' = 0;
  #keepAlive = true;
  #finished = false;
  #status: number | undefined;
  /** The client's socket is full: upstream reads wait for its 'drain'. */
  #stalled = false;

  /**
   * `source` names who answers, for errors; `versionHeader` adds
   * `X-Clusterflux-Version` (influxd's answers; the agent's own carry it);
   * `retryElsewhere`: a failure before the answer's head came sends the
   * client nothing and ends as 'unanswered', for the caller to try another way;
   * so does an answer head whose status `retryOn` names (another agent's
   * 5xx: its influxd failed, and the next owner may not).
   */
  constructor(upstream: Duplex, client: Socket, from: { source: string; versionHeader: boolean; retryElsewhere?: boolean; retryOn?: (status: number) => boolean }, done: (outcome: Outcome, reason?: string) => void) {
    this.#upstream = upstream;
    this.#versionHeader = from.versionHeader;
    this.#source = from.source;
    this.#retryElsewhere = from.retryElsewhere ?? false;
    this.#retryOn = from.retryOn;
    this.#client = client;
    this.#done = done;
  }

  /** The status sent to the client: the answer's, or 502 when this relay answered for it; undefined while none was sent. */
  get status(): number | undefined {
    return this.#status;
  }

  onData(chunk: Buffer): void {
    coalesceWrites(this.#client);
    if (this.#finished) return;
    if (!this.#headSent) {
      this.#head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
      const end = this.#head.indexOf(HEAD_END);
      if (end < 0) {
        if (this.#head.length > MAX_HEAD_BYTES) this.#fail(`${this.#source} sent an answer head over 16 KiB`);
        return;
      }
      const headBytes = this.#head.subarray(0, end + HEAD_END.length);
      const framing = responseFramingOf(headBytes);
      if (!framing) return this.#fail(`${this.#source} sent an answer this path cannot relay`);
      if (this.#retryOn?.(framing.status)) return this.#fail(`${this.#source} answered ${framing.status}`);
      this.#body = framing.body === 'none' ? 0 : framing.body === 'chunked' ? new ChunkedBodyEnd() : framing.body;
      this.#keepAlive = framing.keepAlive;
      this.#headSent = true;
      this.#status = framing.status;
      this.#send(this.#versionHeader ? withHeaderLine(headBytes, VERSION_HEADER) : headBytes);
      chunk = this.#head.subarray(headBytes.length);
      this.#head = EMPTY;
    }
    this.#relayBody(chunk);
  }

  onClose(): void {
    if (this.#finished) return;
    if (this.#body === 'close' && this.#headSent) return this.#finish('complete');
    this.#fail(`${this.#source} closed the connection before answering`);
  }

  #relayBody(chunk: Buffer): void {
    if (this.#body === 'close') {
      if (chunk.length > 0) this.#send(chunk);
      return;
    }
    if (typeof this.#body === 'number') {
      const take = Math.min(this.#body, chunk.length);
      if (take > 0) this.#send(chunk.subarray(0, take));
      this.#body -= take;
      if (this.#body === 0) this.#finish(take === chunk.length && this.#keepAlive ? 'reuse' : 'complete');
      return;
    }
    const used = this.#body.feed(chunk);
    if (used < 0) return this.#fail(`${this.#source} sent a malformed chunked answer`);
    if (used > 0) this.#send(chunk.subarray(0, used));
    if (this.#body.done) this.#finish(used === chunk.length && this.#keepAlive ? 'reuse' : 'complete');
  }

  /**
   * Writes to the client with backpressure: while the client's socket is
   * full, the upstream connection is not read (a client reading a large
   * query answer slowly must slow influxd down, not fill the agent's memory).
   */
  #send(bytes: Buffer): void {
    if (this.#client.write(bytes) || this.#stalled) return;
    this.#stalled = true;
    this.#upstream.pause();
    this.#client.once('drain', this.#onDrain);
  }

  readonly #onDrain = (): void => {
    this.#stalled = false;
    this.#upstream.resume();
  };

  /** The upstream connection outlives this answer (it is kept for the next request): never leave it paused. */
  #unstall(): void {
    if (!this.#stalled) return;
    this.#client.off('drain', this.#onDrain);
    this.#onDrain();
  }

  #finish(outcome: 'complete' | 'reuse'): void {
    this.#finished = true;
    this.#unstall();
    this.#done(outcome);
  }

  #fail(reason: string): void {
    this.#finished = true;
    this.#unstall();
    if (!this.#headSent && this.#retryElsewhere) {
      this.#upstream.destroy();
      this.#done('unanswered', reason);
      return;
    }
    if (!this.#headSent && this.#client.writable) {
      const body = JSON.stringify({ error: `proxy: ${reason}` });
      this.#status = 502;
      this.#client.write(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Clusterflux-Version: ${CFLUX_VERSION}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      this.#client.destroy();
    }
    this.#upstream.destroy();
    this.#done('failed', reason);
  }
}

