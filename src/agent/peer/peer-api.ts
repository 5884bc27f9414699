import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from '../../shared/http/router.ts';
import type { JsonServerOptions } from '../../shared/http/json-server.ts';
import { presentedToken, tokensMatch } from '../../shared/http/credentials.ts';
import type { JsonReply } from '../../shared/http/json-http.ts';
import { parseInfluxRequest, readLimitedBody, type InfluxRequest } from '../influxd/influx-request.ts';
import { decodeWriteBody, WriteBodyError } from '../influxd/write-body.ts';
import { messageOf } from '../../shared/errors.ts';
import { parseJsonOrText } from '../../shared/http/json-http.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';

/** Header that carries the client's own credentials from one agent to another. */
export const CLIENT_AUTHORIZATION_HEADER = 'x-cflux-client-authorization';
/** Header that carries the revision of the cluster document the sending agent has applied (read-your-DDL). */
export const METADATA_REVISION_HEADER = 'x-cflux-metadata-revision';
/** How long a peer request waits for this agent to apply the sender's metadata revision. */
const REVISION_WAIT_MS = 5000;

/**
 * The peer API: other agents write into and query this node's influxd. Never
 * re-forwards. The server checks the cluster's peer token before these
 * handlers run (peerAuthentication; unless the agent runs with
 * --insecure-peer); the client's own credentials travel in
 * `x-cflux-client-authorization` so influxd still decides authorization.
 */
export function addPeerRoutes(
  router: Router,
  options: {
    influxd: LocalPassthrough;
    maxBodyBytes: number;
    refusal?: () => string | undefined;
    /** Waits until this agent applied at least the given revision (bounded); the request goes on either way. */
    awaitRevision?: (revision: number, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;
    /** This agent's own influxd credentials (Authorization header), for replayed hints. */
    agentAuthorization?: string | undefined;
  },
): void {
  const handle = (target: '/write' | '/query') => async ({ req, res, signal }: { req: IncomingMessage; res: ServerResponse; signal: AbortSignal }): Promise<JsonReply> => {
    // A node that may not serve clients may not store or answer for its peers either.
    const refusal = options.refusal?.();
    if (refusal) return { status: 503, body: { error: `peer API: this node does not serve: ${refusal}` } };
    // The sender applied DDL this agent may not have yet (a write right after CREATE DATABASE): catch up first.
    const revision = Number(req.headers[METADATA_REVISION_HEADER]);
    if (Number.isSafeInteger(revision) && revision > 0 && options.awaitRevision) await options.awaitRevision(revision, REVISION_WAIT_MS, signal);
    const client = req.headers[CLIENT_AUTHORIZATION_HEADER];
    const length = Number(req.headers['content-length'] ?? NaN);
    const encoded = req.headers['content-encoding'] !== undefined;
    if (target === '/write' && !encoded && Number.isSafeInteger(length) && length <= options.maxBodyBytes) {
      // A write of known size goes on to influxd as it arrives: nothing buffered here.
      const query = (req.url ?? '').indexOf('?');
      await options.influxd.pipe(req, res, { path: `/write${query < 0 ? '' : (req.url ?? '').slice(query)}`, authorization: typeof client === 'string' ? client : undefined });
      return { status: 0, handled: true };
    }
    const raw = await readLimitedBody(req, options.maxBodyBytes);
    if (raw === undefined) return { status: 413, body: { error: `peer API: request body over ${options.maxBodyBytes} bytes` } };
    let body = raw;
    if (target === '/write' && encoded) {
      // Inflated here within the same bound as the proxy's, then sent on plain: influxd never sees a gzip bomb.
      try {
        body = await decodeWriteBody(raw, req.headers['content-encoding'], options.maxBodyBytes);
      } catch (err) {
        return { status: err instanceof WriteBodyError ? err.httpStatus : 400, body: { error: `peer API: ${messageOf(err)}` } };
      }
    }
    const parsed = parseInfluxRequest(req, body, signal);
    const forwardHeaders: Record<string, string> = { ...parsed.forwardHeaders };
    delete forwardHeaders['authorization'];
    delete forwardHeaders['content-encoding'];
    if (typeof client === 'string') forwardHeaders['authorization'] = client;
    const request: InfluxRequest = { ...parsed, method: 'POST', path: target, forwardHeaders };
    await options.influxd.forward(request, res);
    return { status: 0, handled: true };
  };
  // A hinted-handoff batch from another agent: written with this agent's own identity (hints carry
  // no client credentials; the client's right to write was checked before the hint was kept).
  router.add('POST', '/peer/v1/replay', async ({ req, signal }) => {
    const refusal = options.refusal?.();
    if (refusal) return { status: 503, body: { error: `peer API: this node does not serve: ${refusal}` } };
    const revision = Number(req.headers[METADATA_REVISION_HEADER]);
    if (Number.isSafeInteger(revision) && revision > 0 && options.awaitRevision) await options.awaitRevision(revision, REVISION_WAIT_MS, signal);
    const body = await readLimitedBody(req, options.maxBodyBytes);
    if (body === undefined) return { status: 413, body: { error: `peer API: request body over ${options.maxBodyBytes} bytes` } };
    const url = new URL(req.url ?? '/', 'http://peer');
    const params = new URLSearchParams();
    for (const name of ['db', 'rp', 'precision']) {
      const value = url.searchParams.get(name);
      if (value !== null) params.set(name, value);
    }
    const answer = await options.influxd.write(params, body, options.agentAuthorization, signal);
    return answer.status === 204 ? { status: 204 } : { status: answer.status, body: parseJsonOrText(answer.body) ?? { error: `influxd answered ${answer.status}` } };
  });
  router.add('POST', '/peer/v1/write', handle('/write'));
  router.add('POST', '/peer/v1/query', handle('/query'));
  // The raw query relay's form (peer-query-relay.ts), when this agent's fast path leaves it to the HTTP server.
  router.add('GET', '/peer/v1/query', handle('/query'));
}

/** The peer port's authentication: the cluster's peer token, or everyone with --insecure-peer. */
export function peerAuthentication(token: string | undefined): Pick<JsonServerOptions, 'authenticate' | 'challenge'> {
  return {
    authenticate: (req) => {
      if (token === undefined) return { role: 'peer' };
      const presented = presentedToken(req);
      return presented !== undefined && tokensMatch(presented, token) ? { role: 'peer' } : undefined;
    },
    challenge: { error: 'peer API: missing or wrong peer token (Authorization: Bearer <CFLUX_PEER_TOKEN>)', schemes: ['Bearer realm="ClusterFlux peer API"'] },
  };
}
