import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { presentedToken, tokenMatcher, tokensMatch } from '../../shared/http/credentials.ts';
import { CfluxError } from '../../shared/errors.ts';
import type { Principal } from '../../shared/http/router.ts';
import type { JsonServerOptions } from '../../shared/http/json-server.ts';

/**
 * Who calls the manager. The operator token may do everything; the agent
 * token may register, heartbeat and deregister its own node, read the nodes
 * and the document, and write the document (DDL through a proxy), but not
 * take over a live node's name from another address nor touch other nodes.
 */
export type ManagerRole = 'operator' | 'agent';

/** The header an agent proves its registration with on heartbeats and deregistration. */
export const NODE_KEY_HEADER = 'x-cflux-node-key';

/** Node keys kept in memory; past this the cache starts over (a key is recomputed on its next use). */
const MAX_CACHED_NODE_KEYS = 100_000;

/** The manager's tokens, and the node keys derived from them. */
export class ManagerAuth {
  readonly #operatorToken: string | undefined;
  /** Keys node registrations; derived from the operator token so every replica computes the same keys. */
  readonly #nodeKeySecret: Buffer;
  readonly #isOperatorToken: (presented: string) => boolean;
  readonly #isAgentToken: ((presented: string) => boolean) | undefined;
  /** Node keys computed so far, by node identity: every heartbeat checks one (an HMAC each was 2 % of a busy manager's CPU). */
  readonly #nodeKeys = new Map<string, string>();

  constructor(tokens: { operatorToken?: string; agentToken?: string }) {
    this.#operatorToken = tokens.operatorToken;
    this.#isOperatorToken = tokenMatcher(tokens.operatorToken ?? '');
    this.#isAgentToken = tokens.agentToken === undefined ? undefined : tokenMatcher(tokens.agentToken);
    this.#nodeKeySecret = tokens.operatorToken === undefined ? randomBytes(32) : createHmac('sha256', tokens.operatorToken).update('clusterflux/node-keys/v1').digest();
  }

  /** No token configured: every caller is an operator. */
  get insecure(): boolean {
    return this.#operatorToken === undefined;
  }

  /** The JSON server's hooks: who a request is, and the 401 answer (a browser then asks for the token as a password). */
  serverOptions(): Pick<JsonServerOptions, 'authenticate' | 'challenge'> {
    return {
      authenticate: (req) => this.#principalOf(req),
      challenge: {
        error: 'manager API: missing or wrong token: send Authorization: Bearer <CFLUX_MANAGER_TOKEN> (or HTTP Basic with the token as password)',
        schemes: ['Bearer realm="ClusterFlux manager"', 'Basic realm="ClusterFlux manager", charset="UTF-8"'],
      },
    };
  }

  #principalOf(req: IncomingMessage): Principal | undefined {
    if (this.#operatorToken === undefined) return { role: 'operator' };
    const token = presentedToken(req);
    if (token === undefined) return undefined;
    if (this.#isOperatorToken(token)) return { role: 'operator' };
    if (this.#isAgentToken?.(token)) return { role: 'agent' };
    return undefined;
  }

  /**
   * The key a registration proves itself with: an HMAC of the node's
   * identity, given to the agent once (in the 201 answer), never listed.
   */
  nodeKey(node: { cluster: string; id: number; name: string; registeredAt: string }): string {
    const identity = JSON.stringify([node.cluster, node.id, node.name, node.registeredAt]);
    let key = this.#nodeKeys.get(identity);
    if (key === undefined) {
      key = createHmac('sha256', this.#nodeKeySecret).update(identity).digest('base64url');
      // Bounded: ids are never reused, so entries of replaced registrations would pile up.
      if (this.#nodeKeys.size >= MAX_CACHED_NODE_KEYS) this.#nodeKeys.clear();
      this.#nodeKeys.set(identity, key);
    }
    return key;
  }

  /** Whether a request carries the key of this registration. */
  hasNodeKey(req: IncomingMessage, node: { cluster: string; id: number; name: string; registeredAt: string }): boolean {
    const presented = req.headers[NODE_KEY_HEADER];
    return typeof presented === 'string' && tokensMatch(presented, this.nodeKey(node));
  }
}

/** Throws 403 unless the caller is an operator; `what` says what needed the right. */
export function requireOperator(principal: Principal | undefined, what: string): void {
  if (principal?.role !== 'operator') throw new CfluxError('FORBIDDEN', `${what} needs the manager (operator) token; the agent token may not`);
}
