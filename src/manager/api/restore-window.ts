import { revisionOf, type ClusterMetadata } from '../../cluster/cluster-metadata.ts';

/** What the window says about one metadata write. */
export type RestoreVerdict = { accept: true } | { accept: false; retryAfterMs: number };

/**
 * Closes the one window where the memory store could lose a change: a
 * manager restarted empty gets the cluster document back from the agents,
 * highest revision winning, and a change written on top of an older
 * document that one agent pushed first was replaced by the newer document
 * another agent pushed a moment later (docs/metadata.md).
 *
 * So once a cluster shows it had a document before this process started
 * (an agent's restore, or a first write whose revision is past 1: it was
 * built on a document this manager never held), changes wait for
 * `lengthMs` while the agents' restores come in (every live agent's poll
 * finds the restarted manager within seconds); restores are taken at once.
 * A cluster that starts fresh (first document at revision 1) never waits.
 * Only for the memory store: etcd keeps the document across restarts.
 */
export class RestoreWindow {
  readonly #lengthMs: number;
  readonly #now: () => number;
  /** When each cluster's window opened; a cluster is judged once per process. */
  readonly #openedAt = new Map<string, number>();
  /** Clusters seen with a document that needed no restore. */
  readonly #settled = new Set<string>();

  constructor(lengthMs: number, now: () => number = Date.now) {
    this.#lengthMs = lengthMs;
    this.#now = now;
  }

  /**
   * Judges a write of `incoming` while the manager holds `current`. A
   * refused change is to be sent again after `retryAfterMs`.
   */
  judge(cluster: string, current: ClusterMetadata | null, incoming: ClusterMetadata, restore: boolean): RestoreVerdict {
    if (this.#lengthMs <= 0) return { accept: true };
    let opened = this.#openedAt.get(cluster);
    if (opened === undefined && !this.#settled.has(cluster)) {
      const hadDocumentBefore = restore || (current === null && revisionOf(incoming) > 1);
      if (hadDocumentBefore) {
        opened = this.#now();
        this.#openedAt.set(cluster, opened);
      } else {
        this.#settled.add(cluster); // a document this process holds, or a fresh cluster's first one
      }
    }
    if (restore || opened === undefined) return { accept: true };
    const remaining = opened + this.#lengthMs - this.#now();
    return remaining > 0 ? { accept: false, retryAfterMs: remaining } : { accept: true };
  }
}
