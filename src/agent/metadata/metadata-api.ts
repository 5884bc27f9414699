import { setTimeout as sleep } from 'node:timers/promises';
import { CfluxError } from '../../shared/errors.ts';
import { errorTextOf } from '../../shared/http/json-http.ts';
import type { ManagerClient } from '../../shared/http/manager-client.ts';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { RESTORE_HEADER, type VersionedDocument } from '../../cluster/document-update.ts';

/**
 * Longest a write waits out a manager's restore window (423, see
 * manager/api/restore-window.ts) before it fails: the window is 15 s by default.
 */
const RESTORE_WAIT_LIMIT_MS = 60_000;

/** The manager's metadata calls, as a narrow interface. */
export interface MetadataApi {
  /** The document now. */
  get(cluster: string, signal?: AbortSignal): Promise<VersionedDocument>;
  /** Long-poll: the document once its version differs from `known`, or undefined after `waitSeconds`. */
  poll(cluster: string, known: number, waitSeconds: number, signal: AbortSignal): Promise<VersionedDocument | undefined>;
  /**
   * CAS write on `base`: the new version, or the newest document on conflict.
   * `restore`: the agent's last applied document written back to a manager that lost it.
   */
  write(cluster: string, base: number, metadata: ClusterMetadata, signal?: AbortSignal, restore?: boolean): Promise<{ ok: true; version: number } | { ok: false; current: VersionedDocument }>;
}

/** MetadataApi over the manager's HTTP API. */
export class ManagerMetadataApi implements MetadataApi {
  readonly #client: ManagerClient;

  /** Told what the manager said each time a write waits out its restore window (the CLI prints it). */
  readonly #onRestoreWait: ((message: string) => void) | undefined;

  constructor(client: ManagerClient, onRestoreWait?: (message: string) => void) {
    this.#client = client;
    this.#onRestoreWait = onRestoreWait;
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

  async write(cluster: string, base: number, metadata: ClusterMetadata, signal?: AbortSignal, restore = false) {
    const waitUntil = Date.now() + RESTORE_WAIT_LIMIT_MS;
    for (;;) {
      const reply = await this.#client.request<{ version: number; 'retry-after-ms'?: number } & VersionedDocument>('POST', `/clusters/${encodeURIComponent(cluster)}/versions/${base}`, {
        json: metadata,
        ...(restore ? { headers: { [RESTORE_HEADER]: '1' } } : {}),
        ...(signal ? { signal } : {}),
      });
      if (reply.status === 200) return { ok: true as const, version: reply.body.version };
      if (reply.status === 409) return { ok: false as const, current: { version: reply.body.version, metadata: reply.body.metadata } };
      // The manager is being given its lost document back by the agents: the change waits for them.
      const retryAfterMs = reply.body?.['retry-after-ms'];
      if (reply.status === 423 && Date.now() < waitUntil) {
        this.#onRestoreWait?.(errorTextOf(reply.body));
        await sleep(Math.min(Math.max(typeof retryAfterMs === 'number' ? retryAfterMs : 1000, 100), waitUntil - Date.now()), undefined, signal ? { signal } : {});
        continue;
      }
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `manager refused the metadata write with ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
  }
}
