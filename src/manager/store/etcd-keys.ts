/**
 * etcd key layout under the prefix (default `/clusterflux/`). Cluster and node
 * names are percent-encoded, so a name holding `/` never changes the layout.
 *
 *   ids/node                      last node id handed out (a counter changed by transaction)
 *   nodes/<cluster>/<id>          node record (JSON, no lease: kept with alive=false until pruned)
 *   alive/<cluster>/<id>          liveness key on the node's lease (gone = not alive)
 *   names/<cluster>/<name>        id of the node holding that name
 *   clusters/<cluster>/metadata   {version, metadata, writtenAt}
 *   clusters/<cluster>/history/<version, 12 digits>
 *   managers/<id>                 running manager, on the manager's own lease
 */
export class EtcdKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  nodeIdCounter(): string {
    return `${this.prefix}ids/node`;
  }
  nodesOf(cluster?: string): string {
    return cluster === undefined ? `${this.prefix}nodes/` : `${this.prefix}nodes/${enc(cluster)}/`;
  }
  node(cluster: string, id: number): string {
    return `${this.nodesOf(cluster)}${id}`;
  }
  aliveOf(cluster?: string): string {
    return cluster === undefined ? `${this.prefix}alive/` : `${this.prefix}alive/${enc(cluster)}/`;
  }
  alive(cluster: string, id: number): string {
    return `${this.aliveOf(cluster)}${id}`;
  }
  name(cluster: string, name: string): string {
    return `${this.prefix}names/${enc(cluster)}/${enc(name)}`;
  }
  metadata(cluster: string): string {
    return `${this.prefix}clusters/${enc(cluster)}/metadata`;
  }
  historyOf(cluster: string): string {
    return `${this.prefix}clusters/${enc(cluster)}/history/`;
  }
  history(cluster: string, version: number): string {
    return `${this.historyOf(cluster)}${String(version).padStart(12, '0')}`;
  }
  managersOf(): string {
    return `${this.prefix}managers/`;
  }
  manager(id: string): string {
    return `${this.managersOf()}${enc(id)}`;
  }

  /** Parses `<...>/<cluster>/<id>` keys under `base` (nodes/ or alive/). */
  parseNodeKey(base: string, key: string): { cluster: string; id: number } | undefined {
    const rest = key.slice(base.length).split('/');
    if (rest.length !== 2 || rest[0] === undefined || rest[1] === undefined) return undefined;
    const id = Number(rest[1]);
    return Number.isSafeInteger(id) ? { cluster: decodeURIComponent(rest[0]), id } : undefined;
  }
}

function enc(name: string): string {
  return encodeURIComponent(name);
}

/** The key range that covers every key starting with `prefix` (etcd's range_end). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
