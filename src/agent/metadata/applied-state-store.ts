import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { emptyMetadata, type ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { AppliedRecord } from './reconcile-plan.ts';

/** What the agent last applied to its influxd, kept across restarts. */
export interface AppliedState {
  cluster: string;
  /** Cluster metadata version last applied; 0 = nothing yet. */
  version: number;
  metadata: ClusterMetadata;
  record: AppliedRecord;
}

export function initialAppliedState(cluster: string, replicationFactor: number): AppliedState {
  return { cluster, version: 0, metadata: emptyMetadata(replicationFactor), record: { passwords: {}, continuousQueries: {}, managedUsers: [] } };
}

/**
 * `<data-dir>/metadata/applied.json`, written atomically (temp file, fsync,
 * rename, fsync of the directory) so a crash leaves the old or the new state,
 * never half of one. It holds sealed passwords only.
 */
export class AppliedStateStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'metadata', 'applied.json');
  }

  /** The saved state for this cluster, or undefined (none yet, or another cluster's). */
  async load(cluster: string): Promise<AppliedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const state = JSON.parse(text) as AppliedState;
    return state.cluster === cluster ? state : undefined;
  }

  async save(state: AppliedState): Promise<void> {
    const directory = dirname(this.path);
    await mkdir(directory, { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(state));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
    const dir = await open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
