import { CfluxError } from '../../shared/errors.ts';
import type { ManagerClient } from '../../shared/http/manager-client.ts';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { VersionedDocument } from '../../cluster/document-update.ts';

/** The manager's metadata calls, as a narrow interface. */
export interface MetadataApi {
  /** The document now. */
  get(cluster: string, signal?: AbortSignal): Promise<VersionedDocument>;
  /** Long-poll: the document once its version differs from `known`, or undefined after `waitSeconds`. */
  poll(cluster: string, known: number, waitSeconds: number, signal: AbortSignal): Promise<VersionedDocument | undefined>;
  /** CAS write on `base`: the new version, or the newest document on conflict. */
  write(cluster: string, base: number, metadata: ClusterMetadata, signal?: AbortSignal): Promise<{ ok: true; version: number } | { ok: false; current: VersionedDocument }>;
}

/** MetadataApi over the manager's HTTP API. */
export class ManagerMetadataApi implements MetadataApi {
  readonly #client: ManagerClient;

  constructor(client: ManagerClient) {
    this.#client = client;
  }

  /** The document now (version 0 and null: none written yet). */
  async get(cluster: string, signal?: AbortSignal): Promise<VersionedDocument> {
    const reply = await this.#client.request<VersionedDocument>('GET', `/clusters/${encodeURIComponent(cluster)}`, signal ? { signal } : {});
    if (reply.status !== 200) throw new CfluxError('UPSTREAM_UNAVAILABLE', `manager answered ${reply.status} to the metadata read: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  async poll(cluster: string, known: number, waitSeconds: number, signal: AbortSignal): Promise<VersionedDocument | undefined> {
    const reply = await this.#client.request<VersionedDocument>('GET', `/clusters/${encodeURIComponent(cluster)}/versions/${known}?timeout=${waitSeconds}`, {
      signal,
      extraTimeoutMs: waitSeconds * 1000,
    });
    if (reply.status === 204) return undefined;
    if (reply.status !== 200) throw new CfluxError('UPSTREAM_UNAVAILABLE', `manager answered the metadata poll with ${reply.status}`);
    return reply.body;
  }

  async write(cluster: string, base: number, metadata: ClusterMetadata, signal?: AbortSignal) {
    const reply = await this.#client.request<{ version: number } & VersionedDocument>('POST', `/clusters/${encodeURIComponent(cluster)}/versions/${base}`, {
      json: metadata,
      ...(signal ? { signal } : {}),
    });
    if (reply.status === 200) return { ok: true as const, version: reply.body.version };
    if (reply.status === 409) return { ok: false as const, current: { version: reply.body.version, metadata: reply.body.metadata } };
    throw new CfluxError('UPSTREAM_UNAVAILABLE', `manager refused the metadata write with ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
}
