import type { Duplex } from 'node:stream';
import { tokenInAuthorization, tokenMatcher } from '../../../shared/http/credentials.ts';
import { CLIENT_AUTHORIZATION_HEADER, METADATA_REVISION_HEADER } from '../../peer/peer-api.ts';
import type { Outcome } from './answer-relay.ts';
import { FastWritePath, type QueryRelay } from './fast-write-path.ts';
import type { InfluxdEndpoint } from '../../influxd/influxd-endpoint.ts';
import type { Logger } from '../../../shared/logging.ts';
import { LinkPool } from './relay-links.ts';

/**
 * The raw query relay between agents (docs/data-plane.md, "The query hop").
 * A client's `GET /query` of one SELECT that one peer answers whole goes to
 * that peer's peer port as `GET /peer/v1/query`, its head rewritten and its
 * answer relayed byte for byte; the peer's own fast path checks the peer
 * token and relays it, rewritten back to `GET /query`, to its influxd. The
 * client's credentials travel as on the HTTP path: in
 * `X-Cflux-Client-Authorization` (or as `u`/`p` in the target), for influxd
 * to judge. Whatever fails before its answer starts takes the HTTP path,
 * which tries the next owner.
 */

/** Idle connections kept per peer. */
const MAX_IDLE_PER_PEER = 8;
/** A connection to a peer idle this long is not reused: well below the peer port's keep-alive timeout (KEEP_ALIVE_TIMEOUT_MS, 65 s). */
const PEER_LINK_MAX_IDLE_MS = 30_000;
/** A peer that sends no byte of its answer for this long is given up on (the HTTP path's PEER_IDLE_TIMEOUT_MS). */
const PEER_ANSWER_TIMEOUT_MS = 30_000;
const QUERY_PATH = '/query';
const PEER_QUERY_PATH = '/peer/v1/query';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** What a request target may hold here: anything else is left to the HTTP server to refuse. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

interface HeaderLine {
  /** Lower case. */
  name: string;
  /** The whole line as sent, without its CRLF. */
  line: string;
}

/**
 * The request line and header lines of a request head (the bytes through its
 * blank line), or undefined when a line is anything but a plain `name: value`
 * (a folded line, a stray CR or LF): such heads are left to the HTTP server.
 */
function headLines(head: Buffer): { requestLine: string; headers: HeaderLine[] } | undefined {
  const lines = head.toString('latin1', 0, head.length - 4).split('\r\n');
  const headers: HeaderLine[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, Math.max(colon, 0)).toLowerCase();
    if (colon <= 0 || !HEADER_NAME.test(name) || line.includes('\n') || line.includes('\r')) return undefined;
    headers.push({ name, line });
  }
  return { requestLine: lines[0]!, headers };
}

/** The value of the one header called `name`: undefined when absent, null when given more than once. */
function single(headers: readonly HeaderLine[], name: string): string | undefined | null {
  const found = headers.filter((header) => header.name === name);
  if (found.length > 1) return null;
  return found[0]?.line.slice(found[0].line.indexOf(':') + 1).trim();
}

/** The query string of a target (`?` included), or undefined when the path is not `path` or a byte is not visible ASCII. */
function queryOf(target: string, path: string): string | undefined {
  const mark = target.indexOf('?');
  return mark > 0 && target.slice(0, mark) === path && VISIBLE_ASCII.test(target) ? target.slice(mark) : undefined;
}

/**
 * The head a client's `GET /query` is sent to a peer with: `GET
 * /peer/v1/query` with the same query string, the peer's `Host`, the peer
 * credentials and metadata revision (`peerLines`), the client's
 * `Authorization` moved to `X-Cflux-Client-Authorization`, and the client's
 * other headers as they came, except any `X-Cflux-*` of its own.
 */
export function peerQueryHead(head: Buffer, target: string, address: string, peerLines: string): Buffer | undefined {
  const query = queryOf(target, QUERY_PATH);
  const parts = headLines(head);
  if (query === undefined || !parts) return undefined;
  const authorization = single(parts.headers, 'authorization');
  if (authorization === null) return undefined;
  let text = `GET ${PEER_QUERY_PATH}${query} HTTP/1.1\r\nHost: ${address}\r\n${peerLines}`;
  if (authorization !== undefined) text += `${CLIENT_AUTHORIZATION_HEADER}: ${authorization}\r\n`;
  for (const header of parts.headers) {
    if (header.name !== 'host' && header.name !== 'authorization' && !header.name.startsWith('x-cflux-')) text += `${header.line}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/** What a peer query's head says, once read on the receiving agent. */
export interface PeerQueryHead {
  /** The head to send the local influxd: `GET /query`, the client's credentials back in `Authorization`. */
  head: Buffer;
  /** The sender's applied metadata revision (0: none said). */
  revision: number;
}

/**
 * Reads a `GET /peer/v1/query` head on the receiving agent: undefined unless
 * it carries the peer token (`matches`; any, with --insecure-peer) and is
 * plain; else the head for the local influxd.
 */
export function influxdQueryHead(head: Buffer, target: string, matches: ((token: string) => boolean) | undefined): PeerQueryHead | undefined {
  const query = queryOf(target, PEER_QUERY_PATH);
  const parts = headLines(head);
  if (query === undefined || !parts) return undefined;
  const authorization = single(parts.headers, 'authorization');
  const client = single(parts.headers, CLIENT_AUTHORIZATION_HEADER);
  const revision = single(parts.headers, METADATA_REVISION_HEADER);
  if (authorization === null || client === null || revision === null) return undefined;
  if (matches) {
    const token = authorization === undefined ? undefined : tokenInAuthorization(authorization);
    if (token === undefined || !matches(token)) return undefined;
  }
  let text = `GET ${QUERY_PATH}${query} HTTP/1.1\r\n`;
  if (client !== undefined) text += `Authorization: ${client}\r\n`;
  for (const header of parts.headers) {
    if (header.name !== 'authorization' && !header.name.startsWith('x-cflux-')) text += `${header.line}\r\n`;
  }
  const said = Number(revision ?? 0);
  return { head: Buffer.from(`${text}\r\n`, 'latin1'), revision: Number.isSafeInteger(said) && said > 0 ? said : 0 };
}

/**
 * A peer's answer that the HTTP path should have another go at: a 5xx (the
 * peer's influxd failed: the next owner may not), or 404/405 (an agent of an
 * earlier version, during a rolling upgrade, has no `GET /peer/v1/query`;
 * influxd never answers `/query` with either).
 */
export function peerCouldNotAnswer(status: number): boolean {
  return status >= 500 || status === 404 || status === 405;
}

/** How the client side reaches peers (PeerClient) and which are there (PeerDirectory). */
export interface PeerRelayOptions {
  self: string;
  /** The node that answers these query parameters whole, if one does (QueryHandler.answeredBy). */
  answeredBy(params: URLSearchParams): string | undefined;
  peers: {
    connect(address: string): Duplex;
    /** Header lines every peer request carries (peer token, metadata revision). */
    peerHeaderLines(): string;
    noteAnswer(address: string, outcome: 'ok' | 'unreachable', seconds: number): void;
  };
  directory: {
    get(name: string): { address: string } | undefined;
    isAvailable(name: string): boolean;
  };
  /** Counts a query relayed raw, to the local influxd or to a peer. */
  onRelayed?(to: 'local' | 'peer'): void;
}

/** The client side: where the proxy relays a `GET /query` raw (FastWritePathOptions.routeQuery). */
export class ClientQueryRelays {
  readonly #options: PeerRelayOptions;
  readonly #pools = new Map<string, LinkPool>();

  constructor(options: PeerRelayOptions) {
    this.#options = options;
  }

  route(target: string, head: Buffer, local: LinkPool): QueryRelay | undefined {
    const query = queryOf(target, QUERY_PATH);
    if (query === undefined) return undefined;
    // Not cached like a write's target: a dashboard's queries differ (time ranges), and would only evict the writers'.
    const node = this.#options.answeredBy(new URLSearchParams(query.slice(1)));
    if (node === undefined) return undefined;
    if (node === this.#options.self) {
      this.#options.onRelayed?.('local');
      return { links: local, head, source: 'the local influxd', versionHeader: true };
    }
    const peer = this.#options.directory.get(node);
    if (!peer || !this.#options.directory.isAvailable(node)) return undefined;
    const rewritten = peerQueryHead(head, target, peer.address, this.#options.peers.peerHeaderLines());
    if (!rewritten) return undefined;
    this.#options.onRelayed?.('peer');
    return {
      links: this.#pool(peer.address),
      head: rewritten,
      source: `the agent of ${node}`,
      versionHeader: false,
      retryOn: peerCouldNotAnswer,
      answerTimeoutMs: PEER_ANSWER_TIMEOUT_MS,
      settled: (outcome: Outcome, seconds: number) => {
        // Not answered: the HTTP path tries this peer again and reports (and marks it down) if it really is gone;
        // a kept connection the peer closed just then is no reason to skip the peer.
        if (outcome !== 'unanswered') this.#options.peers.noteAnswer(peer.address, outcome === 'failed' ? 'unreachable' : 'ok', seconds);
      },
    };
  }

  /** Closes the idle connections to every peer. */
  closeIdle(): void {
    for (const pool of this.#pools.values()) pool.closeIdle();
  }

  #pool(address: string): LinkPool {
    let pool = this.#pools.get(address);
    if (!pool) {
      pool = new LinkPool(() => this.#options.peers.connect(address), MAX_IDLE_PER_PEER, PEER_LINK_MAX_IDLE_MS);
      this.#pools.set(address, pool);
    }
    return pool;
  }
}

/**
 * The receiving side: on the peer port, a `GET /peer/v1/query` with the peer
 * token, from an agent whose metadata this agent has caught up with, goes to
 * the local influxd raw. Anything else (a refusal to serve, a newer revision
 * to wait for, a missing token) is left to the HTTP server, which answers it.
 */
export function peerPortFront(options: {
  influxd: InfluxdEndpoint;
  token: string | undefined;
  refusal(): string | undefined;
  appliedRevision(): number;
  onRelayed?(): void;
  /** The peer port's HTTP server's keep-alive and header timeouts. */
  idleTimeoutMs: number;
  headTimeoutMs: number;
  logger: Logger;
}): FastWritePath {
  const matches = options.token === undefined ? undefined : tokenMatcher(options.token);
  return new FastWritePath({
    influxd: options.influxd,
    // Peer writes keep the HTTP path (they may need decoding, and replays their own identity).
    streamsLocally: () => false,
    // A peer query that must wait for this agent's metadata, or be refused, is lent: the sending
    // agent's kept connection stays here for the queries after it.
    lendsRequest: (request) => request.method === 'GET' && request.contentLength === 0 && queryOf(request.target, PEER_QUERY_PATH) !== undefined,
    routeQuery: (target, head, local) => {
      const read = influxdQueryHead(head, target, matches);
      if (!read || read.revision > options.appliedRevision() || options.refusal() !== undefined) return undefined;
      options.onRelayed?.();
      return { links: local, head: read.head, source: 'the local influxd', versionHeader: true };
    },
    idleTimeoutMs: options.idleTimeoutMs,
    headTimeoutMs: options.headTimeoutMs,
    logger: options.logger,
  });
}
