import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../shared/backoff.ts';
import { CfluxError, messageOf } from '../../shared/errors.ts';
import { checkClusterDocument, type DocumentProblem } from '../../cluster/document-check.ts';
import { continuousQueryProblem } from '../../influxql/continuous-query-check.ts';
import type { Logger } from '../../shared/logging.ts';
import type { InfluxdQueryClient } from '../influxd/influxd-query-client.ts';
import { applyOperations, type OperationOutcome } from '../../cluster/apply-operation.ts';
import { updateDocument, type CasWrite, type VersionedDocument } from '../../cluster/document-update.ts';
import { initialAppliedState, type AppliedState, type AppliedStateStore } from './applied-state-store.ts';
import { revisionOf, type ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { detectDrift } from './drift-detection.ts';
import { readLocalSnapshot, type SnapshotScope } from './local-snapshot.ts';
import type { MetadataApi } from './metadata-api.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import { addToScope, changedScope, MetadataReconciler } from './metadata-reconciler.ts';
import { RevisionWaiters } from './revision-waiters.ts';
import type { SecretBox } from '../../cluster/secret-box.ts';

export type LocalChangesMode = 'push' | 'revert';

export interface MetadataMirrorOptions {
  cluster: string;
  api: MetadataApi;
  influxd: InfluxdQueryClient;
  store: AppliedStateStore;
  secrets: SecretBox | undefined;
  logger: Logger;
  localChanges: LocalChangesMode;
  driftIntervalMs: number;
  replicationFactor: number;
  /** Seconds a metadata long-poll waits at the manager. */
  pollWaitSeconds?: number;
  /** Told when the newest document is refused (its first wrong field), and when a valid one follows (undefined). */
  onDocumentRefused?: (field: string | undefined) => void;
  /** Told when bringing influxd to a document failed: influxd could not be reached, or refused statements. */
  onReconcileFailed?: (why: 'unreachable' | 'refused') => void;
}


/** How often the manager is asked for its newest document on behalf of writes and peers (read-your-DDL). */
const NEWEST_CALL_INTERVAL_MS = 200;

/** How long a peer's request at a newer revision waits for the long-poll before this agent asks the manager. */
const CATCH_UP_GRACE_MS = 1000;

/**
 * Keeps the local influxd equal to the cluster metadata: long-polls the
 * manager, reconciles on every new version, turns DDL from the proxy into
 * CAS writes, finds DDL made directly on influxd (push or revert), and heals
 * a manager that lost its state by pushing the last applied document.
 * Everything that touches influxd runs one at a time.
 */
export class MetadataMirror {
  readonly #options: MetadataMirrorOptions;
  readonly #reconciler: MetadataReconciler;
  readonly #logger: Logger;
  #state: AppliedState;
  /** The newest document seen from the manager (CAS base). */
  #latest: VersionedDocument | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  /** Why the newest document from the manager was refused (schema check), if it was. */
  #refused: { version: number; problem: DocumentProblem } | undefined;
  readonly #warnedUsers = new Set<string>();
  /** influxd is not at the newest good document: a reconcile could not reach it, or it refused statements. */
  #behind: false | 'unreachable' | 'refused' = false;
  /**
   * influxd was seen holding the whole applied document since this process
   * started and since influxd last failed to answer (a full reconcile
   * converged, or a full drift check found no difference). Until then a
   * difference may be a restore cut short (influxd or the agent died while
   * a wiped influxd was filled again) or an influxd restored from an older
   * backup, not DDL made on influxd: pushed, its missing databases would be
   * dropped cluster-wide, its older retention policies would expire data
   * everywhere. So it is set back, not pushed (creations are kept).
   */
  #confirmed = false;
  #wakeCatchUp: (() => void) | undefined;
  readonly #revisions = new RevisionWaiters();
  /** The manager's newest document as last asked for by awaitDatabase, and when. */
  #newestAnswer: { at: number; answer: Promise<VersionedDocument | undefined> } | undefined;
  /** The next call for the newest document, when one is scheduled. */
  #nextAnswer: Promise<VersionedDocument | undefined> | undefined;

  constructor(options: MetadataMirrorOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#state = initialAppliedState(options.cluster, options.replicationFactor);
    this.#reconciler = new MetadataReconciler({ influxd: options.influxd, logger: options.logger, secrets: options.secrets, dropUnmanagedUsers: options.localChanges === 'revert' });
  }

  get appliedMetadata(): ClusterMetadata {
    return this.#state.metadata;
  }

  /**
   * Whether this agent has cluster metadata to serve with: applied before
   * (kept in --data-dir), or the manager's newest applied (or the manager
   * has none yet).
   */
  get knowsMetadata(): boolean {
    if (this.#state.version > 0) return true;
    return this.#latest !== undefined && (this.#latest.metadata === null || this.#state.version >= this.#latest.version);
  }

  /** Whether influxd is at the newest document this agent has heard of from the manager (and it has heard of one). */
  get isCurrent(): boolean {
    return this.#latest !== undefined && this.#latest.version === this.#state.version && !this.#behind;
  }

  /** Loads the last applied state from --data-dir. */
  async load(): Promise<void> {
    this.#state = (await this.#options.store.load(this.#options.cluster)) ?? this.#state;
    this.#logger.info({ version: this.#state.version }, 'last applied metadata loaded');
  }

  /** Polls and checks for drift until aborted; an unreachable manager only delays things. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.#pollLoop(signal), this.#driftLoop(signal), this.#catchUpLoop(signal)]);
  }

  /**
   * Applies DDL operations to the cluster (CAS write, retried on conflict
   * with the newest document), then to the local influxd, before answering.
   * Stops at the first operation InfluxDB would refuse. Throws when the
   * manager cannot be reached (nothing was written then).
   */
  async applyOperations(operations: MetadataOperation[], signal?: AbortSignal): Promise<OperationOutcome[]> {
    return this.#exclusive(async () => {
      const { outcomes, written } = await this.#writeToCluster(operations, signal);
      if (written) await this.#reconcileTo(written.version, written.metadata!);
      // Nothing written, but a lost race showed a newer document: apply it now. The poll loop asks
      // only for versions after the newest one known, so it would never bring this one.
      else if (this.#latest && this.#latest.version !== this.#state.version) await this.#onClusterDocument(this.#latest);
      return outcomes;
    });
  }

  /**
   * Writes operations to the cluster document (the one CAS loop). Proxy DDL
   * stops at the first refused operation (InfluxQL semantics); pushed drift
   * applies each operation on its own.
   */
  async #writeToCluster(operations: MetadataOperation[], signal?: AbortSignal, stopAtFirstError = true): Promise<{ outcomes: OperationOutcome[]; written?: VersionedDocument }> {
    const base = this.#latest ?? { version: this.#state.version, metadata: this.#state.metadata };
    const write: CasWrite = async (version, metadata) => {
      const reply = await this.#options.api.write(this.#options.cluster, version, metadata, signal);
      if (!reply.ok) {
        this.#latest = reply.current;
        this.#logger.debug({ version: reply.current.version }, 'metadata write lost a race; re-applying on the newest version');
      }
      return reply;
    };
    const update = await updateDocument(
      base,
      (current) => {
        if (current !== null) this.#requireValid(current);
        // A manager without a document, or with an older one than ours (a restarted memory store
        // this agent has not restored yet), gets ours, changed or not: a change made on the older
        // one would drop what only ours holds, here too once this agent applied the result.
        const ours = current === null || revisionOf(current) < revisionOf(this.#state.metadata);
        const applied = applyOperations(ours ? this.#state.metadata : current, operations, this.#options.secrets, stopAtFirstError);
        return { ...applied, changed: applied.changed || ours };
      },
      write,
    );
    if (update.written) this.#latest = update.written;
    return { outcomes: update.result, ...(update.written ? { written: update.written } : {}) };
  }

  async #pollLoop(signal: AbortSignal): Promise<void> {
    const wait = this.#options.pollWaitSeconds ?? 60;
    for (let failures = 0; !signal.aborted; ) {
      try {
        const known = this.#latest?.version ?? this.#state.version;
        const document = await this.#options.api.poll(this.#options.cluster, known, wait, signal);
        failures = 0;
        if (document) {
          await this.#exclusive(async () => {
            // Our own write may have moved past what this poll saw (also while this answer waited
            // for the lock): then the answer is stale, poll again.
            const movedOn = (this.#latest?.version ?? this.#state.version) !== known;
            if (!movedOn) await this.#onClusterDocument(document);
          });
        }
      } catch (err) {
        if (signal.aborted) return;
        // A short cap: a manager that returns (a restarted memory store) gets the document back within seconds.
        const delay = backoffDelay(failures++, { baseMs: 500, capMs: 3000 });
        this.#logger.warn({ reason: messageOf(err), retryInMs: delay }, 'metadata poll failed; serving with the last applied metadata');
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  async #onClusterDocument(document: VersionedDocument, depth = 0): Promise<void> {
    this.#latest = document;
    if (document.metadata !== null && !this.#accepts(document)) return;
    // The manager's version restarts with an empty memory store; the revision inside the
    // document does not. Only a document older than ours (or none) is replaced by ours.
    const appliedSomething = this.#state.version > 0 || revisionOf(this.#state.metadata) > 0;
    const behind = document.metadata === null ? appliedSomething : revisionOf(document.metadata) < revisionOf(this.#state.metadata);
    if (behind) {
      this.#logger.warn(
        { managerVersion: document.version, managerRevision: revisionOf(document.metadata), appliedRevision: revisionOf(this.#state.metadata) },
        'manager holds older metadata than this agent (restarted memory store?); pushing the last applied metadata',
      );
      const reply = await this.#options.api.write(this.#options.cluster, document.version, this.#state.metadata, undefined, true);
      if (reply.ok) {
        this.#latest = { version: reply.version, metadata: this.#state.metadata };
        this.#state = { ...this.#state, version: reply.version };
        await this.#options.store.save(this.#state);
        return;
      }
      // Someone wrote first: judge their document the same way (bounded: each round sees a newer version).
      this.#latest = reply.current;
      if (depth < 5) await this.#onClusterDocument(reply.current, depth + 1);
      return;
    }
    if (document.metadata === null) return;
    if (document.version === this.#state.version && revisionOf(document.metadata) === revisionOf(this.#state.metadata)) return;
    // A failure is the catch-up loop's to retry; the poll loop goes on listening meanwhile.
    await this.#reconcileTo(document.version, document.metadata).catch((err: unknown) => this.#logger.warn({ reason: messageOf(err), version: document.version }, 'cannot apply the cluster metadata to influxd yet; retrying'));
  }

  /**
   * The schema check of a document from the manager: a refused one is logged
   * (once per version) and reported; the agent keeps serving from the last
   * good document, and DDL answers 503 until a valid version is written.
   */
  #accepts(document: VersionedDocument): boolean {
    const check = checkClusterDocument(document.metadata, continuousQueryProblem);
    if (check.ok) {
      if (this.#refused) this.#options.onDocumentRefused?.(undefined);
      this.#refused = undefined;
      return true;
    }
    if (this.#refused?.version !== document.version) {
      this.#logger.error({ version: document.version, field: check.field, problem: check.error }, 'cluster document refused: it fails the schema check; serving with the last good document');
      this.#options.onDocumentRefused?.(check.field);
    }
    this.#refused = { version: document.version, problem: { field: check.field, error: check.error } };
    return false;
  }

  /** Throws (DDL then answers 503) while the document to change fails the schema check. */
  #requireValid(metadata: ClusterMetadata): void {
    const check = checkClusterDocument(metadata, continuousQueryProblem);
    if (!check.ok) throw new CfluxError('UPSTREAM_UNAVAILABLE', `the cluster document is invalid at ${check.field || '(the document)'}: ${check.error}; write a valid version (cflux meta) first`);
  }

  /**
   * Brings influxd to `metadata`. The applied state moves to it only when
   * influxd took every statement; otherwise (influxd down, or refusing) the
   * previous document stays the applied one, so the drift check never reads
   * the gap as local deletions, and the catch-up loop tries again.
   */
  async #reconcileTo(version: number, metadata: ClusterMetadata, scope?: SnapshotScope, refused: MetadataOperation[] = []): Promise<void> {
    let outcome;
    try {
      // Direct changes are kept for the drift check only once influxd was seen whole (see #confirmed).
      outcome = await this.#reconciler.reconcile(this.#state, version, metadata, scope, refused, this.#confirmed);
    } catch (err) {
      this.#fellBehind('unreachable');
      throw err;
    }
    const converged = outcome.remaining === 0;
    this.#state = converged ? outcome.state : { ...outcome.state, version: this.#state.version, metadata: this.#state.metadata };
    await this.#options.store.save(this.#state);
    if (converged) {
      this.#behind = false;
      if (scope === 'all') this.#confirmed = true;
      this.#revisions.reached(revisionOf(this.#state.metadata));
    } else {
      this.#fellBehind('refused');
    }
  }

  /**
   * influxd is not at the newest good document: the catch-up loop retries
   * with backoff, quickly while influxd is unreachable (it may be back any
   * moment), slowly while it refuses statements (that will not change until
   * the document does).
   */
  #fellBehind(why: 'unreachable' | 'refused'): void {
    this.#options.onReconcileFailed?.(why);
    this.#behind = why;
    this.#confirmed = false;
    this.#wakeCatchUp?.();
  }

  /**
   * Retries the newest good document until influxd took all of it: after a
   * failed reconcile (influxd down or refusing), within about two seconds of
   * influxd answering again.
   */
  async #catchUpLoop(signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; ) {
      if (!this.#behind) {
        failures = 0;
        await new Promise<void>((resolve) => {
          this.#wakeCatchUp = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.#wakeCatchUp = undefined;
        continue;
      }
      const capMs = this.#behind === 'refused' ? 60_000 : 2000;
      await sleep(Math.max(100, backoffDelay(failures++, { baseMs: 250, capMs })), undefined, { signal }).catch(() => undefined);
      const target = this.#latestGood();
      try {
        await this.#exclusive(() => (target?.metadata ? this.#reconcileTo(target.version, target.metadata, 'all') : this.#reconcileTo(this.#state.version, this.#state.metadata, 'all')));
        if (!this.#behind) this.#logger.info({ version: this.#state.version }, 'influxd caught up with the cluster metadata');
      } catch (err) {
        if (failures === 1 || failures % 10 === 0) this.#logger.warn({ reason: messageOf(err), attempts: failures }, 'influxd is behind the cluster metadata; retrying');
      }
    }
  }

  /** The revision of the document influxd is at. */
  get appliedRevision(): number {
    return revisionOf(this.#state.metadata);
  }

  /** Waits (at most `timeoutMs`) until the applied document reaches `revision`; false when it did not. */
  waitForRevision(revision: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.#revisions.waitFor(revision, () => this.appliedRevision, timeoutMs, signal);
  }

  /**
   * For a database this agent does not know: asks the manager for its newest
   * document and, when the database is there, waits (at most `timeoutMs`)
   * until it is applied here. True when the database is known afterwards.
   */
  async awaitDatabase(database: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (database in this.#state.metadata.databases) return true;
    const newest = await this.#newestSince(performance.now());
    if (!newest?.metadata || !(database in (newest.metadata.databases ?? {}))) return false;
    await this.#applyNewer(newest);
    await this.waitForRevision(revisionOf(newest.metadata), timeoutMs, signal);
    return database in this.#state.metadata.databases;
  }

  /**
   * For a peer's request made at `revision` (its DDL a moment ago): waits
   * for this node to get there, at most `timeoutMs`; false when it did not.
   * The long-poll usually brings it within moments; a node still behind
   * after CATCH_UP_GRACE_MS asks the manager itself. Not at once: after a
   * change every peer request carries the new revision, and at 10,000
   * agents, whose polls a manager answers over ~4 s, all of them asking at
   * once would be the very burst the pacing avoids.
   */
  async catchUpTo(revision: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.appliedRevision >= revision) return true;
    const grace = Math.min(timeoutMs, CATCH_UP_GRACE_MS);
    if ((await this.waitForRevision(revision, grace, signal)) || signal?.aborted || grace === timeoutMs) return this.appliedRevision >= revision;
    const newest = await this.#newestSince(performance.now());
    if (newest) await this.#applyNewer(newest);
    return this.waitForRevision(revision, timeoutMs - grace, signal);
  }

  /**
   * Applies `newest` from here when it is ahead of everything this agent
   * knows, instead of waiting for the poll to bring it: a manager answers
   * thousands of polls paced over seconds (--poll-answer-rate), and a write
   * must not wait for its turn.
   */
  async #applyNewer(newest: VersionedDocument): Promise<void> {
    await this.#exclusive(async () => {
      const ahead = revisionOf(newest.metadata);
      if (ahead > revisionOf(this.#latest?.metadata ?? this.#state.metadata) && ahead > this.appliedRevision) await this.#onClusterDocument(newest);
    }).catch((err: unknown) => this.#logger.warn({ reason: messageOf(err), version: newest.version }, 'cannot apply the newest cluster metadata yet'));
  }

  /**
   * The manager's newest document, from a call that started at or after
   * `since` (an answer from before it may predate the DDL the caller looks
   * for: a write right after CREATE DATABASE got 404 from a 150 ms old one).
   * Calls are shared by everyone waiting and start at most every 200 ms: a
   * client writing to a database that does not exist must not turn every
   * write into a manager call (it waits up to 200 ms for the next one).
   */
  #newestSince(since: number): Promise<VersionedDocument | undefined> {
    const last = this.#newestAnswer;
    if (last && last.at >= since) return last.answer;
    this.#nextAnswer ??= sleep(last ? Math.max(0, last.at + NEWEST_CALL_INTERVAL_MS - performance.now()) : 0).then(() => {
      const answer = this.#options.api.get(this.#options.cluster, AbortSignal.timeout(2000)).catch(() => undefined);
      this.#newestAnswer = { at: performance.now(), answer };
      this.#nextAnswer = undefined;
      return answer;
    });
    return this.#nextAnswer;
  }

  async #driftLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#exclusive(() => this.checkDrift());
      } catch (err) {
        if (!signal.aborted) this.#logger.warn({ reason: messageOf(err) }, 'drift check failed');
      }
      await sleep(this.#options.driftIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Three-way check: last applied vs influxd now vs cluster. Local DDL is
   * pushed to the cluster (push) or undone (revert). Exposed for tests.
   */
  async checkDrift(): Promise<void> {
    const local = await readLocalSnapshot(this.#options.influxd, 'all').catch((err: unknown) => {
      this.#confirmed = false; // what influxd holds when it answers again must be seen whole first
      throw err;
    });
    const drift = detectDrift(local, this.#state.metadata, this.#state.record);
    for (const user of drift.unmirrorableUsers) {
      if (this.#warnedUsers.has(user)) continue;
      this.#warnedUsers.add(user);
      this.#logger.warn(
        { user, mode: this.#options.localChanges },
        this.#options.localChanges === 'push'
          ? 'user created directly on influxd cannot be mirrored (its password cannot be read); create it through the proxy'
          : 'user created directly on influxd will be dropped (--local-changes=revert)',
      );
    }
    if (drift.localLooksWiped) this.#logger.warn({ version: this.#state.version }, 'influxd holds no metadata (new data dir?); restoring the cluster metadata');
    if (drift.operations.length === 0 && !drift.localLooksWiped) this.#confirmed = true;
    const push = this.#options.localChanges === 'push' && drift.operations.length > 0 && !drift.localLooksWiped;
    // Set back to the cluster's document instead; what was created directly is kept, and the next check pushes it.
    const unseen = push && !this.#confirmed;
    if (unseen) this.#logger.warn({ operations: drift.operations.map((op) => op.op) }, 'influxd differs from the applied metadata before this agent saw it whole (agent restarted, or influxd was away); setting it back instead of pushing');
    const mustRevert = this.#options.localChanges === 'revert' && (drift.operations.length > 0 || drift.unmirrorableUsers.length > 0);
    if (push && !unseen) {
      this.#logger.info({ operations: drift.operations.map((op) => op.op) }, 'pushing DDL made directly on influxd to the cluster');
      const { written, outcomes } = await this.#writeToCluster(drift.operations, undefined, false);
      const refused = drift.operations.flatMap((operation, i) => {
        const outcome = outcomes[i];
        return outcome && !outcome.ok ? [{ operation, error: outcome.error }] : [];
      });
      const undo = refused.map(({ operation }) => operation);
      if (refused.length > 0) this.#logger.warn({ refused: refused.map(({ operation, error }) => ({ op: operation.op, error })) }, 'the cluster refused some DDL made directly on influxd; it will be undone');
      const latest = written ?? this.#latestGood();
      const target = latest?.metadata ? { version: latest.version, metadata: latest.metadata } : { version: this.#state.version, metadata: this.#state.metadata };
      // Only what the document changed and what the cluster refused (to undo it). A full pass
      // dropped what was made directly on influxd after this check read it (a retention policy
      // created a moment after a database); the next check pushes that instead.
      const scope = changedScope(this.#state.metadata, target.metadata);
      for (const operation of undo) addToScope(scope, operation);
      return this.#reconcileTo(target.version, target.metadata, scope, undo);
    }
    if (mustRevert || drift.localLooksWiped || unseen) {
      const latest = this.#latestGood();
      await this.#reconcileTo(latest?.version ?? this.#state.version, latest?.metadata ?? this.#state.metadata, 'all');
    }
  }

  /** The newest document from the manager unless the schema check refused it. */
  #latestGood(): VersionedDocument | undefined {
    return this.#refused !== undefined && this.#refused.version === this.#latest?.version ? undefined : this.#latest;
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work);
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
