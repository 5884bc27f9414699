import type { LocalPassthrough } from '../influxd/local-passthrough.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { PeerDirectory } from '../peer/peer-directory.ts';
import type { ReplicaAccess } from './unit-repair.ts';

/**
 * Repair's reads and writes: this node's influxd directly, other nodes
 * through their peer API. Reads carry the agent's own influxd credentials
 * (users are the same on every influxd); writes go to the replay endpoint,
 * which writes with the target agent's identity.
 */
export function replicaAccess(parts: { self: string; influxd: LocalPassthrough; peers: PeerClient; directory: PeerDirectory; agentAuthorization: string | undefined }): ReplicaAccess {
  const headers: Record<string, string> = parts.agentAuthorization ? { authorization: parts.agentAuthorization } : {};
  const address = async (node: string): Promise<string> => {
    const peer = await parts.directory.resolve(node);
    if (!peer) throw new Error(`node ${node} is not known to the manager`);
    return peer.address;
  };
  return {
    async query(node, database, statement, signal) {
      const params = new URLSearchParams({ db: database, q: statement, epoch: 'ns' });
      const answer = node === parts.self ? await parts.influxd.queryText(params, headers, signal) : await parts.peers.query(await address(node), params, parts.agentAuthorization, signal);
      if (answer.status !== 200) throw new Error(`node ${node} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      return answer.body;
    },
    async write(node, database, retentionPolicy, lines, signal) {
      const params = new URLSearchParams({ db: database, rp: retentionPolicy, precision: 'ns' });
      const body = Buffer.from(lines);
      const answer = node === parts.self ? await parts.influxd.write(params, body, parts.agentAuthorization, signal) : await parts.peers.replay(await address(node), params, body, signal);
      if (answer.status !== 204) throw new Error(`node ${node} did not store the repair batch (${answer.status}): ${answer.body.slice(0, 200)}`);
    },
  };
}
