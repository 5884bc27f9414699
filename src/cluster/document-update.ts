import type { ClusterMetadata } from './cluster-metadata.ts';

/** A cluster's document as the manager holds it; version 0 and null: none yet. */
export interface VersionedDocument {
  version: number;
  metadata: ClusterMetadata | null;
}

/**
 * The request header an agent sets when it writes back its last applied
 * document to a manager that holds an older one (or none): a restore, not a
 * change (the manager's restore window judges the two apart).
 */
export const RESTORE_HEADER = 'x-cflux-restore';

/** A compare-and-swap write of the whole document on a base version (the manager API). */
export type CasWrite = (base: number, metadata: ClusterMetadata) => Promise<{ ok: true; version: number } | { ok: false; current: VersionedDocument }>;

/** What a change makes of the document it is given: the new document, whether it differs, and the caller's result. */
export interface DocumentChange<R> {
  metadata: ClusterMetadata;
  changed: boolean;
  result: R;
}

/** The outcome of {@link updateDocument}. */
export interface DocumentUpdate<R> {
  /** The change's result on the document it was last applied to. */
  result: R;
  /** The version written, when something was. */
  written?: VersionedDocument;
  /** The newest document known afterwards (written, or the last one read). */
  latest: VersionedDocument;
}

/**
 * How often a write is tried again after losing the race to another writer.
 * Each loss means someone else's write landed, so a long streak needs many
 * concurrent writers; 25 covers a burst of DDL from every agent of a big cluster.
 */
export const MAX_CAS_ATTEMPTS = 25;

/** The compare-and-swap loop lost every race. */
export class DocumentContendedError extends Error {
  override name = 'DocumentContendedError';
}

/**
 * The one compare-and-swap loop over the cluster document: applies `change`
 * (pure) to the document at `base`, writes the result on `base.version`, and
 * on a conflict applies `change` again to the newest document the manager
 * answered with. Nothing is written when the change says nothing changed. Used by the metadata mirror (DDL, pins, membership, drift) and by
 * `cflux members`.
 */
export async function updateDocument<R>(base: VersionedDocument, change: (metadata: ClusterMetadata | null) => DocumentChange<R>, write: CasWrite, attempts = MAX_CAS_ATTEMPTS): Promise<DocumentUpdate<R>> {
  let current = base;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const next = change(current.metadata);
    if (!next.changed) return { result: next.result, latest: current };
    const reply = await write(current.version, next.metadata);
    if (reply.ok) {
      const written = { version: reply.version, metadata: next.metadata };
      return { result: next.result, written, latest: written };
    }
    current = reply.current;
  }
  throw new DocumentContendedError(`the cluster document changed under ${attempts} writes in a row; try again`);
}
