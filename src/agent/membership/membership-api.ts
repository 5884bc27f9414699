import { CfluxError } from '../../shared/errors.ts';
import type { ManagerClient } from '../../shared/http/manager-client.ts';

/** What the agent sends to register (the manager API's field names). */
export interface RegistrationBody {
  name: string;
  hostname: string;
  ip: string[];
  'bind-address': string;
  'proxy-address': string;
  version: string;
  stats: Record<string, unknown>;
}

/** The manager's record of this agent, as returned by registration. */
export interface RegisteredNode extends RegistrationBody {
  id: number;
  cluster: string;
  /** Seconds. */
  ttl: number;
  alive: boolean;
  /** Proves this registration on heartbeats and deregistration (never logged or printed). */
  'node-key'?: string;
}

/** The three membership calls, as a narrow interface (tests may pass their own). */
export interface MembershipApi {
  register(cluster: string, body: RegistrationBody, signal?: AbortSignal): Promise<RegisteredNode>;
  /** 'unknown' when the manager no longer knows this registration (404): register again. */
  heartbeat(cluster: string, node: RegisteredNode, stats: Record<string, unknown>, signal?: AbortSignal): Promise<'ok' | 'unknown'>;
  deregister(cluster: string, node: RegisteredNode, signal?: AbortSignal): Promise<void>;
}

/** MembershipApi over the manager's HTTP API. */
export class ManagerMembershipApi implements MembershipApi {
  readonly #client: ManagerClient;

  constructor(client: ManagerClient) {
    this.#client = client;
  }

  async register(cluster: string, body: RegistrationBody, signal?: AbortSignal): Promise<RegisteredNode> {
    const reply = await this.#client.request<RegisteredNode>('POST', `/nodes/${encodeURIComponent(cluster)}`, { json: body, ...(signal ? { signal } : {}) });
    if (reply.status !== 201) throw unexpected('registration', reply.status, reply.body);
    return reply.body;
  }

  async heartbeat(cluster: string, node: RegisteredNode, stats: Record<string, unknown>, signal?: AbortSignal): Promise<'ok' | 'unknown'> {
    const reply = await this.#client.request('PUT', `/nodes/${encodeURIComponent(cluster)}/${node.id}`, { json: { name: node.name, stats }, headers: nodeKeyHeader(node), ...(signal ? { signal } : {}) });
    if (reply.status === 404) return 'unknown';
    if (reply.status !== 200) throw unexpected('heartbeat', reply.status, reply.body);
    return 'ok';
  }

  async deregister(cluster: string, node: RegisteredNode, signal?: AbortSignal): Promise<void> {
    const reply = await this.#client.request('DELETE', `/nodes/${encodeURIComponent(cluster)}/${node.id}`, { headers: nodeKeyHeader(node), ...(signal ? { signal } : {}) });
    if (reply.status !== 204 && reply.status !== 404) throw unexpected('deregistration', reply.status, reply.body);
  }
}

/** The header proving a registration (see the manager's node routes). */
function nodeKeyHeader(node: RegisteredNode): Record<string, string> {
  const key = node['node-key'];
  return key === undefined ? {} : { 'x-cflux-node-key': key };
}

function unexpected(call: string, status: number, body: unknown): CfluxError {
  const reason = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : JSON.stringify(body);
  return new CfluxError('UPSTREAM_UNAVAILABLE', `manager refused the ${call} with ${status}: ${reason}`);
}
